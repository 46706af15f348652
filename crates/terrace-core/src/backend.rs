//! The backend trait: the few verbs a run needs from a database, as futures.
//!
//! A backend knows its SQL dialect, how to lock, how to run a transaction and the
//! tracking table's SQL. It makes no decisions: what to run, in which order and with
//! which checks is decided once, in [`plan`](crate::plan) and the run, for every
//! backend.
//!
//! Every verb returns a future, so that one run serves blocking drivers and async
//! ones alike: a blocking backend does its work when called and returns a future that
//! is already complete ([`ready`]), and the blocking front
//! ([`block_on`](crate::block_on)) finishes the run in one poll; an async backend
//! returns its driver's future, and the async front awaits the run.

use crate::error::BoxError;
use crate::history::{ExtraColumn, HistoryRow, RowState, TableName};
use crate::migration::{CodeFn, CodeResult};
use crate::migrations::LockMode;
use crate::sql_backend::LeaseSlot;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;
use terrace_format::Dialect;

/// The result of a backend verb.
pub type BackendResult<T> = Result<T, BoxError>;

/// The future a backend verb returns.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A verb's future that is already complete: what a blocking backend returns.
pub fn ready<'a, T: Send + 'a>(value: T) -> BoxFuture<'a, T> {
    Box::pin(std::future::ready(value))
}

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
/// [`Backend::begin`]) when another run held the lock for the whole
/// timeout; the run turns it into [`Error::LockTimeout`](crate::Error::LockTimeout).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockTimedOut;

impl std::fmt::Display for LockTimedOut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("another run held the migration lock for the whole lock timeout")
    }
}

impl std::error::Error for LockTimedOut {}

/// The error of [`Backend::lock`] and [`Backend::try_lock`] on a read-only replica
/// (a PostgreSQL hot standby, a MySQL server with `read_only`): found before anything
/// runs; the run turns it into [`Error::ReadOnlyReplica`](crate::Error::ReadOnlyReplica).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadOnlyReplica {
    /// What gave it away (`pg_is_in_recovery() is true`, `read_only is ON`).
    pub reason: String,
}

impl std::fmt::Display for ReadOnlyReplica {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "this is a read-only replica ({})", self.reason)
    }
}

impl std::error::Error for ReadOnlyReplica {}

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

