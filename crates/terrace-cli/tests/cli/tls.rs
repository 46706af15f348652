//! TLS through the command line: a migration over a verified TLS connection on both
//! servers, proved encrypted by what the server saw, and the refusals a user meets.
//! The CA that signed the servers' certificates comes from `TERRACE_TEST_TLS_CA`
//! (made by `.ci/run`, with `other-ca.pem`, a CA that signed nothing of theirs, beside
//! it); a test is ignored when it or its server's URL was not set when the tests were
//! built, and under CI `servers_are_configured_under_ci` fails instead.

use crate::servers::{ScratchDatabase, connect};
use crate::support::Sandbox;
use std::path::PathBuf;
use terrace::Connection;

fn ca() -> String {
    std::env::var("TERRACE_TEST_TLS_CA")
        .expect("TERRACE_TEST_TLS_CA is set: the test was built with it")
}

fn other_ca() -> String {
    PathBuf::from(ca())
        .with_file_name("other-ca.pem")
        .to_string_lossy()
        .into_owned()
}

/// The first column of the first row of a query, as text.
fn first(url: &str, sql: &str) -> String {
    match connect(url) {
        Connection::Postgres(mut client) => client.query_one(sql, &[]).unwrap().get(0),
        Connection::Mysql(mut conn) => {
            let row: Option<String> =
                mysql::prelude::Queryable::query_first(&mut conn, sql).unwrap();
            row.unwrap()
        }
        _ => unreachable!("a server URL"),
    }
}

/// Migrates with the CLI over TLS; the migration itself records whether its session
/// is encrypted.
fn migrate_over_tls(var: &str, params: &str, record: &str, seen: &str) {
    let db = ScratchDatabase::new(var);
    let sandbox = Sandbox::empty();
    sandbox.migration("0001_record_tls.sql", record, None);
    let url = format!("{}?{params}", db.url);
    sandbox.run(&["--database", &url, "migrate"]).ok();
    assert_eq!(first(&db.url, "SELECT encrypted FROM tls_seen"), seen);
    let status = sandbox
        .run(&["--database", &url, "status", "--format", "json"])
        .ok()
        .json();
    assert_eq!(status["applied_count"], 1);
}

#[test]
#[cfg_attr(
    not(all(terrace_test_postgres, terrace_test_tls)),
    ignore = "TERRACE_TEST_POSTGRES_URL or TERRACE_TEST_TLS_CA was not set when the tests were built"
)]
fn migrate_over_verified_tls_on_postgres() {
    migrate_over_tls(
        "TERRACE_TEST_POSTGRES_URL",
        &format!("sslmode=verify-full&sslrootcert={}", ca()),
        "CREATE TABLE tls_seen AS SELECT ssl::text AS encrypted FROM pg_stat_ssl WHERE pid = pg_backend_pid();",
        "true",
    );
}

#[test]
#[cfg_attr(
    not(all(terrace_test_mysql, terrace_test_tls)),
    ignore = "TERRACE_TEST_MYSQL_URL or TERRACE_TEST_TLS_CA was not set when the tests were built"
)]
fn migrate_over_verified_tls_on_mysql() {
    migrate_over_tls(
        "TERRACE_TEST_MYSQL_URL",
        &format!("ssl-mode=VERIFY_IDENTITY&ssl-ca={}", ca()),
        "CREATE TABLE tls_seen AS SELECT CAST(VARIABLE_VALUE <> '' AS CHAR) AS encrypted \
         FROM information_schema.SESSION_STATUS WHERE VARIABLE_NAME = 'Ssl_cipher';",
        "1",
    );
}

/// The CLI's refusal of a URL, and its exit code.
fn refused(url: &str, code: i32) -> String {
    let sandbox = Sandbox::three_migrations();
    let run = sandbox.run(&["--database", url, "status"]);
    run.code(code);
    assert!(run.stdout.is_empty(), "{}", run.stdout);
    run.stderr.clone()
}

#[test]
#[cfg_attr(
    not(all(terrace_test_postgres, terrace_test_tls)),
    ignore = "TERRACE_TEST_POSTGRES_URL or TERRACE_TEST_TLS_CA was not set when the tests were built"
)]
fn a_certificate_another_ca_signed_is_refused_by_name_on_postgres() {
    let db = ScratchDatabase::new("TERRACE_TEST_POSTGRES_URL");
    let other = other_ca();
    let stderr = refused(
        &format!("{}?sslmode=verify-full&sslrootcert={other}", db.url),
        1,
    );
    assert!(
        stderr.contains(&format!(
            "the server's certificate is not signed by a trusted CA (sslmode=verify-full, sslrootcert={other})"
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains("hint: the URL's sslmode and sslrootcert"),
        "{stderr}"
    );
    let stderr = refused(&format!("{}?sslmode=verify-ca", db.url), 1);
    assert!(
        stderr.contains("no CA certificate is given") && stderr.contains("sslrootcert=PATH"),
        "{stderr}"
    );
}

#[test]
#[cfg_attr(
    not(all(terrace_test_mysql, terrace_test_tls)),
    ignore = "TERRACE_TEST_MYSQL_URL or TERRACE_TEST_TLS_CA was not set when the tests were built"
)]
fn a_certificate_another_ca_signed_is_refused_by_name_on_mysql() {
    let db = ScratchDatabase::new("TERRACE_TEST_MYSQL_URL");
    let other = other_ca();
    let stderr = refused(
        &format!("{}?ssl-mode=VERIFY_IDENTITY&ssl-ca={other}", db.url),
        1,
    );
    assert!(
        stderr.contains(&format!(
            "the server's certificate is not signed by a trusted CA (ssl-mode=VERIFY_IDENTITY, ssl-ca={other})"
        )),
        "{stderr}"
    );
}

#[test]
fn an_unknown_mode_is_a_usage_error_naming_it() {
    let stderr = refused("postgres://app:hunter2@127.0.0.1:9/app?sslmode=strict", 2);
    assert!(
        stderr.contains("'strict' is not a value of the parameter 'sslmode'")
            && stderr.contains("verify-full")
            && !stderr.contains("hunter2"),
        "{stderr}"
    );
    let stderr = refused("mysql://root@127.0.0.1:9/app?ssl-mode=yes", 2);
    assert!(
        stderr.contains("'yes' is not a value of the parameter 'ssl-mode'")
            && stderr.contains("VERIFY_IDENTITY"),
        "{stderr}"
    );
}
