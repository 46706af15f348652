//! Every [`Backend`] verb, for each dialect, from an [`Adapter`]'s few: the locks,
//! the transactions and the tracking table's SQL are written here once, for every
//! driver.
//!
//! - **SQLite**: the lock is SQLite's own write lock (`BEGIN IMMEDIATE`, with the
//!   busy timeout bounding the wait to what is left of the lock timeout), and a lock
//!   file beside the database held for the whole command (see the `lock_file` module).
//!   Foreign key enforcement is switched off while a writing command runs, so that a
//!   migration can rebuild a table, and `PRAGMA foreign_key_check` runs after each
//!   migration. The caller's settings come back when the command ends.
//! - **PostgreSQL**: a session advisory lock keyed by the tracking table's qualified
//!   name, tried until the lock timeout; the table resolves through the `search_path`
//!   once, before anything runs.
//! - **MySQL / MariaDB**: `GET_LOCK` on a name holding the table's database; DDL is not
//!   transactional, so every migration is marked started before it runs.

mod lease;
mod lock_file;

use crate::adapter::{Adapter, Cell, CellRef, Kind, Param, Rows};
use crate::backend::{
    Backend, BackendResult, BoxFuture, LockTimedOut, NewRow, RowKey, Visit, quote_double,
    version_param,
};
use crate::block_on;
use crate::error::BoxError;
use crate::history::{ExtraColumn, HistoryRow, RowState, StoredRow, TableName};
use crate::migration::{CodeFn, CodeResult};
use crate::migrations::LockMode;
use crate::schema::{CodeConnection, Db};
pub use lease::LeaseSlot;
use lease::{Lease, LockChoice};
use lock_file::LockFile;
use std::any::Any;
use std::collections::HashSet;
use std::fmt::Write as _;
use std::time::{Duration, Instant};
use terrace_format::Dialect;

/// The pauses between tries of a lock: 20 ms, doubling up to 500 ms, until a deadline.
struct Retry {
    deadline: Instant,
    pause: Duration,
}

impl Retry {
    fn new(timeout: Duration) -> Self {
        Retry {
            deadline: Instant::now() + timeout,
            pause: Duration::from_millis(20),
        }
    }

    /// Waits before the next try: `false`, without waiting, once the deadline has
    /// passed.
    async fn pause<A: Adapter>(&mut self, adapter: &mut A) -> bool {
        let now = Instant::now();
        if now >= self.deadline {
            return false;
        }
        adapter.sleep(self.pause.min(self.deadline - now)).await;
        self.pause = (self.pause * 2).min(Duration::from_millis(500));
        true
    }
}

/// A [`Backend`] over any [`Adapter`].
pub struct SqlBackend<A> {
    adapter: A,
    /// Where an unqualified tracking table is, resolved once: PostgreSQL's schema,
    /// MySQL's database.
    namespace: Option<String>,
    /// While a writing command holds SQLite's lock: what it changed on the connection
    /// and how much longer it may wait.
    held: Option<Held>,
    /// The lock to take on a server, and what was found out about the server.
    lock: LockChoice,
    /// The lease this backend holds, if its lock is one.
    lease: Option<Lease>,
    /// Whether a transaction this backend began is open (a lease is renewed only
    /// outside one).
    in_transaction: bool,
}

/// The state of a writing command on SQLite, from the lock to the unlock.
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
    /// connection. Until then there is nothing to check.
    foreign_keys_present: bool,
    /// The lock file, held until the command ends (`None` for a database in memory,
    /// or a folder Terrace may not write to).
    _lock_file: Option<LockFile>,
}

/// A row of `PRAGMA foreign_key_check`: the table, the row's rowid (`None` in a
/// `WITHOUT ROWID` table), the parent table and the foreign key's id.
type Violation = (String, Option<i64>, String, i64);

/// The `GET_LOCK` name of a tracking table. Lock names are server-wide, so the name
/// holds the database (the table's own, or the connection's current one) as well; a
/// name longer than the 64 characters MySQL allows keeps its first 64.
const MYSQL_LOCK_NAME: &str = "LEFT(CONCAT('terrace:', COALESCE(?, DATABASE(), ''), '.', ?), 64)";

/// The type of MySQL's `applied_at`, and its default.
const MYSQL_APPLIED_AT: &str = "DATETIME(6) NULL DEFAULT CURRENT_TIMESTAMP(6)";

/// PostgreSQL's SQLSTATE for a statement that needs a transaction block.
const NO_ACTIVE_SQL_TRANSACTION: &str = "25P01";

/// The query that reads the quick start-up check's columns of every row as one text,
/// where the dialect can aggregate text without a length limit (SQLite, PostgreSQL):
/// one row to fetch instead of one per migration, which is what a driver spends most
/// on. Each row is `'version','name','checksum','state';`, every value an SQL string
/// literal (quotes doubled) or `NULL`, so that no value can be read as another. The
/// row count comes with it, as a check that every row was read.
fn packed_history_query(dialect: Dialect, relation: &str) -> Option<String> {
    match dialect {
        Dialect::Sqlite => Some(format!(
            "SELECT count(*), group_concat(packed, '') FROM \
             (SELECT printf('%Q,%Q,%Q,%Q;', version, name, checksum, state) AS packed \
             FROM {relation} ORDER BY version)"
        )),
        Dialect::Postgres => Some(format!(
            "SELECT count(*)::bigint, \
             string_agg(format('%L,%L,%L,%L;', version, name, checksum, state), '' \
             ORDER BY version) FROM {relation}"
        )),
        _ => None,
    }
}

/// Reads [`packed_history_query`]'s text, calling `visit` with each row until it
/// returns `false`: whether every row was visited and how many were, or `None` if the
/// text is not what the query writes (such as PostgreSQL's `E'…'` form of a value
/// holding a backslash, which no valid row holds).
fn visit_packed(text: &str, visit: Visit<'_>) -> Option<(bool, i64)> {
    let mut rest = text;
    let mut seen = 0;
    // Values holding a quote are unescaped into these.
    let mut buffers: [String; 4] = Default::default();
    while !rest.is_empty() {
        let mut fields: [Option<&str>; 4] = [None; 4];
        let mut escaped = [false; 4];
        for (i, field) in fields.iter_mut().enumerate() {
            let separator = if i == 3 { ';' } else { ',' };
            let (value, tail) = unpack_literal(rest, separator)?;
            rest = tail;
            if let Some(value) = value {
                if value.contains("''") {
                    buffers[i] = value.replace("''", "'");
                    escaped[i] = true;
                } else {
                    *field = Some(value);
                }
            }
        }
        for i in 0..4 {
            if escaped[i] {
                fields[i] = Some(&buffers[i]);
            }
        }
        let version = match fields[0] {
            Some(digits) => Some(digits.parse::<i64>().ok()?),
            None => None,
        };
        seen += 1;
        let key = RowKey {
            version,
            name: fields[1],
            checksum: fields[2],
            state: fields[3],
        };
        if !visit(key) {
            return Some((false, seen));
        }
    }
    Some((true, seen))
}

