//! The one error type that crosses the HTTP boundary.
//!
//! Every handler returns `Result<_, AppError>`; the answer is a fitting status
//! and `{"error": {"code", "message"}}` with a stable snake_case `code`.

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use countertop_protocol::{ErrorBody, ErrorCode, ErrorResponse};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppError {
    pub status: StatusCode,
    pub code: ErrorCode,
    pub message: String,
    /// Seconds until trying again makes sense (`Retry-After`), for a `429`.
    pub retry_after: Option<u64>,
}

impl AppError {
    pub fn new(status: StatusCode, code: ErrorCode, message: impl Into<String>) -> Self {
        AppError {
            status,
            code,
            message: message.into(),
            retry_after: None,
        }
    }

    /// The answer says to try again in `seconds` (`Retry-After`).
    pub fn retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds);
        self
    }

    pub fn validation(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            ErrorCode::Validation,
            message,
        )
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, ErrorCode::NotFound, message)
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, ErrorCode::Forbidden, message)
    }

    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, ErrorCode::Unauthorized, message)
    }

    pub fn conflict(code: ErrorCode, message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, code, message)
    }

    pub fn rate_limited(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            ErrorCode::RateLimited,
            message,
        )
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::Internal,
            message,
        )
    }
}

impl std::fmt::Display for AppError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({}): {}", self.code, self.status, self.message)
    }
}

impl std::error::Error for AppError {}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let body = ErrorResponse {
            error: ErrorBody {
                code: self.code.as_str().to_owned(),
                message: self.message,
            },
        };
        let mut response = (self.status, Json(body)).into_response();
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, seconds.into());
        }
        response
    }
}

impl From<sqlx::Error> for AppError {
    fn from(err: sqlx::Error) -> Self {
        if let Some(why) = unavailable(&err) {
            tracing::warn!(error = %err, why, "database unavailable");
            return AppError::database_unavailable();
        }
        tracing::error!(error = %err, "database error");
        AppError::internal("the hub could not read or write its database")
    }
}

/// Seconds a `503 database_unavailable` tells the client to wait.
pub const DATABASE_RETRY_AFTER_SECONDS: u64 = 5;

impl AppError {
    /// `503 database_unavailable`: this node cannot reach its database now.
    /// Another node, or this one shortly, may succeed (a write's
    /// idempotency key makes trying again safe).
    pub fn database_unavailable() -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::DatabaseUnavailable,
            "the hub cannot reach its database right now; try again shortly",
        )
        .retry_after(DATABASE_RETRY_AFTER_SECONDS)
    }
}

/// Why `err` means the database cannot be reached (for people, without the
/// details, which may name hosts), or `None` for any other failure: a
/// connection that could not be had in time, broke, was refused or closed
/// by the server; not a statement the database refused.
pub fn unavailable(err: &sqlx::Error) -> Option<&'static str> {
    use sqlx::Error;
    match err {
        Error::PoolTimedOut => Some("no database connection could be had in time"),
        Error::PoolClosed => Some("the hub is closing its database connections"),
        Error::Io(_) | Error::Tls(_) => Some("the connection to the database failed"),
        Error::WorkerCrashed => Some("the database connection stopped"),
        Error::Database(e) => {
            if let Some(pg) = e.try_downcast_ref::<sqlx::postgres::PgDatabaseError>() {
                pg_unavailable(pg.code())
            } else if e.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() {
                sqlite_unavailable(e.code().as_deref())
            } else {
                None
            }
        }
        _ => None,
    }
}

/// PostgreSQL's SQLSTATEs for a server that will not serve this connection
/// (<https://www.postgresql.org/docs/current/errcodes-appendix.html>).
fn pg_unavailable(code: &str) -> Option<&'static str> {
    match code {
        // connection_exception and its kinds.
        c if c.starts_with("08") => Some("the connection to the database failed"),
        // admin_shutdown (pg_terminate_backend, a fast shutdown),
        // crash_shutdown, cannot_connect_now (starting or stopping).
        "57P01" | "57P02" | "57P03" => Some("the database closed or refused the connection"),
        // too_many_connections.
        "53300" => Some("the database has no connection to spare"),
        // object_not_in_prerequisite_state: what a database that does not
        // allow connections (ALLOW_CONNECTIONS false) answers at connect;
        // the hub's own statements never raise it otherwise.
        "55000" => Some("the database does not accept connections"),
        // invalid_catalog_name (the database is gone), and the
        // invalid_authorization_specification class (login refused).
        "3D000" => Some("the database does not exist"),
        c if c.starts_with("28") => Some("the database refused the hub's login"),
        _ => None,
    }
}

