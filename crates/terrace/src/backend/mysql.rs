//! MySQL and MariaDB, through the `mysql` client.
//!
//! DDL commits implicitly, so every migration is marked started in the history before
//! it runs and completed after: an interruption leaves a dirty row that `status`
//! reports and `repair` clears. The lock is `GET_LOCK`, a named session lock.
//! An unqualified tracking table is in the connection's current database, resolved once
//! before anything runs, so a migration's `USE` moves neither the history nor the lock.
//! `applied_at` is a `DATETIME(6)`: a `TIMESTAMP` ends in January 2038, so tables made
//! with one are upgraded in place before they are next written.

use crate::backend::{
    BackendResult, Blocking, Database, LockTimedOut, NewRow, SyncBackend, version_param,
};
use crate::error::BoxError;
use crate::error::Error;
use crate::history::{ExtraColumn, HistoryRow, RowState, StoredRow, TableName};
use mysql::prelude::FromRow;
use mysql::prelude::Queryable;
use mysql::{Conn, Params, Row};
use std::time::Duration;
use terrace_core::sql_backend::{MYSQL_LOCK_NAME, quote_backticks as quote};
use terrace_format::Dialect;

impl crate::backend::sealed::Sealed for Conn {}

impl Database for Conn {
    fn backend(&mut self) -> Result<Box<dyn terrace_core::Backend + '_>, Error> {
        Ok(Box::new(Blocking(Mysql {
            conn: self,
            database: None,
        })))
    }
}

struct Mysql<'c> {
    conn: &'c mut Conn,
    /// The current database when first needed: where an unqualified tracking table is.
    database: Option<String>,
}

/// The server's own message as the error's text, without the driver's wrapping; any
/// other driver error (a lost connection) as a plain phrase, since the driver's
/// `Display` names its variant (`IoError { server disconnected }`).
fn server_error(e: mysql::Error) -> BoxError {
    match e {
        mysql::Error::MySqlError(server) => Box::new(server),
        other => crate::connection::plain_mysql_error(&other),
    }
}

impl Mysql<'_> {
    /// The tracking table's database: as written, or the connection's current one,
    /// resolved once before anything runs, so that a migration changing it (`USE`)
    /// cannot move the history or the lock.
    fn database(&mut self, table: &TableName) -> BackendResult<String> {
        if let Some(database) = table.schema().or(self.database.as_deref()) {
            return Ok(database.to_owned());
        }
        let current: Option<Option<String>> = self.exec_first("SELECT DATABASE()", ())?;
        let database = current.flatten().ok_or_else(|| {
            format!(
                "table {table} has no database: the connection has none selected; name one in \
                 the URL, or qualify the table name (database.table)"
            )
        })?;
        self.database = Some(database.clone());
        Ok(database)
    }

    /// The tracking table's name, qualified by its database and quoted.
    fn history(&mut self, table: &TableName) -> BackendResult<String> {
        let database = self.database(table)?;
        Ok(format!("{}.{}", quote(&database), quote(table.table())))
    }

    fn run(&mut self, sql: impl AsRef<str>) -> BackendResult<()> {
        self.conn.query_drop(sql).map_err(server_error)
    }

    fn exec_drop(&mut self, sql: impl AsRef<str>, params: impl Into<Params>) -> BackendResult<()> {
        self.conn.exec_drop(sql, params).map_err(server_error)
    }

    fn exec_first<T: FromRow>(
        &mut self,
        sql: impl AsRef<str>,
        params: impl Into<Params>,
    ) -> BackendResult<Option<T>> {
        self.conn.exec_first(sql, params).map_err(server_error)
    }

    fn exec_all<T: FromRow>(
        &mut self,
        sql: impl AsRef<str>,
        params: impl Into<Params>,
    ) -> BackendResult<Vec<T>> {
        self.conn.exec(sql, params).map_err(server_error)
    }
}

/// `(schema, table)` for the `information_schema` queries; `None` means the current
/// database.
fn split(table: &str) -> (Option<&str>, &str) {
    match table.split_once('.') {
        Some((schema, table)) => (Some(schema), table),
        None => (None, table),
    }
}

/// A history row as the driver reads it: version, name, applied_at, checksum,
/// execution_ms, state, cumulative_checksum; every column may be `NULL`.
type DriverRow = (
    Option<i64>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<i64>,
    Option<String>,
    Option<String>,
);

/// The type of `applied_at`, and its default.
const APPLIED_AT: &str = "DATETIME(6) NULL DEFAULT CURRENT_TIMESTAMP(6)";

fn column_type(column: ExtraColumn) -> &'static str {
    match column {
        ExtraColumn::Checksum => "VARCHAR(100)",
        ExtraColumn::ExecutionMs => "BIGINT",
        ExtraColumn::State => "VARCHAR(16) NOT NULL DEFAULT 'applied'",
        ExtraColumn::Cumulative => "VARCHAR(100)",
    }
}

