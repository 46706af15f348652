//! PostgreSQL, through the `postgres` client.
//!
//! DDL is transactional, so each migration commits with its history row. The lock is a
//! session advisory lock, keyed by the tracking table's name and taken on the
//! connection that runs the migrations; the runner's session releases it on every
//! path.
//!
//! An unqualified tracking table is resolved to its schema once, before anything
//! runs: where the `search_path` finds it, or, if it finds none, `current_schema()`,
//! where creating it puts it. Every statement Terrace writes and the lock key use the
//! qualified name, so a migration that changes the `search_path` (as `pg_dump` output
//! does) cannot hide the table, and `schema_migrations` and `public.schema_migrations`
//! are one table with one lock. Other names (those a code migration asks about)
//! resolve through the `search_path` as usual.

use crate::backend::{
    BackendResult, Blocking, Database, LockTimedOut, NewRow, SyncBackend, quote_double as quote,
    version_param,
};
use crate::error::Error;
use crate::history::{ExtraColumn, HistoryRow, RowState, StoredRow, TableName};
use crate::postgres_error::server_error;
use postgres::types::ToSql;
use postgres::{Client, Row};
use std::time::{Duration, Instant};
use terrace_core::sql_backend::{postgres_lock_key, quote_part};
use terrace_format::Dialect;

impl crate::backend::sealed::Sealed for Client {}

impl Database for Client {
    fn backend(&mut self) -> Result<Box<dyn terrace_core::Backend + '_>, Error> {
        Ok(Box::new(Blocking(Postgres {
            client: self,
            schema: None,
        })))
    }
}

struct Postgres<'c> {
    client: &'c mut Client,
    /// The current schema when first needed: where an unqualified tracking table is.
    schema: Option<String>,
}

impl Postgres<'_> {
    /// The tracking table's name, schema-qualified and quoted: as written when it
    /// names its schema, otherwise resolved once, before anything runs, through the
    /// connection's `search_path`: the schema where it finds the table, or, when it
    /// finds none, the current schema, where creating the table puts it.
    fn history(&mut self, table: &TableName) -> BackendResult<String> {
        let schema = match (table.schema(), &self.schema) {
            (Some(schema), _) => schema.to_owned(),
            (None, Some(schema)) => schema.clone(),
            (None, None) => {
                // Where the search path finds the table now, or, if it finds none, where
                // creating it would put it.
                let row = self.query_one(
                    "SELECT COALESCE((SELECT n.nspname::text FROM pg_catalog.pg_class c \
                     JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
                     WHERE c.oid = to_regclass($1)), current_schema()::text)",
                    &[&quote_part(table.table())],
                )?;
                let schema: Option<String> = row.try_get(0)?;
                let schema = schema.ok_or_else(|| {
                    format!(
                        "table {table} has no schema: the connection's search_path names no schema \
                         that exists; set the search_path, or qualify the table name (schema.table)"
                    )
                })?;
                self.schema = Some(schema.clone());
                schema
            }
        };
        Ok(format!(
            "{}.{}",
            quote_part(&schema),
            quote_part(table.table())
        ))
    }

    /// The columns of a relation named by its quoted text.
    fn columns_of(&mut self, relation: &str) -> BackendResult<Option<Vec<String>>> {
        let rows = self.query(
            "SELECT a.attname::text FROM pg_catalog.pg_attribute a \
             WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped \
             ORDER BY a.attnum",
            &[&relation],
        )?;
        let columns = rows
            .iter()
            .map(|r| r.try_get(0))
            .collect::<Result<Vec<String>, _>>()?;
        Ok((!columns.is_empty()).then_some(columns))
    }

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

fn column_type(column: ExtraColumn) -> &'static str {
    match column {
        ExtraColumn::Checksum => "TEXT",
        ExtraColumn::ExecutionMs => "BIGINT",
        ExtraColumn::State => "TEXT NOT NULL DEFAULT 'applied'",
        ExtraColumn::Cumulative => "TEXT",
    }
}

