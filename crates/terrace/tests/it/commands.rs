//! baseline, repair of adopted rows, reset of the history.

use crate::backends::backend_test;
use crate::support::{Scratch, copy_fixture, recorded_versions, table_exists};
use terrace::Error;

#[test]
fn baseline_adopts_an_existing_schema_without_running_anything() {
    let scratch = Scratch::new();
    copy_fixture(&scratch, "basic");
    let mut conn = scratch.open();
    conn.execute_batch(
        "CREATE TABLE projects (id INTEGER PRIMARY KEY, name TEXT NOT NULL, base_url TEXT)",
    )
    .unwrap();
    let migrations = scratch.migrations();
    let report = migrations.baseline(&mut conn, 2).unwrap();
    assert_eq!(report.versions(), [1, 2]);
    assert_eq!(recorded_versions(&conn), [1, 2]);
    let projects: i64 = conn
        .query_row("SELECT count(*) FROM projects", [], |r| r.get(0))
        .unwrap();
    assert_eq!(
        projects, 0,
        "baseline ran nothing (migration 1 inserts a row)"
    );
    assert!(matches!(
        migrations.baseline(&mut conn, 2),
        Err(Error::HistoryNotEmpty { applied: 2 })
    ));
    assert_eq!(migrations.run(&mut conn).unwrap().versions(), [3]);
    migrations.validate(&mut conn).unwrap();
}

#[test]
fn baseline_to_an_unknown_version_changes_nothing() {
    let scratch = Scratch::new();
    copy_fixture(&scratch, "basic");
    let before = scratch.bytes();
    assert!(matches!(
        scratch.migrations().baseline(&mut scratch.open(), 7),
        Err(Error::UnknownTarget { version: 7 })
    ));
    assert_eq!(scratch.bytes(), before);
}

backend_test!(repair_records_checksums_for_adopted_rows, |db| {
    copy_fixture(&db.scratch, "basic");
    db.execute(
        "CREATE TABLE schema_migrations (version BIGINT PRIMARY KEY, name VARCHAR(255) NOT NULL, applied_at TIMESTAMP NULL DEFAULT CURRENT_TIMESTAMP);
         INSERT INTO schema_migrations (version, name) VALUES (1, 'create_projects');",
    );
    let report = db.migrations().repair(&mut db.connect()).unwrap();
    assert_eq!(report.changes.len(), 1);
    assert_eq!(
        report.changes[0].to_string(),
        "migration 1 (create_projects): recorded its checksum (none was recorded)"
    );
    let second = db.migrations().repair(&mut db.connect()).unwrap();
    assert!(second.changes.is_empty(), "repair is idempotent");
    assert_eq!(
        db.strings("SELECT state FROM schema_migrations"),
        ["applied"]
    );
});

#[test]
fn reset_drops_only_the_history() {
    let scratch = Scratch::new();
    copy_fixture(&scratch, "basic");
    let migrations = scratch.migrations();
    let mut conn = scratch.open();
    migrations.run(&mut conn).unwrap();
    let report = migrations.reset_history(&mut conn).unwrap();
    assert!(report.dropped);
    assert_eq!(report.rows, 3);
    assert!(!table_exists(&conn, "schema_migrations"));
    assert!(table_exists(&conn, "projects"), "the schema is left alone");
    let again = migrations.reset_history(&mut conn).unwrap();
    assert!(!again.dropped);
    assert_eq!(migrations.status(&mut conn).unwrap().pending_count(), 3);
}

backend_test!(a_history_read_ahead_gives_the_status_read_at_once, |db| {
    copy_fixture(&db.scratch, "basic");
    let migrations = db.migrations();
    migrations
        .run_to(&mut db.connect(), terrace::Target::Version(2))
        .unwrap();
    db.execute("UPDATE schema_migrations SET checksum = 'sha256:00' WHERE version = 1");
    // Read by a list that knows only the table, before the migrations are known.
    let ahead = terrace::Migrations::from_vec(Vec::new())
        .read_history(&mut db.connect())
        .unwrap();
    let status = migrations.status_of(ahead);
    assert_eq!(status, migrations.status(&mut db.connect()).unwrap());
    assert_eq!((status.applied_count(), status.pending_count()), (2, 1));
    assert!(!status.applied[0].checksum_ok && status.applied[1].checksum_ok);
    assert_eq!(status.problems.len(), 1, "{:?}", status.problems);
});

#[test]
fn a_history_read_ahead_refuses_another_tools_table() {
    let scratch = Scratch::new();
    let conn = scratch.open();
    conn.execute_batch("CREATE TABLE schema_migrations (version TEXT PRIMARY KEY)")
        .unwrap();
    let ahead = terrace::Migrations::from_vec(Vec::new()).read_history(&mut scratch.open());
    assert!(
        matches!(
            ahead,
            Err(Error::ForeignTable { .. }) | Err(Error::UnknownTable { .. })
        ),
        "{ahead:?}"
    );
}