/// Reads a `'text'` literal (quotes inside doubled, left so) or `NULL`, and the
/// separator after it.
fn unpack_literal(text: &str, separator: char) -> Option<(Option<&str>, &str)> {
    if let Some(rest) = text.strip_prefix("NULL") {
        return Some((None, rest.strip_prefix(separator)?));
    }
    let body = text.strip_prefix('\'')?;
    let bytes = body.as_bytes();
    let mut at = 0;
    loop {
        let quote = at + body[at..].find('\'')?;
        if bytes.get(quote + 1) == Some(&b'\'') {
            at = quote + 2;
            continue;
        }
        return Some((
            Some(&body[..quote]),
            body[quote + 1..].strip_prefix(separator)?,
        ));
    }
}

/// The advisory lock key of a PostgreSQL tracking table: a stable 64-bit hash of its
/// qualified, quoted name.
fn postgres_lock_key(qualified: &str) -> i64 {
    // FNV-1a: stable across releases and platforms, unlike std's hasher.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in b"terrace:".iter().chain(qualified.as_bytes()) {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    i64::from_ne_bytes(hash.to_ne_bytes())
}

/// `` `a`.`b` `` for `a.b`, with embedded backticks doubled.
fn quote_backticks(identifier: &str) -> String {
    identifier
        .split('.')
        .map(|part| format!("`{}`", part.replace('`', "``")))
        .collect::<Vec<_>>()
        .join(".")
}

/// One identifier, double-quoted, dots and all.
fn quote_part(part: &str) -> String {
    format!("\"{}\"", part.replace('"', "\"\""))
}

/// Whether SQL text mentions `REFERENCES`, in any case: the only way to declare a
/// foreign key.
fn mentions_references(sql: &str) -> bool {
    sql.as_bytes()
        .windows(b"references".len())
        .any(|w| w.eq_ignore_ascii_case(b"references"))
}

/// A duration as people write it: `300s`, `1.5s`, `250ms`.
fn show(duration: Duration) -> String {
    if duration.subsec_millis() == 0 {
        format!("{}s", duration.as_secs())
    } else if duration < Duration::from_secs(1) {
        format!("{}ms", duration.as_millis())
    } else {
        format!("{:.1}s", duration.as_secs_f64())
    }
}

/// The backend's name in messages.
fn dialect_name(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::Postgres => "postgres",
        Dialect::Mysql => "mysql",
        _ => "sqlite",
    }
}

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

/// The first column of the first row, as an integer.
fn first_int(rows: &Rows) -> Option<i64> {
    rows.first()?.first()?.int()
}

/// The first column of every row, as text.
fn texts(rows: Rows) -> Vec<String> {
    rows.into_iter()
        .filter_map(|row| row.into_iter().next()?.into_text())
        .collect()
}

/// Splits `schema.table`.
fn split(table: &str) -> (Option<&str>, &str) {
    match table.split_once('.') {
        Some((schema, table)) => (Some(schema), table),
        None => (None, table),
    }
}

/// The placeholders of a row's six fields, in the dialect.
fn row_placeholders(dialect: Dialect, first: usize) -> String {
    match dialect {
        Dialect::Postgres => format!(
            "(${}::bigint, ${}::text, ${}::text, ${}::bigint, ${}::text, ${}::text)",
            first,
            first + 1,
            first + 2,
            first + 3,
            first + 4,
            first + 5
        ),
        _ => "(?, ?, ?, ?, ?, ?)".to_owned(),
    }
}

/// A row's six fields as parameters, in the order of [`row_placeholders`].
fn row_params<'a>(row: &'a NewRow<'a>) -> BackendResult<[Param<'a>; 6]> {
    Ok([
        Param::Int(Some(version_param(row.version)?)),
        Param::Text(Some(row.name)),
        Param::Text(Some(row.checksum)),
        Param::Int(row.execution_ms),
        Param::Text(Some(row.state.as_str())),
        Param::Text(Some(row.cumulative_checksum)),
    ])
}

impl<A: Adapter> SqlBackend<A> {
    /// A backend over an adapter.
    pub fn new(adapter: A) -> Self {
        SqlBackend {
            adapter,
            namespace: None,
            held: None,
            lock: LockChoice::default(),
            lease: None,
            in_transaction: false,
        }
    }

    /// The adapter.
    pub fn adapter(&mut self) -> &mut A {
        &mut self.adapter
    }

    fn dialect(&self) -> Dialect {
        self.adapter.dialect()
    }

    /// `$n` on PostgreSQL, `?` elsewhere.
    fn placeholder(&self, n: usize) -> String {
        match self.dialect() {
            Dialect::Postgres => format!("${n}"),
            _ => "?".to_owned(),
        }
    }

