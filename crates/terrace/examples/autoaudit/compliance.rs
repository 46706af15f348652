//! AutoAudit's compliance database: the base tables of its first release, and the
//! migrations that have changed them since.
//!
//! Opening the database brings it up to date, so the rest of the application can
//! assume the newest schema.

use rusqlite::Connection;
use std::error::Error;
use std::fmt;
use std::path::{Path, PathBuf};
use terrace::{CodeResult, Db, Migration, Migrations, Report, Status};

/// The tables as the first release created them. Every later column comes from a
/// migration, so these statements never change: editing them would give new
/// databases a schema that old ones do not have. They are portable SQL, so the same
/// file prepares a PostgreSQL or MySQL database for `server-migrations/`.
const BASE_TABLES: &str = include_str!("base_tables.sql");

/// Every migration: the SQL files of `migrations/` (1, 2, 3 and 5), embedded in the
/// binary at compile time, and migration 4, written in Rust. Versions, not positions
/// in the list, give the order; a gap or a duplicate stops every run before it starts.
pub static MIGRATIONS: Migrations = terrace::embed_migrations!(
    "examples/autoaudit/migrations",
    [Migration::code(4, "add_token_tracking", add_token_tracking)
        .with_down_code(drop_token_tracking)]
);

/// Migration 4, up: counts the tokens each compliance check spent, with an index to
/// find the costly checks. Written with the idempotent helpers, so it also succeeds on a
/// database where an earlier, hand-run version of it already added some of this.
///
/// The checksum covers this function's tokens only, so the names it uses are written
/// out here rather than taken from constants elsewhere: renaming the index is then
/// detected as an edit.
#[terrace::migration]
fn add_token_tracking(db: &mut Db<'_>) -> CodeResult {
    db.add_column_if_missing(
        "compliance_checks",
        "input_tokens",
        "INTEGER NOT NULL DEFAULT 0",
    )?;
    db.add_column_if_missing(
        "compliance_checks",
        "output_tokens",
        "INTEGER NOT NULL DEFAULT 0",
    )?;
    db.create_index_if_missing(
        "idx_compliance_checks_tokens",
        "compliance_checks",
        &["input_tokens", "output_tokens"],
    )?;
    Ok(())
}

/// Migration 4, down. The index goes first: SQLite will not drop an indexed column.
#[terrace::migration]
fn drop_token_tracking(db: &mut Db<'_>) -> CodeResult {
    db.execute("DROP INDEX IF EXISTS idx_compliance_checks_tokens")?;
    db.drop_column_if_exists("compliance_checks", "output_tokens")?;
    db.drop_column_if_exists("compliance_checks", "input_tokens")?;
    Ok(())
}

/// The open, fully migrated compliance database.
pub struct ComplianceDatabase {
    conn: Connection,
    opened: Report,
}

impl ComplianceDatabase {
    /// Opens the database at `path`, creating the file if there is none, creates the
    /// base tables if they are missing and applies every pending migration.
    ///
    /// Opening an up-to-date database changes nothing. A database written by the
    /// original tracker (a three-column `schema_migrations`) is adopted as it is.
    pub fn open(path: impl AsRef<Path>) -> Result<ComplianceDatabase, Box<dyn Error>> {
        let path = path.as_ref();
        let failed = |stage, source| OpenError {
            path: path.to_owned(),
            stage,
            source,
        };
        let mut conn = Connection::open(path).map_err(|e| failed(Stage::Connect, e.into()))?;
        conn.execute_batch(BASE_TABLES)
            .map_err(|e| failed(Stage::BaseTables, e.into()))?;
        let opened = MIGRATIONS
            .run(&mut conn)
            .map_err(|e| failed(Stage::Migrate, e.into()))?;
        Ok(ComplianceDatabase { conn, opened })
    }

    /// The connection, for the application's own queries.
    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    /// The migrations that opening the database applied (none if it was up to date).
    pub fn migrated_on_open(&self) -> &Report {
        &self.opened
    }

    /// Applied and pending migrations, and anything wrong between the two. Reads
    /// only.
    pub fn status(&mut self) -> Result<Status, terrace::Error> {
        MIGRATIONS.status(&mut self.conn)
    }
}

/// The step of [`ComplianceDatabase::open`] that failed.
#[derive(Debug, Clone, Copy)]
enum Stage {
    Connect,
    BaseTables,
    Migrate,
}

/// Why the compliance database could not be opened. The cause is the error's
/// `source()`.
#[derive(Debug)]
struct OpenError {
    path: PathBuf,
    stage: Stage,
    source: Box<dyn Error + Send + Sync>,
}

impl fmt::Display for OpenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = self.path.display();
        match self.stage {
            Stage::Connect => write!(f, "cannot open the database {path}"),
            Stage::BaseTables => write!(f, "cannot create the base tables in {path}"),
            Stage::Migrate => write!(f, "cannot migrate {path}"),
        }
    }
}

impl Error for OpenError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        Some(&*self.source)
    }
}