/// SQLite's result codes (the primary code of an extended one) for a
/// database file that cannot be opened or read.
fn sqlite_unavailable(code: Option<&str>) -> Option<&'static str> {
    let code: i32 = code?.parse().ok()?;
    match code & 0xff {
        // SQLITE_IOERR
        10 => Some("the database file could not be read or written (I/O error)"),
        // SQLITE_CANTOPEN
        14 => Some("the database file could not be opened"),
        _ => None,
    }
}

impl From<serde_json::Error> for AppError {
    fn from(err: serde_json::Error) -> Self {
        tracing::error!(error = %err, "stored JSON could not be read");
        AppError::internal("the hub found unreadable data in its database")
    }
}

impl From<JsonRejection> for AppError {
    fn from(rejection: JsonRejection) -> Self {
        let status = rejection.status();
        if status == StatusCode::PAYLOAD_TOO_LARGE {
            return AppError::new(
                status,
                ErrorCode::PayloadTooLarge,
                "the request body is too large",
            );
        }
        if body_timed_out(&rejection) {
            return AppError::new(
                StatusCode::REQUEST_TIMEOUT,
                ErrorCode::RequestTimeout,
                "the request body stopped arriving",
            );
        }
        AppError::new(status, ErrorCode::Validation, rejection.body_text())
    }
}

/// Whether a body failed because it stalled (`RequestBodyTimeoutLayer`).
pub fn body_timed_out(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut source = Some(error);
    while let Some(e) = source {
        if e.is::<tower_http::timeout::TimeoutError>() {
            return true;
        }
        source = e.source();
    }
    false
}

impl From<QueryRejection> for AppError {
    fn from(rejection: QueryRejection) -> Self {
        AppError::new(
            StatusCode::BAD_REQUEST,
            ErrorCode::Validation,
            rejection.body_text(),
        )
    }
}

/// `Json` whose rejections answer in the protocol's error shape.
#[derive(Debug, Clone, Copy, Default, axum::extract::FromRequest)]
#[from_request(via(axum::Json), rejection(AppError))]
pub struct ApiJson<T>(pub T);

impl<T: serde::Serialize> IntoResponse for ApiJson<T> {
    fn into_response(self) -> Response {
        Json(self.0).into_response()
    }
}

/// `Query` whose rejections answer in the protocol's error shape.
#[derive(Debug, Clone, Copy, Default, axum::extract::FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(AppError))]
pub struct ApiQuery<T>(pub T);

pub type ApiResult<T> = Result<T, AppError>;

#[cfg(test)]
mod tests {
    use super::*;
    use sqlx::ConnectOptions;

    #[test]
    fn postgres_codes_of_a_server_that_will_not_serve_are_unavailable() {
        for code in [
            "08000", "08003", "08006", "08001", "57P01", "57P02", "57P03", "53300", "55000",
            "3D000", "28P01", "28000",
        ] {
            assert!(pg_unavailable(code).is_some(), "{code}");
        }
        // Statements the database refused: not about reaching it.
        for code in ["23505", "40001", "55P03", "57014", "42P01", "22P02"] {
            assert!(pg_unavailable(code).is_none(), "{code}");
        }
    }

    #[test]
    fn pool_and_io_failures_are_unavailable_and_the_rest_internal() {
        for err in [
            sqlx::Error::PoolTimedOut,
            sqlx::Error::PoolClosed,
            sqlx::Error::Io(std::io::ErrorKind::ConnectionReset.into()),
        ] {
            let app = AppError::from(err);
            assert_eq!(app.status, StatusCode::SERVICE_UNAVAILABLE);
            assert_eq!(app.code, ErrorCode::DatabaseUnavailable);
            assert_eq!(app.retry_after, Some(DATABASE_RETRY_AFTER_SECONDS));
        }
        for err in [
            sqlx::Error::RowNotFound,
            sqlx::Error::Protocol("odd".into()),
        ] {
            let app = AppError::from(err);
            assert_eq!(app.status, StatusCode::INTERNAL_SERVER_ERROR);
            assert_eq!(app.code, ErrorCode::Internal);
        }
    }

    #[tokio::test]
    async fn a_sqlite_file_that_cannot_be_opened_is_unavailable_a_bad_statement_is_not() {
        let dir = tempfile::tempdir().unwrap();
        let err = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(dir.path().join("no-such-folder").join("hub.db"))
            .connect()
            .await
            .unwrap_err();
        assert!(unavailable(&err).is_some(), "{err:?}");
        assert_eq!(AppError::from(err).code, ErrorCode::DatabaseUnavailable);

        let mut conn = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(dir.path().join("hub.db"))
            .create_if_missing(true)
            .connect()
            .await
            .unwrap();
        let err = sqlx::query("SELECT * FROM no_such_table")
            .execute(&mut conn)
            .await
            .unwrap_err();
        assert!(unavailable(&err).is_none(), "{err:?}");
        assert_eq!(AppError::from(err).code, ErrorCode::Internal);
    }
}
