//! The backend matrix: a scratch database per test on SQLite, PostgreSQL and MariaDB.
//!
//! `backend_test!(name, |db| { … })` makes `name::sqlite`, `name::postgres` and
//! `name::mysql`. The servers come from `TERRACE_TEST_POSTGRES_URL` and
//! `TERRACE_TEST_MYSQL_URL`, read when the tests are built (by `build.rs`) and when
//! they run: a server whose variable was not set at build time has its tests marked
//! ignored, so the run reports them as skipped, not passed; under CI (the `CI`
//! variable set to anything but `false` or `0`) `servers_are_configured_under_ci`
//! fails instead. A server that is configured but unreachable fails its tests.
//!
//! Scratch databases are named `terrace_test_<host>_<pid>_<n>`, `<host>` a short hash
//! of this machine's identity, so that the sweep of leftovers only ever drops
//! databases made on this host by test processes that no longer run.

use crate::support::Scratch;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Once, OnceLock};
use terrace::{ConnectOptions, Connection, DatabaseUrl};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Sqlite,
    Postgres,
    Mysql,
}

/// A scratch database (dropped with the value) and a scratch migrations folder.
pub struct TestDb {
    pub kind: Kind,
    /// The URL of the scratch database.
    pub url: String,
    /// The server's administrative URL and the scratch database's name.
    server: Option<(String, String)>,
    pub scratch: Scratch,
}

const PREFIX: &str = "terrace_test_";

fn env_var(kind: Kind) -> &'static str {
    match kind {
        Kind::Sqlite => "",
        Kind::Postgres => "TERRACE_TEST_POSTGRES_URL",
        Kind::Mysql => "TERRACE_TEST_MYSQL_URL",
    }
}

/// Replaces the database part of a server URL.
fn with_database(url: &str, database: &str) -> String {
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    let (base, query) = match url.find('?') {
        Some(q) => (&url[..q], &url[q..]),
        None => (url, ""),
    };
    let base = match base[after_scheme..].find('/') {
        Some(slash) => &base[..after_scheme + slash],
        None => base,
    };
    format!("{base}/{database}{query}")
}

fn admin(url: &str) -> Connection {
    Connection::open(
        &DatabaseUrl::parse(url).unwrap(),
        &ConnectOptions::default(),
    )
    .unwrap_or_else(|e| {
        panic!(
            "cannot reach the test server: {e}: {:?}",
            std::error::Error::source(&e)
        )
    })
}

fn admin_execute(url: &str, sql: &str) {
    match admin(url) {
        Connection::Postgres(mut client) => client.batch_execute(sql).unwrap(),
        Connection::Mysql(mut conn) => {
            mysql::prelude::Queryable::query_drop(&mut conn, sql).unwrap()
        }
        _ => unreachable!("a server URL"),
    }
}

/// A short hash of this machine's identity (its machine id and host name), the same in
/// every test process on it and different on another host sharing the server.
fn host_id() -> &'static str {
    static HOST: OnceLock<String> = OnceLock::new();
    HOST.get_or_init(|| {
        let read = |path: &str| std::fs::read_to_string(path).unwrap_or_default();
        let identity = format!(
            "{}\n{}\n{}",
            read("/etc/machine-id"),
            read("/proc/sys/kernel/hostname"),
            std::env::var("HOSTNAME").unwrap_or_default()
        );
        // FNV-1a, stable across Rust releases unlike std's hasher.
        let mut hash: u32 = 0x811c_9dc5;
        for byte in identity.bytes() {
            hash ^= u32::from(byte);
            hash = hash.wrapping_mul(0x0100_0193);
        }
        format!("{hash:08x}")
    })
}

/// The prefix of the scratch databases this host makes.
fn host_prefix() -> String {
    format!("{PREFIX}{}_", host_id())
}

