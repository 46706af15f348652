//! Opening databases from URLs: clear errors, no password shown, bounded waiting.

use crate::backends::backend_test;
use std::time::{Duration, Instant};
use terrace::connection::Access;
use terrace::{ConnectOptions, Connection, DatabaseUrl, Error};

#[test]
fn an_unreachable_server_is_retried_for_the_wait_then_named_without_its_password() {
    // Nothing listens on port 9 of the loopback address.
    let url = DatabaseUrl::parse("postgres://app:hunter2@127.0.0.1:9/prod").unwrap();
    let started = Instant::now();
    let err = Connection::open(
        &url,
        &ConnectOptions {
            wait: Duration::from_millis(800),
            access: Access::Create,
        },
    )
    .err()
    .expect("nothing listens there");
    assert!(started.elapsed() >= Duration::from_millis(800), "it waited");
    let chain = format!("{err}: {}", std::error::Error::source(&err).unwrap());
    assert!(matches!(err, Error::Connect { .. }));
    assert!(
        chain.contains("postgres://app:***@127.0.0.1:9/prod"),
        "{chain}"
    );
    assert!(!chain.contains("hunter2"), "{chain}");

    let url = DatabaseUrl::parse("mysql://app:hunter2@127.0.0.1:9/prod").unwrap();
    let err = Connection::open(&url, &ConnectOptions::default())
        .err()
        .unwrap();
    let chain = format!("{err}: {:?}", std::error::Error::source(&err));
    assert!(!chain.contains("hunter2"), "{chain}");
}

#[test]
#[cfg_attr(
    not(terrace_test_postgres),
    ignore = "TERRACE_TEST_POSTGRES_URL was not set when the tests were built"
)]
fn bad_credentials_fail_at_once_without_the_password() {
    let server = std::env::var("TERRACE_TEST_POSTGRES_URL")
        .expect("TERRACE_TEST_POSTGRES_URL is set: the test was built with it");
    let url = server.replacen(
        "postgres://postgres@",
        "postgres://no_such_user:hunter2@",
        1,
    );
    let url = DatabaseUrl::parse(&url).unwrap();
    let started = Instant::now();
    let err = Connection::open(
        &url,
        &ConnectOptions {
            wait: Duration::from_secs(30),
            access: Access::Create,
        },
    )
    .err()
    .expect("no such role");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "a refusal by the server is not retried"
    );
    let chain = format!("{err}: {}", std::error::Error::source(&err).unwrap());
    assert!(
        !chain.contains("hunter2") && chain.contains("no_such_user"),
        "{chain}"
    );
}

#[test]
fn read_only_opening_never_creates_a_sqlite_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("absent.db");
    let url = DatabaseUrl::parse(&format!("sqlite:{}", path.display())).unwrap();
    let err = Connection::open(
        &url,
        &ConnectOptions {
            wait: Duration::ZERO,
            access: Access::ReadOnly,
        },
    )
    .err()
    .unwrap();
    assert!(
        format!("{err}: {}", std::error::Error::source(&err).unwrap()).contains("does not exist")
    );
    assert!(!path.exists());
    assert!(Connection::open(&url, &ConnectOptions::default()).is_ok());
    assert!(path.exists());
}

#[test]
fn unknown_schemes_list_the_supported_ones() {
    let err = DatabaseUrl::parse("oracle://scott:tiger@db/orcl").unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("sqlite:") && text.contains("postgres://") && text.contains("mysql://"),
        "{text}"
    );
    assert!(!text.contains("tiger"), "{text}");
}

backend_test!(a_read_only_connection_cannot_write, |db| {
    let url = DatabaseUrl::parse(&db.url).unwrap();
    Connection::open(&url, &ConnectOptions::default()).unwrap(); // creates the SQLite file
    let mut conn = Connection::open(
        &url,
        &ConnectOptions {
            wait: Duration::ZERO,
            access: Access::ReadOnly,
        },
    )
    .unwrap();
    crate::support::copy_fixture(&db.scratch, "basic");
    assert!(
        db.migrations().run(&mut conn).is_err(),
        "a read-only connection refuses to migrate"
    );
    assert_eq!(
        db.migrations().status(&mut conn).unwrap().pending_count(),
        3
    );
    assert!(db.versions().is_empty());
});
