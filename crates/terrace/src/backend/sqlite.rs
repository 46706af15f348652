//! SQLite, through `rusqlite`.
//!
//! The lock is SQLite's own write lock: `BEGIN IMMEDIATE` takes it before the history
//! is read, and the busy timeout makes other processes wait for it instead of failing
//! with "database is locked". Since that lock lasts one transaction, a file database
//! is also locked for the whole run by a lock file beside it (see
//! [`lock_file`](super::lock_file)). The journal mode is never touched.

use crate::backend::lock_file::{self, LockFile};
use crate::backend::{
    Backend, BackendResult, Database, LockTimedOut, NewRow, quote_double as quote, version_param,
};
use crate::error::Error;
use crate::history::{AppliedMigration, ExtraColumn, RowState, StoredRow, TableName};
use rusqlite::types::ValueRef;
use rusqlite::{Connection, params};
use std::time::Duration;
use terrace_format::Dialect;

impl Database for Connection {
    fn backend(&mut self) -> Result<Box<dyn Backend + '_>, Error> {
        Ok(Box::new(Sqlite {
            conn: self,
            saved_busy_timeout: None,
            lock_file: None,
        }))
    }
}

/// The SQLite backend over a borrowed connection.
struct Sqlite<'c> {
    conn: &'c Connection,
    /// The connection's busy timeout before [`Backend::lock`] raised it.
    saved_busy_timeout: Option<i64>,
    /// The run's lock file, held from [`Backend::lock`] to [`Backend::unlock`].
    lock_file: Option<LockFile>,
}

/// Splits `schema.table` for the table-valued pragmas, which take them apart.
fn split(table: &str) -> (&str, &str) {
    table.split_once('.').unwrap_or(("main", table))
}

fn column_type(column: ExtraColumn) -> &'static str {
    match column {
        ExtraColumn::Checksum => "TEXT",
        ExtraColumn::ExecutionMs => "INTEGER",
        ExtraColumn::State => "TEXT NOT NULL DEFAULT 'applied'",
        ExtraColumn::Cumulative => "TEXT",
    }
}

fn text(value: ValueRef<'_>) -> Option<String> {
    match value {
        ValueRef::Null => None,
        ValueRef::Integer(i) => Some(i.to_string()),
        ValueRef::Real(f) => Some(f.to_string()),
        ValueRef::Text(t) | ValueRef::Blob(t) => Some(String::from_utf8_lossy(t).into_owned()),
    }
}

impl Sqlite<'_> {
    /// Runs an insert or update whose parameters ?1 to ?6 are a row's fields.
    fn write_row(&mut self, sql: &str, row: &NewRow<'_>) -> BackendResult<()> {
        self.conn.prepare_cached(sql)?.execute(params![
            version_param(row.version)?,
            row.name,
            row.checksum,
            row.execution_ms,
            row.state.as_str(),
            row.cumulative_checksum
        ])?;
        Ok(())
    }
}

