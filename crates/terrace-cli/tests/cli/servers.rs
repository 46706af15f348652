//! The CLI against real PostgreSQL and MariaDB servers: AutoAudit's migrations through
//! every main command. The servers come from `TERRACE_TEST_POSTGRES_URL` and
//! `TERRACE_TEST_MYSQL_URL`; a server whose variable was not set when the tests were
//! built (see `build.rs`) has its test ignored, reported as such, and under CI (`CI`
//! set) `servers_are_configured_under_ci` fails.

use crate::support::Sandbox;
use std::path::PathBuf;
use terrace::{ConnectOptions, Connection, DatabaseUrl};

/// A scratch database on a server, dropped when the value is.
pub(crate) struct ScratchDatabase {
    server: String,
    /// Its name on the server.
    pub(crate) name: String,
    /// Its URL.
    pub(crate) url: String,
}

pub(crate) fn connect(url: &str) -> Connection {
    Connection::open(
        &DatabaseUrl::parse(url).unwrap(),
        &ConnectOptions::default(),
    )
    .unwrap()
}

/// Runs SQL statements (split the way terrace splits them) on a connection.
pub(crate) fn execute(url: &str, sql: &str) {
    match connect(url) {
        Connection::Postgres(mut client) => client.batch_execute(sql).unwrap(),
        Connection::Mysql(mut conn) => {
            for statement in terrace::format::split_statements(sql, terrace::format::Dialect::Mysql)
            {
                mysql::prelude::Queryable::query_drop(&mut conn, statement.text).unwrap();
            }
        }
        _ => unreachable!("a server URL"),
    }
}

impl ScratchDatabase {
    pub(crate) fn new(var: &str) -> Self {
        Self::with_prefix(var, "terrace_cli_test")
    }

    /// A scratch database named `<prefix>_<process>_<count>`: a test that lists
    /// databases by a pattern gives a prefix no other test uses.
    pub(crate) fn with_prefix(var: &str, prefix: &str) -> Self {
        let server = std::env::var(var).unwrap_or_else(|_| {
            panic!("{var} is not set: set it to the server's URL to run this test")
        });
        // One per test: several tests of a process may use the same server at once.
        static COUNTER: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let name = format!(
            "{prefix}_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        );
        let quoted = if server.starts_with("mysql") {
            format!("`{name}`")
        } else {
            format!("\"{name}\"")
        };
        execute(&server, &format!("DROP DATABASE IF EXISTS {quoted}"));
        execute(&server, &format!("CREATE DATABASE {quoted}"));
        let slash = server[server.find("://").unwrap() + 3..].find('/').unwrap()
            + server.find("://").unwrap()
            + 3;
        let url = format!("{}/{name}", &server[..slash]);
        ScratchDatabase { server, name, url }
    }
}

impl Drop for ScratchDatabase {
    fn drop(&mut self) {
        let sql = if self.server.starts_with("mysql") {
            format!("DROP DATABASE IF EXISTS `{}`", self.name)
        } else {
            format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", self.name)
        };
        execute(&self.server, &sql);
    }
}

fn autoaudit(file: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../terrace/examples/autoaudit")
        .join(file)
}

fn autoaudit_through_the_cli(var: &str) {
    let db = ScratchDatabase::new(var);
    execute(
        &db.url,
        &std::fs::read_to_string(autoaudit("base_tables.sql")).unwrap(),
    );
    let sandbox = Sandbox::empty();
    let dir = autoaudit("server-migrations");
    let dir = dir.to_str().unwrap();
    let terrace = |args: &[&str]| {
        let mut all = vec!["--database", db.url.as_str(), "--dir", dir];
        all.extend_from_slice(args);
        sandbox.run(&all)
    };

    let status = terrace(&["status", "--format", "json"]).code(0).json();
    assert_eq!(
        (
            status["applied_count"].clone(),
            status["pending_count"].clone()
        ),
        (0.into(), 5.into())
    );

    let run = terrace(&["migrate"]);
    run.ok();
    for name in [
        "add_base_url",
        "add_screenshot_path",
        "add_deleted_at",
        "add_token_tracking",
        "add_visual_tokens",
    ] {
        assert!(run.stdout.contains(name), "{}", run.stdout);
    }
    terrace(&["status", "--check"]).ok();
    let history = terrace(&["history", "--format", "json"]).ok().json();
    assert_eq!(history["rows"].as_array().unwrap().len(), 5);
    terrace(&["validate"]).ok();
    terrace(&["migrate"]).ok();

    terrace(&["rollback", "--to", "3"]).ok();
    let status = terrace(&["status", "--format", "json"]).code(0).json();
    assert_eq!(status["pending_count"], 2);
    terrace(&["status", "--check"]).code(1);
    terrace(&["rollback", "--to", "0", "--dry-run"]).ok();
    terrace(&["rollback", "--to", "0"]).ok();
    terrace(&["up"]).ok();
    let status = terrace(&["status", "--format", "json"]).ok().json();
    assert_eq!(status["applied_count"], 5);
    assert_eq!(status["up_to_date"], true);
}

#[test]
fn servers_are_configured_under_ci() {
    if !std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0") {
        return;
    }
    for (var, built_with_it) in [
        ("TERRACE_TEST_POSTGRES_URL", cfg!(terrace_test_postgres)),
        ("TERRACE_TEST_MYSQL_URL", cfg!(terrace_test_mysql)),
        ("TERRACE_TEST_TLS_CA", cfg!(terrace_test_tls)),
        ("TERRACE_TEST_GALERA_URLS", cfg!(terrace_test_galera)),
        ("TERRACE_TEST_PGBOUNCER_URL", cfg!(terrace_test_pgbouncer)),
        ("TERRACE_TEST_PG_REPLICA_URL", cfg!(terrace_test_pg_replica)),
        (
            "TERRACE_TEST_MYSQL_REPLICA_URL",
            cfg!(terrace_test_mysql_replica),
        ),
        (
            "TERRACE_TEST_MYSQL_PRIMARY_URL",
            cfg!(terrace_test_mysql_replica),
        ),
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

#[test]
#[cfg_attr(
    not(terrace_test_postgres),
    ignore = "TERRACE_TEST_POSTGRES_URL was not set when the tests were built"
)]
fn autoaudit_on_postgres() {
    autoaudit_through_the_cli("TERRACE_TEST_POSTGRES_URL");
}

