//! What crosses the IPC boundary: the one error type, the views the UI
//! reads, the inputs it sends and the event the shell forwards. TypeScript
//! for all of these is generated (`ui/src/bindings.ts`); see
//! `tests/bindings.rs`.
//!
//! Views are the app's own types, converted from the protocol's and the
//! core's at this edge, so the wire types carry no UI concerns.

mod backups;
mod errors;
mod inputs;
mod reports;
mod updates;
mod views;

pub use backups::BackupView;
pub use errors::{IpcError, IpcErrorCode};
pub use inputs::{
    CartLine, ChosenOptionInput, MenuPatchInput, NewMenuInput, NewWorkorderInput, SetupChoice,
};
pub use reports::{
    CancellationRow, CellHistoryEntry, HourRow, ItemRow, RecallRow, ReportView, SavedReport,
    StationRow,
};
pub use updates::CoreUpdate;
pub use views::{photo_address, PHOTO_SCHEME};
pub use views::{
    AboutView, CartQuote, CellEntry, DashboardView, DeviceEntry, HourCount, HubInfoView, JoinView,
    LineOptionEntry, LinkState, LinkStatus, MenuEntry, NoticeEntry, NoticeLevel, OptionChoiceEntry,
    OptionGroupEntry, OrderEntry, OrderEntryLine, PairingCodeView, Pay, PhotoEntry, PlacedOrder,
    Preferences, QuotedLineEntry, RoleName, Screen, ScreenKind, Serve, Session, SignatureEntry,
    SoundState, Stage, StatusQr, WaitEstimate, WorkSessionEntry, WorkorderEntry,
    WorkorderLineEntry, WorkorderStage,
};
