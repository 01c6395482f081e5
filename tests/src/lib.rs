//! Support for the end-to-end tests lives in the test itself; this crate has no library code.
