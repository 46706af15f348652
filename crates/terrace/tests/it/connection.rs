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
fn a_refused_connection_says_so_in_plain_words_on_both_servers() {
    // Nothing listens on port 1 of the loopback address.
    for url in [
        "mysql://app@127.0.0.1:1/prod",
        "postgres://app@127.0.0.1:1/prod",
    ] {
        let err = Connection::open(
            &DatabaseUrl::parse(url).unwrap(),
            &ConnectOptions::default(),
        )
        .err()
        .expect("nothing listens there");
        let reason = std::error::Error::source(&err).unwrap().to_string();
        assert_eq!(reason, "connection refused", "{url}");
    }
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

/// The scheme in upper case, the rest as it is (`POSTGRES://…`, `SQLITE:/tmp/…`).
fn upper_scheme(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => format!("{}://{rest}", scheme.to_ascii_uppercase()),
        None => format!("SQLITE:{url}"),
    }
}

backend_test!(schemes_are_case_insensitive, |db| {
    let url = DatabaseUrl::parse(&upper_scheme(&db.url)).unwrap();
    assert!(
        !url.to_string().starts_with("POSTGRES") && !url.to_string().starts_with("MYSQL"),
        "{url}"
    );
    let mut conn = Connection::open(&url, &ConnectOptions::default()).unwrap();
    crate::support::copy_fixture(&db.scratch, "basic");
    db.migrations().run(&mut conn).unwrap();
    assert_eq!(db.versions(), [1, 2, 3]);
});

#[test]
fn a_server_url_without_slashes_is_refused_without_its_password() {
    for url in [
        "postgres:deploy:hunter2@db.internal/app",
        "MySQL:root:hunter2@db.internal/app",
    ] {
        let err = DatabaseUrl::parse(url).unwrap_err();
        let text = err.to_string();
        assert!(!text.contains("hunter2"), "{text}");
        assert!(text.contains("://"), "it shows the expected form: {text}");
    }
    assert_eq!(
        terrace::connection::redact("postgres:deploy:hunter2@db.internal/app"),
        "postgres:deploy:***@db.internal/app"
    );
}

#[test]
fn a_key_value_connection_string_is_refused_without_its_password() {
    let dir = tempfile::tempdir().unwrap();
    for text in [
        "host=127.0.0.1 user=app password=hunter2 dbname=app",
        "host = 127.0.0.1 password = 'hunter2' dbname = app",
        "dbname=app",
        "sqlite:host=db password=hunter2",
    ] {
        let err = DatabaseUrl::parse(text).unwrap_err();
        let message = err.to_string();
        assert!(!message.contains("hunter2"), "{message}");
        assert!(message.contains("key=value"), "{message}");
    }
    // Nothing was created anywhere, with or without a scheme.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn a_mistyped_server_url_is_refused_not_taken_as_a_file_without_its_password() {
    for text in [
        "postgres//app:hunter2@db/app",
        "p:app:hunter2@db",
        "MYSQL//root@db/app",
        "data/app:hunter2@db.sqlite",
    ] {
        let err = DatabaseUrl::parse(text).unwrap_err();
        let message = err.to_string();
        assert!(!message.contains("hunter2"), "{message}");
        assert!(message.contains("server URL"), "{message}");
        assert!(
            !terrace::connection::redact(text).contains("hunter2"),
            "{text}"
        );
    }
    // Paths with a colon or an `@` alone are paths.
    for text in ["data/app.db", "backup@2024/app.db", "c:/data/app.db"] {
        assert!(DatabaseUrl::parse(text).is_ok(), "{text}");
    }
}

#[test]
fn sqlite_query_parameters_are_parsed_never_part_of_the_file_name() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.db");
    let url = DatabaseUrl::parse(&format!("sqlite:{}?mode=rwc", path.display())).unwrap();
    assert_eq!(url.sqlite_path().unwrap(), path);
    Connection::open(&url, &ConnectOptions::default()).unwrap();
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["x.db"]);

    // mode=rw: the file must exist, even for a command that would create it.
    let absent = dir.path().join("absent.db");
    let url = DatabaseUrl::parse(&format!("sqlite://{}?mode=rw", absent.display())).unwrap();
    let err = Connection::open(&url, &ConnectOptions::default())
        .err()
        .unwrap();
    let chain = format!("{err}: {}", std::error::Error::source(&err).unwrap());
    assert!(chain.contains("does not exist"), "{chain}");
    assert!(!absent.exists());

    // mode=ro: a writing command is refused at once, a reading one works.
    let url = DatabaseUrl::parse(&format!("sqlite:{}?mode=ro", path.display())).unwrap();
    let err = Connection::open(&url, &ConnectOptions::default())
        .err()
        .unwrap();
    let chain = format!("{err}: {}", std::error::Error::source(&err).unwrap());
    assert!(chain.contains("mode=ro"), "{chain}");
    let read_only = ConnectOptions {
        wait: Duration::ZERO,
        access: Access::ReadOnly,
    };
    Connection::open(&url, &read_only).unwrap();

    // mode=memory: nothing on disk.
    let memory = dir.path().join("memory.db");
    let url = DatabaseUrl::parse(&format!("sqlite:{}?mode=memory", memory.display())).unwrap();
    let Connection::Sqlite(conn) = Connection::open(&url, &ConnectOptions::default()).unwrap()
    else {
        panic!("a SQLite connection");
    };
    conn.execute_batch("CREATE TABLE t (x INTEGER)").unwrap();
    assert!(!memory.exists());

    // cache=shared|private is accepted.
    DatabaseUrl::parse("sqlite:app.db?cache=shared&mode=rwc").unwrap();
}

#[test]
fn unknown_or_bad_sqlite_parameters_are_refused_by_name() {
    for (url, expected) in [
        ("sqlite:app.db?journal=wal", "journal"),
        ("sqlite:app.db?mode=rwx", "rwx"),
        ("sqlite:app.db?mode", "mode"),
        ("sqlite:app.db?mode=ro&mode=rw", "mode"),
        ("app.db?password=hunter2", "password"),
    ] {
        let err = DatabaseUrl::parse(url).unwrap_err();
        let text = err.to_string();
        assert!(text.contains(expected), "{url}: {text}");
        assert!(!text.contains("hunter2"), "{text}");
    }
}

#[test]
fn a_sqlite_path_that_is_a_folder_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let url = DatabaseUrl::parse(&format!("sqlite:{}", dir.path().display())).unwrap();
    for access in [Access::ReadOnly, Access::ReadWrite, Access::Create] {
        let err = Connection::open(
            &url,
            &ConnectOptions {
                wait: Duration::ZERO,
                access,
            },
        )
        .err()
        .unwrap();
        let chain = format!("{err}: {}", std::error::Error::source(&err).unwrap());
        assert!(chain.contains("is a directory"), "{access:?}: {chain}");
    }
}
