//! The backend trait: the few verbs the runner needs from a database.
//!
//! A backend knows its SQL dialect, how to lock, how to run a transaction and the
//! tracking table's SQL. It makes no decisions: what to run, in which order and with
//! which checks is decided once, in [`plan`](crate::plan) and
//! the runner, for every backend.

#[cfg(feature = "sqlite")]
mod lock_file;
#[cfg(feature = "mysql")]
mod mysql;
#[cfg(feature = "postgres")]
mod postgres;
#[cfg(feature = "sqlite")]
mod sqlite;

use crate::error::{BoxError, Error};
use crate::history::{AppliedMigration, ExtraColumn, RowState, TableName};
use std::time::Duration;
use terrace_format::Dialect;

/// The result of a backend verb.
pub type BackendResult<T> = Result<T, BoxError>;

/// A history row to write.
#[derive(Debug, Clone, Copy)]
pub struct NewRow<'a> {
    /// The migration's version.
    pub version: u64,
    /// Its name.
    pub name: &'a str,
    /// Its checksum.
    pub checksum: &'a str,
    /// How long it ran, if it has run.
    pub execution_ms: Option<i64>,
    /// Its state.
    pub state: RowState,
    /// Its cumulative checksum.
    pub cumulative_checksum: &'a str,
}

/// The error of [`Backend::lock`] (or, where the write transaction is the lock, of
/// [`Backend::begin`]) when another run held the lock for the whole timeout; the
/// session turns it into [`Error::LockTimeout`]. A backend of another crate returns it
/// the same way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockTimedOut;

impl std::fmt::Display for LockTimedOut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("another run held the migration lock for the whole lock timeout")
    }
}

impl std::error::Error for LockTimedOut {}

/// The columns of a history row the quick start-up check compares, as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RowKey<'a> {
    /// `version`.
    pub version: Option<i64>,
    /// `name`.
    pub name: Option<&'a str>,
    /// `checksum`.
    pub checksum: Option<&'a str>,
    /// `state`.
    pub state: Option<&'a str>,
}

/// A database Terrace can migrate. Implemented for `rusqlite::Connection` (and, with
/// their features, for the PostgreSQL and MySQL clients).
pub trait Database {
    /// A backend working on this connection for the duration of one command.
    fn backend(&mut self) -> Result<Box<dyn Backend + '_>, Error>;
}