impl SyncBackend for Postgres<'_> {
    fn connection(&mut self) -> Option<&mut dyn std::any::Any> {
        Some(self.client)
    }

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
        let key = postgres_lock_key(&self.history(table)?);
        let deadline = Instant::now() + timeout;
        let mut pause = Duration::from_millis(20);
        loop {
            let row = self.query_one("SELECT pg_try_advisory_lock($1)", &[&key])?;
            if row.try_get::<_, bool>(0)? {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(Box::new(LockTimedOut));
            }
            std::thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(500));
        }
    }

    fn unlock(&mut self, table: &TableName) -> BackendResult<()> {
        let key = postgres_lock_key(&self.history(table)?);
        let row = self.query_one("SELECT pg_advisory_unlock($1)", &[&key])?;
        if row.try_get::<_, bool>(0)? {
            Ok(())
        } else {
            Err(format!(
                "the lock was no longer held: a statement of the run released it \
                 (pg_advisory_unlock_all, DISCARD ALL), so the run was not protected from another runner \
                 after that; check the history of table {table}"
            )
            .into())
        }
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
        self.columns_of(&quote(table))
    }

    fn history_columns(&mut self, table: &TableName) -> BackendResult<Option<Vec<String>>> {
        let relation = self.history(table)?;
        self.columns_of(&relation)
    }

    fn has_index(&mut self, table: &str, index: &str) -> BackendResult<bool> {
        let row = self.query_one(
            "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_index i \
             JOIN pg_catalog.pg_class c ON c.oid = i.indexrelid \
             WHERE i.indrelid = to_regclass($1) AND c.relname = $2)",
            &[&quote(table), &index],
        )?;
        Ok(row.try_get(0)?)
    }

    fn create_history(&mut self, table: &TableName) -> BackendResult<()> {
        if let Some(schema) = table.schema() {
            self.batch(&format!("CREATE SCHEMA IF NOT EXISTS {}", quote(schema)))?;
        }
        let relation = self.history(table)?;
        self.batch(&format!(
            "CREATE TABLE {relation} (
                version BIGINT PRIMARY KEY,
                name TEXT NOT NULL,
                applied_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
                checksum TEXT,
                execution_ms BIGINT,
                state TEXT NOT NULL DEFAULT 'applied',
                cumulative_checksum TEXT
            )"
        ))
    }

    fn add_history_column(&mut self, table: &TableName, column: ExtraColumn) -> BackendResult<()> {
        let relation = self.history(table)?;
        self.batch(&format!(
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
            "SELECT version::bigint, name::text, to_char(applied_at, 'YYYY-MM-DD HH24:MI:SS'), \
             {}::text, {}::bigint, {}::text, {}::text FROM {} ORDER BY version",
            pick(ExtraColumn::Checksum, "NULL"),
            pick(ExtraColumn::ExecutionMs, "NULL"),
            pick(ExtraColumn::State, "'applied'"),
            pick(ExtraColumn::Cumulative, "NULL"),
            self.history(table)?
        );
        let mut out = Vec::new();
        for row in self.query(&sql, &[])? {
            let read = StoredRow {
                version: row.try_get(0)?,
                name: row.try_get(1)?,
                applied_at: row.try_get(2)?,
                checksum: row.try_get(3)?,
                execution_ms: row.try_get(4)?,
                state: row.try_get(5)?,
                cumulative_checksum: row.try_get(6)?,
            };
            out.push(read.into_row(table)?);
        }
        Ok(out)
    }

    fn row_state(&mut self, table: &TableName, version: u64) -> BackendResult<Option<RowState>> {
        let sql = format!(
            "SELECT state::text FROM {} WHERE version = $1",
            self.history(table)?
        );
        let rows = self.query(&sql, &[&version_param(version)?])?;
        match rows.first() {
            Some(row) => Ok(Some(RowState::from_column(
                row.try_get::<_, Option<String>>(0)?.as_deref(),
            ))),
            None => Ok(None),
        }
    }

    fn insert_row(&mut self, table: &TableName, row: &NewRow<'_>) -> BackendResult<()> {
        let sql = format!(
            "INSERT INTO {} (version, name, checksum, execution_ms, state, cumulative_checksum) \
             VALUES ($1, $2, $3, $4, $5, $6)",
            self.history(table)?
        );
        self.write_row(&sql, row)
    }

    fn update_row(&mut self, table: &TableName, row: &NewRow<'_>) -> BackendResult<()> {
        let sql = format!(
            "UPDATE {} SET name = $2, checksum = $3, execution_ms = COALESCE($4, execution_ms), state = $5, \
             cumulative_checksum = $6 WHERE version = $1",
            self.history(table)?
        );
        self.write_row(&sql, row)
    }

    fn delete_row(&mut self, table: &TableName, version: u64) -> BackendResult<()> {
        let sql = format!("DELETE FROM {} WHERE version = $1", self.history(table)?);
        self.exec(&sql, &[&version_param(version)?])?;
        Ok(())
    }

    fn drop_history(&mut self, table: &TableName) -> BackendResult<()> {
        let relation = self.history(table)?;
        self.batch(&format!("DROP TABLE {relation}"))
    }
}
