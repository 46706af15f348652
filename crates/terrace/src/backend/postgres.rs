//! PostgreSQL, through the `postgres` client.
//!
//! DDL is transactional, so each migration commits with its history row. The lock is a
//! session advisory lock, keyed by the tracking table's name and taken on the
//! connection that runs the migrations; the runner's session releases it on every
//! path. Unqualified names resolve through the connection's `search_path`.

use crate::backend::{
    Backend, BackendResult, Database, NewRow, quote_double as quote, version_param,
};
use crate::error::BoxError;
use crate::error::Error;
use crate::history::{AppliedMigration, ExtraColumn, RowState, TableName};
use postgres::types::ToSql;
use postgres::{Client, Row};
use std::time::{Duration, Instant};
use terrace_format::Dialect;

impl Database for Client {
    fn backend(&mut self) -> Result<Box<dyn Backend + '_>, Error> {
        Ok(Box::new(Postgres { client: self }))
    }
}

struct Postgres<'c> {
    client: &'c mut Client,
}

/// The server's message (with its detail and hint) as the error's text: the driver's
/// own `Display` says only "db error".
fn server_error(e: postgres::Error) -> BoxError {
    match e.as_db_error() {
        Some(db) => {
            let mut text = format!(
                "{}: {} (SQLSTATE {})",
                db.severity(),
                db.message(),
                db.code().code()
            );
            if let Some(detail) = db.detail() {
                text.push_str(&format!("; detail: {detail}"));
            }
            if let Some(hint) = db.hint() {
                text.push_str(&format!("; hint: {hint}"));
            }
            text.into()
        }
        None => Box::new(e),
    }
}