/// Which of a server's database names are scratch databases made on this host by a
/// test process that no longer runs. Names from other hosts (or another naming) are
/// never stale here: their processes are not in this machine's `/proc`.
fn stale(names: &[String], running: impl Fn(&str) -> bool) -> Vec<&str> {
    let prefix = host_prefix();
    names
        .iter()
        .filter_map(|name| {
            let pid = name.strip_prefix(&prefix)?.split('_').next()?;
            let numeric = !pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit());
            (numeric && !running(pid)).then_some(name.as_str())
        })
        .collect()
}

/// Drops the scratch databases this host's test processes left behind (where `/proc`
/// tells which processes run).
fn sweep(kind: Kind, url: &str) {
    let proc = std::path::Path::new("/proc");
    if !proc.join("self").exists() {
        return;
    }
    let names: Vec<String> = match admin(url) {
        Connection::Postgres(mut client) => client
            .query("SELECT datname::text FROM pg_database WHERE datname LIKE 'terrace_test_%'", &[])
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect(),
        Connection::Mysql(mut conn) => {
            mysql::prelude::Queryable::query(&mut conn, "SELECT CAST(schema_name AS CHAR) FROM information_schema.schemata WHERE schema_name LIKE 'terrace\\_test\\_%'").unwrap()
        }
        _ => unreachable!(),
    };
    for name in stale(&names, |pid| proc.join(pid).exists()) {
        admin_execute(url, &drop_sql(kind, name));
    }
}

#[test]
fn the_sweep_drops_only_this_hosts_leftovers() {
    let mine = host_prefix();
    let names: Vec<String> = [
        format!("{mine}123_0"),            // this host, process gone
        format!("{mine}456_1"),            // this host, process running
        format!("{PREFIX}0badbeef_123_0"), // another host
        format!("{PREFIX}123_0"),          // the old naming, host unknown
        "app_production".to_owned(),
    ]
    .into();
    assert_ne!(host_id(), "0badbeef");
    assert_eq!(stale(&names, |pid| pid == "456"), [names[0].as_str()]);
}

fn drop_sql(kind: Kind, name: &str) -> String {
    match kind {
        Kind::Postgres => format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"),
        _ => format!("DROP DATABASE IF EXISTS `{name}`"),
    }
}

/// Whether this is a CI run, where skipping a server is a failure.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

#[test]
fn servers_are_configured_under_ci() {
    if !in_ci() {
        return;
    }
    for (var, built_with_it) in [
        (env_var(Kind::Postgres), cfg!(terrace_test_postgres)),
        (env_var(Kind::Mysql), cfg!(terrace_test_mysql)),
        ("TERRACE_TEST_TLS_CA", cfg!(terrace_test_tls)),
    ] {
        assert!(
            std::env::var_os(var).is_some_and(|v| !v.is_empty()),
            "{var} is not set: CI must test against the real server"
        );
        assert!(
            built_with_it,
            "{var} was not set when the tests were built, so its server's tests are ignored"
        );
    }
}

static SWEEP_POSTGRES: Once = Once::new();
static SWEEP_MYSQL: Once = Once::new();
static COUNTER: AtomicUsize = AtomicUsize::new(0);

