//! SQLite, through `rusqlite`.
//!
//! The lock is SQLite's own write lock: `BEGIN IMMEDIATE` takes it before the history
//! is read, and the busy timeout makes other processes wait for it instead of failing
//! with "database is locked". The lock timeout bounds the whole command's waiting: each
//! `BEGIN IMMEDIATE` and `COMMIT` (which, in rollback-journal mode, waits for readers to
//! leave) may wait only for what is left of it. Since SQLite's write lock lasts one
//! transaction, a file database is also locked for the whole command by a lock file
//! beside it (see [`lock_file`](super::lock_file)). The journal mode is never touched.
//!
//! Foreign key enforcement is switched off for a writing command, before its first
//! transaction (SQLite ignores the pragma inside one), so that a migration can rebuild
//! a table the way SQLite documents it without `ON DELETE` actions firing when the old
//! table is dropped. If it was on, `PRAGMA foreign_key_check` runs after each migration
//! and fails it for any violation that was not there before the command. The caller's
//! settings come back when the command ends, on every path.

use crate::backend::{
    BackendResult, Blocking, Database, LockTimedOut, NewRow, RowKey, SyncBackend,
    quote_double as quote, version_param,
};
use crate::error::Error;
use crate::history::{ExtraColumn, HistoryRow, RowState, StoredRow, TableName};
use rusqlite::types::ValueRef;
use rusqlite::{Connection, ErrorCode, params};
use std::collections::HashSet;
use std::fmt::Write as _;
use std::time::{Duration, Instant};
use terrace_core::sql_backend::lock_file::{self, LockFile};
use terrace_core::sql_backend::{mentions_references, show};
use terrace_format::Dialect;

impl crate::backend::sealed::Sealed for Connection {}

impl Database for Connection {
    fn backend(&mut self) -> Result<Box<dyn terrace_core::Backend + '_>, Error> {
        Ok(Box::new(Blocking(Sqlite {
            conn: self,
            held: None,
        })))
    }
}

/// The SQLite backend over a borrowed connection.
struct Sqlite<'c> {
    conn: &'c mut Connection,
    /// While a writing command holds the lock: what it changed on the connection and
    /// how much longer it may wait.
    held: Option<Held>,
}

/// The state of a writing command, from [`Backend::lock`] to [`Backend::unlock`].
struct Held {
    /// The lock timeout.
    timeout: Duration,
    /// What is left of it for waiting on the database's locks.
    budget: Duration,
    /// The connection's busy timeout before the command, in milliseconds.
    busy_timeout_ms: i64,
    /// Whether foreign keys were enforced before the command.
    foreign_keys: bool,
    /// The foreign key violations present before the command, which no migration is
    /// blamed for; `None` when enforcement was off and nothing is checked.
    known_violations: Option<HashSet<Violation>>,
    /// Whether the schema may hold a foreign key: one was there before the command, a
    /// statement since mentioned `REFERENCES`, or a code migration was given the
    /// connection. Until then there is nothing to check, and the check costs nothing.
    foreign_keys_present: bool,
    /// The lock file, held until the command ends (`None` for a database in memory,
    /// or a folder Terrace may not write to).
    _lock_file: Option<LockFile>,
}

/// A row of `PRAGMA foreign_key_check`: the table, the row's rowid (`None` in a
/// `WITHOUT ROWID` table), the parent table and the foreign key's id.
type Violation = (String, Option<i64>, String, i64);

/// Every foreign key violation in the database.
fn violations(conn: &Connection) -> rusqlite::Result<Vec<Violation>> {
    let mut stmt =
        conn.prepare_cached("SELECT \"table\", rowid, parent, fkid FROM pragma_foreign_key_check")?;
    stmt.query_map([], |row| {
        Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?))
    })?
    .collect()
}

fn busy(error: &rusqlite::Error) -> bool {
    error.sqlite_error_code() == Some(ErrorCode::DatabaseBusy)
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
        // Checking first is far cheaper than the lossy conversion for the valid text
        // that every row holds.
        ValueRef::Text(t) | ValueRef::Blob(t) => Some(match std::str::from_utf8(t) {
            Ok(valid) => valid.to_owned(),
            Err(_) => String::from_utf8_lossy(t).into_owned(),
        }),
    }
}

