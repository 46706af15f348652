//! Migrations outside a transaction: marked started first, so a failure or a crash
//! leaves an explicit dirty state that run refuses and repair clears.

use crate::backends::backend_test;
use crate::support::{Scratch, recorded_versions, table_exists};
use terrace::{Error, Problem, RepairChange, RowState};

#[test]
fn a_failing_non_transactional_migration_is_left_dirty_until_repaired() {
    let scratch = Scratch::new();
    scratch.write(
        "0001_create_projects.sql",
        "-- migrate:up\nCREATE TABLE projects (id INTEGER);",
    );
    scratch.write(
        "0002_create_audit.sql",
        "-- migrate:up transaction:false\nCREATE TABLE audit (id INTEGER);\nINSERT INTO nowhere VALUES (1);",
    );
    scratch.write(
        "0003_create_later.sql",
        "-- migrate:up\nCREATE TABLE later (id INTEGER);",
    );
    let mut conn = scratch.open();
    let err = scratch.migrations().run(&mut conn).unwrap_err();
    assert!(
        matches!(
            err,
            Error::MigrationFailed {
                version: 2,
                dirty: true,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(
        table_exists(&conn, "audit"),
        "outside a transaction the first statement stays"
    );
    assert!(!table_exists(&conn, "later"));

    let status = scratch.migrations().status(&mut conn).unwrap();
    let dirty: Vec<_> = status.dirty().map(|r| (r.version, r.state)).collect();
    assert_eq!(dirty, [(2, RowState::Started)]);
    assert_eq!(status.pending_count(), 1);
    // A dirty row is a history row; its former name still compiles, deprecated.
    let row: &terrace::HistoryRow = status.dirty().next().unwrap();
    #[expect(deprecated, reason = "the old name stays for one release")]
    let old: &terrace::AppliedMigration = row;
    assert_eq!(old.name, "create_audit");

    let before = scratch.bytes();
    let err = scratch.migrations().run(&mut conn).unwrap_err();
    match &err {
        Error::Invalid { problems } => {
            assert!(matches!(problems[..], [Problem::Dirty { version: 2, .. }]))
        }
        other => panic!("{other:?}"),
    }
    assert!(
        err.to_string().contains("then run `terrace repair`"),
        "{err}"
    );
    assert_eq!(scratch.bytes(), before);

    // The operator undoes the half-change and fixes the file, then repairs.
    conn.execute_batch("DROP TABLE audit").unwrap();
    scratch.write(
        "0002_create_audit.sql",
        "-- migrate:up transaction:false\nCREATE TABLE audit (id INTEGER);",
    );
    let repair = scratch.migrations().repair(&mut conn).unwrap();
    assert_eq!(
        repair.changes,
        [RepairChange::ClearedStarted {
            version: 2,
            name: "create_audit".into()
        }]
    );
    assert!(repair.remaining.is_empty());
    assert_eq!(
        scratch.migrations().run(&mut conn).unwrap().versions(),
        [2, 3]
    );
    assert_eq!(recorded_versions(&conn), [1, 2, 3]);
    let state: String = conn
        .query_row(
            "SELECT state FROM schema_migrations WHERE version = 2",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(state, "applied");
}

#[test]
fn non_transactional_migrations_that_succeed_are_recorded_with_their_timing() {
    let scratch = Scratch::new();
    scratch.write(
        "0001_create_projects.sql",
        "-- migrate:up\nCREATE TABLE projects (id INTEGER);",
    );
    scratch.write(
        "0002_vacuum_projects.sql",
        "-- migrate:up transaction:false\nVACUUM;\n-- migrate:down transaction:false\nVACUUM;",
    );
    scratch.write(
        "0003_create_later.sql",
        "-- migrate:up\nCREATE TABLE later (id INTEGER);\n-- migrate:down\nDROP TABLE later;",
    );
    let mut conn = scratch.open();
    let migrations = scratch.migrations();
    assert_eq!(
        migrations.run(&mut conn).unwrap().versions(),
        [1, 2, 3],
        "VACUUM cannot run in a transaction"
    );
    let (state, ms): (String, Option<i64>) = conn
        .query_row(
            "SELECT state, execution_ms FROM schema_migrations WHERE version = 2",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(state, "applied");
    assert!(ms.is_some());
    assert_eq!(
        migrations
            .rollback(&mut conn, terrace::Target::Version(1))
            .unwrap()
            .versions(),
        [3, 2]
    );
    assert_eq!(recorded_versions(&conn), [1]);
}

backend_test!(a_dirty_row_fixed_in_its_file_is_not_called_edited, |db| {
    db.write(
        "0001_create_projects.sql",
        "-- migrate:up\nCREATE TABLE projects (id INTEGER);",
    );
    db.write(
        "0002_create_audit.sql",
        "-- migrate:up transaction:false\nCREATE TABLE audit (id INTEGER);\nINSERT INTO nowhere VALUES (1);",
    );
    let err = db.migrations().run(&mut db.connect()).unwrap_err();
    assert!(
        matches!(
            err,
            Error::MigrationFailed {
                version: 2,
                dirty: true,
                ..
            }
        ),
        "{err:?}"
    );
    let message = err.to_string();
    assert!(
        message.contains("failed at statement 2 of 2 (statement 1 ran)"),
        "{message}"
    );
    // The operator fixes the file first: the row is dirty, not edited.
    db.write(
        "0002_create_audit.sql",
        "-- migrate:up transaction:false\nCREATE TABLE audit (id INTEGER);",
    );
    let status = db.migrations().status(&mut db.connect()).unwrap();
    assert!(
        matches!(status.problems[..], [Problem::Dirty { version: 2, .. }]),
        "{:?}",
        status.problems
    );
    let refused = db.migrations().run(&mut db.connect()).unwrap_err();
    assert!(!refused.to_string().contains("edited"), "{refused}");
});