/// The verbs a database offers the runner.
///
/// Every method works on one connection; the runner never spreads a migration over
/// several.
pub trait Backend {
    /// The backend's name, for messages (`"sqlite"`).
    fn name(&self) -> &'static str;
    /// The SQL dialect, for splitting statements.
    fn dialect(&self) -> Dialect;
    /// Whether DDL runs inside transactions (false for MySQL, where each DDL statement
    /// commits). Without it, every migration is marked started before it runs.
    fn transactional_ddl(&self) -> bool;
    /// Whether one transaction for the whole run is the default (cheap commits matter
    /// more than short locks).
    fn prefers_one_transaction(&self) -> bool;
    /// Whether a transaction is still open: a migration that ran `COMMIT` or
    /// `ROLLBACK` itself has ended the one it was given. Backends without
    /// transactional DDL, whose migrations run outside transactions, need not answer.
    fn transaction_open(&mut self) -> BackendResult<bool> {
        Ok(true)
    }
    /// Takes the session-level migration lock, waiting at most `timeout`. Backends
    /// whose write transactions are the lock (SQLite) only prepare to wait for it.
    /// Not obtaining it in time is a [`LockTimedOut`] error (from
    /// [`begin`](Backend::begin), where the transaction is the lock).
    fn lock(&mut self, table: &TableName, timeout: Duration) -> BackendResult<()>;
    /// [`lock`](Backend::lock), calling `waiting` when the first try finds the lock
    /// held, before waiting for it, so that the caller can tell people why nothing
    /// happens. It is called at most once, and not at all when the lock was free.
    ///
    /// The default tries [`lock`](Backend::lock) with no wait, then with `timeout`: a
    /// backend of another crate gets the notice without writing anything.
    fn lock_reporting(
        &mut self,
        table: &TableName,
        timeout: Duration,
        waiting: &mut dyn FnMut(),
    ) -> BackendResult<()> {
        match self.lock(table, Duration::ZERO) {
            Err(e) if e.is::<LockTimedOut>() && !timeout.is_zero() => {
                waiting();
                self.lock(table, timeout)
            }
            other => other,
        }
    }
    /// [`begin`](Backend::begin), calling `waiting` when the first try finds the
    /// database's write lock held, before waiting for it; for backends whose write
    /// transaction is the lock (SQLite). The default begins without a notice.
    fn begin_reporting(&mut self, waiting: &mut dyn FnMut()) -> BackendResult<()> {
        let _ = waiting;
        self.begin()
    }
    /// Releases what [`lock`](Backend::lock) took; an error if it was no longer held.
    fn unlock(&mut self, table: &TableName) -> BackendResult<()>;
    /// Begins a write transaction, taking the database's write lock where it has one.
    fn begin(&mut self) -> BackendResult<()>;
    /// Commits.
    fn commit(&mut self) -> BackendResult<()>;
    /// Rolls back.
    fn rollback(&mut self) -> BackendResult<()>;
    /// Sets a savepoint inside the transaction. Savepoint names are plain identifiers
    /// the runner chooses (letters and `_`), written into the SQL as they are.
    fn savepoint(&mut self, name: &str) -> BackendResult<()>;
    /// Releases a savepoint, keeping its work.
    fn release(&mut self, name: &str) -> BackendResult<()>;
    /// Undoes the work since a savepoint and releases it.
    fn rollback_to(&mut self, name: &str) -> BackendResult<()>;
    /// Executes one SQL statement, discarding any rows.
    fn execute(&mut self, sql: &str) -> BackendResult<()>;
    /// Checks what the database could not check while a migration's body ran, after the
    /// body and before the migration commits or its savepoint is released; an error
    /// fails the migration. SQLite checks its foreign keys here: their enforcement is
    /// off while a writing command runs, so that a migration can rebuild a table.
    fn check_migration(&mut self) -> BackendResult<()> {
        Ok(())
    }
    /// Quotes an identifier (each part of a `schema.table` name separately).
    fn quote(&self, identifier: &str) -> String;
    /// The column names of a table, or `None` if it does not exist.
    fn columns(&mut self, table: &str) -> BackendResult<Option<Vec<String>>>;
    /// The tracking table's column names, or `None` if it does not exist: the
    /// [`columns`](Backend::columns) of the table every other verb taking a
    /// [`TableName`] works on.
    fn history_columns(&mut self, table: &TableName) -> BackendResult<Option<Vec<String>>> {
        self.columns(table.as_str())
    }
    /// Whether an index of this name exists on the table.
    fn has_index(&mut self, table: &str, index: &str) -> BackendResult<bool>;
    /// Brings an existing tracking table's column types up to date, in place (MySQL: a
    /// `TIMESTAMP` `applied_at`, which ends in 2038, becomes `DATETIME(6)`). Called
    /// where missing columns are added: only before the table is written.
    fn upgrade_history(&mut self, table: &TableName) -> BackendResult<()> {
        let _ = table;
        Ok(())
    }
    /// Creates the tracking table in its current shape.
    fn create_history(&mut self, table: &TableName) -> BackendResult<()>;
    /// Adds a column to an older tracking table.
    fn add_history_column(&mut self, table: &TableName, column: ExtraColumn) -> BackendResult<()>;
    /// Calls `visit` with each row's key columns, oldest first, until it returns
    /// `false`: the quick start-up check compares them with the list without copying.
    /// A table lacking one of the columns is an error.
    fn visit_history(
        &mut self,
        table: &TableName,
        visit: &mut dyn FnMut(RowKey<'_>) -> bool,
    ) -> BackendResult<()> {
        for row in self.read_history(table, &ExtraColumn::ALL)? {
            let key = RowKey {
                version: i64::try_from(row.version).ok(),
                name: Some(&row.name),
                checksum: row.checksum.as_deref(),
                state: Some(row.state.as_str()),
            };
            if !visit(key) {
                break;
            }
        }
        Ok(())
    }
    /// Every row, oldest first. Tables lacking newer columns read as `NULL` / applied.
    fn read_history(
        &mut self,
        table: &TableName,
        columns: &[ExtraColumn],
    ) -> BackendResult<Vec<AppliedMigration>>;
    /// The state of a version's row, or `None` if it has none.
    fn row_state(&mut self, table: &TableName, version: u64) -> BackendResult<Option<RowState>>;
    /// Writes a row.
    fn insert_row(&mut self, table: &TableName, row: &NewRow<'_>) -> BackendResult<()>;
    /// Writes several rows; backends that can insert many rows in one statement do.
    fn insert_rows(&mut self, table: &TableName, rows: &[NewRow<'_>]) -> BackendResult<()> {
        rows.iter().try_for_each(|row| self.insert_row(table, row))
    }
    /// Overwrites a row's name, checksum, execution time and state.
    fn update_row(&mut self, table: &TableName, row: &NewRow<'_>) -> BackendResult<()>;
    /// Deletes a row.
    fn delete_row(&mut self, table: &TableName, version: u64) -> BackendResult<()>;
    /// Drops the tracking table.
    fn drop_history(&mut self, table: &TableName) -> BackendResult<()>;
    /// The SQLite connection, for code migrations that need it directly.
    #[cfg(feature = "sqlite")]
    fn sqlite(&mut self) -> Option<&rusqlite::Connection> {
        None
    }
}

/// `"a"."b"` for `a.b`, with embedded double quotes doubled: standard SQL quoting, as
/// SQLite and PostgreSQL take it.
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub(crate) fn quote_double(identifier: &str) -> String {
    identifier
        .split('.')
        .map(|part| format!("\"{}\"", part.replace('"', "\"\"")))
        .collect::<Vec<_>>()
        .join(".")
}

/// A version as the signed 64-bit integer the databases store.
#[cfg(any(feature = "sqlite", feature = "postgres", feature = "mysql"))]
pub(crate) fn version_param(version: u64) -> BackendResult<i64> {
    Ok(i64::try_from(version)?)
}
