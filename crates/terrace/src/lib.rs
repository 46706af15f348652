//! Terrace: database schema migrations that run every time an application opens its
//! database.
//!
//! ```
//! use terrace::{Migration, Migrations, migrations};
//!
//! static MIGRATIONS: Migrations = migrations![
//!     Migration::sql(1, "create_projects", "CREATE TABLE projects (id INTEGER PRIMARY KEY, name TEXT);")
//!         .with_down("DROP TABLE projects;"),
//!     Migration::sql(2, "add_base_url", "ALTER TABLE projects ADD COLUMN base_url TEXT;")
//!         .with_down("ALTER TABLE projects DROP COLUMN base_url;"),
//! ];
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let mut conn = rusqlite::Connection::open_in_memory()?;
//! let report = MIGRATIONS.run(&mut conn)?;
//! assert_eq!(report.versions(), [1, 2]);
//!
//! let status = MIGRATIONS.status(&mut conn)?;
//! assert_eq!((status.applied_count(), status.pending_count()), (2, 0));
//!
//! // Running again is a no-op.
//! assert_eq!(MIGRATIONS.run(&mut conn)?.count(), 0);
//! # Ok(())
//! # }
//! ```
//!
//! Migrations come from a static list (as above), from a folder embedded at compile
//! time with [`embed_migrations!`], or from a folder read at run time with
//! [`Migrations::from_dir`]. A migration can also be a Rust function marked with
//! [`#[migration]`](macro@migration), which receives a [`Db`] with idempotent schema helpers.
//!
//! Running and rolling back validate the migrations against the history before they
//! change anything; every writing command takes the migration lock before it reads the
//! history; each migration commits together with its history row.

// Built without the rusqlite, postgres and mysql drivers, their blocking backends'
// machinery has no user.
#![cfg_attr(
    not(any(feature = "sqlite", feature = "postgres", feature = "mysql")),
    allow(dead_code)
)]

#[cfg(not(any(
    feature = "sqlite",
    feature = "postgres",
    feature = "mysql",
    feature = "sqlx-sqlite",
    feature = "sqlx-postgres",
    feature = "sqlx-mysql",
    feature = "tokio-postgres",
    feature = "diesel-sqlite",
    feature = "diesel-postgres",
    feature = "diesel-mysql"
)))]
compile_error!(
    "terrace needs at least one backend feature: sqlite, postgres, mysql, sqlx-sqlite, \
     sqlx-postgres, sqlx-mysql, tokio-postgres, diesel-sqlite, diesel-postgres or diesel-mysql"
);

mod adapter;
mod backend;
pub mod connection;
#[cfg(any(
    feature = "diesel-sqlite",
    feature = "diesel-postgres",
    feature = "diesel-mysql"
))]
#[path = "adapter/diesel.rs"]
mod diesel_adapter;
#[cfg(feature = "fleet")]
pub mod fleet;
mod migrations;
#[cfg(any(feature = "postgres", feature = "tokio-postgres"))]
mod postgres_error;
#[cfg(feature = "testing")]
pub mod testing;

use terrace_core::error;

pub use backend::{AsyncDatabase, Database};
pub use connection::{Access, ConnectOptions, Connection, DatabaseUrl, Scheme};
pub use migrations::Migrations;
/// An error's message and causes on one line: `message: cause: cause` (the command
/// line's reports).
#[doc(hidden)]
pub use terrace_core::error::one_line as error_line;
pub use terrace_core::{
    AppliedStatus, Body, BoxError, CodeFn, CodeResult, Db, Direction, Error, Event, HistoryRow,
    HistorySnapshot, LockMode, Migration, NewerApplied, PendingMigration, Plan, Problem,
    RepairChange, RepairReport, Report, ResetReport, RowState, Status, Step, StepReport, TableName,
    Target, TransactionMode, Warning,
};

/// [`Db::sqlite`](DbSqlite::sqlite): the SQLite connection of a code migration, as
/// [`Db::connection`] gives it. Import the trait to call it.
#[cfg(feature = "sqlite")]
pub trait DbSqlite {
    /// The `rusqlite` connection, on the SQLite backend of `rusqlite`, for queries the
    /// helpers do not cover (reading rows, binding parameters).
    fn sqlite(&mut self) -> Option<&mut rusqlite::Connection>;
}

#[cfg(feature = "sqlite")]
impl DbSqlite for Db<'_> {
    fn sqlite(&mut self) -> Option<&mut rusqlite::Connection> {
        self.connection::<rusqlite::Connection>()
    }
}

/// A row of the tracking table, which may be an interrupted (dirty) one.
#[deprecated(note = "renamed HistoryRow")]
pub type AppliedMigration = HistoryRow;

#[cfg(feature = "testing")]
pub use terrace_macros::test;
pub use terrace_macros::{embed_migrations, migration};

/// The migration file format: names, sections, checksums, statement splitting.
pub use terrace_format as format;

/// Builds a static [`Migrations`] list from [`Migration`] constructors, in a `static`:
///
/// ```
/// static MIGRATIONS: terrace::Migrations = terrace::migrations![
///     terrace::Migration::sql(1, "create_projects", "CREATE TABLE projects (id INTEGER PRIMARY KEY);"),
///     terrace::Migration::sql(2, "add_base_url", "ALTER TABLE projects ADD COLUMN base_url TEXT;"),
/// ];
/// assert_eq!(MIGRATIONS.list().len(), 2);
/// ```
///
/// (A `static` cannot borrow a temporary list that needs dropping, so
/// `Migrations::new(&[...])` only works with a list that is itself a `static` or
/// `const`.)
#[macro_export]
macro_rules! migrations {
    ($($migration:expr),* $(,)?) => {{
        const LIST: &[$crate::Migration] = &[$($migration),*];
        $crate::Migrations::new(LIST)
    }};
}