impl Postgres<'_> {
    fn batch(&mut self, sql: &str) -> BackendResult<()> {
        self.client.batch_execute(sql).map_err(server_error)
    }

    fn query(&mut self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> BackendResult<Vec<Row>> {
        self.client.query(sql, params).map_err(server_error)
    }

    fn query_one(&mut self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> BackendResult<Row> {
        self.client.query_one(sql, params).map_err(server_error)
    }

    /// Runs an insert or update whose parameters $1 to $6 are a row's fields.
    fn write_row(&mut self, sql: &str, row: &NewRow<'_>) -> BackendResult<()> {
        self.exec(
            sql,
            &[
                &version_param(row.version)?,
                &row.name,
                &row.checksum,
                &row.execution_ms,
                &row.state.as_str(),
                &row.cumulative_checksum,
            ],
        )
    }

    fn exec(&mut self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> BackendResult<()> {
        self.client.execute(sql, params).map_err(server_error)?;
        Ok(())
    }
}

/// The advisory lock key of a tracking table: a stable 64-bit hash of its name.
fn lock_key(table: &TableName) -> i64 {
    // FNV-1a: stable across releases and platforms, unlike std's hasher.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in b"terrace:".iter().chain(table.as_str().as_bytes()) {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    i64::from_ne_bytes(hash.to_ne_bytes())
}

fn column_type(column: ExtraColumn) -> &'static str {
    match column {
        ExtraColumn::Checksum => "TEXT",
        ExtraColumn::ExecutionMs => "BIGINT",
        ExtraColumn::State => "TEXT NOT NULL DEFAULT 'applied'",
        ExtraColumn::Cumulative => "TEXT",
    }
}

impl Backend for Postgres<'_> {
    fn name(&self) -> &'static str {
        "postgres"
    }

    fn dialect(&self) -> Dialect {
        Dialect::Postgres
    }

    fn transactional_ddl(&self) -> bool {
        true
    }

    fn prefers_one_transaction(&self) -> bool {
        false
    }

    fn transaction_open(&mut self) -> BackendResult<bool> {
        // A savepoint is refused outside a transaction block, with its own SQLSTATE;
        // inside one it costs nothing and is released at once.
        match self
            .client
            .batch_execute("SAVEPOINT terrace_open; RELEASE SAVEPOINT terrace_open")
        {
            Ok(()) => Ok(true),
            Err(e) if e.code() == Some(&postgres::error::SqlState::NO_ACTIVE_SQL_TRANSACTION) => {
                Ok(false)
            }
            Err(e) => Err(server_error(e)),
        }
    }

    fn lock(&mut self, table: &TableName, timeout: Duration) -> BackendResult<()> {
        let key = lock_key(table);
        let deadline = Instant::now() + timeout;
        let mut pause = Duration::from_millis(20);
        loop {
            let row = self.query_one("SELECT pg_try_advisory_lock($1)", &[&key])?;
            if row.get::<_, bool>(0) {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "another runner held the migration lock for {table} for more than {}s",
                    timeout.as_secs()
                )
                .into());
            }
            std::thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(500));
        }
    }

    fn unlock(&mut self, table: &TableName) -> BackendResult<()> {
        self.exec("SELECT pg_advisory_unlock($1)", &[&lock_key(table)])?;
        Ok(())
    }

    fn begin(&mut self) -> BackendResult<()> {
        self.batch("BEGIN")
    }

    fn commit(&mut self) -> BackendResult<()> {
        self.batch("COMMIT")
    }

    fn rollback(&mut self) -> BackendResult<()> {
        self.batch("ROLLBACK")
    }

    fn savepoint(&mut self, name: &str) -> BackendResult<()> {
        self.batch(&format!("SAVEPOINT {name}"))
    }

    fn release(&mut self, name: &str) -> BackendResult<()> {
        self.batch(&format!("RELEASE SAVEPOINT {name}"))
    }

    fn rollback_to(&mut self, name: &str) -> BackendResult<()> {
        self.batch(&format!(
            "ROLLBACK TO SAVEPOINT {name}; RELEASE SAVEPOINT {name}"
        ))
    }

    fn execute(&mut self, sql: &str) -> BackendResult<()> {
        self.batch(sql)
    }

    fn quote(&self, identifier: &str) -> String {
        quote(identifier)
    }

    fn columns(&mut self, table: &str) -> BackendResult<Option<Vec<String>>> {
        let rows = self.query(
            "SELECT a.attname::text FROM pg_catalog.pg_attribute a \
             WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped \
             ORDER BY a.attnum",
            &[&quote(table)],
        )?;
        let columns: Vec<String> = rows.iter().map(|r| r.get(0)).collect();
        Ok((!columns.is_empty()).then_some(columns))
    }

    fn has_index(&mut self, table: &str, index: &str) -> BackendResult<bool> {
        let row = self.query_one(
            "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_index i \
             JOIN pg_catalog.pg_class c ON c.oid = i.indexrelid \
             WHERE i.indrelid = to_regclass($1) AND c.relname = $2)",
            &[&quote(table), &index],
        )?;
        Ok(row.get(0))
    }

    fn create_history(&mut self, table: &TableName) -> BackendResult<()> {
        if let Some(schema) = table.schema() {
            self.batch(&format!("CREATE SCHEMA IF NOT EXISTS {}", quote(schema)))?;
        }
        self.batch(&format!(
            "CREATE TABLE {} (
                version BIGINT PRIMARY KEY,
                name TEXT NOT NULL,
                applied_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
                checksum TEXT,
                execution_ms BIGINT,
                state TEXT NOT NULL DEFAULT 'applied',
                cumulative_checksum TEXT
            )",
            quote(table.as_str())
        ))
    }

    fn add_history_column(&mut self, table: &TableName, column: ExtraColumn) -> BackendResult<()> {
        self.batch(&format!(
            "ALTER TABLE {} ADD COLUMN {} {}",
            quote(table.as_str()),
            column.name(),
            column_type(column)
        ))
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
            "SELECT version::bigint, name::text, to_char(applied_at, 'YYYY-MM-DD HH24:MI:SS'), \
             {}::text, {}::bigint, {}::text, {}::text FROM {} ORDER BY version",
            pick(ExtraColumn::Checksum, "NULL"),
            pick(ExtraColumn::ExecutionMs, "NULL"),
            pick(ExtraColumn::State, "'applied'"),
            pick(ExtraColumn::Cumulative, "NULL"),
            quote(table.as_str())
        );
        let mut out = Vec::new();
        for row in self.query(&sql, &[])? {
            let version: i64 = row.get(0);
            let state: String = row.get(5);
            out.push(AppliedMigration {
                version: u64::try_from(version)?,
                name: row.get(1),
                applied_at: row.get(2),
                checksum: row.get(3),
                execution_ms: row.get(4),
                state: RowState::parse(&state),
                cumulative_checksum: row.get(6),
            });
        }
        Ok(out)
    }

    fn row_state(&mut self, table: &TableName, version: u64) -> BackendResult<Option<RowState>> {
        let sql = format!(
            "SELECT state FROM {} WHERE version = $1",
            quote(table.as_str())
        );
        let rows = self.query(&sql, &[&version_param(version)?])?;
        Ok(rows.first().map(|row| {
            RowState::parse(
                row.try_get::<_, Option<String>>(0)
                    .ok()
                    .flatten()
                    .as_deref()
                    .unwrap_or_default(),
            )
        }))
    }

    fn insert_row(&mut self, table: &TableName, row: &NewRow<'_>) -> BackendResult<()> {
        let sql = format!(
            "INSERT INTO {} (version, name, checksum, execution_ms, state, cumulative_checksum) \
             VALUES ($1, $2, $3, $4, $5, $6)",
            quote(table.as_str())
        );
        self.write_row(&sql, row)
    }

    fn update_row(&mut self, table: &TableName, row: &NewRow<'_>) -> BackendResult<()> {
        let sql = format!(
            "UPDATE {} SET name = $2, checksum = $3, execution_ms = COALESCE($4, execution_ms), state = $5, \
             cumulative_checksum = $6 WHERE version = $1",
            quote(table.as_str())
        );
        self.write_row(&sql, row)
    }

    fn delete_row(&mut self, table: &TableName, version: u64) -> BackendResult<()> {
        let sql = format!("DELETE FROM {} WHERE version = $1", quote(table.as_str()));
        self.exec(&sql, &[&version_param(version)?])?;
        Ok(())
    }

    fn drop_history(&mut self, table: &TableName) -> BackendResult<()> {
        self.batch(&format!("DROP TABLE {}", quote(table.as_str())))
    }
}
