//! What a code migration receives: the connection, with idempotent schema helpers.
//!
//! The helpers decide by introspecting the schema (SQLite's pragmas, the
//! `information_schema` of the servers), never by running a statement and matching its
//! error message, so they behave the same on every backend and in every locale.

use crate::error::BoxError;
use std::any::Any;
use terrace_format::{Dialect, split_statements};

/// What a blocking connection offers a code migration: a [`Db`] is made of one. The
/// adapters of blocking drivers implement it; an async driver cannot (code runs
/// without awaiting).
pub trait CodeConnection: Send {
    /// The backend's name: `"sqlite"`, `"postgres"` or `"mysql"`.
    fn backend_name(&self) -> &'static str;
    /// The SQL dialect, for splitting statements.
    fn dialect(&self) -> Dialect;
    /// Executes one SQL statement, discarding any rows.
    fn execute(&mut self, sql: &str) -> Result<(), BoxError>;
    /// Quotes an identifier (each part of a `schema.table` name separately).
    fn quote(&self, identifier: &str) -> String;
    /// The column names of a table, or `None` if it does not exist.
    fn columns(&mut self, table: &str) -> Result<Option<Vec<String>>, BoxError>;
    /// Whether an index of this name exists on the table.
    fn has_index(&mut self, table: &str, index: &str) -> Result<bool, BoxError>;
    /// The driver's connection, for [`Db::connection`].
    fn connection(&mut self) -> Option<&mut dyn Any>;
}

/// The connection a code migration runs on, inside the migration's transaction
/// (where the backend has transactional DDL and the migration is transactional).
///
/// ```
/// # use terrace::{Db, CodeResult};
/// fn add_token_tracking(db: &mut Db<'_>) -> CodeResult {
///     db.add_column_if_missing("compliance_checks", "input_tokens", "INTEGER NOT NULL DEFAULT 0")?;
///     db.create_index_if_missing("idx_checks_tokens", "compliance_checks", &["input_tokens"])?;
///     Ok(())
/// }
/// ```
pub struct Db<'a> {
    backend: &'a mut dyn CodeConnection,
}

impl<'a> Db<'a> {
    /// A `Db` over a connection; adapters make one to run a code migration.
    #[doc(hidden)]
    pub fn new(backend: &'a mut dyn CodeConnection) -> Self {
        Db { backend }
    }

    /// The backend's name: `"sqlite"`, `"postgres"` or `"mysql"`.
    pub fn backend_name(&self) -> &'static str {
        self.backend.backend_name()
    }

    /// Executes SQL: one statement or several separated by `;`.
    pub fn execute(&mut self, sql: &str) -> Result<(), BoxError> {
        for statement in split_statements(sql, self.backend.dialect()) {
            self.backend.execute(statement.text)?;
        }
        Ok(())
    }

    /// Whether a table (or `schema.table`) exists.
    pub fn has_table(&mut self, table: &str) -> Result<bool, BoxError> {
        Ok(self.backend.columns(table)?.is_some())
    }

    /// The table's column names, or `None` if it does not exist.
    pub fn columns(&mut self, table: &str) -> Result<Option<Vec<String>>, BoxError> {
        self.backend.columns(table)
    }

    /// Whether the table has the column (compared without regard to ASCII case).
    pub fn has_column(&mut self, table: &str, column: &str) -> Result<bool, BoxError> {
        Ok(self
            .backend
            .columns(table)?
            .is_some_and(|columns| columns.iter().any(|c| c.eq_ignore_ascii_case(column))))
    }

    /// Whether the table has an index of this name.
    pub fn has_index(&mut self, table: &str, index: &str) -> Result<bool, BoxError> {
        self.backend.has_index(table, index)
    }

    /// Adds a column unless the table already has it. `definition` is the column's type
    /// and constraints, as in `ALTER TABLE … ADD COLUMN name definition`. Returns
    /// whether the column was added.
    pub fn add_column_if_missing(
        &mut self,
        table: &str,
        column: &str,
        definition: &str,
    ) -> Result<bool, BoxError> {
        if self.has_column(table, column)? {
            return Ok(false);
        }
        let sql = format!(
            "ALTER TABLE {} ADD COLUMN {} {definition}",
            self.backend.quote(table),
            self.backend.quote(column)
        );
        self.backend.execute(&sql)?;
        Ok(true)
    }

    /// Drops a column if the table has it. Returns whether it was dropped.
    pub fn drop_column_if_exists(&mut self, table: &str, column: &str) -> Result<bool, BoxError> {
        if !self.has_column(table, column)? {
            return Ok(false);
        }
        let sql = format!(
            "ALTER TABLE {} DROP COLUMN {}",
            self.backend.quote(table),
            self.backend.quote(column)
        );
        self.backend.execute(&sql)?;
        Ok(true)
    }

    /// Creates an index on `columns` unless one of that name exists. Returns whether it
    /// was created.
    pub fn create_index_if_missing(
        &mut self,
        index: &str,
        table: &str,
        columns: &[&str],
    ) -> Result<bool, BoxError> {
        if self.has_index(table, index)? {
            return Ok(false);
        }
        let columns: Vec<String> = columns.iter().map(|c| self.backend.quote(c)).collect();
        let sql = format!(
            "CREATE INDEX {} ON {} ({})",
            self.backend.quote(index),
            self.backend.quote(table),
            columns.join(", ")
        );
        self.backend.execute(&sql)?;
        Ok(true)
    }

    /// The driver's connection, when it is a `C`, for queries the helpers do not cover
    /// (reading rows, binding parameters): `db.connection::<rusqlite::Connection>()` on
    /// SQLite, `db.connection::<postgres::Client>()` on PostgreSQL,
    /// `db.connection::<mysql::Conn>()` on MySQL.
    pub fn connection<C: Any>(&mut self) -> Option<&mut C> {
        self.backend.connection()?.downcast_mut()
    }

    /// The SQL dialect of the database.
    pub fn dialect(&self) -> Dialect {
        self.backend.dialect()
    }
}
