//! The REST calls of the protocol, one module per resource. Handlers
//! extract, check the caller's role, call the domain (`orders`) or the
//! storage layer (`store`), and map what comes back to `AppError`.

pub mod backups;
pub mod cells;
pub mod devices;
pub mod kiosk;
pub mod menu;
pub mod notifications;
pub mod orders;
pub mod pake;
pub mod photos;
pub mod reports;
pub mod settings;
pub mod snapshot;
pub mod status;
pub mod workorders;

use crate::error::AppError;

/// Runs a write (a handler's transaction) on a thread of its own instead of
/// the runtime's workers. Each SQLite statement is a round trip to sqlx's
/// worker thread, and each wake-up of a task on the runtime waits behind the
/// tasks already queued, which right after a commit is every subscriber's
/// connection. An order's transaction held the writer lock through a dozen
/// such waits, so with 1,000 subscribers the hub took only a few dozen
/// orders a second (see BENCHMARKS.md).
pub async fn write_apart<T: Send + 'static>(
    work: impl std::future::Future<Output = Result<T, AppError>> + Send + 'static,
) -> Result<T, AppError> {
    let runtime = tokio::runtime::Handle::current();
    match tokio::task::spawn_blocking(move || runtime.block_on(work)).await {
        Ok(out) => out,
        Err(e) => match e.try_into_panic() {
            Ok(panic) => std::panic::resume_unwind(panic),
            Err(_) => Err(AppError::internal("the hub is shutting down")),
        },
    }
}
