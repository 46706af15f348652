//! PostgreSQL server errors with the server's words, for both PostgreSQL drivers
//! (`postgres` wraps `tokio_postgres`, whose error type it re-exports).

use terrace_core::BoxError;

#[cfg(feature = "postgres")]
use postgres::{
    Error as DriverError, Row,
    types::{ToSql, Type},
};
use terrace_core::backend::BackendResult;
use terrace_core::{Cell, Kind, Param, Rows};
#[cfg(all(feature = "tokio-postgres", not(feature = "postgres")))]
use tokio_postgres::{
    Error as DriverError, Row,
    types::{ToSql, Type},
};

/// A server error: its text is the server's message with its SQLSTATE, detail and
/// hint (the driver's own `Display` says only "db error"), and its source is the
/// driver's `DbError`, for programs that match on the SQLSTATE.
#[derive(Debug)]
struct ServerError {
    text: String,
    error: DriverError,
}

impl std::fmt::Display for ServerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

impl std::error::Error for ServerError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        // The driver's error only says "db error" around the `DbError`: skip it.
        std::error::Error::source(&self.error)
    }
}

/// The driver's error, with the server's message as its text when there is one.
pub(crate) fn server_error(error: DriverError) -> BoxError {
    let Some(db) = error.as_db_error() else {
        return Box::new(error);
    };
    let mut text = format!(
        "{}: {} (SQLSTATE {})",
        db.severity(),
        db.message(),
        db.code().code()
    );
    if let Some(detail) = db.detail() {
        text.push_str(&format!("; detail: {detail}"));
    }
    if let Some(hint) = db.hint() {
        text.push_str(&format!("; hint: {hint}"));
    }
    Box::new(ServerError { text, error })
}

/// The SQLSTATE of an error [`server_error`] made, or of the driver's own.
pub(crate) fn sqlstate(error: &BoxError) -> Option<String> {
    let error = match error.downcast_ref::<ServerError>() {
        Some(server) => &server.error,
        None => error.downcast_ref::<DriverError>()?,
    };
    Some(error.as_db_error()?.code().code().to_owned())
}

/// The parameters as both drivers bind them, each with its type, for `query_typed`:
/// one round trip with an unnamed statement, which a pooler in transaction mode
/// (PgBouncer) passes through, where a named prepared statement may reach another
/// server connection than the one that prepared it.
pub(crate) fn bind<'p>(params: &'p [Param<'p>]) -> Vec<(&'p (dyn ToSql + Sync), Type)> {
    params
        .iter()
        .map(|param| match param {
            Param::Int(value) => (value as &(dyn ToSql + Sync), Type::INT8),
            Param::Text(value) => (value as &(dyn ToSql + Sync), Type::TEXT),
        })
        .collect()
}

/// A query's rows, each column read as `kinds` says.
pub(crate) fn cells(rows: &[Row], kinds: &[Kind]) -> BackendResult<Rows> {
    rows.iter()
        .map(|row| {
            kinds
                .iter()
                .enumerate()
                .map(|(index, kind)| -> BackendResult<Cell> {
                    Ok(match kind {
                        Kind::Int => row
                            .try_get::<_, Option<i64>>(index)?
                            .map_or(Cell::Null, Cell::Int),
                        Kind::Text => row
                            .try_get::<_, Option<String>>(index)?
                            .map_or(Cell::Null, Cell::Text),
                    })
                })
                .collect()
        })
        .collect()
}
