//! Rollback: down sections newest first; a round trip restores the schema.

use crate::support::{Scratch, copy_fixture, recorded_versions, schema};
use terrace::{Error, Target};

#[test]
fn round_trip_restores_the_schema() {
    let scratch = Scratch::new();
    copy_fixture(&scratch, "basic");
    let migrations = scratch.migrations();
    let mut conn = scratch.open();
    conn.execute_batch("CREATE TABLE app_owned (id INTEGER)")
        .unwrap();
    let empty = schema(&conn);

    migrations
        .run_to(&mut conn, Target::Version(1), &mut |_| {})
        .unwrap();
    let after_one: Vec<String> = schema(&conn)
        .into_iter()
        .filter(|s| !s.contains("schema_migrations"))
        .collect();
    migrations.run(&mut conn).unwrap();
    let full = schema(&conn);

    let report = migrations.rollback(&mut conn, Target::Version(1)).unwrap();
    assert_eq!(report.versions(), [3, 2], "newest first, keeping version 1");
    let now: Vec<String> = schema(&conn)
        .into_iter()
        .filter(|s| !s.contains("schema_migrations"))
        .collect();
    assert_eq!(now, after_one);
    assert_eq!(recorded_versions(&conn), [1]);

    migrations.rollback(&mut conn, Target::Steps(1)).unwrap();
    let without_history: Vec<String> = schema(&conn)
        .into_iter()
        .filter(|s| !s.contains("schema_migrations"))
        .collect();
    assert_eq!(without_history, empty);
    assert!(recorded_versions(&conn).is_empty());

    migrations.run(&mut conn).unwrap();
    assert_eq!(schema(&conn), full, "migrating again gives the same schema");
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
    assert!(err.to_string().contains("migration 1 (create_projects) failed at line 2 of its down section: DROP TABLE no_such_table"), "{err}");
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
