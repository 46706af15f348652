//! What a driver must offer for Terrace to run on it: a few verbs to run SQL, with no
//! knowledge of migrations. [`SqlBackend`](crate::SqlBackend) builds every
//! [`Backend`](crate::Backend) verb — the locks, the transactions, the tracking
//! table's SQL for each dialect — from them, once for every driver.
//!
//! A blocking adapter (rusqlite, postgres, mysql, diesel) does its work when called
//! and returns a future that is already complete ([`ready`](crate::ready)); an async
//! one (sqlx, tokio-postgres) returns its driver's future.

use crate::backend::{BackendResult, BoxFuture};
use crate::error::BoxError;
use std::any::Any;
use std::time::Duration;
use terrace_format::Dialect;

/// A parameter of a statement, typed even when `NULL` (some drivers check the
/// type of a `NULL` against the column's).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Param<'a> {
    /// A 64-bit integer, or `NULL`.
    Int(Option<i64>),
    /// Text, or `NULL`.
    Text(Option<&'a str>),
}

/// A column of a query's row, read as the query's [`Kind`] asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cell {
    /// `NULL`.
    Null,
    /// An integer.
    Int(i64),
    /// Text.
    Text(String),
}

impl Cell {
    /// The integer, if the cell holds one.
    pub fn int(&self) -> Option<i64> {
        match self {
            Cell::Int(value) => Some(*value),
            _ => None,
        }
    }

    /// The text, if the cell holds some.
    pub fn text(&self) -> Option<&str> {
        match self {
            Cell::Text(value) => Some(value),
            _ => None,
        }
    }

    /// The text, moved out, if the cell holds some.
    pub fn into_text(self) -> Option<String> {
        match self {
            Cell::Text(value) => Some(value),
            _ => None,
        }
    }
}

/// A column of a row visited in place, borrowed for the visit
/// ([`Adapter::visit_rows`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CellRef<'a> {
    /// `NULL`.
    Null,
    /// An integer.
    Int(i64),
    /// Text.
    Text(&'a str),
    /// A value of another type than the column's [`Kind`] (or text that is not
    /// UTF-8): equal to nothing Terrace compares it with.
    Other,
}

impl<'a> CellRef<'a> {
    /// The integer, if the cell holds one.
    pub fn int(&self) -> Option<i64> {
        match self {
            CellRef::Int(value) => Some(*value),
            _ => None,
        }
    }

    /// The text, if the cell holds some.
    pub fn text(&self) -> Option<&'a str> {
        match self {
            CellRef::Text(value) => Some(value),
            _ => None,
        }
    }
}

/// A visitor of rows read in place: returns `false` to stop.
pub type RowVisit<'a> = &'a mut (dyn FnMut(&[CellRef<'_>]) -> bool + Send);

/// How to read a column: the SQL Terrace sends casts every column it reads to a
/// 64-bit integer or to text, so that every driver can decode it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A 64-bit integer (`BIGINT`, SQLite's `INTEGER`).
    Int,
    /// Text.
    Text,
}

/// The rows of a query, each a vector of cells in the order of the query's columns.
pub type Rows = Vec<Vec<Cell>>;

/// A connection of some driver, seen as Terrace needs it.
///
/// Placeholders are `$1`, `$2`, … on PostgreSQL and `?` elsewhere. Errors are the
/// driver's, with the server's message as their text where there is one.
pub trait Adapter: Send {
    /// The SQL dialect of the database.
    fn dialect(&self) -> Dialect;

    /// Whether the adapter's futures are complete when returned (a blocking driver).
    /// Only a blocking adapter can run a code migration, whose [`Db`](crate::Db)
    /// calls the database without awaiting.
    fn blocking(&self) -> bool;

    /// Runs SQL without parameters, unprepared where the driver can (the simple query
    /// protocol): a migration's statement, `BEGIN`, `COMMIT`, DDL.
    fn batch<'a>(&'a mut self, sql: &'a str) -> BoxFuture<'a, BackendResult<()>>;

    /// Runs a statement with parameters, discarding any rows.
    fn execute<'a>(
        &'a mut self,
        sql: &'a str,
        params: &'a [Param<'a>],
    ) -> BoxFuture<'a, BackendResult<()>>;

    /// Runs a query with parameters, reading each row's columns as `kinds` says (one
    /// kind per column).
    fn query<'a>(
        &'a mut self,
        sql: &'a str,
        params: &'a [Param<'a>],
        kinds: &'a [Kind],
    ) -> BoxFuture<'a, BackendResult<Rows>>;

    /// Runs a query and calls `visit` with each row's columns, read in place as
    /// `kinds` says, until it returns `false`; `None` where the driver cannot read a
    /// row without copying it, or gains nothing by it (then Terrace fetches fewer,
    /// larger rows instead). The quick start-up check reads the history this way.
    fn visit_rows<'a>(
        &'a mut self,
        sql: &'a str,
        params: &'a [Param<'a>],
        kinds: &'a [Kind],
        visit: RowVisit<'a>,
    ) -> Option<BoxFuture<'a, BackendResult<()>>> {
        let _ = (sql, params, kinds, visit);
        None
    }

    /// Waits, between tries of a lock: a blocking adapter sleeps, an async one awaits
    /// its runtime's timer.
    fn sleep(&mut self, duration: Duration) -> BoxFuture<'_, ()>;

    /// The SQLSTATE of a server error, where the driver reports one.
    fn sqlstate(&self, error: &BoxError) -> Option<String> {
        let _ = error;
        None
    }

    /// Whether an error is SQLite's "database is busy" (another connection holds the
    /// lock the statement needs).
    fn is_busy(&self, error: &BoxError) -> bool {
        let _ = error;
        false
    }

    /// Whether a transaction is open on the connection, where the driver can tell
    /// without a statement (SQLite's autocommit flag); `None` where it cannot.
    fn in_transaction(&mut self) -> Option<bool> {
        None
    }

    /// The driver's connection, for a code migration's
    /// [`Db::connection`](crate::Db::connection).
    fn connection(&mut self) -> Option<&mut dyn Any> {
        None
    }
}
