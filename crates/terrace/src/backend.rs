//! The blocking backends: the few verbs a run needs, written once per driver against
//! its blocking API, and the bridge that offers them to the run as
//! [`terrace_core::Backend`] futures that are already complete.
//!
//! A backend knows its SQL dialect, how to lock, how to run a transaction and the
//! tracking table's SQL. It makes no decisions: what to run, in which order and with
//! which checks is decided once, in `terrace-core`, for every backend.

#[cfg(feature = "mysql")]
mod mysql;
#[cfg(feature = "postgres")]
mod postgres;
#[cfg(feature = "sqlite")]
mod sqlite;

use crate::error::Error;
use crate::history::{ExtraColumn, HistoryRow, RowState, TableName};
use std::any::Any;
use std::time::Duration;
use terrace_core::backend::{BoxFuture, NewRow, RowKey, Visit, ready};
use terrace_core::{CodeConnection, CodeFn, CodeResult, Db};
use terrace_format::Dialect;

#[cfg(any(feature = "sqlite", feature = "postgres", feature = "mysql"))]
pub(crate) use terrace_core::LockTimedOut;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub(crate) use terrace_core::backend::quote_double;
#[cfg(any(feature = "sqlite", feature = "postgres", feature = "mysql"))]
pub(crate) use terrace_core::backend::version_param;

/// The result of a backend verb.
pub(crate) type BackendResult<T> = Result<T, crate::BoxError>;

/// A connection Terrace can migrate with the blocking API: `rusqlite::Connection`,
/// and with their features `postgres::Client`, `mysql::Conn` and
/// [`Connection`](crate::Connection). Sealed: the set of drivers is Terrace's.
pub trait Database: sealed::Sealed {
    /// A backend working on this connection for the duration of one command.
    #[doc(hidden)]
    fn backend(&mut self) -> Result<Box<dyn terrace_core::Backend + '_>, Error>;
}

/// A connection Terrace can migrate with the async API
/// ([`Migrations::run_async`](crate::Migrations::run_async) and the other `_async`
/// methods): with their features, sqlx's `SqliteConnection`, `PgConnection` and
/// `MySqlConnection` and their pools, and `tokio_postgres::Client`. Sealed: the set of
/// drivers is Terrace's.
pub trait AsyncDatabase: sealed::Sealed {
    /// A backend working on this connection for the duration of one command (a pool
    /// gives one of its connections, held until the command ends).
    #[doc(hidden)]
    fn backend(&mut self) -> BoxFuture<'_, Result<Box<dyn terrace_core::Backend + '_>, Error>>;
}

pub(crate) mod sealed {
    /// Keeps [`Database`](super::Database) to the connections Terrace supports.
    pub trait Sealed {}
}

/// The verbs a blocking database offers the run.
///
/// Every method works on one connection; the runner never spreads a migration over
/// several.
pub(crate) trait SyncBackend: Send {
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
    /// [`begin`](SyncBackend::begin), where the transaction is the lock).
    fn lock(&mut self, table: &TableName, timeout: Duration) -> BackendResult<()>;
    /// Takes the migration lock if it is free now: `false` if it is held. Later waits
    /// of the command may last `timeout` in all. The default tries
    /// [`lock`](SyncBackend::lock) without waiting.
    fn try_lock(&mut self, table: &TableName, timeout: Duration) -> BackendResult<bool> {
        let _ = timeout;
        match self.lock(table, Duration::ZERO) {
            Ok(()) => Ok(true),
            Err(e) if e.is::<terrace_core::LockTimedOut>() => Ok(false),
            Err(e) => Err(e),
        }
    }
    /// Begins a write transaction if the database's write lock is free now, without
    /// waiting: `false` if it is held (for SQLite, whose write transaction is the lock).
    fn try_begin(&mut self) -> BackendResult<bool> {
        self.begin().map(|()| true)
    }
    /// Releases what [`lock`](SyncBackend::lock) took; an error if it was no longer held.
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
    /// [`columns`](SyncBackend::columns) of the table every other verb taking a
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
    ) -> BackendResult<Vec<HistoryRow>>;
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
    /// The driver's connection, for code migrations that need it directly.
    fn connection(&mut self) -> Option<&mut dyn Any> {
        None
    }
}

/// A blocking backend offered to the run: each verb does its work when called and
/// returns a future that is already complete.
pub(crate) struct Blocking<B>(pub(crate) B);

impl<B: SyncBackend> CodeConnection for Blocking<B> {
    fn backend_name(&self) -> &'static str {
        self.0.name()
    }
    fn dialect(&self) -> Dialect {
        self.0.dialect()
    }
    fn execute(&mut self, sql: &str) -> Result<(), crate::BoxError> {
        self.0.execute(sql)
    }
    fn quote(&self, identifier: &str) -> String {
        self.0.quote(identifier)
    }
    fn columns(&mut self, table: &str) -> Result<Option<Vec<String>>, crate::BoxError> {
        self.0.columns(table)
    }
    fn has_index(&mut self, table: &str, index: &str) -> Result<bool, crate::BoxError> {
        self.0.has_index(table, index)
    }
    fn connection(&mut self) -> Option<&mut dyn Any> {
        self.0.connection()
    }
}