impl Backend for Sqlite<'_> {
    fn name(&self) -> &'static str {
        "sqlite"
    }

    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }

    fn transactional_ddl(&self) -> bool {
        true
    }

    fn prefers_one_transaction(&self) -> bool {
        true
    }

    fn transaction_open(&mut self) -> BackendResult<bool> {
        Ok(!self.conn.is_autocommit())
    }

    fn lock(&mut self, _table: &TableName, timeout: Duration) -> BackendResult<()> {
        if let Some(path) = self.conn.path().filter(|p| !p.is_empty()) {
            let path = lock_file::path_for(std::path::Path::new(path));
            match LockFile::acquire(&path, timeout) {
                Ok(held) => self.lock_file = Some(held),
                // A folder Terrace may not write to: SQLite itself says whether the
                // database can be written, and the run is locked by its transactions.
                Err(err)
                    if matches!(
                        err.kind(),
                        std::io::ErrorKind::PermissionDenied
                            | std::io::ErrorKind::ReadOnlyFilesystem
                    ) =>
                {
                    tracing::warn!(path = %path.display(), error = %err, "cannot create the lock file; locking by transaction only");
                }
                Err(err) if err.kind() == std::io::ErrorKind::TimedOut => {
                    return Err(Box::new(LockTimedOut));
                }
                Err(err) => return Err(err.into()),
            }
        }
        let current: i64 = self
            .conn
            .pragma_query_value(None, "busy_timeout", |row| row.get(0))?;
        if u128::try_from(current).unwrap_or(0) < timeout.as_millis() {
            self.saved_busy_timeout = Some(current);
            self.conn.busy_timeout(timeout)?;
        }
        Ok(())
    }

    fn unlock(&mut self, _table: &TableName) -> BackendResult<()> {
        self.lock_file = None;
        if let Some(ms) = self.saved_busy_timeout.take() {
            self.conn
                .busy_timeout(Duration::from_millis(u64::try_from(ms).unwrap_or(0)))?;
        }
        Ok(())
    }

    fn begin(&mut self) -> BackendResult<()> {
        // BEGIN IMMEDIATE takes the write lock: busy after the busy timeout means
        // another connection held it all that time.
        match self.conn.execute_batch("BEGIN IMMEDIATE") {
            Err(e) if e.sqlite_error_code() == Some(rusqlite::ErrorCode::DatabaseBusy) => {
                Err(Box::new(LockTimedOut))
            }
            other => Ok(other?),
        }
    }

    fn commit(&mut self) -> BackendResult<()> {
        Ok(self.conn.execute_batch("COMMIT")?)
    }

    fn rollback(&mut self) -> BackendResult<()> {
        Ok(self.conn.execute_batch("ROLLBACK")?)
    }

    fn savepoint(&mut self, name: &str) -> BackendResult<()> {
        // Cached: a savepoint statement touches no table, so the schema changes of the
        // migrations between two uses do not force SQLite to prepare it again.
        self.conn
            .prepare_cached(&format!("SAVEPOINT {name}"))?
            .execute([])?;
        Ok(())
    }

    fn release(&mut self, name: &str) -> BackendResult<()> {
        self.conn
            .prepare_cached(&format!("RELEASE {name}"))?
            .execute([])?;
        Ok(())
    }

    fn rollback_to(&mut self, name: &str) -> BackendResult<()> {
        Ok(self
            .conn
            .execute_batch(&format!("ROLLBACK TO {name}; RELEASE {name}"))?)
    }

    fn execute(&mut self, sql: &str) -> BackendResult<()> {
        Ok(self.conn.execute_batch(sql)?)
    }

    fn quote(&self, identifier: &str) -> String {
        quote(identifier)
    }

    fn columns(&mut self, table: &str) -> BackendResult<Option<Vec<String>>> {
        let (schema, table) = split(table);
        let mut stmt = self
            .conn
            .prepare_cached("SELECT name FROM pragma_table_info(?1, ?2) ORDER BY cid")?;
        let columns = stmt
            .query_map(params![table, schema], |row| row.get::<_, String>(0))?
            .collect::<Result<Vec<_>, _>>()?;
        Ok((!columns.is_empty()).then_some(columns))
    }

    fn has_index(&mut self, table: &str, index: &str) -> BackendResult<bool> {
        let (schema, table) = split(table);
        let mut stmt = self
            .conn
            .prepare_cached("SELECT 1 FROM pragma_index_list(?1, ?2) WHERE name = ?3")?;
        Ok(stmt.exists(params![table, schema, index])?)
    }

    fn create_history(&mut self, table: &TableName) -> BackendResult<()> {
        Ok(self.conn.execute_batch(&format!(
            "CREATE TABLE {} (
                version INTEGER PRIMARY KEY,
                name TEXT NOT NULL,
                applied_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
                checksum TEXT,
                execution_ms INTEGER,
                state TEXT NOT NULL DEFAULT 'applied',
                cumulative_checksum TEXT
            )",
            quote(table.as_str())
        ))?)
    }

    fn add_history_column(&mut self, table: &TableName, column: ExtraColumn) -> BackendResult<()> {
        Ok(self.conn.execute_batch(&format!(
            "ALTER TABLE {} ADD COLUMN {} {}",
            quote(table.as_str()),
            column.name(),
            column_type(column)
        ))?)
    }

    fn read_history(
        &mut self,
        table: &TableName,
        columns: &[ExtraColumn],
    ) -> BackendResult<Vec<AppliedMigration>> {
        let pick = |column: ExtraColumn, absent: &'static str| {
            if columns.contains(&column) {
                column.name()
            } else {
                absent
            }
        };
        let sql = format!(
            "SELECT version, name, applied_at, {}, {}, {}, {} FROM {} ORDER BY version",
            pick(ExtraColumn::Checksum, "NULL"),
            pick(ExtraColumn::ExecutionMs, "NULL"),
            pick(ExtraColumn::State, "'applied'"),
            pick(ExtraColumn::Cumulative, "NULL"),
            quote(table.as_str())
        );
        let mut stmt = self.conn.prepare(&sql)?;
        let mut rows = stmt.query([])?;
        let mut out = Vec::new();
        while let Some(row) = rows.next()? {
            let read = StoredRow {
                version: row.get(0)?,
                name: text(row.get_ref(1)?),
                applied_at: text(row.get_ref(2)?),
                checksum: text(row.get_ref(3)?),
                execution_ms: row.get(4)?,
                state: text(row.get_ref(5)?),
                cumulative_checksum: text(row.get_ref(6)?),
            };
            out.push(read.into_row(table)?);
        }
        Ok(out)
    }

    fn row_state(&mut self, table: &TableName, version: u64) -> BackendResult<Option<RowState>> {
        let sql = format!(
            "SELECT state FROM {} WHERE version = ?1",
            quote(table.as_str())
        );
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let mut rows = stmt.query([version_param(version)?])?;
        Ok(match rows.next()? {
            Some(row) => Some(RowState::from_column(text(row.get_ref(0)?).as_deref())),
            None => None,
        })
    }

    fn insert_row(&mut self, table: &TableName, row: &NewRow<'_>) -> BackendResult<()> {
        let sql = format!(
            "INSERT INTO {} (version, name, checksum, execution_ms, state, cumulative_checksum) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            quote(table.as_str())
        );
        self.write_row(&sql, row)
    }

    fn insert_rows(&mut self, table: &TableName, rows: &[NewRow<'_>]) -> BackendResult<()> {
        // A run's rows go in as few statements as possible: one prepared statement of
        // up to CHUNK rows, bound and stepped once per chunk.
        const CHUNK: usize = 100;
        for chunk in rows.chunks(CHUNK) {
            let values = vec!["(?, ?, ?, ?, ?, ?)"; chunk.len()].join(", ");
            let sql = format!(
                "INSERT INTO {} (version, name, checksum, execution_ms, state, cumulative_checksum) VALUES {values}",
                quote(table.as_str())
            );
            let mut stmt = self.conn.prepare_cached(&sql)?;
            let mut index = 1;
            for row in chunk {
                stmt.raw_bind_parameter(index, version_param(row.version)?)?;
                stmt.raw_bind_parameter(index + 1, row.name)?;
                stmt.raw_bind_parameter(index + 2, row.checksum)?;
                stmt.raw_bind_parameter(index + 3, row.execution_ms)?;
                stmt.raw_bind_parameter(index + 4, row.state.as_str())?;
                stmt.raw_bind_parameter(index + 5, row.cumulative_checksum)?;
                index += 6;
            }
            stmt.raw_execute()?;
        }
        Ok(())
    }

    fn update_row(&mut self, table: &TableName, row: &NewRow<'_>) -> BackendResult<()> {
        let sql = format!(
            "UPDATE {} SET name = ?2, checksum = ?3, execution_ms = COALESCE(?4, execution_ms), state = ?5, \
             cumulative_checksum = ?6 WHERE version = ?1",
            quote(table.as_str())
        );
        self.write_row(&sql, row)
    }

    fn delete_row(&mut self, table: &TableName, version: u64) -> BackendResult<()> {
        let sql = format!("DELETE FROM {} WHERE version = ?1", quote(table.as_str()));
        self.conn
            .prepare_cached(&sql)?
            .execute([version_param(version)?])?;
        Ok(())
    }

    fn drop_history(&mut self, table: &TableName) -> BackendResult<()> {
        Ok(self
            .conn
            .execute_batch(&format!("DROP TABLE {}", quote(table.as_str())))?)
    }

    fn sqlite(&mut self) -> Option<&rusqlite::Connection> {
        Some(self.conn)
    }
}