impl Sqlite<'_> {
    /// Takes the lock file, waiting for it at most `file_wait`, and prepares the
    /// connection for a writing command whose waits may last `timeout` in all.
    fn take_lock(&mut self, file_wait: Duration, timeout: Duration) -> BackendResult<()> {
        self.restore()?;
        let began = Instant::now();
        let lock_file = match self.conn.path().filter(|p| !p.is_empty()) {
            Some(path) => {
                let path = lock_file::path_for(std::path::Path::new(path));
                match lock_file::acquire_blocking(&path, file_wait) {
                    Ok(held) => Some(held),
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
                        None
                    }
                    Err(err) if err.kind() == std::io::ErrorKind::TimedOut => {
                        return Err(Box::new(LockTimedOut));
                    }
                    Err(err) => return Err(err.into()),
                }
            }
            None => None,
        };
        let busy_timeout_ms: i64 = self
            .conn
            .pragma_query_value(None, "busy_timeout", |row| row.get(0))?;
        // Inside the caller's own transaction the pragma cannot change (and BEGIN will
        // fail): leave it alone.
        let foreign_keys: bool = self.conn.is_autocommit()
            && self
                .conn
                .pragma_query_value(None, "foreign_keys", |row| row.get(0))?;
        // Held from here on, so that an error below still restores (on drop).
        self.held = Some(Held {
            timeout,
            budget: timeout.saturating_sub(began.elapsed()),
            busy_timeout_ms,
            foreign_keys,
            known_violations: None,
            foreign_keys_present: false,
            _lock_file: lock_file,
        });
        if foreign_keys {
            let present = self
                .conn
                .prepare_cached(
                    "SELECT 1 FROM sqlite_schema WHERE type = 'table' AND sql LIKE '%references%'",
                )?
                .exists([])?;
            let known = if present {
                violations(self.conn)?.into_iter().collect()
            } else {
                HashSet::new()
            };
            self.conn.pragma_update(None, "foreign_keys", false)?;
            if let Some(held) = self.held.as_mut() {
                held.known_violations = Some(known);
                held.foreign_keys_present = present;
            }
        }
        Ok(())
    }

    /// Runs `BEGIN IMMEDIATE` or `COMMIT`, waiting for the database's locks at most for
    /// what is left of the lock timeout, and counts the time against it.
    fn waiting(&mut self, sql: &str) -> BackendResult<()> {
        let conn = &*self.conn;
        let Some(held) = self.held.as_mut() else {
            return Ok(conn.execute_batch(sql)?);
        };
        conn.busy_timeout(held.budget)?;
        let began = Instant::now();
        let result = conn.execute_batch(sql);
        held.budget = held.budget.saturating_sub(began.elapsed());
        match result {
            Ok(()) => Ok(()),
            Err(e) if busy(&e) && sql == "COMMIT" => Err(format!(
                "the database stayed busy: the commit waits for every reader of the file to \
                 finish (rollback-journal mode), and another connection kept reading past the \
                 lock timeout of {}; nothing was committed",
                show(held.timeout)
            )
            .into()),
            // BEGIN IMMEDIATE takes the write lock: busy for the rest of the lock
            // timeout means another connection held it all that time.
            Err(e) if busy(&e) => Err(Box::new(LockTimedOut)),
            Err(e) => Err(e.into()),
        }
    }

    /// Gives the connection its own busy timeout and foreign key setting back.
    fn restore(&mut self) -> BackendResult<()> {
        let Some(held) = self.held.take() else {
            return Ok(());
        };
        self.conn.busy_timeout(Duration::from_millis(
            u64::try_from(held.busy_timeout_ms).unwrap_or(0),
        ))?;
        if held.foreign_keys {
            if !self.conn.is_autocommit() {
                return Err(
                    "cannot switch foreign key enforcement back on: a transaction \
                            is still open on the connection"
                        .into(),
                );
            }
            self.conn.pragma_update(None, "foreign_keys", true)?;
        }
        Ok(())
    }

    /// A migration's new foreign key violations, as an error naming the first few.
    fn check_foreign_keys(&self, known: &HashSet<Violation>) -> BackendResult<()> {
        const SHOWN: usize = 5;
        let mut new = Vec::new();
        let mut count = 0usize;
        for violation in violations(self.conn)? {
            if !known.contains(&violation) {
                count += 1;
                if new.len() < SHOWN {
                    new.push(violation);
                }
            }
        }
        if count == 0 {
            return Ok(());
        }
        let mut message = format!(
            "it left {count} row{} whose foreign key points to no row:",
            if count == 1 { "" } else { "s" }
        );
        for (table, rowid, parent, fkid) in &new {
            let columns: Option<String> = self
                .conn
                .query_row(
                    "SELECT group_concat(\"from\", ', ') FROM pragma_foreign_key_list(?1) WHERE id = ?2",
                    params![table, fkid],
                    |row| row.get(0),
                )
                .unwrap_or(None);
            let row = rowid.map_or_else(|| "a row".to_owned(), |id| format!("rowid {id}"));
            let _ = write!(message, " table {table} {row}");
            if let Some(columns) = columns {
                let _ = write!(message, " ({columns})");
            }
            let _ = write!(message, " references a missing row of {parent};");
        }
        if count > new.len() {
            let _ = write!(message, " and {} more;", count - new.len());
        }
        message.push_str(
            " foreign keys are not enforced while migrations run, so that tables can be \
             rebuilt, and are checked with PRAGMA foreign_key_check after each migration",
        );
        Err(message.into())
    }

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