impl SyncBackend for Mysql<'_> {
    fn connection(&mut self) -> Option<&mut dyn std::any::Any> {
        Some(self.conn)
    }

    fn name(&self) -> &'static str {
        "mysql"
    }

    fn dialect(&self) -> Dialect {
        Dialect::Mysql
    }

    fn transactional_ddl(&self) -> bool {
        false
    }

    fn prefers_one_transaction(&self) -> bool {
        false
    }

    fn lock(&mut self, table: &TableName, timeout: Duration) -> BackendResult<()> {
        // GET_LOCK waits whole seconds: a timeout under one second waits one.
        let seconds = timeout.as_secs().max(1);
        let database = self.database(table)?;
        let mut get_lock = |seconds: u64| -> BackendResult<bool> {
            let got: Option<Option<i64>> = self.exec_first(
                format!("SELECT GET_LOCK({MYSQL_LOCK_NAME}, ?)"),
                (database.as_str(), table.table(), seconds),
            )?;
            match got.flatten() {
                Some(1) => Ok(true),
                Some(0) => Ok(false),
                _ => Err(format!("GET_LOCK failed for the migration lock on table {table}").into()),
            }
        };
        // A first try that does not wait, so that a held lock is known at once.
        if get_lock(0)? {
            return Ok(());
        }
        if timeout.is_zero() {
            return Err(Box::new(LockTimedOut));
        }
        if get_lock(seconds)? {
            Ok(())
        } else {
            Err(Box::new(LockTimedOut))
        }
    }

    fn unlock(&mut self, table: &TableName) -> BackendResult<()> {
        let database = self.database(table)?;
        let released: Option<Option<i64>> = self.exec_first(
            format!("SELECT RELEASE_LOCK({MYSQL_LOCK_NAME})"),
            (database, table.table()),
        )?;
        match released.flatten() {
            Some(1) => Ok(()),
            _ => Err(format!(
                "the lock was no longer held: a statement of the run released it \
                 (RELEASE_ALL_LOCKS, RELEASE_LOCK), or the connection was reset, so the run was \
                 not protected from another runner after that; check the history of table {table}"
            )
            .into()),
        }
    }

    fn begin(&mut self) -> BackendResult<()> {
        self.run("START TRANSACTION")
    }

    fn commit(&mut self) -> BackendResult<()> {
        self.run("COMMIT")
    }

    fn rollback(&mut self) -> BackendResult<()> {
        self.run("ROLLBACK")
    }

    fn savepoint(&mut self, name: &str) -> BackendResult<()> {
        self.run(format!("SAVEPOINT {name}"))
    }

    fn release(&mut self, name: &str) -> BackendResult<()> {
        self.run(format!("RELEASE SAVEPOINT {name}"))
    }

    fn rollback_to(&mut self, name: &str) -> BackendResult<()> {
        self.run(format!("ROLLBACK TO SAVEPOINT {name}"))?;
        self.run(format!("RELEASE SAVEPOINT {name}"))
    }

    fn execute(&mut self, sql: &str) -> BackendResult<()> {
        self.run(sql)
    }

    fn quote(&self, identifier: &str) -> String {
        quote(identifier)
    }

    fn columns(&mut self, table: &str) -> BackendResult<Option<Vec<String>>> {
        let (schema, table) = split(table);
        let columns: Vec<String> = self.exec_all(
            "SELECT CAST(column_name AS CHAR) FROM information_schema.columns \
             WHERE table_schema = COALESCE(?, DATABASE()) AND table_name = ? \
             ORDER BY ordinal_position",
            (schema, table),
        )?;
        Ok((!columns.is_empty()).then_some(columns))
    }

    fn history_columns(&mut self, table: &TableName) -> BackendResult<Option<Vec<String>>> {
        let database = self.database(table)?;
        let columns: Vec<String> = self.exec_all(
            "SELECT CAST(column_name AS CHAR) FROM information_schema.columns \
             WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position",
            (database, table.table()),
        )?;
        Ok((!columns.is_empty()).then_some(columns))
    }

    fn has_index(&mut self, table: &str, index: &str) -> BackendResult<bool> {
        let (schema, table) = split(table);
        let found: Option<i64> = self.exec_first(
            "SELECT 1 FROM information_schema.statistics \
             WHERE table_schema = COALESCE(?, DATABASE()) AND table_name = ? AND index_name = ? LIMIT 1",
            (schema, table, index),
        )?;
        Ok(found.is_some())
    }

    fn create_history(&mut self, table: &TableName) -> BackendResult<()> {
        let relation = self.history(table)?;
        self.run(format!(
            "CREATE TABLE {relation} (
                version BIGINT PRIMARY KEY,
                name VARCHAR(255) NOT NULL,
                applied_at {APPLIED_AT},
                checksum VARCHAR(100),
                execution_ms BIGINT,
                state VARCHAR(16) NOT NULL DEFAULT 'applied',
                cumulative_checksum VARCHAR(100)
            )"
        ))
    }

    fn upgrade_history(&mut self, table: &TableName) -> BackendResult<()> {
        let database = self.database(table)?;
        let kind: Option<String> = self.exec_first(
            "SELECT CAST(data_type AS CHAR) FROM information_schema.columns \
             WHERE table_schema = ? AND table_name = ? AND column_name = 'applied_at'",
            (database, table.table()),
        )?;
        if kind.is_some_and(|kind| kind.eq_ignore_ascii_case("timestamp")) {
            let relation = self.history(table)?;
            self.run(format!(
                "ALTER TABLE {relation} MODIFY applied_at {APPLIED_AT}"
            ))?;
            tracing::info!(table = %table, "applied_at upgraded from TIMESTAMP to DATETIME(6)");
        }
        Ok(())
    }

    fn add_history_column(&mut self, table: &TableName, column: ExtraColumn) -> BackendResult<()> {
        let relation = self.history(table)?;
        self.run(format!(
            "ALTER TABLE {relation} ADD COLUMN {} {}",
            column.name(),
            column_type(column)
        ))
    }

    fn read_history(
        &mut self,
        table: &TableName,
        columns: &[ExtraColumn],
    ) -> BackendResult<Vec<HistoryRow>> {
        let pick = |column: ExtraColumn, absent: &'static str| {
            if columns.contains(&column) {
                column.name()
            } else {
                absent
            }
        };
        let sql = format!(
            "SELECT version, CAST(name AS CHAR), CAST(DATE_FORMAT(applied_at, '%Y-%m-%d %H:%i:%s') AS CHAR), \
             CAST({} AS CHAR), {}, CAST({} AS CHAR), CAST({} AS CHAR) FROM {} ORDER BY version",
            pick(ExtraColumn::Checksum, "NULL"),
            pick(ExtraColumn::ExecutionMs, "NULL"),
            pick(ExtraColumn::State, "'applied'"),
            pick(ExtraColumn::Cumulative, "NULL"),
            self.history(table)?
        );
        let rows: Vec<Row> = self.conn.query(sql).map_err(server_error)?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let (version, name, applied_at, checksum, execution_ms, state, cumulative_checksum): DriverRow =
                mysql::from_row_opt(row)?;
            let read = StoredRow {
                version,
                name,
                applied_at,
                checksum,
                execution_ms,
                state,
                cumulative_checksum,
            };
            out.push(read.into_row(table)?);
        }
        Ok(out)
    }

    fn row_state(&mut self, table: &TableName, version: u64) -> BackendResult<Option<RowState>> {
        let sql = format!(
            "SELECT CAST(state AS CHAR) FROM {} WHERE version = ?",
            self.history(table)?
        );
        let found: Option<Option<String>> = self.exec_first(sql, (version_param(version)?,))?;
        Ok(found.map(|state| RowState::from_column(state.as_deref())))
    }

    fn insert_row(&mut self, table: &TableName, row: &NewRow<'_>) -> BackendResult<()> {
        let sql = format!(
            "INSERT INTO {} (version, name, checksum, execution_ms, state, cumulative_checksum) \
             VALUES (?, ?, ?, ?, ?, ?)",
            self.history(table)?
        );
        self.exec_drop(
            sql,
            (
                version_param(row.version)?,
                row.name,
                row.checksum,
                row.execution_ms,
                row.state.as_str(),
                row.cumulative_checksum,
            ),
        )?;
        Ok(())
    }

    fn update_row(&mut self, table: &TableName, row: &NewRow<'_>) -> BackendResult<()> {
        let sql = format!(
            "UPDATE {} SET name = ?, checksum = ?, execution_ms = COALESCE(?, execution_ms), state = ?, \
             cumulative_checksum = ? WHERE version = ?",
            self.history(table)?
        );
        self.exec_drop(
            sql,
            (
                row.name,
                row.checksum,
                row.execution_ms,
                row.state.as_str(),
                row.cumulative_checksum,
                version_param(row.version)?,
            ),
        )?;
        Ok(())
    }

    fn delete_row(&mut self, table: &TableName, version: u64) -> BackendResult<()> {
        let sql = format!("DELETE FROM {} WHERE version = ?", self.history(table)?);
        self.exec_drop(sql, (version_param(version)?,))?;
        Ok(())
    }

    fn drop_history(&mut self, table: &TableName) -> BackendResult<()> {
        let relation = self.history(table)?;
        self.run(format!("DROP TABLE {relation}"))
    }
}
