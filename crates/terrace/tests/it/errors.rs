//! Errors a program can act on: one variant per situation on every backend, drivers'
//! errors reachable through the source chain, a readable `Debug`, and nothing that
//! went wrong kept to a log line.

use crate::backends::{Kind, TestDb, backend_test};
use std::error::Error as _;
use std::sync::mpsc;
use std::time::{Duration, Instant};
use terrace::{Error, Event, Migration, Migrations, Target};

#[terrace::migration]
fn hold_the_lock(_db: &mut terrace::Db<'_>) -> terrace::CodeResult {
    std::thread::sleep(Duration::from_secs(4));
    Ok(())
}

fn holding_list() -> Migrations {
    Migrations::from_vec(vec![Migration::code(1, "hold_the_lock", hold_the_lock)])
}

backend_test!(a_lock_timeout_is_one_error_on_every_backend, |db| {
    let (started, wait) = mpsc::channel();
    std::thread::scope(|s| {
        let holder = s.spawn(move || {
            holding_list().run_with(&mut db.connect(), Target::Latest, &mut |event| {
                if let Event::Started { .. } = event {
                    let _ = started.send(());
                }
            })
        });
        wait.recv().expect("the holder starts its migration");
        // On SQLite a longer busy timeout of the connection's own outlasts the lock
        // timeout: give it none.
        let mut waiting = db.connect();
        if let terrace::Connection::Sqlite(conn) = &waiting {
            conn.busy_timeout(Duration::ZERO).unwrap();
        }
        let began = Instant::now();
        let err = holding_list()
            .with_lock_timeout(Duration::from_secs(1))
            .run(&mut waiting)
            .unwrap_err();
        let waited = began.elapsed();
        match &err {
            Error::LockTimeout { table, waited } => {
                assert_eq!(
                    (table.as_str(), *waited),
                    ("schema_migrations", Duration::from_secs(1))
                );
            }
            other => panic!("{other:?}"),
        }
        assert!(
            waited >= Duration::from_millis(900) && waited < Duration::from_secs(4),
            "{waited:?}"
        );
        let message = err.to_string();
        assert!(
            message.contains("schema_migrations") && message.contains("another run"),
            "{message}"
        );
        assert_eq!(holder.join().unwrap().unwrap().versions(), [1]);
    });
});

backend_test!(
    a_migration_that_ran_but_was_not_recorded_says_so_and_how_to_recover,
    |db| {
        let refuse_updates = match db.kind {
            Kind::Sqlite => {
                "CREATE TRIGGER refuse_updates BEFORE UPDATE ON schema_migrations \
                 BEGIN SELECT RAISE(ABORT, 'updates refused'); END;"
            }
            Kind::Postgres => {
                "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$ \
                 BEGIN RAISE EXCEPTION 'updates refused'; END $$;\n\
                 CREATE TRIGGER refuse_updates BEFORE UPDATE ON schema_migrations \
                 FOR EACH ROW EXECUTE FUNCTION refuse();"
            }
            Kind::Mysql => {
                "CREATE TRIGGER refuse_updates BEFORE UPDATE ON schema_migrations \
                 FOR EACH ROW SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'updates refused';"
            }
        };
        db.write(
            "0001_refuse_updates.sql",
            &format!("-- migrate:up transaction:false\n{refuse_updates}"),
        );
        let err = db.migrations().run(&mut db.connect()).unwrap_err();
        assert!(
            matches!(err, Error::NotRecorded { version: 1, .. }),
            "{err:?}"
        );
        let message = err.to_string();
        assert!(
            message.contains("migration 1 (refuse_updates) ran completely")
                && !message.contains("undo by hand"),
            "{message}"
        );
        let chain = format!("{err:?}");
        assert!(chain.contains("updates refused"), "{chain}");
        assert_eq!(
            db.strings("SELECT state FROM schema_migrations"),
            ["started"]
        );
        // The recovery the message gives works.
        let recovery = "UPDATE schema_migrations SET state = 'applied' WHERE version = 1";
        assert!(message.contains(recovery), "{message}");
        db.execute(match db.kind {
            Kind::Postgres => "DROP TRIGGER refuse_updates ON schema_migrations",
            _ => "DROP TRIGGER refuse_updates",
        });
        db.execute(recovery);
        db.migrations().validate(&mut db.connect()).unwrap();
        assert_eq!(db.migrations().run(&mut db.connect()).unwrap().count(), 0);
    }
);