impl<B: SyncBackend> terrace_core::Backend for Blocking<B> {
    fn name(&self) -> &'static str {
        self.0.name()
    }
    fn dialect(&self) -> Dialect {
        self.0.dialect()
    }
    fn transactional_ddl(&self) -> bool {
        self.0.transactional_ddl()
    }
    fn prefers_one_transaction(&self) -> bool {
        self.0.prefers_one_transaction()
    }
    fn transaction_open(&mut self) -> BoxFuture<'_, BackendResult<bool>> {
        ready(self.0.transaction_open())
    }
    fn lock<'a>(
        &'a mut self,
        table: &'a TableName,
        timeout: Duration,
    ) -> BoxFuture<'a, BackendResult<()>> {
        ready(self.0.lock(table, timeout))
    }
    fn try_begin(&mut self) -> BoxFuture<'_, BackendResult<bool>> {
        ready(self.0.try_begin())
    }
    fn try_lock<'a>(
        &'a mut self,
        table: &'a TableName,
        timeout: Duration,
    ) -> BoxFuture<'a, BackendResult<bool>> {
        ready(self.0.try_lock(table, timeout))
    }
    fn unlock<'a>(&'a mut self, table: &'a TableName) -> BoxFuture<'a, BackendResult<()>> {
        ready(self.0.unlock(table))
    }
    fn begin(&mut self) -> BoxFuture<'_, BackendResult<()>> {
        ready(self.0.begin())
    }
    fn commit(&mut self) -> BoxFuture<'_, BackendResult<()>> {
        ready(self.0.commit())
    }
    fn rollback(&mut self) -> BoxFuture<'_, BackendResult<()>> {
        ready(self.0.rollback())
    }
    fn savepoint<'a>(&'a mut self, name: &'a str) -> BoxFuture<'a, BackendResult<()>> {
        ready(self.0.savepoint(name))
    }
    fn release<'a>(&'a mut self, name: &'a str) -> BoxFuture<'a, BackendResult<()>> {
        ready(self.0.release(name))
    }
    fn rollback_to<'a>(&'a mut self, name: &'a str) -> BoxFuture<'a, BackendResult<()>> {
        ready(self.0.rollback_to(name))
    }
    fn execute<'a>(&'a mut self, sql: &'a str) -> BoxFuture<'a, BackendResult<()>> {
        ready(self.0.execute(sql))
    }
    fn run_code<'a>(&'a mut self, code: &'a CodeFn) -> BoxFuture<'a, CodeResult> {
        ready(code.call(&mut Db::new(self)))
    }
    fn check_migration(&mut self) -> BoxFuture<'_, BackendResult<()>> {
        ready(self.0.check_migration())
    }
    fn quote(&self, identifier: &str) -> String {
        self.0.quote(identifier)
    }
    fn history_columns<'a>(
        &'a mut self,
        table: &'a TableName,
    ) -> BoxFuture<'a, BackendResult<Option<Vec<String>>>> {
        ready(self.0.history_columns(table))
    }
    fn upgrade_history<'a>(&'a mut self, table: &'a TableName) -> BoxFuture<'a, BackendResult<()>> {
        ready(self.0.upgrade_history(table))
    }
    fn create_history<'a>(&'a mut self, table: &'a TableName) -> BoxFuture<'a, BackendResult<()>> {
        ready(self.0.create_history(table))
    }
    fn add_history_column<'a>(
        &'a mut self,
        table: &'a TableName,
        column: ExtraColumn,
    ) -> BoxFuture<'a, BackendResult<()>> {
        ready(self.0.add_history_column(table, column))
    }
    fn visit_history<'a>(
        &'a mut self,
        table: &'a TableName,
        visit: Visit<'a>,
    ) -> BoxFuture<'a, BackendResult<()>> {
        ready(self.0.visit_history(table, visit))
    }
    fn read_history<'a>(
        &'a mut self,
        table: &'a TableName,
        columns: &'a [ExtraColumn],
    ) -> BoxFuture<'a, BackendResult<Vec<HistoryRow>>> {
        ready(self.0.read_history(table, columns))
    }
    fn row_state<'a>(
        &'a mut self,
        table: &'a TableName,
        version: u64,
    ) -> BoxFuture<'a, BackendResult<Option<RowState>>> {
        ready(self.0.row_state(table, version))
    }
    fn insert_row<'a>(
        &'a mut self,
        table: &'a TableName,
        row: &'a NewRow<'a>,
    ) -> BoxFuture<'a, BackendResult<()>> {
        ready(self.0.insert_row(table, row))
    }
    fn insert_rows<'a>(
        &'a mut self,
        table: &'a TableName,
        rows: &'a [NewRow<'a>],
    ) -> BoxFuture<'a, BackendResult<()>> {
        ready(self.0.insert_rows(table, rows))
    }
    fn update_row<'a>(
        &'a mut self,
        table: &'a TableName,
        row: &'a NewRow<'a>,
    ) -> BoxFuture<'a, BackendResult<()>> {
        ready(self.0.update_row(table, row))
    }
    fn delete_row<'a>(
        &'a mut self,
        table: &'a TableName,
        version: u64,
    ) -> BoxFuture<'a, BackendResult<()>> {
        ready(self.0.delete_row(table, version))
    }
    fn drop_history<'a>(&'a mut self, table: &'a TableName) -> BoxFuture<'a, BackendResult<()>> {
        ready(self.0.drop_history(table))
    }
    fn abandon(&mut self, locked: Option<&TableName>, in_transaction: bool) {
        if in_transaction && let Err(err) = self.0.rollback() {
            tracing::warn!(error = %err, "rolling back failed");
        }
        if let Some(table) = locked
            && let Err(err) = self.0.unlock(table)
        {
            tracing::warn!(error = %err, "releasing the migration lock failed");
        }
    }
}