    async fn query(
        &mut self,
        sql: &str,
        params: &[Param<'_>],
        kinds: &[Kind],
    ) -> BackendResult<Rows> {
        self.adapter.query(sql, params, kinds).await
    }

    /// The database (MySQL) or schema (PostgreSQL) of the tracking table: as written,
    /// or the connection's current one, resolved once before anything runs, so that a
    /// migration changing it cannot move the history or the lock.
    async fn namespace(&mut self, table: &TableName) -> BackendResult<String> {
        if let Some(name) = table.schema().or(self.namespace.as_deref()) {
            return Ok(name.to_owned());
        }
        let found = match self.dialect() {
            Dialect::Postgres => {
                // Where the search path finds the table now, or, if it finds none, where
                // creating it would put it.
                let relation = quote_part(table.table());
                let rows = self
                    .query(
                        "SELECT COALESCE((SELECT n.nspname::text FROM pg_catalog.pg_class c \
                         JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
                         WHERE c.oid = to_regclass($1::text)), current_schema()::text)",
                        &[Param::Text(Some(&relation))],
                        &[Kind::Text],
                    )
                    .await?;
                texts(rows).into_iter().next().ok_or_else(|| {
                    format!(
                        "table {table} has no schema: the connection's search_path names no schema \
                         that exists; set the search_path, or qualify the table name (schema.table)"
                    )
                })?
            }
            Dialect::Mysql => {
                let rows = self
                    .query("SELECT CAST(DATABASE() AS CHAR)", &[], &[Kind::Text])
                    .await?;
                texts(rows).into_iter().next().ok_or_else(|| {
                    format!(
                        "table {table} has no database: the connection has none selected; name one in \
                         the URL, or qualify the table name (database.table)"
                    )
                })?
            }
            _ => return Ok("main".to_owned()),
        };
        self.namespace = Some(found.clone());
        Ok(found)
    }

    /// The tracking table's name, qualified where the dialect resolves it, and quoted.
    async fn history(&mut self, table: &TableName) -> BackendResult<String> {
        Ok(match self.dialect() {
            Dialect::Postgres => {
                let schema = self.namespace(table).await?;
                format!("{}.{}", quote_part(&schema), quote_part(table.table()))
            }
            Dialect::Mysql => {
                let database = self.namespace(table).await?;
                format!(
                    "{}.{}",
                    quote_backticks(&database),
                    quote_backticks(table.table())
                )
            }
            _ => quote_double(table.as_str()),
        })
    }

    /// The column names of a table (or `schema.table`), or `None` if it does not exist.
    async fn columns(&mut self, table: &str) -> BackendResult<Option<Vec<String>>> {
        let (schema, name) = split(table);
        let rows = match self.dialect() {
            Dialect::Postgres => {
                let relation = quote_double(table);
                self.columns_of_relation(&relation).await?
            }
            Dialect::Mysql => {
                self.query(
                    "SELECT CAST(column_name AS CHAR) FROM information_schema.columns \
                     WHERE table_schema = COALESCE(?, DATABASE()) AND table_name = ? \
                     ORDER BY ordinal_position",
                    &[Param::Text(schema), Param::Text(Some(name))],
                    &[Kind::Text],
                )
                .await?
            }
            _ => {
                self.query(
                    "SELECT CAST(name AS TEXT) FROM pragma_table_info(?, ?) ORDER BY cid",
                    &[
                        Param::Text(Some(name)),
                        Param::Text(Some(schema.unwrap_or("main"))),
                    ],
                    &[Kind::Text],
                )
                .await?
            }
        };
        let columns = texts(rows);
        Ok((!columns.is_empty()).then_some(columns))
    }

    async fn columns_of_relation(&mut self, relation: &str) -> BackendResult<Rows> {
        self.query(
            "SELECT a.attname::text FROM pg_catalog.pg_attribute a \
             WHERE a.attrelid = to_regclass($1::text) AND a.attnum > 0 AND NOT a.attisdropped \
             ORDER BY a.attnum",
            &[Param::Text(Some(relation))],
            &[Kind::Text],
        )
        .await
    }

    /// Whether an index of this name exists on the table.
    async fn has_index(&mut self, table: &str, index: &str) -> BackendResult<bool> {
        let (schema, name) = split(table);
        let rows = match self.dialect() {
            Dialect::Postgres => {
                let relation = quote_double(table);
                self.query(
                    "SELECT 1::bigint FROM pg_catalog.pg_index i \
                     JOIN pg_catalog.pg_class c ON c.oid = i.indexrelid \
                     WHERE i.indrelid = to_regclass($1::text) AND c.relname = $2::text",
                    &[Param::Text(Some(&relation)), Param::Text(Some(index))],
                    &[Kind::Int],
                )
                .await?
            }
            Dialect::Mysql => {
                self.query(
                    "SELECT CAST(1 AS SIGNED) FROM information_schema.statistics \
                     WHERE table_schema = COALESCE(?, DATABASE()) AND table_name = ? AND index_name = ? LIMIT 1",
                    &[Param::Text(schema), Param::Text(Some(name)), Param::Text(Some(index))],
                    &[Kind::Int],
                )
                .await?
            }
            _ => {
                self.query(
                    "SELECT 1 FROM pragma_index_list(?, ?) WHERE name = ?",
                    &[
                        Param::Text(Some(name)),
                        Param::Text(Some(schema.unwrap_or("main"))),
                        Param::Text(Some(index)),
                    ],
                    &[Kind::Int],
                )
                .await?
            }
        };
        Ok(!rows.is_empty())
    }

    /// Runs a statement, counting `REFERENCES` on SQLite (see [`Held`]).
    async fn execute_statement(&mut self, sql: &str) -> BackendResult<()> {
        if let Some(held) = self.held.as_mut()
            && held.known_violations.is_some()
            && !held.foreign_keys_present
        {
            held.foreign_keys_present = mentions_references(sql);
        }
        if !self.in_transaction {
            self.renew_lease_if_due().await?;
        }
        self.adapter.batch(sql).await
    }

    // SQLite: the lock file, the busy timeout and the foreign keys.

    /// Takes the lock file, waiting for it at most `file_wait`, and prepares the
    /// connection for a writing command whose waits may last `timeout` in all.
    async fn sqlite_lock(&mut self, file_wait: Duration, timeout: Duration) -> BackendResult<()> {
        self.sqlite_restore().await?;
        let began = Instant::now();
        let file = self
            .query(
                "SELECT CAST(file AS TEXT) FROM pragma_database_list WHERE name = 'main'",
                &[],
                &[Kind::Text],
            )
            .await?;
        let file = texts(file).into_iter().next().filter(|f| !f.is_empty());
        let lock_file = match file {
            Some(file) => {
                let path = lock_file::path_for(std::path::Path::new(&file));
                match lock_file::acquire(&path, file_wait, &mut self.adapter).await {
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
        let busy_timeout_ms =
            first_int(&self.query("PRAGMA busy_timeout", &[], &[Kind::Int]).await?).unwrap_or(0);
        // Inside the caller's own transaction the pragma cannot change (and BEGIN will
        // fail): leave it alone.
        let foreign_keys = !self.adapter.in_transaction().unwrap_or(false)
            && first_int(&self.query("PRAGMA foreign_keys", &[], &[Kind::Int]).await?) == Some(1);
        // Held from here on, so that an error below still restores.
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
            let present = !self
                .query(
                    "SELECT 1 FROM sqlite_schema WHERE type = 'table' AND sql LIKE '%references%'",
                    &[],
                    &[Kind::Int],
                )
                .await?
                .is_empty();
            let known = if present {
                self.sqlite_violations().await?.into_iter().collect()
            } else {
                HashSet::new()
            };
            self.adapter.batch("PRAGMA foreign_keys = OFF").await?;
            if let Some(held) = self.held.as_mut() {
                held.known_violations = Some(known);
                held.foreign_keys_present = present;
            }
        }
        Ok(())
    }

    /// Every foreign key violation in the database.
    async fn sqlite_violations(&mut self) -> BackendResult<Vec<Violation>> {
        let rows = self
            .query(
                "SELECT CAST(\"table\" AS TEXT), rowid, CAST(parent AS TEXT), fkid FROM pragma_foreign_key_check",
                &[],
                &[Kind::Text, Kind::Int, Kind::Text, Kind::Int],
            )
            .await?;
        Ok(rows
            .into_iter()
            .map(|row| {
                let mut cells = row.into_iter();
                let mut next = || cells.next().unwrap_or(Cell::Null);
                let table = next().into_text().unwrap_or_default();
                let rowid = next().int();
                let parent = next().into_text().unwrap_or_default();
                let fkid = next().int().unwrap_or(0);
                (table, rowid, parent, fkid)
            })
            .collect())
    }

    /// A migration's new foreign key violations, as an error naming the first few.
    async fn sqlite_check_foreign_keys(&mut self) -> BackendResult<()> {
        const SHOWN: usize = 5;
        let violations = self.sqlite_violations().await?;
        let Some(known) = self.held.as_ref().and_then(|h| h.known_violations.as_ref()) else {
            return Ok(());
        };
        let mut new = Vec::new();
        let mut count = 0usize;
        for violation in violations {
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
            let columns = self
                .query(
                    "SELECT group_concat(\"from\", ', ') FROM pragma_foreign_key_list(?) WHERE id = ?",
                    &[Param::Text(Some(table)), Param::Int(Some(*fkid))],
                    &[Kind::Text],
                )
                .await
                .ok()
                .and_then(|rows| texts(rows).into_iter().next());
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

    /// Sets SQLite's busy timeout.
    async fn sqlite_busy_timeout(&mut self, timeout: Duration) -> BackendResult<()> {
        let sql = format!("PRAGMA busy_timeout = {}", millis(timeout));
        self.adapter.batch(&sql).await
    }

    /// Runs `BEGIN IMMEDIATE` or `COMMIT`, waiting for the database's locks at most for
    /// what is left of the lock timeout, and counts the time against it.
    async fn sqlite_waiting(&mut self, sql: &str) -> BackendResult<()> {
        let Some(budget) = self.held.as_ref().map(|held| held.budget) else {
            return self.adapter.batch(sql).await;
        };
        self.sqlite_busy_timeout(budget).await?;
        let began = Instant::now();
        let result = self.adapter.batch(sql).await;
        let timeout = match self.held.as_mut() {
            Some(held) => {
                held.budget = held.budget.saturating_sub(began.elapsed());
                held.timeout
            }
            None => Duration::ZERO,
        };
        match result {
            Ok(()) => Ok(()),
            Err(e) if self.adapter.is_busy(&e) && sql == "COMMIT" => Err(format!(
                "the database stayed busy: the commit waits for every reader of the file to \
                 finish (rollback-journal mode), and another connection kept reading past the \
                 lock timeout of {}; nothing was committed",
                show(timeout)
            )
            .into()),
            // BEGIN IMMEDIATE takes the write lock: busy for the rest of the lock
            // timeout means another connection held it all that time.
            Err(e) if self.adapter.is_busy(&e) => Err(Box::new(LockTimedOut)),
            Err(e) => Err(e),
        }
    }

    /// Gives the connection its own busy timeout and foreign key setting back.
    async fn sqlite_restore(&mut self) -> BackendResult<()> {
        let Some(held) = self.held.take() else {
            return Ok(());
        };
        let busy = Duration::from_millis(u64::try_from(held.busy_timeout_ms).unwrap_or(0));
        self.sqlite_busy_timeout(busy).await?;
        if held.foreign_keys {
            if self.adapter.in_transaction() == Some(true) {
                return Err(
                    "cannot switch foreign key enforcement back on: a transaction \
                            is still open on the connection"
                        .into(),
                );
            }
            self.adapter.batch("PRAGMA foreign_keys = ON").await?;
        }
        Ok(())
    }

    // The locks of the servers.

    async fn postgres_lock(&mut self, table: &TableName, timeout: Duration) -> BackendResult<bool> {
        let key = postgres_lock_key(&self.history(table).await?);
        let mut retry = Retry::new(timeout);
        loop {
            let rows = self
                .query(
                    "SELECT pg_try_advisory_lock($1::bigint)::int::bigint",
                    &[Param::Int(Some(key))],
                    &[Kind::Int],
                )
                .await?;
            if first_int(&rows) == Some(1) {
                return Ok(true);
            }
            if !retry.pause(&mut self.adapter).await {
                return Ok(false);
            }
        }
    }

    async fn mysql_get_lock(&mut self, table: &TableName, seconds: u64) -> BackendResult<bool> {
        let database = self.namespace(table).await?;
        let sql = format!("SELECT CAST(GET_LOCK({MYSQL_LOCK_NAME}, ?) AS SIGNED)");
        let seconds = i64::try_from(seconds).unwrap_or(i64::MAX);
        let rows = self
            .query(
                &sql,
                &[
                    Param::Text(Some(&database)),
                    Param::Text(Some(table.table())),
                    Param::Int(Some(seconds)),
                ],
                &[Kind::Int],
            )
            .await?;
        match first_int(&rows) {
            Some(1) => Ok(true),
            Some(0) => Ok(false),
            _ => Err(format!("GET_LOCK failed for the migration lock on table {table}").into()),
        }
    }

    async fn lock_verb(&mut self, table: &TableName, timeout: Duration) -> BackendResult<()> {
        let got = match self.dialect() {
            _ if self.prepare_lock().await? => self.lease_lock(table, timeout).await?,
            Dialect::Postgres => self.postgres_lock(table, timeout).await?,
            Dialect::Mysql => {
                // GET_LOCK waits whole seconds: a timeout under one second waits one.
                self.mysql_get_lock(table, 0).await?
                    || (!timeout.is_zero()
                        && self.mysql_get_lock(table, timeout.as_secs().max(1)).await?)
            }
            _ => {
                self.sqlite_lock(timeout, timeout).await?;
                true
            }
        };
        if got {
            Ok(())
        } else {
            Err(Box::new(LockTimedOut))
        }
    }

    async fn try_lock_verb(&mut self, table: &TableName, timeout: Duration) -> BackendResult<bool> {
        match self.dialect() {
            _ if self.prepare_lock().await? => self.lease_lock(table, Duration::ZERO).await,
            Dialect::Postgres => self.postgres_lock(table, Duration::ZERO).await,
            Dialect::Mysql => self.mysql_get_lock(table, 0).await,
            _ => match self.sqlite_lock(Duration::ZERO, timeout).await {
                Ok(()) => Ok(true),
                Err(e) if e.is::<LockTimedOut>() => Ok(false),
                Err(e) => Err(e),
            },
        }
    }

    async fn unlock_verb(&mut self, table: &TableName) -> BackendResult<()> {
        let released = match self.dialect() {
            _ if self.lock.leasing == Some(true) => {
                if self.release_lease().await? {
                    return Ok(());
                }
                "(its lease expired and another run took it: a step ran longer than the lease), \
                 so the run was not protected from that run"
            }
            Dialect::Postgres => {
                let key = postgres_lock_key(&self.history(table).await?);
                let rows = self
                    .query(
                        "SELECT pg_advisory_unlock($1::bigint)::int::bigint",
                        &[Param::Int(Some(key))],
                        &[Kind::Int],
                    )
                    .await?;
                if first_int(&rows) == Some(1) {
                    return Ok(());
                }
                "(pg_advisory_unlock_all, DISCARD ALL), so the run was not protected from another runner"
            }
            Dialect::Mysql => {
                let database = self.namespace(table).await?;
                let sql = format!("SELECT CAST(RELEASE_LOCK({MYSQL_LOCK_NAME}) AS SIGNED)");
                let rows = self
                    .query(
                        &sql,
                        &[
                            Param::Text(Some(&database)),
                            Param::Text(Some(table.table())),
                        ],
                        &[Kind::Int],
                    )
                    .await?;
                if first_int(&rows) == Some(1) {
                    return Ok(());
                }
                "(RELEASE_ALL_LOCKS, RELEASE_LOCK), or the connection was reset, so the run was \
                 not protected from another runner"
            }
            _ => return self.sqlite_restore().await,
        };
        Err(format!(
            "the lock was no longer held: a statement of the run released it {released} \
             after that; check the history of table {table}"
        )
        .into())
    }

    async fn begin_verb(&mut self) -> BackendResult<()> {
        match self.dialect() {
            Dialect::Sqlite => self.sqlite_waiting("BEGIN IMMEDIATE").await?,
            Dialect::Mysql => self.adapter.batch("START TRANSACTION").await?,
            _ => self.adapter.batch("BEGIN").await?,
        }
        self.in_transaction = true;
        Ok(())
    }

    async fn try_begin_verb(&mut self) -> BackendResult<bool> {
        match self.held.as_ref() {
            Some(held) if self.dialect() == Dialect::Sqlite && !held.budget.is_zero() => {
                self.sqlite_busy_timeout(Duration::ZERO).await?;
                match self.adapter.batch("BEGIN IMMEDIATE").await {
                    Ok(()) => {
                        self.in_transaction = true;
                        Ok(true)
                    }
                    Err(e) if self.adapter.is_busy(&e) => Ok(false),
                    Err(e) => Err(e),
                }
            }
            _ => self.begin_verb().await.map(|()| true),
        }
    }

    async fn commit_verb(&mut self) -> BackendResult<()> {
        match self.dialect() {
            Dialect::Sqlite => self.sqlite_waiting("COMMIT").await?,
            _ => self.adapter.batch("COMMIT").await?,
        }
        self.in_transaction = false;
        Ok(())
    }

    async fn rollback_verb(&mut self) -> BackendResult<()> {
        self.adapter.batch("ROLLBACK").await?;
        self.in_transaction = false;
        Ok(())
    }

    async fn transaction_open_verb(&mut self) -> BackendResult<bool> {
        if let Some(open) = self.adapter.in_transaction() {
            return Ok(open);
        }
        if self.dialect() != Dialect::Postgres {
            return Ok(true);
        }
        // A savepoint is refused outside a transaction block, with its own SQLSTATE;
        // inside one it costs nothing and is released at once.
        match self.adapter.batch("SAVEPOINT terrace_open").await {
            Ok(()) => {
                self.adapter.batch("RELEASE SAVEPOINT terrace_open").await?;
                Ok(true)
            }
            Err(e) if self.adapter.sqlstate(&e).as_deref() == Some(NO_ACTIVE_SQL_TRANSACTION) => {
                Ok(false)
            }
            Err(e) => Err(e),
        }
    }

    async fn savepoint_sql(&mut self, verb: &str, name: &str) -> BackendResult<()> {
        let savepoint = if self.dialect() == Dialect::Sqlite {
            ""
        } else {
            "SAVEPOINT "
        };
        let sql = match verb {
            "SAVEPOINT" => format!("SAVEPOINT {name}"),
            "RELEASE" => format!("RELEASE {savepoint}{name}"),
            _ => format!("ROLLBACK TO {savepoint}{name}"),
        };
        self.adapter.batch(&sql).await
    }

    async fn create_history_verb(&mut self, table: &TableName) -> BackendResult<()> {
        let relation = self.history(table).await?;
        let sql = match self.dialect() {
            Dialect::Postgres => {
                if let Some(schema) = table.schema() {
                    let create = format!("CREATE SCHEMA IF NOT EXISTS {}", quote_double(schema));
                    self.adapter.batch(&create).await?;
                }
                format!(
                    "CREATE TABLE {relation} (
                        version BIGINT PRIMARY KEY,
                        name TEXT NOT NULL,
                        applied_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
                        checksum TEXT,
                        execution_ms BIGINT,
                        state TEXT NOT NULL DEFAULT 'applied',
                        cumulative_checksum TEXT
                    )"
                )
            }
            Dialect::Mysql => format!(
                "CREATE TABLE {relation} (
                    version BIGINT PRIMARY KEY,
                    name VARCHAR(255) NOT NULL,
                    applied_at {MYSQL_APPLIED_AT},
                    checksum VARCHAR(100),
                    execution_ms BIGINT,
                    state VARCHAR(16) NOT NULL DEFAULT 'applied',
                    cumulative_checksum VARCHAR(100)
                )"
            ),
            _ => format!(
                "CREATE TABLE {relation} (
                    version INTEGER PRIMARY KEY,
                    name TEXT NOT NULL,
                    applied_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
                    checksum TEXT,
                    execution_ms INTEGER,
                    state TEXT NOT NULL DEFAULT 'applied',
                    cumulative_checksum TEXT
                )"
            ),
        };
        self.adapter.batch(&sql).await
    }

    async fn add_history_column_verb(
        &mut self,
        table: &TableName,
        column: ExtraColumn,
    ) -> BackendResult<()> {
        let relation = self.history(table).await?;
        let kind = match (self.dialect(), column) {
            (Dialect::Mysql, ExtraColumn::Checksum | ExtraColumn::Cumulative) => "VARCHAR(100)",
            (Dialect::Mysql, ExtraColumn::State) => "VARCHAR(16) NOT NULL DEFAULT 'applied'",
            (Dialect::Sqlite, ExtraColumn::ExecutionMs) => "INTEGER",
            (_, ExtraColumn::ExecutionMs) => "BIGINT",
            (_, ExtraColumn::State) => "TEXT NOT NULL DEFAULT 'applied'",
            (_, ExtraColumn::Checksum | ExtraColumn::Cumulative) => "TEXT",
        };
        let sql = format!("ALTER TABLE {relation} ADD COLUMN {} {kind}", column.name());
        self.adapter.batch(&sql).await
    }

    async fn upgrade_history_verb(&mut self, table: &TableName) -> BackendResult<()> {
        if self.dialect() != Dialect::Mysql {
            return Ok(());
        }
        let database = self.namespace(table).await?;
        let rows = self
            .query(
                "SELECT CAST(data_type AS CHAR) FROM information_schema.columns \
                 WHERE table_schema = ? AND table_name = ? AND column_name = 'applied_at'",
                &[
                    Param::Text(Some(&database)),
                    Param::Text(Some(table.table())),
                ],
                &[Kind::Text],
            )
            .await?;
        let kind = texts(rows).into_iter().next();
        if kind.is_some_and(|kind| kind.eq_ignore_ascii_case("timestamp")) {
            let relation = self.history(table).await?;
            let sql = format!("ALTER TABLE {relation} MODIFY applied_at {MYSQL_APPLIED_AT}");
            self.adapter.batch(&sql).await?;
            tracing::info!(table = %table, "applied_at upgraded from TIMESTAMP to DATETIME(6)");
        }
        Ok(())
    }

    async fn history_columns_verb(
        &mut self,
        table: &TableName,
    ) -> BackendResult<Option<Vec<String>>> {
        let rows = match self.dialect() {
            Dialect::Postgres => {
                let relation = self.history(table).await?;
                self.columns_of_relation(&relation).await?
            }
            Dialect::Mysql => {
                let database = self.namespace(table).await?;
                self.query(
                    "SELECT CAST(column_name AS CHAR) FROM information_schema.columns \
                     WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position",
                    &[
                        Param::Text(Some(&database)),
                        Param::Text(Some(table.table())),
                    ],
                    &[Kind::Text],
                )
                .await?
            }
            _ => return self.columns(table.as_str()).await,
        };
        let columns = texts(rows);
        Ok((!columns.is_empty()).then_some(columns))
    }

    /// `CAST(x AS TEXT)` in the dialect.
    fn as_text(&self, column: &str) -> String {
        match self.dialect() {
            Dialect::Postgres => format!("{column}::text"),
            Dialect::Mysql => format!("CAST({column} AS CHAR)"),
            _ => format!("CAST({column} AS TEXT)"),
        }
    }

    /// `CAST(x AS BIGINT)` in the dialect.
    fn as_int(&self, column: &str) -> String {
        match self.dialect() {
            Dialect::Postgres => format!("{column}::bigint"),
            Dialect::Mysql => format!("CAST({column} AS SIGNED)"),
            _ => format!("CAST({column} AS INTEGER)"),
        }
    }

    async fn visit_history_verb(
        &mut self,
        table: &TableName,
        visit: Visit<'_>,
    ) -> BackendResult<()> {
        let relation = self.history(table).await?;
        const KINDS: [Kind; 4] = [Kind::Int, Kind::Text, Kind::Text, Kind::Text];
        let sql = match self.dialect() {
            // SQLite's values keep their types: read as stored, a value of another
            // type is simply not equal.
            Dialect::Sqlite => {
                format!("SELECT version, name, checksum, state FROM {relation} ORDER BY version")
            }
            _ => format!(
                "SELECT {}, {}, {}, {} FROM {relation} ORDER BY version",
                self.as_int("version"),
                self.as_text("name"),
                self.as_text("checksum"),
                self.as_text("state"),
            ),
        };
        let mut by_row = |cells: &[CellRef<'_>]| {
            let cell = |i: usize| cells.get(i).copied().unwrap_or(CellRef::Null);
            visit(RowKey {
                version: cell(0).int(),
                name: cell(1).text(),
                checksum: cell(2).text(),
                state: cell(3).text(),
            })
        };
        if let Some(read) = self.adapter.visit_rows(&sql, &[], &KINDS, &mut by_row) {
            return read.await;
        }
        if let Some(sql) = packed_history_query(self.dialect(), &relation) {
            let rows = self.query(&sql, &[], &[Kind::Int, Kind::Text]).await?;
            let (count, packed) = match rows.first().map(Vec::as_slice) {
                Some([count, packed]) => (count.int(), packed.text().unwrap_or("")),
                _ => (None, ""),
            };
            let seen = visit_packed(packed, visit);
            return match (seen, count) {
                (Some((false, _)), _) => Ok(()),
                (Some((true, seen)), Some(count)) if seen == count => Ok(()),
                _ => Err("the history could not be read in one piece".into()),
            };
        }
        let rows = self.query(&sql, &[], &KINDS).await?;
        for row in &rows {
            let cell = |i: usize| row.get(i);
            let key = RowKey {
                version: cell(0).and_then(Cell::int),
                name: cell(1).and_then(Cell::text),
                checksum: cell(2).and_then(Cell::text),
                state: cell(3).and_then(Cell::text),
            };
            if !visit(key) {
                break;
            }
        }
        Ok(())
    }

    async fn read_history_verb(
        &mut self,
        table: &TableName,
        columns: &[ExtraColumn],
    ) -> BackendResult<Vec<HistoryRow>> {
        let relation = self.history(table).await?;
        let sql = {
            let text = |column: ExtraColumn, absent: &'static str| {
                if columns.contains(&column) {
                    self.as_text(column.name())
                } else {
                    self.as_text(absent)
                }
            };
            let applied_at = match self.dialect() {
                Dialect::Postgres => "to_char(applied_at, 'YYYY-MM-DD HH24:MI:SS')".to_owned(),
                Dialect::Mysql => {
                    "CAST(DATE_FORMAT(applied_at, '%Y-%m-%d %H:%i:%s') AS CHAR)".to_owned()
                }
                _ => "CAST(applied_at AS TEXT)".to_owned(),
            };
            let execution_ms = if columns.contains(&ExtraColumn::ExecutionMs) {
                self.as_int("execution_ms")
            } else {
                self.as_int("NULL")
            };
            format!(
                "SELECT {}, {}, {applied_at}, {}, {execution_ms}, {}, {} FROM {} ORDER BY version",
                self.as_int("version"),
                self.as_text("name"),
                text(ExtraColumn::Checksum, "NULL"),
                text(ExtraColumn::State, "'applied'"),
                text(ExtraColumn::Cumulative, "NULL"),
                relation
            )
        };
        let kinds = [
            Kind::Int,
            Kind::Text,
            Kind::Text,
            Kind::Text,
            Kind::Int,
            Kind::Text,
            Kind::Text,
        ];
        let rows = self.query(&sql, &[], &kinds).await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let mut cells = row.into_iter();
            let mut next = || cells.next().unwrap_or(Cell::Null);
            let read = StoredRow {
                version: next().int(),
                name: next().into_text(),
                applied_at: next().into_text(),
                checksum: next().into_text(),
                execution_ms: next().int(),
                state: next().into_text(),
                cumulative_checksum: next().into_text(),
            };
            out.push(read.into_row(table)?);
        }
        Ok(out)
    }

    async fn row_state_verb(
        &mut self,
        table: &TableName,
        version: u64,
    ) -> BackendResult<Option<RowState>> {
        let relation = self.history(table).await?;
        let sql = format!(
            "SELECT {} FROM {relation} WHERE version = {}",
            self.as_text("state"),
            self.version_placeholder(1)
        );
        let rows = self
            .query(
                &sql,
                &[Param::Int(Some(version_param(version)?))],
                &[Kind::Text],
            )
            .await?;
        Ok(rows
            .first()
            .map(|row| RowState::from_column(row.first().and_then(Cell::text))))
    }

    /// The placeholder of a version parameter.
    fn version_placeholder(&self, n: usize) -> String {
        match self.dialect() {
            Dialect::Postgres => format!("${n}::bigint"),
            _ => self.placeholder(n),
        }
    }

    async fn insert_rows_verb(
        &mut self,
        table: &TableName,
        rows: &[NewRow<'_>],
    ) -> BackendResult<()> {
        // A run's rows go in as few statements as possible: one statement of up to
        // CHUNK rows.
        const CHUNK: usize = 100;
        let relation = self.history(table).await?;
        let dialect = self.dialect();
        for chunk in rows.chunks(CHUNK) {
            let values: Vec<String> = (0..chunk.len())
                .map(|i| row_placeholders(dialect, i * 6 + 1))
                .collect();
            let sql = format!(
                "INSERT INTO {relation} (version, name, checksum, execution_ms, state, cumulative_checksum) \
                 VALUES {}",
                values.join(", ")
            );
            let mut params = Vec::with_capacity(chunk.len() * 6);
            for row in chunk {
                params.extend(row_params(row)?);
            }
            self.adapter.execute(&sql, &params).await?;
        }
        Ok(())
    }

    async fn update_row_verb(&mut self, table: &TableName, row: &NewRow<'_>) -> BackendResult<()> {
        let relation = self.history(table).await?;
        let [version, name, checksum, execution_ms, state, cumulative] = row_params(row)?;
        let sql = match self.dialect() {
            Dialect::Postgres => format!(
                "UPDATE {relation} SET name = $2::text, checksum = $3::text, \
                 execution_ms = COALESCE($4::bigint, execution_ms), state = $5::text, \
                 cumulative_checksum = $6::text WHERE version = $1::bigint"
            ),
            _ => format!(
                "UPDATE {relation} SET name = ?, checksum = ?, execution_ms = COALESCE(?, execution_ms), \
                 state = ?, cumulative_checksum = ? WHERE version = ?"
            ),
        };
        let params = match self.dialect() {
            Dialect::Postgres => [version, name, checksum, execution_ms, state, cumulative],
            _ => [name, checksum, execution_ms, state, cumulative, version],
        };
        self.adapter.execute(&sql, &params).await
    }

    async fn delete_row_verb(&mut self, table: &TableName, version: u64) -> BackendResult<()> {
        let relation = self.history(table).await?;
        let sql = format!(
            "DELETE FROM {relation} WHERE version = {}",
            self.version_placeholder(1)
        );
        self.adapter
            .execute(&sql, &[Param::Int(Some(version_param(version)?))])
            .await
    }

    async fn drop_history_verb(&mut self, table: &TableName) -> BackendResult<()> {
        let sql = format!("DROP TABLE {}", self.history(table).await?);
        self.adapter.batch(&sql).await
    }

    async fn check_migration_verb(&mut self) -> BackendResult<()> {
        match &self.held {
            Some(Held {
                known_violations: Some(_),
                foreign_keys_present: true,
                ..
            }) => self.sqlite_check_foreign_keys().await,
            _ => Ok(()),
        }
    }
}