impl SyncBackend for Sqlite<'_> {
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
        self.take_lock(timeout, timeout)
    }

    fn try_lock(&mut self, _table: &TableName, timeout: Duration) -> BackendResult<bool> {
        match self.take_lock(Duration::ZERO, timeout) {
            Ok(()) => Ok(true),
            Err(e) if e.is::<LockTimedOut>() => Ok(false),
            Err(e) => Err(e),
        }
    }

    fn unlock(&mut self, _table: &TableName) -> BackendResult<()> {
        self.restore()
    }

    fn begin(&mut self) -> BackendResult<()> {
        self.waiting("BEGIN IMMEDIATE")
    }

    fn try_begin(&mut self) -> BackendResult<bool> {
        let conn = &*self.conn;
        match self.held.as_ref() {
            Some(held) if !held.budget.is_zero() => {
                conn.busy_timeout(Duration::ZERO)?;
                match conn.execute_batch("BEGIN IMMEDIATE") {
                    Ok(()) => Ok(true),
                    Err(e) if busy(&e) => Ok(false),
                    Err(e) => Err(e.into()),
                }
            }
            _ => self.begin().map(|()| true),
        }
    }

    fn commit(&mut self) -> BackendResult<()> {
        self.waiting("COMMIT")
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
        if let Some(held) = self.held.as_mut()
            && held.known_violations.is_some()
            && !held.foreign_keys_present
        {
            held.foreign_keys_present = mentions_references(sql);
        }
        Ok(self.conn.execute_batch(sql)?)
    }

    fn check_migration(&mut self) -> BackendResult<()> {
        match &self.held {
            Some(Held {
                known_violations: Some(known),
                foreign_keys_present: true,
                ..
            }) => self.check_foreign_keys(known),
            _ => Ok(()),
        }
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

    fn visit_history(
        &mut self,
        table: &TableName,
        visit: &mut dyn FnMut(RowKey<'_>) -> bool,
    ) -> BackendResult<()> {
        let sql = format!(
            "SELECT version, name, checksum, state FROM {} ORDER BY version",
            quote(table.as_str())
        );
        let mut stmt = self.conn.prepare(&sql)?;
        let mut rows = stmt.query([])?;
        fn text(value: ValueRef<'_>) -> Option<&str> {
            match value {
                ValueRef::Text(t) => std::str::from_utf8(t).ok(),
                _ => None,
            }
        }
        while let Some(row) = rows.next()? {
            let key = RowKey {
                version: row.get(0)?,
                name: text(row.get_ref(1)?),
                checksum: text(row.get_ref(2)?),
                state: text(row.get_ref(3)?),
            };
            if !visit(key) {
                break;
            }
        }
        Ok(())
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

    fn connection(&mut self) -> Option<&mut dyn std::any::Any> {
        // What a code migration does with the connection is not seen: check after it.
        if let Some(held) = self.held.as_mut() {
            held.foreign_keys_present = true;
        }
        Some(self.conn)
    }
}

impl Drop for Sqlite<'_> {
    fn drop(&mut self) {
        if let Err(err) = self.restore() {
            tracing::warn!(error = %err, "restoring the connection's settings failed");
        }
    }
}
