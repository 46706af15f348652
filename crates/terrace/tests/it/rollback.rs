//! Rollback: down sections newest first; a round trip restores the schema.

use crate::backends::backend_test;
use crate::support::{Scratch, copy_fixture, recorded_versions, schema};
use terrace::{Error, Problem, Target};

backend_test!(round_trip_restores_the_schema, |db| {
    copy_fixture(&db.scratch, "basic");
    let migrations = db.migrations();
    db.execute("CREATE TABLE app_owned (id INTEGER)");
    let without_history = |db: &crate::backends::TestDb| -> Vec<String> {
        db.snapshot()
            .into_iter()
            .filter(|t| !t.starts_with("schema_migrations") && !t.starts_with("file bytes"))
            .collect()
    };
    let empty = without_history(db);
    migrations
        .run_to(&mut db.connect(), Target::Version(1))
        .unwrap();
    let after_one = without_history(db);
    migrations.run(&mut db.connect()).unwrap();
    let full = without_history(db);

    let report = migrations
        .rollback(&mut db.connect(), Target::Version(1))
        .unwrap();
    assert_eq!(report.versions(), [3, 2], "newest first, keeping version 1");
    assert_eq!(without_history(db), after_one);
    assert_eq!(db.versions(), [1]);

    migrations
        .rollback(&mut db.connect(), Target::Steps(1))
        .unwrap();
    assert_eq!(without_history(db), empty);
    assert!(db.versions().is_empty());

    migrations.run(&mut db.connect()).unwrap();
    assert_eq!(
        without_history(db),
        full,
        "migrating again gives the same schema"
    );
});

#[test]
fn round_trip_restores_the_sqlite_schema_exactly() {
    let scratch = Scratch::new();
    copy_fixture(&scratch, "basic");
    let migrations = scratch.migrations();
    let mut conn = scratch.open();
    let empty = schema(&conn);
    migrations.run(&mut conn).unwrap();
    let full = schema(&conn);
    migrations.rollback(&mut conn, Target::Version(0)).unwrap();
    let now: Vec<String> = schema(&conn)
        .into_iter()
        .filter(|s| !s.contains("schema_migrations"))
        .collect();
    assert_eq!(now, empty);
    assert!(recorded_versions(&conn).is_empty());
    migrations.run(&mut conn).unwrap();
    assert_eq!(schema(&conn), full);
}

#[test]
fn a_migration_without_down_stops_the_rollback_before_anything_changes() {
    let scratch = Scratch::new();
    copy_fixture(&scratch, "basic");
    scratch.write(
        "0004_add_owner.sql",
        "-- migrate:up\nALTER TABLE projects ADD COLUMN owner TEXT;\n",
    );
    scratch.write(
        "0005_add_email.sql",
        "-- migrate:up\nALTER TABLE projects ADD COLUMN email TEXT;\n-- migrate:down\nALTER TABLE projects DROP COLUMN email;",
    );
    let migrations = scratch.migrations();
    migrations.run(&mut scratch.open()).unwrap();
    let before = scratch.bytes();
    let err = migrations
        .rollback(&mut scratch.open(), Target::Steps(3))
        .unwrap_err();
    assert!(
        matches!(&err, Error::Irreversible { migrations } if migrations == &[(4, "add_owner".to_string())])
    );
    assert_eq!(
        err.to_string(),
        "cannot roll back: 4 (add_owner) has no down section"
    );
    assert_eq!(
        scratch.bytes(),
        before,
        "nothing changed, not even migration 5"
    );
    assert_eq!(
        migrations
            .rollback(&mut scratch.open(), Target::Steps(1))
            .unwrap()
            .versions(),
        [5]
    );
}

#[test]
fn a_failing_down_keeps_the_migration_applied() {
    let scratch = Scratch::new();
    scratch.write(
        "0001_create_projects.sql",
        "-- migrate:up\nCREATE TABLE projects (id INTEGER);\n-- migrate:down\nDROP TABLE projects;\nDROP TABLE no_such_table;",
    );
    let migrations = scratch.migrations();
    let mut conn = scratch.open();
    migrations.run(&mut conn).unwrap();
    let err = migrations
        .rollback(&mut conn, Target::Steps(1))
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("0001_create_projects.sql:5, in its down section: DROP TABLE no_such_table"),
        "{err}"
    );
    assert_eq!(recorded_versions(&conn), [1]);
    assert!(crate::support::table_exists(&conn, "projects"));
}

#[test]
fn rollback_targets_that_make_no_sense_are_refused() {
    let scratch = Scratch::new();
    copy_fixture(&scratch, "basic");
    let migrations = scratch.migrations();
    migrations.run(&mut scratch.open()).unwrap();
    assert!(matches!(
        migrations.rollback(&mut scratch.open(), Target::Latest),
        Err(Error::RollbackNeedsTarget)
    ));
    assert!(matches!(
        migrations.rollback(&mut scratch.open(), Target::Version(8)),
        Err(Error::UnknownTarget { version: 8 })
    ));
}

backend_test!(a_pending_draft_blocks_a_run_but_not_a_rollback, |db| {
    copy_fixture(&db.scratch, "basic");
    db.migrations().run(&mut db.connect()).unwrap();
    // What `terrace new` writes: nothing under `-- migrate:up` yet.
    let draft = db
        .scratch
        .write("0004_add_owner.sql", "-- migrate:up\n\n-- migrate:down\n");
    let migrations = db.migrations();

    let status = migrations.status(&mut db.connect()).unwrap();
    let pending: Vec<(u64, &str, bool)> = status
        .pending
        .iter()
        .map(|p| (p.version, p.name.as_str(), p.problem.is_some()))
        .collect();
    assert_eq!(pending, [(4, "add_owner", true)]);
    assert!(matches!(
        &status.pending[0].problem,
        Some(Problem::File { path, .. }) if *path == draft
    ));

    match migrations.run(&mut db.connect()) {
        Err(Error::Invalid { problems }) => assert!(
            matches!(&problems[..], [Problem::File { path, .. }] if *path == draft),
            "{problems:?}"
        ),
        other => panic!("{other:?}"),
    }
    assert_eq!(db.versions(), [1, 2, 3]);

    let plan = migrations
        .plan_rollback(&mut db.connect(), Target::Steps(1))
        .unwrap();
    assert_eq!(plan.len(), 1);
    let report = migrations
        .rollback(&mut db.connect(), Target::Steps(1))
        .unwrap();
    assert_eq!(report.versions(), [3]);
    assert_eq!(db.versions(), [1, 2]);

    // A problem with an applied migration still stops a rollback, draft or not.
    db.scratch.write(
        "0002_add_base_url.sql",
        "-- migrate:up\nALTER TABLE projects ADD COLUMN base_url TEXT NOT NULL;\n-- migrate:down\nALTER TABLE projects DROP COLUMN base_url;\n",
    );
    let edited = db.migrations();
    assert!(matches!(
        edited.rollback(&mut db.connect(), Target::Steps(1)),
        Err(Error::Invalid { .. })
    ));
    assert!(matches!(
        edited.plan_rollback(&mut db.connect(), Target::Steps(1)),
        Err(Error::Invalid { .. })
    ));
    assert_eq!(db.versions(), [1, 2]);
});