/// A visitor of history rows: returns `false` to stop.
pub type Visit<'a> = &'a mut (dyn FnMut(RowKey<'_>) -> bool + Send);

/// The verbs a database offers a run.
///
/// Every method works on one connection; a run never spreads a migration over
/// several. See the module documentation for blocking and async backends.
pub trait Backend: Send {
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
    /// `ROLLBACK` itself has ended the one it was given. A backend that cannot tell
    /// answers `true`.
    fn transaction_open(&mut self) -> BoxFuture<'_, BackendResult<bool>>;
    /// Chooses the lock that [`lock`](Backend::lock) and [`try_lock`](Backend::try_lock)
    /// take, and a lease's length; called before them. Backends with one kind of lock
    /// ignore it.
    fn configure_lock(&mut self, mode: LockMode, lease: Duration) {
        let _ = (mode, lease);
    }
    /// Tells `slot` the token of each lease taken, so that another connection can
    /// renew it ([`renew_lease_of`](Backend::renew_lease_of)). Backends without a
    /// lease ignore it.
    fn configure_lease_slot(&mut self, slot: LeaseSlot) {
        let _ = slot;
    }
    /// Whether a writing command's lock on this server would be a lease under the
    /// configured [`LockMode`]; an error on a read-only replica. Backends without a
    /// lease answer `false`.
    fn leases(&mut self) -> BoxFuture<'_, BackendResult<bool>> {
        ready(Ok(false))
    }
    /// Extends by `length` the lease `owner` holds on the lock of `table`, if it still
    /// holds it, from a connection other than the run's: whether it held it. Backends
    /// without a lease answer `false`.
    fn renew_lease_of<'a>(
        &'a mut self,
        table: &'a TableName,
        owner: &'a str,
        length: Duration,
    ) -> BoxFuture<'a, BackendResult<bool>> {
        let _ = (table, owner, length);
        ready(Ok(false))
    }
    /// Between steps, outside any transaction: renews the lock where it expires
    /// unless renewed (a lease), and fails if another run has taken it meanwhile, so
    /// that nothing more runs. Backends whose lock lasts as long as their session do
    /// nothing.
    fn keep_lock(&mut self) -> BoxFuture<'_, BackendResult<()>> {
        ready(Ok(()))
    }
    /// Takes the session-level migration lock, waiting at most `timeout`. Backends whose write transactions are the lock (SQLite)
    /// only prepare to wait for it. Not obtaining it in time is a [`LockTimedOut`]
    /// error.
    fn lock<'a>(
        &'a mut self,
        table: &'a TableName,
        timeout: Duration,
    ) -> BoxFuture<'a, BackendResult<()>>;
    /// Takes the session-level migration lock if it is free now, without waiting:
    /// `false` if another run holds it. Once taken, later waits of the command (SQLite's
    /// `BEGIN IMMEDIATE` and `COMMIT`) may last at most `timeout` in all, as after
    /// [`lock`](Backend::lock).
    fn try_lock<'a>(
        &'a mut self,
        table: &'a TableName,
        timeout: Duration,
    ) -> BoxFuture<'a, BackendResult<bool>>;
    /// Begins a write transaction if the database's write lock is free now, without
    /// waiting: `false` if another connection holds it (nothing begun). For backends
    /// whose write transaction is the lock (SQLite), so that the run can say it is
    /// waiting before [`begin`](Backend::begin) waits; the others begin.
    fn try_begin(&mut self) -> BoxFuture<'_, BackendResult<bool>> {
        Box::pin(async move { self.begin().await.map(|()| true) })
    }
    /// Releases what [`lock`](Backend::lock) took; an error if it was no longer held.
    fn unlock<'a>(&'a mut self, table: &'a TableName) -> BoxFuture<'a, BackendResult<()>>;
    /// Begins a write transaction, taking the database's write lock where it has one.
    fn begin(&mut self) -> BoxFuture<'_, BackendResult<()>>;
    /// Commits.
    fn commit(&mut self) -> BoxFuture<'_, BackendResult<()>>;
    /// Rolls back.
    fn rollback(&mut self) -> BoxFuture<'_, BackendResult<()>>;
    /// Sets a savepoint inside the transaction. Savepoint names are plain identifiers
    /// the run chooses (letters and `_`), written into the SQL as they are.
    fn savepoint<'a>(&'a mut self, name: &'a str) -> BoxFuture<'a, BackendResult<()>>;
    /// Releases a savepoint, keeping its work.
    fn release<'a>(&'a mut self, name: &'a str) -> BoxFuture<'a, BackendResult<()>>;
    /// Undoes the work since a savepoint and releases it.
    fn rollback_to<'a>(&'a mut self, name: &'a str) -> BoxFuture<'a, BackendResult<()>>;
    /// Executes one SQL statement of a migration, discarding any rows.
    fn execute<'a>(&'a mut self, sql: &'a str) -> BoxFuture<'a, BackendResult<()>>;
    /// Runs a code migration on this connection. A backend that cannot hand a
    /// blocking [`Db`](crate::Db) to code (an async driver) fails with an error that
    /// says so.
    fn run_code<'a>(&'a mut self, code: &'a CodeFn) -> BoxFuture<'a, CodeResult>;
    /// Checks what the database could not check while a migration's body ran, after the
    /// body and before the migration commits or its savepoint is released; an error
    /// fails the migration. SQLite checks its foreign keys here.
    fn check_migration(&mut self) -> BoxFuture<'_, BackendResult<()>>;
    /// Quotes an identifier (each part of a `schema.table` name separately).
    fn quote(&self, identifier: &str) -> String;
    /// The tracking table's column names, or `None` if it does not exist.
    fn history_columns<'a>(
        &'a mut self,
        table: &'a TableName,
    ) -> BoxFuture<'a, BackendResult<Option<Vec<String>>>>;
    /// Brings an existing tracking table's column types up to date, in place (MySQL: a
    /// `TIMESTAMP` `applied_at`, which ends in 2038, becomes `DATETIME(6)`). Called
    /// where missing columns are added: only before the table is written.
    fn upgrade_history<'a>(&'a mut self, table: &'a TableName) -> BoxFuture<'a, BackendResult<()>>;
    /// Creates the tracking table in its current shape.
    fn create_history<'a>(&'a mut self, table: &'a TableName) -> BoxFuture<'a, BackendResult<()>>;
    /// Adds a column to an older tracking table.
    fn add_history_column<'a>(
        &'a mut self,
        table: &'a TableName,
        column: ExtraColumn,
    ) -> BoxFuture<'a, BackendResult<()>>;
    /// Calls `visit` with each row's key columns, oldest first, until it returns
    /// `false`: the quick start-up check compares them with the list without copying.
    /// A table lacking one of the columns is an error.
    fn visit_history<'a>(
        &'a mut self,
        table: &'a TableName,
        visit: Visit<'a>,
    ) -> BoxFuture<'a, BackendResult<()>>;
    /// Every row, oldest first. Tables lacking newer columns read as `NULL` / applied.
    fn read_history<'a>(
        &'a mut self,
        table: &'a TableName,
        columns: &'a [ExtraColumn],
    ) -> BoxFuture<'a, BackendResult<Vec<HistoryRow>>>;
    /// The state of a version's row, or `None` if it has none.
    fn row_state<'a>(
        &'a mut self,
        table: &'a TableName,
        version: u64,
    ) -> BoxFuture<'a, BackendResult<Option<RowState>>>;
    /// Writes a row.
    fn insert_row<'a>(
        &'a mut self,
        table: &'a TableName,
        row: &'a NewRow<'a>,
    ) -> BoxFuture<'a, BackendResult<()>>;
    /// Writes several rows; backends that can insert many rows in one statement do.
    fn insert_rows<'a>(
        &'a mut self,
        table: &'a TableName,
        rows: &'a [NewRow<'a>],
    ) -> BoxFuture<'a, BackendResult<()>>;
    /// Overwrites a row's name, checksum, execution time and state.
    fn update_row<'a>(
        &'a mut self,
        table: &'a TableName,
        row: &'a NewRow<'a>,
    ) -> BoxFuture<'a, BackendResult<()>>;
    /// Deletes a row.
    fn delete_row<'a>(
        &'a mut self,
        table: &'a TableName,
        version: u64,
    ) -> BoxFuture<'a, BackendResult<()>>;
    /// Drops the tracking table.
    fn drop_history<'a>(&'a mut self, table: &'a TableName) -> BoxFuture<'a, BackendResult<()>>;
    /// Undoes what a command that was abandoned midway left: rolls back an open
    /// transaction and releases the lock, without waiting. Called when a run's future
    /// is dropped before it ended (a panic in a code migration, a cancelled task); a
    /// backend that cannot do I/O without awaiting leaves it to the connection's own
    /// clean-up. It logs what fails.
    fn abandon(&mut self, locked: Option<&TableName>, in_transaction: bool);
}

/// `"a"."b"` for `a.b`, with embedded double quotes doubled: standard SQL quoting, as
/// SQLite and PostgreSQL take it.
pub fn quote_double(identifier: &str) -> String {
    identifier
        .split('.')
        .map(|part| format!("\"{}\"", part.replace('"', "\"\"")))
        .collect::<Vec<_>>()
        .join(".")
}

/// A version as the signed 64-bit integer the databases store.
pub fn version_param(version: u64) -> BackendResult<i64> {
    Ok(i64::try_from(version)?)
}
