//! The commands the UI calls. Each takes the calling window, finds its
//! device in the [`Station`](crate::station::Station), calls the client
//! core and maps the error. One module per area; every command is
//! re-exported here, where `lib::specta_builder` collects them.

mod about;
mod backups;
mod counter;
mod device;
mod discover;
mod hub;
mod kiosk;
mod manage;
mod reports;
mod session;

pub use about::*;
pub use backups::*;
pub use counter::*;
pub use device::*;
pub use discover::*;
pub use hub::*;
pub use kiosk::*;
pub use manage::*;
pub use reports::*;
pub use session::*;
