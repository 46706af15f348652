//! Dry runs and read-only commands write nothing.

use crate::backends::backend_test;
use crate::support::{Scratch, copy_fixture, table_exists};
use terrace::{Body, Target};

#[test]
fn plan_on_a_fresh_file_writes_nothing_not_even_the_tracking_table() {
    let scratch = Scratch::new();
    copy_fixture(&scratch, "basic");
    scratch
        .open()
        .execute_batch("CREATE TABLE app (id INTEGER)")
        .unwrap();
    let before = scratch.bytes();
    let migrations = scratch.migrations();
    let mut conn = scratch.open();
    let plan = migrations.plan(&mut conn, Target::Latest).unwrap();
    let steps: Vec<_> = plan
        .steps()
        .iter()
        .map(|s| (s.migration().version(), s.migration().name()))
        .collect();
    assert_eq!(
        steps,
        [
            (1, "create_projects"),
            (2, "add_base_url"),
            (3, "create_checks")
        ]
    );
    assert_eq!(
        plan.steps()[1].body().sql(),
        Some("ALTER TABLE projects ADD COLUMN base_url TEXT;")
    );
    migrations.status(&mut conn).unwrap();
    migrations.validate(&mut conn).unwrap();
    assert!(!table_exists(&conn, "schema_migrations"));
    drop(conn);
    assert_eq!(scratch.bytes(), before);
}

#[test]
fn plan_with_pending_and_rollback_plan_write_nothing() {
    let scratch = Scratch::new();
    copy_fixture(&scratch, "basic");
    let migrations = scratch.migrations();
    migrations
        .run_to(&mut scratch.open(), Target::Version(2))
        .unwrap();
    let before = scratch.bytes();
    let mut conn = scratch.open();
    let plan = migrations.plan(&mut conn, Target::Latest).unwrap();
    assert_eq!(plan.len(), 1);
    let down = migrations
        .plan_rollback(&mut conn, Target::Version(0))
        .unwrap();
    let versions: Vec<u64> = down
        .steps()
        .iter()
        .map(|s| s.migration().version())
        .collect();
    assert_eq!(versions, [2, 1]);
    assert!(
        matches!(down.steps()[0].body(), Body::Sql(sql) if sql.contains("DROP COLUMN base_url"))
    );
    drop(conn);
    assert_eq!(scratch.bytes(), before);
}

backend_test!(
    dry_runs_and_read_only_commands_leave_every_table_unchanged,
    |db| {
        copy_fixture(&db.scratch, "basic");
        db.execute("CREATE TABLE app (id INTEGER); INSERT INTO app VALUES (7)");
        let migrations = db.migrations();
        let fresh = db.snapshot();
        let mut conn = db.connect();
        assert_eq!(migrations.plan(&mut conn, Target::Latest).unwrap().len(), 3);
        migrations.status(&mut conn).unwrap();
        migrations.validate(&mut conn).unwrap();
        drop(conn);
        assert_eq!(
            db.snapshot(),
            fresh,
            "not even the tracking table is created"
        );

        migrations
            .run_to(&mut db.connect(), Target::Version(2))
            .unwrap();
        let partial = db.snapshot();
        let mut conn = db.connect();
        assert_eq!(migrations.plan(&mut conn, Target::Latest).unwrap().len(), 1);
        assert_eq!(
            migrations
                .plan_rollback(&mut conn, Target::Version(0))
                .unwrap()
                .len(),
            2
        );
        migrations.status(&mut conn).unwrap();
        drop(conn);
        assert_eq!(db.snapshot(), partial);
    }
);