#[test]
fn debug_prints_the_message_and_its_causes() {
    let scratch = crate::support::Scratch::new();
    scratch.write(
        "0001_create_projects.sql",
        "-- migrate:up\nCREATE TABLE projects (id INTEGER);",
    );
    scratch.write(
        "0002_add_base_url.sql",
        "-- migrate:up\nALTER TABLE nowhere ADD COLUMN base_url TEXT;",
    );
    let mut conn = scratch.open();
    let failed = scratch.migrations().run(&mut conn).unwrap_err();
    let debug = format!("{failed:?}");
    let mut expected = failed.to_string();
    for cause in causes(&failed) {
        expected.push_str(&format!("\ncaused by: {cause}"));
    }
    assert_eq!(debug, expected);
    assert!(debug.lines().count() >= 2, "{debug}");
    assert!(debug.contains("no such table: nowhere"), "{debug}");
    assert_eq!(format!("{failed:#?}"), debug);

    std::fs::remove_file(scratch.migrations_dir().join("0002_add_base_url.sql")).unwrap();
    conn.execute_batch(
        "INSERT INTO schema_migrations (version, name, state) VALUES (2, 'add_base_url', 'applied')",
    )
    .unwrap();
    let invalid = scratch.migrations().run(&mut conn).unwrap_err();
    assert!(matches!(invalid, Error::Invalid { .. }), "{invalid}");
    assert_eq!(format!("{invalid:?}"), invalid.to_string());
    assert!(!format!("{invalid:?}").contains("Missing {"), "{invalid:?}");
}

/// Runs a migration that releases Terrace's lock behind its back.
fn lose_the_lock(db: &TestDb, release_all: &str) {
    db.write(
        "0001_release_all_locks.sql",
        &format!("-- migrate:up\n{release_all}"),
    );
    let err = db.migrations().run(&mut db.connect()).unwrap_err();
    assert!(matches!(err, Error::Database { .. }), "{err:?}");
    let message = err.to_string();
    assert!(
        message.contains("releasing the migration lock") && message.contains("schema_migrations"),
        "{message}"
    );
    assert_eq!(db.versions(), [1], "the migration itself was applied");
}

#[test]
#[cfg_attr(
    not(terrace_test_postgres),
    ignore = "TERRACE_TEST_POSTGRES_URL was not set when the tests were built"
)]
fn postgres_a_failed_unlock_is_an_error() {
    let db = TestDb::new(Kind::Postgres);
    lose_the_lock(&db, "SELECT pg_advisory_unlock_all();");
}

#[test]
#[cfg_attr(
    not(terrace_test_mysql),
    ignore = "TERRACE_TEST_MYSQL_URL was not set when the tests were built"
)]
fn mysql_a_failed_unlock_is_an_error() {
    let db = TestDb::new(Kind::Mysql);
    lose_the_lock(&db, "SELECT RELEASE_ALL_LOCKS();");
}

/// The error of a migration inserting into a table that does not exist.
fn failing_insert(db: &TestDb) -> Error {
    db.write(
        "0001_insert_nowhere.sql",
        "-- migrate:up\nINSERT INTO no_such_table VALUES (1);",
    );
    db.migrations().run(&mut db.connect()).unwrap_err()
}

fn causes(err: &Error) -> impl Iterator<Item = &(dyn std::error::Error + 'static)> {
    let mut out = Vec::new();
    let mut next = err.source();
    while let Some(cause) = next {
        out.push(cause);
        next = cause.source();
    }
    out.into_iter()
}

#[test]
#[cfg_attr(
    not(terrace_test_postgres),
    ignore = "TERRACE_TEST_POSTGRES_URL was not set when the tests were built"
)]
fn postgres_errors_keep_their_sqlstate_through_the_source_chain() {
    let db = TestDb::new(Kind::Postgres);
    let err = failing_insert(&db);
    let server = causes(&err)
        .find_map(|e| e.downcast_ref::<postgres::error::DbError>())
        .unwrap_or_else(|| panic!("no DbError in {err:?}"));
    assert_eq!(server.code(), &postgres::error::SqlState::UNDEFINED_TABLE);
    assert!(err.source().unwrap().to_string().contains("SQLSTATE 42P01"));
}

#[test]
#[cfg_attr(
    not(terrace_test_mysql),
    ignore = "TERRACE_TEST_MYSQL_URL was not set when the tests were built"
)]
fn mysql_errors_keep_their_code_through_the_source_chain() {
    let db = TestDb::new(Kind::Mysql);
    let err = failing_insert(&db);
    let server = causes(&err)
        .find_map(|e| e.downcast_ref::<mysql::MySqlError>())
        .unwrap_or_else(|| panic!("no MySqlError in {err:?}"));
    assert_eq!(server.code, 1146, "ER_NO_SUCH_TABLE");
}
