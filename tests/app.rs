//! End-to-end tests of the app window: being written.