/// A blocking adapter's backend, as a code migration's [`Db`] sees it: each call
/// completes the backend's future at once.
struct Blocking<'b, A>(&'b mut SqlBackend<A>);

impl<A: Adapter> CodeConnection for Blocking<'_, A> {
    fn backend_name(&self) -> &'static str {
        dialect_name(self.0.dialect())
    }
    fn dialect(&self) -> Dialect {
        self.0.dialect()
    }
    fn execute(&mut self, sql: &str) -> Result<(), BoxError> {
        block_on(self.0.execute_statement(sql))
    }
    fn quote(&self, identifier: &str) -> String {
        Backend::quote(self.0, identifier)
    }
    fn columns(&mut self, table: &str) -> Result<Option<Vec<String>>, BoxError> {
        block_on(self.0.columns(table))
    }
    fn has_index(&mut self, table: &str, index: &str) -> Result<bool, BoxError> {
        block_on(self.0.has_index(table, index))
    }
    fn connection(&mut self) -> Option<&mut dyn Any> {
        // What a code migration does with the connection is not seen: check after it.
        if let Some(held) = self.0.held.as_mut() {
            held.foreign_keys_present = true;
        }
        self.0.adapter.connection()
    }
}

impl<A: Adapter> Backend for SqlBackend<A> {
    fn name(&self) -> &'static str {
        dialect_name(self.dialect())
    }
    fn dialect(&self) -> Dialect {
        self.adapter.dialect()
    }
    fn transactional_ddl(&self) -> bool {
        self.dialect() != Dialect::Mysql
    }
    fn prefers_one_transaction(&self) -> bool {
        self.dialect() == Dialect::Sqlite
    }
    fn transaction_open(&mut self) -> BoxFuture<'_, BackendResult<bool>> {
        Box::pin(self.transaction_open_verb())
    }
    fn keep_lock(&mut self) -> BoxFuture<'_, BackendResult<()>> {
        Box::pin(self.renew_lease_if_due())
    }
    fn configure_lock(&mut self, mode: LockMode, lease: Duration) {
        self.lock.mode = mode;
        self.lock.lease = lease;
        self.lock.leasing = None;
    }
    fn configure_lease_slot(&mut self, slot: LeaseSlot) {
        self.lock.slot = Some(slot);
    }
    fn leases(&mut self) -> BoxFuture<'_, BackendResult<bool>> {
        Box::pin(self.prepare_lock())
    }
    fn renew_lease_of<'a>(
        &'a mut self,
        table: &'a TableName,
        owner: &'a str,
        length: Duration,
    ) -> BoxFuture<'a, BackendResult<bool>> {
        Box::pin(self.renew_lease_of(table, owner, length))
    }
    fn lock<'a>(
        &'a mut self,
        table: &'a TableName,
        timeout: Duration,
    ) -> BoxFuture<'a, BackendResult<()>> {
        Box::pin(self.lock_verb(table, timeout))
    }
    fn try_lock<'a>(
        &'a mut self,
        table: &'a TableName,
        timeout: Duration,
    ) -> BoxFuture<'a, BackendResult<bool>> {
        Box::pin(self.try_lock_verb(table, timeout))
    }
    fn try_begin(&mut self) -> BoxFuture<'_, BackendResult<bool>> {
        Box::pin(self.try_begin_verb())
    }
    fn unlock<'a>(&'a mut self, table: &'a TableName) -> BoxFuture<'a, BackendResult<()>> {
        Box::pin(self.unlock_verb(table))
    }
    fn begin(&mut self) -> BoxFuture<'_, BackendResult<()>> {
        Box::pin(self.begin_verb())
    }
    fn commit(&mut self) -> BoxFuture<'_, BackendResult<()>> {
        Box::pin(self.commit_verb())
    }
    fn rollback(&mut self) -> BoxFuture<'_, BackendResult<()>> {
        Box::pin(self.rollback_verb())
    }
    fn savepoint<'a>(&'a mut self, name: &'a str) -> BoxFuture<'a, BackendResult<()>> {
        Box::pin(self.savepoint_sql("SAVEPOINT", name))
    }
    fn release<'a>(&'a mut self, name: &'a str) -> BoxFuture<'a, BackendResult<()>> {
        Box::pin(self.savepoint_sql("RELEASE", name))
    }
    fn rollback_to<'a>(&'a mut self, name: &'a str) -> BoxFuture<'a, BackendResult<()>> {
        Box::pin(async move {
            self.savepoint_sql("ROLLBACK TO", name).await?;
            self.savepoint_sql("RELEASE", name).await
        })
    }
    fn execute<'a>(&'a mut self, sql: &'a str) -> BoxFuture<'a, BackendResult<()>> {
        Box::pin(self.execute_statement(sql))
    }
    fn run_code<'a>(&'a mut self, code: &'a CodeFn) -> BoxFuture<'a, CodeResult> {
        if !self.adapter.blocking() {
            return Box::pin(std::future::ready(Err(
                "a migration written in Rust needs a blocking connection (its Db calls the \
                 database without awaiting); run it with the blocking API on a connection of \
                 a blocking driver"
                    .into(),
            )));
        }
        let result = code.call(&mut Db::new(&mut Blocking(self)));
        Box::pin(std::future::ready(result))
    }
    fn check_migration(&mut self) -> BoxFuture<'_, BackendResult<()>> {
        Box::pin(self.check_migration_verb())
    }
    fn quote(&self, identifier: &str) -> String {
        match self.dialect() {
            Dialect::Mysql => quote_backticks(identifier),
            _ => quote_double(identifier),
        }
    }
    fn history_columns<'a>(
        &'a mut self,
        table: &'a TableName,
    ) -> BoxFuture<'a, BackendResult<Option<Vec<String>>>> {
        Box::pin(self.history_columns_verb(table))
    }
    fn upgrade_history<'a>(&'a mut self, table: &'a TableName) -> BoxFuture<'a, BackendResult<()>> {
        Box::pin(self.upgrade_history_verb(table))
    }
    fn create_history<'a>(&'a mut self, table: &'a TableName) -> BoxFuture<'a, BackendResult<()>> {
        Box::pin(self.create_history_verb(table))
    }
    fn add_history_column<'a>(
        &'a mut self,
        table: &'a TableName,
        column: ExtraColumn,
    ) -> BoxFuture<'a, BackendResult<()>> {
        Box::pin(self.add_history_column_verb(table, column))
    }
    fn visit_history<'a>(
        &'a mut self,
        table: &'a TableName,
        visit: Visit<'a>,
    ) -> BoxFuture<'a, BackendResult<()>> {
        Box::pin(self.visit_history_verb(table, visit))
    }
    fn read_history<'a>(
        &'a mut self,
        table: &'a TableName,
        columns: &'a [ExtraColumn],
    ) -> BoxFuture<'a, BackendResult<Vec<HistoryRow>>> {
        Box::pin(self.read_history_verb(table, columns))
    }
    fn row_state<'a>(
        &'a mut self,
        table: &'a TableName,
        version: u64,
    ) -> BoxFuture<'a, BackendResult<Option<RowState>>> {
        Box::pin(self.row_state_verb(table, version))
    }
    fn insert_row<'a>(
        &'a mut self,
        table: &'a TableName,
        row: &'a NewRow<'a>,
    ) -> BoxFuture<'a, BackendResult<()>> {
        Box::pin(self.insert_rows_verb(table, std::slice::from_ref(row)))
    }
    fn insert_rows<'a>(
        &'a mut self,
        table: &'a TableName,
        rows: &'a [NewRow<'a>],
    ) -> BoxFuture<'a, BackendResult<()>> {
        Box::pin(self.insert_rows_verb(table, rows))
    }
    fn update_row<'a>(
        &'a mut self,
        table: &'a TableName,
        row: &'a NewRow<'a>,
    ) -> BoxFuture<'a, BackendResult<()>> {
        Box::pin(self.update_row_verb(table, row))
    }
    fn delete_row<'a>(
        &'a mut self,
        table: &'a TableName,
        version: u64,
    ) -> BoxFuture<'a, BackendResult<()>> {
        Box::pin(self.delete_row_verb(table, version))
    }
    fn drop_history<'a>(&'a mut self, table: &'a TableName) -> BoxFuture<'a, BackendResult<()>> {
        Box::pin(self.drop_history_verb(table))
    }
    fn abandon(&mut self, locked: Option<&TableName>, in_transaction: bool) {
        if !self.adapter.blocking() {
            // An async driver cannot be called without awaiting: its connection ends
            // the transaction and the session's lock when it is closed or reset. A
            // lease is a row, which only its expiry ends.
            if self.lease.is_some() {
                tracing::warn!(
                    "a run was abandoned midway on an async connection: close the connection \
                     (or let its pool reset it) to end its transaction; its lease expires \
                     at the end of its length"
                );
            } else {
                tracing::warn!(
                    "a run was abandoned midway on an async connection: close the connection \
                     (or let its pool reset it) to end its transaction and release its lock"
                );
            }
            return;
        }
        if in_transaction && let Err(err) = block_on(self.adapter.batch("ROLLBACK")) {
            tracing::warn!(error = %err, "rolling back failed");
        }
        if let Some(table) = locked
            && let Err(err) = block_on(self.unlock_verb(table))
        {
            tracing::warn!(error = %err, "releasing the migration lock failed");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every row of a packed text, with owned values.
    type Owned = (Option<i64>, Option<String>, Option<String>, Option<String>);

    fn unpack_all(text: &str) -> Option<Vec<Owned>> {
        let mut rows = Vec::new();
        let mut visit = |key: RowKey<'_>| {
            rows.push((
                key.version,
                key.name.map(str::to_owned),
                key.checksum.map(str::to_owned),
                key.state.map(str::to_owned),
            ));
            true
        };
        let (all, seen) = visit_packed(text, &mut visit)?;
        assert!(all);
        assert_eq!(usize::try_from(seen).ok(), Some(rows.len()));
        Some(rows)
    }

    fn some(text: &str) -> Option<String> {
        Some(text.to_owned())
    }

    #[test]
    fn packed_rows_read_back_as_they_were_written() {
        let rows = unpack_all("'1','init','abc','applied';NULL,NULL,NULL,NULL;").expect("valid");
        assert_eq!(
            rows,
            [
                (Some(1), some("init"), some("abc"), some("applied")),
                (None, None, None, None),
            ]
        );
    }

    #[test]
    fn a_value_holding_quotes_and_separators_stays_one_value() {
        // A name that looks like the rest of a row and the start of another.
        let rows = unpack_all("'1','a'',NULL;''2','','s';").expect("valid");
        assert_eq!(rows, [(Some(1), some("a',NULL;'2"), some(""), some("s"))]);
    }

    #[test]
    fn the_visitor_stops_the_reading() {
        let mut calls = 0;
        let mut visit = |_: RowKey<'_>| {
            calls += 1;
            false
        };
        let seen = visit_packed("'1','a','b','c';'2','a','b','c';", &mut visit);
        assert_eq!((seen, calls), (Some((false, 1)), 1));
    }

    #[test]
    fn damaged_text_is_refused() {
        for text in [
            "'1'",
            "'1','init'",
            "'x','init',NULL,NULL;",
            "'1','init,NULL,NULL;",
            "'1','init',NULL,NULL",
            "'1','init',NULL,NULL,",
            "'1',E'a\\\\b',NULL,NULL;",
            "'1',init,NULL,NULL;",
        ] {
            assert!(unpack_all(text).is_none(), "{text:?} was read");
        }
    }
}