impl TestDb {
    /// A fresh scratch database. A server test runs only when its URL was set at
    /// build time (otherwise it is ignored), so a URL missing now is a failure.
    pub fn new(kind: Kind) -> TestDb {
        let scratch = Scratch::new();
        if kind == Kind::Sqlite {
            return TestDb {
                kind,
                url: scratch.db_path().to_string_lossy().into_owned(),
                server: None,
                scratch,
            };
        }
        let var = env_var(kind);
        let server = std::env::var(var).unwrap_or_else(|_| {
            panic!("{var} is not set: set it to the server's URL to run this test")
        });
        let once = if kind == Kind::Postgres {
            &SWEEP_POSTGRES
        } else {
            &SWEEP_MYSQL
        };
        once.call_once(|| sweep(kind, &server));
        let name = format!(
            "{}{}_{}",
            host_prefix(),
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        admin_execute(
            &server,
            &format!(
                "CREATE DATABASE {}",
                match kind {
                    Kind::Postgres => format!("\"{name}\""),
                    _ => format!("`{name}`"),
                }
            ),
        );
        TestDb {
            kind,
            url: with_database(&server, &name),
            server: Some((server, name)),
            scratch,
        }
    }

    pub fn connect(&self) -> Connection {
        Connection::open(
            &DatabaseUrl::parse(&self.url).unwrap(),
            &ConnectOptions::default(),
        )
        .unwrap()
    }

    /// Runs SQL statements on a fresh connection.
    pub fn execute(&self, sql: &str) {
        match self.connect() {
            Connection::Sqlite(conn) => conn.execute_batch(sql).unwrap(),
            Connection::Postgres(mut client) => client.batch_execute(sql).unwrap(),
            Connection::Mysql(mut conn) => {
                for statement in
                    terrace::format::split_statements(sql, terrace::format::Dialect::Mysql)
                {
                    mysql::prelude::Queryable::query_drop(&mut conn, statement.text).unwrap();
                }
            }
            _ => unreachable!(),
        }
    }

    /// The first column of every row, as text.
    pub fn strings(&self, sql: &str) -> Vec<String> {
        self.column(sql, 0)
    }

    /// One column of every row, as text.
    pub fn column(&self, sql: &str, index: usize) -> Vec<String> {
        self.rows(sql)
            .into_iter()
            .map(|mut row| row.swap_remove(index))
            .collect()
    }

    /// Every row, each column as text (`NULL` for null), read on a fresh connection.
    pub fn rows(&self, sql: &str) -> Vec<Vec<String>> {
        match self.connect() {
            Connection::Sqlite(conn) => {
                let mut stmt = conn.prepare(sql).unwrap();
                let width = stmt.column_count();
                stmt.query_map([], |r| {
                    (0..width)
                        .map(|index| {
                            Ok(match r.get_ref(index)? {
                                rusqlite::types::ValueRef::Null => "NULL".to_owned(),
                                rusqlite::types::ValueRef::Integer(i) => i.to_string(),
                                rusqlite::types::ValueRef::Real(f) => f.to_string(),
                                rusqlite::types::ValueRef::Text(t)
                                | rusqlite::types::ValueRef::Blob(t) => {
                                    String::from_utf8_lossy(t).into_owned()
                                }
                            })
                        })
                        .collect()
                })
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap()
            }
            Connection::Postgres(mut client) => client
                .simple_query(sql)
                .unwrap()
                .into_iter()
                .filter_map(|m| match m {
                    postgres::SimpleQueryMessage::Row(row) => Some(
                        (0..row.len())
                            .map(|index| row.get(index).unwrap_or("NULL").to_owned())
                            .collect(),
                    ),
                    _ => None,
                })
                .collect(),
            Connection::Mysql(mut conn) => {
                let rows: Vec<mysql::Row> =
                    mysql::prelude::Queryable::query(&mut conn, sql).unwrap();
                rows.into_iter()
                    .map(|row| {
                        (0..row.len())
                            .map(|index| match row.as_ref(index) {
                                Some(mysql::Value::NULL) | None => "NULL".to_owned(),
                                Some(mysql::Value::Bytes(b)) => {
                                    String::from_utf8_lossy(b).into_owned()
                                }
                                Some(other) => other.as_sql(true).trim_matches('\'').to_owned(),
                            })
                            .collect()
                    })
                    .collect()
            }
            _ => unreachable!(),
        }
    }

    pub fn count(&self, sql: &str) -> i64 {
        self.strings(sql)[0].parse().unwrap()
    }

    /// Every table of the scratch database, sorted.
    pub fn tables(&self) -> Vec<String> {
        let sql = match self.kind {
            Kind::Sqlite => {
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
            }
            Kind::Postgres => {
                "SELECT table_name::text FROM information_schema.tables WHERE table_schema = current_schema() ORDER BY 1"
            }
            Kind::Mysql => {
                "SELECT CAST(table_name AS CHAR) FROM information_schema.tables WHERE table_schema = DATABASE() ORDER BY 1"
            }
        };
        self.strings(sql)
    }

    pub fn table_exists(&self, table: &str) -> bool {
        self.tables().iter().any(|t| t == table)
    }

    /// The versions recorded in the tracking table (none if there is no table).
    pub fn versions(&self) -> Vec<u64> {
        if !self.table_exists("schema_migrations") {
            return Vec::new();
        }
        self.strings("SELECT version FROM schema_migrations ORDER BY version")
            .iter()
            .map(|v| v.parse().unwrap())
            .collect()
    }

    /// The columns of a table, in order.
    pub fn columns(&self, table: &str) -> Vec<String> {
        let sql = match self.kind {
            Kind::Sqlite => format!("SELECT name FROM pragma_table_info('{table}') ORDER BY cid"),
            Kind::Postgres => format!(
                "SELECT column_name::text FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = '{table}' ORDER BY ordinal_position"
            ),
            Kind::Mysql => format!(
                "SELECT CAST(column_name AS CHAR) FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = '{table}' ORDER BY ordinal_position"
            ),
        };
        self.strings(&sql)
    }

    /// Every table with its columns and contents, for proving nothing changed.
    pub fn snapshot(&self) -> Vec<String> {
        let mut out = Vec::new();
        for table in self.tables() {
            let columns = self.columns(&table);
            let rows = match self.kind {
                Kind::Postgres => self.strings(&format!(
                    "SELECT coalesce(string_agg(t::text, '|' ORDER BY t::text), '') FROM \"{table}\" t"
                )),
                Kind::Mysql => self.column(&format!("CHECKSUM TABLE `{table}`"), 1),
                Kind::Sqlite => vec![self.count(&format!("SELECT count(*) FROM \"{table}\"")).to_string()],
            };
            out.push(format!(
                "{table}({}): {}",
                columns.join(", "),
                rows.join("; ")
            ));
        }
        if self.kind == Kind::Sqlite {
            out.push(format!("file bytes: {:?}", self.scratch.bytes()));
        }
        out
    }

    /// The migrations folder, read at run time.
    pub fn migrations(&self) -> terrace::Migrations {
        self.scratch.migrations()
    }

    pub fn write(&self, file_name: &str, text: &str) {
        self.scratch.write(file_name, text);
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some((server, name)) = &self.server {
            admin_execute(server, &drop_sql(self.kind, name));
        }
    }
}

/// Runs `test` on a scratch database of `kind`.
pub fn with(kind: Kind, test: impl FnOnce(&TestDb)) {
    test(&TestDb::new(kind));
}

/// Defines a test run on every backend: `name::sqlite`, `name::postgres`, `name::mysql`.
/// A server's test is ignored when its URL was not set at build time.
macro_rules! backend_test {
    ($(#[$meta:meta])* $name:ident, |$db:ident| $body:block) => {
        $(#[$meta])*
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            use $crate::backends::{Kind, TestDb, with};

            fn body($db: &TestDb) $body

            #[test]
            fn sqlite() {
                with(Kind::Sqlite, body);
            }

            #[test]
            #[cfg_attr(
                not(terrace_test_postgres),
                ignore = "TERRACE_TEST_POSTGRES_URL was not set when the tests were built"
            )]
            fn postgres() {
                with(Kind::Postgres, body);
            }

            #[test]
            #[cfg_attr(
                not(terrace_test_mysql),
                ignore = "TERRACE_TEST_MYSQL_URL was not set when the tests were built"
            )]
            fn mysql() {
                with(Kind::Mysql, body);
            }
        }
    };
}
pub(crate) use backend_test;
