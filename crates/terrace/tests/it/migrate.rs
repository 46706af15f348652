//! Fresh migrate, and the second run that does nothing.

use crate::backends::backend_test;
use crate::support::{Scratch, copy_fixture, recorded_versions, schema};
use terrace::{Event, Target, TransactionMode};

backend_test!(
    fresh_database_gets_every_migration_and_a_history_row_each,
    |db| {
        copy_fixture(&db.scratch, "basic");
        let report = db.migrations().run(&mut db.connect()).unwrap();
        assert_eq!(report.versions(), [1, 2, 3]);
        assert_eq!(db.versions(), [1, 2, 3]);
        assert_eq!(
            db.strings("SELECT name FROM schema_migrations WHERE version = 2"),
            ["add_base_url"]
        );
        let checksum = &db.strings("SELECT checksum FROM schema_migrations WHERE version = 2")[0];
        assert_eq!(
            *checksum,
            terrace::format::checksum("ALTER TABLE projects ADD COLUMN base_url TEXT;")
        );
        assert!(checksum.starts_with("sha256:") && checksum.len() == 7 + 64);
        assert_eq!(
            db.strings("SELECT DISTINCT state FROM schema_migrations"),
            ["applied"]
        );
        assert_eq!(db.columns("projects"), ["id", "name", "base_url"]);
        assert_eq!(db.strings("SELECT name FROM projects"), ["first"]);
        assert!(db.table_exists("checks"));
    }
);

backend_test!(second_run_is_a_no_op_and_changes_nothing, |db| {
    copy_fixture(&db.scratch, "basic");
    let migrations = db.migrations();
    migrations.run(&mut db.connect()).unwrap();
    let before = db.snapshot();
    let report = migrations.run(&mut db.connect()).unwrap();
    assert_eq!(report.count(), 0);
    assert_eq!(db.snapshot(), before, "a no-op run must not write");
});

backend_test!(both_transaction_modes_apply_everything, |db| {
    copy_fixture(&db.scratch, "basic");
    let migrations = db.migrations();
    let report = migrations
        .clone()
        .with_transaction_mode(TransactionMode::PerRun)
        .run_to(&mut db.connect(), Target::Version(2))
        .unwrap();
    assert_eq!(report.versions(), [1, 2]);
    let report = migrations
        .with_transaction_mode(TransactionMode::PerMigration)
        .run(&mut db.connect())
        .unwrap();
    assert_eq!(report.versions(), [3]);
    assert_eq!(db.versions(), [1, 2, 3]);
});

backend_test!(run_to_a_version_and_by_steps_with_progress_events, |db| {
    copy_fixture(&db.scratch, "basic");
    let migrations = db.migrations();
    let mut conn = db.connect();
    let mut events = Vec::new();
    let report = migrations
        .run_with(&mut conn, Target::Version(2), &mut |event| {
            events.push(match event {
                Event::Started { version, .. } => format!("start {version}"),
                Event::Finished { version, .. } => format!("done {version}"),
                Event::Committed { versions } => format!("committed {versions:?}"),
                Event::Statement { version, line, sql } => {
                    format!(
                        "{version}:{line} {}",
                        sql.lines().next().unwrap_or_default()
                    )
                }
                other => format!("{other:?}"),
            })
        })
        .unwrap();
    assert_eq!(report.versions(), [1, 2]);
    // Each statement, with its line in the file, before it runs.
    let mut expected = vec![
        "start 1",
        "1:3 CREATE TABLE projects (id INTEGER PRIMARY KEY, name TEXT NOT NULL)",
        "1:4 INSERT INTO projects (id, name) VALUES (1, 'first')",
        "done 1",
        "start 2",
        "2:2 ALTER TABLE projects ADD COLUMN base_url TEXT",
        "done 2",
    ];
    if db.kind == Kind::Sqlite {
        expected.push("committed [1, 2]"); // one transaction for the run
    }
    assert_eq!(events, expected);
    let status = migrations.status(&mut conn).unwrap();
    assert_eq!((status.applied_count(), status.pending_count()), (2, 1));
    assert_eq!(status.pending[0].name, "create_checks");
    assert!(migrations.run_to(&mut conn, Target::Version(9)).is_err());
    let report = migrations.run_to(&mut conn, Target::Steps(5)).unwrap();
    assert_eq!(report.versions(), [3]);
    assert!(migrations.status(&mut conn).unwrap().is_up_to_date());
});

backend_test!(custom_table_name, |db| {
    copy_fixture(&db.scratch, "basic");
    let migrations = db.migrations().with_table("audit_history").unwrap();
    migrations.run(&mut db.connect()).unwrap();
    assert!(db.table_exists("audit_history"));
    assert!(!db.table_exists("schema_migrations"));
    assert!(db.migrations().with_table("bad-name; DROP").is_err());
});