#[test]
#[cfg_attr(
    not(terrace_test_mysql),
    ignore = "TERRACE_TEST_MYSQL_URL was not set when the tests were built"
)]
fn autoaudit_on_mysql() {
    autoaudit_through_the_cli("TERRACE_TEST_MYSQL_URL");
}

#[test]
#[cfg_attr(
    not(terrace_test_mysql),
    ignore = "TERRACE_TEST_MYSQL_URL was not set when the tests were built"
)]
fn a_held_lock_on_mysql_fails_after_the_lock_timeout() {
    use mysql::prelude::Queryable;
    let db = ScratchDatabase::new("TERRACE_TEST_MYSQL_URL");
    // The lock another run would hold: the backend's name for the tracking table.
    let Connection::Mysql(mut holder) = connect(&db.url) else {
        unreachable!("a MySQL URL");
    };
    let got: Option<i64> = holder
        .query_first("SELECT GET_LOCK(CONCAT('terrace:', DATABASE(), '.schema_migrations'), 0)")
        .unwrap();
    assert_eq!(got, Some(1));

    let sandbox = Sandbox::three_migrations();
    let started = std::time::Instant::now();
    let run = sandbox.run(&["--database", &db.url, "--lock-timeout", "1", "migrate"]);
    run.code(1);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    assert!(run.stderr.contains("another run held it"), "{}", run.stderr);

    drop(holder);
    sandbox.run(&["--database", &db.url, "migrate"]).ok();
}

#[test]
#[cfg_attr(
    not(terrace_test_postgres),
    ignore = "TERRACE_TEST_POSTGRES_URL was not set when the tests were built"
)]
fn writing_commands_name_the_server_database_without_its_password() {
    let db = ScratchDatabase::new("TERRACE_TEST_POSTGRES_URL");
    // The test server trusts local connections, so the password is sent nowhere and
    // only has to stay out of the output.
    let (scheme_and_user, rest) = db.url.split_once('@').unwrap();
    assert!(
        !scheme_and_user["postgres://".len()..].contains(':'),
        "{}",
        db.url
    );
    let url = format!("{scheme_and_user}:hunter2secret@{rest}");
    let shown = format!("database: {scheme_and_user}:***@{rest} (from --database)\n");
    let sandbox = Sandbox::three_migrations();
    for args in [
        &["migrate"][..],
        &["rollback"],
        &["repair"],
        &["reset", "--yes"],
        &["baseline", "2"],
    ] {
        let run = sandbox.run(&[&["--database", url.as_str()][..], args].concat());
        run.ok();
        assert!(run.stderr.starts_with(&shown), "{args:?}: {}", run.stderr);
        assert!(!run.all().contains("hunter2secret"), "{}", run.all());
        assert!(
            !run.all().contains("created new database file"),
            "{}",
            run.all()
        );
    }
    sandbox
        .run(&["--database", url.as_str(), "reset", "--yes"])
        .ok();
    for args in [
        &["baseline", "2"][..],
        &["migrate"],
        &["rollback"],
        &["repair"],
    ] {
        let mut all = vec!["--database", url.as_str(), "--format", "json"];
        all.extend_from_slice(args);
        let run = sandbox.run(&all);
        run.ok();
        let doc = run.json();
        assert_eq!(
            doc["database"],
            format!("{scheme_and_user}:***@{rest}"),
            "{args:?}"
        );
        assert!(!run.all().contains("hunter2secret"), "{}", run.all());
    }
}
