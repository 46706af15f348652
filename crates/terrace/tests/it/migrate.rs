//! Fresh migrate, and the second run that does nothing.

use crate::support::{Scratch, copy_fixture, recorded_versions, schema};
use terrace::{Event, Target, TransactionMode};

#[test]
fn fresh_database_gets_every_migration_and_a_history_row_each() {
    let scratch = Scratch::new();
    copy_fixture(&scratch, "basic");
    let mut conn = scratch.open();
    let report = scratch.migrations().run(&mut conn).unwrap();
    assert_eq!(report.versions(), [1, 2, 3]);
    assert_eq!(recorded_versions(&conn), [1, 2, 3]);
    let (name, checksum, state): (String, String, String) = conn
        .query_row(
            "SELECT name, checksum, state FROM schema_migrations WHERE version = 2",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    assert_eq!(name, "add_base_url");
    assert_eq!(
        checksum,
        terrace::format::checksum("ALTER TABLE projects ADD COLUMN base_url TEXT;")
    );
    assert!(checksum.starts_with("sha256:") && checksum.len() == 7 + 64);
    assert_eq!(state, "applied");
    let note: String = conn
        .query_row(
            "SELECT dflt_value FROM pragma_table_info('checks') WHERE name = 'note'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(
        note, "'a;b'",
        "a ';' inside a string literal does not split the statement"
    );
}

#[test]
fn second_run_is_a_no_op_and_writes_nothing() {
    let scratch = Scratch::new();
    copy_fixture(&scratch, "basic");
    let migrations = scratch.migrations();
    migrations.run(&mut scratch.open()).unwrap();
    let before = scratch.bytes();
    let mut conn = scratch.open();
    let report = migrations.run(&mut conn).unwrap();
    assert_eq!(report.count(), 0);
    drop(conn);
    assert_eq!(
        scratch.bytes(),
        before,
        "a no-op run must not write to the file"
    );
}

#[test]
fn both_transaction_modes_give_the_same_result() {
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
fn run_to_a_version_and_by_steps_with_progress_events() {
    let scratch = Scratch::new();
    copy_fixture(&scratch, "basic");
    let migrations = scratch.migrations();
    let mut conn = scratch.open();
    let mut events = Vec::new();
    let report = migrations
        .run_to(&mut conn, Target::Version(2), &mut |event| {
            events.push(match event {
                Event::Started { version, .. } => format!("start {version}"),
                Event::Finished { version, .. } => format!("done {version}"),
                other => format!("{other:?}"),
            })
        })
        .unwrap();
    assert_eq!(report.versions(), [1, 2]);
    assert_eq!(events, ["start 1", "done 1", "start 2", "done 2"]);
    let status = migrations.status(&mut conn).unwrap();
    assert_eq!((status.applied_count(), status.pending_count()), (2, 1));
    assert_eq!(status.pending[0].name, "create_checks");
    assert!(
        migrations
            .run_to(&mut conn, Target::Version(9), &mut |_| {})
            .is_err()
    );
    let report = migrations
        .run_to(&mut conn, Target::Steps(5), &mut |_| {})
        .unwrap();
    assert_eq!(report.versions(), [3]);
    assert!(migrations.status(&mut conn).unwrap().is_up_to_date());
}

#[test]
fn custom_table_name() {
    let scratch = Scratch::new();
    copy_fixture(&scratch, "basic");
    let migrations = scratch.migrations().with_table("audit_history").unwrap();
    let mut conn = scratch.open();
    migrations.run(&mut conn).unwrap();
    assert!(crate::support::table_exists(&conn, "audit_history"));
    assert!(!crate::support::table_exists(&conn, "schema_migrations"));
    assert!(scratch.migrations().with_table("bad-name; DROP").is_err());
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