#[test]
fn both_transaction_modes_give_the_same_schema_on_sqlite() {
    let mut schemas = Vec::new();
    for mode in [TransactionMode::PerRun, TransactionMode::PerMigration] {
        let scratch = Scratch::new();
        copy_fixture(&scratch, "basic");
        let mut conn = scratch.open();
        let report = scratch
            .migrations()
            .with_transaction_mode(mode)
            .run(&mut conn)
            .unwrap();
        assert_eq!(report.versions(), [1, 2, 3], "{mode:?}");
        schemas.push(schema(&conn));
    }
    assert_eq!(schemas[0], schemas[1]);
}

#[test]
fn a_no_op_run_leaves_the_sqlite_file_byte_identical() {
    let scratch = Scratch::new();
    copy_fixture(&scratch, "basic");
    scratch.migrations().run(&mut scratch.open()).unwrap();
    let before = scratch.bytes();
    assert_eq!(
        scratch
            .migrations()
            .run(&mut scratch.open())
            .unwrap()
            .count(),
        0
    );
    assert_eq!(scratch.bytes(), before);
    assert_eq!(recorded_versions(&scratch.open()), [1, 2, 3]);
}

#[test]
fn an_empty_folder_runs_nothing_and_creates_nothing() {
    let scratch = Scratch::new();
    let mut conn = scratch.open();
    let report = scratch.migrations().run(&mut conn).unwrap();
    assert_eq!(report.count(), 0);
    assert!(!crate::support::table_exists(&conn, "schema_migrations"));
}

#[test]
fn a_missing_folder_is_an_error_naming_it() {
    let err = terrace::Migrations::from_dir("/nonexistent/terrace-migrations").unwrap_err();
    assert!(
        err.to_string().contains("/nonexistent/terrace-migrations"),
        "{err}"
    );
}

#[test]
#[cfg_attr(
    not(terrace_test_postgres),
    ignore = "TERRACE_TEST_POSTGRES_URL was not set when the tests were built"
)]
fn postgres_schema_qualified_tracking_table_and_search_path() {
    use crate::backends::{Kind, TestDb};
    let db = TestDb::new(Kind::Postgres);
    copy_fixture(&db.scratch, "basic");
    let migrations = db
        .migrations()
        .with_table("audit.schema_migrations")
        .unwrap();
    assert_eq!(migrations.run(&mut db.connect()).unwrap().count(), 3);
    assert_eq!(
        db.strings("SELECT version FROM audit.schema_migrations ORDER BY version"),
        ["1", "2", "3"]
    );
    assert!(
        !db.table_exists("schema_migrations"),
        "nothing in the default schema"
    );
    assert_eq!(migrations.run(&mut db.connect()).unwrap().count(), 0);

    // Unqualified, the tracking table is found through search_path.
    let mut conn = db.connect();
    if let terrace::Connection::Postgres(client) = &mut conn {
        client
            .batch_execute("SET search_path TO audit, public")
            .unwrap();
    }
    let unqualified = db.migrations();
    assert!(unqualified.status(&mut conn).unwrap().is_up_to_date());
}

backend_test!(progress_says_applied_only_once_it_is_committed, |db| {
    copy_fixture(&db.scratch, "basic");
    for mode in [TransactionMode::PerRun, TransactionMode::PerMigration] {
        let mut announced = Vec::new();
        let mut waiting = Vec::new();
        db.migrations()
            .with_transaction_mode(mode)
            .run_with(
                &mut db.connect(),
                Target::Latest,
                &mut |event| match event {
                    Event::Finished {
                        version,
                        committed: true,
                        ..
                    } => {
                        assert!(
                            db.versions().contains(version),
                            "{mode:?}: {version} announced as committed before it was"
                        );
                        announced.push(*version);
                    }
                    Event::Finished {
                        version,
                        committed: false,
                        ..
                    } => {
                        assert!(
                            !db.versions().contains(version),
                            "{mode:?}: {version} is said to commit later"
                        );
                        waiting.push(*version);
                    }
                    Event::Committed { versions } => {
                        assert_eq!(*versions, &waiting[..], "{mode:?}");
                        for version in *versions {
                            assert!(db.versions().contains(version), "{mode:?}: {version}");
                        }
                        announced.append(&mut waiting);
                    }
                    _ => {}
                },
            )
            .unwrap();
        assert!(waiting.is_empty(), "{mode:?}: {waiting:?} never committed");
        assert_eq!(announced, [1, 2, 3], "{mode:?}");
        db.migrations()
            .rollback(&mut db.connect(), Target::Version(0))
            .unwrap();
    }
});
