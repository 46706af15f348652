//! The origin's three-column table is adopted; other tools' tables are refused.

use crate::support::{Scratch, columns, copy_fixture, recorded_versions};
use terrace::Error;

/// A database as the original Python tool left it: the first two migrations applied
/// and recorded in its three-column table.
fn origin_database(scratch: &Scratch) {
    let conn = scratch.open();
    conn.execute_batch(
        "CREATE TABLE schema_migrations (
             version INTEGER PRIMARY KEY,
             name TEXT NOT NULL,
             applied_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP
         );
         CREATE TABLE projects (id INTEGER PRIMARY KEY, name TEXT NOT NULL, base_url TEXT);
         INSERT INTO projects (name) VALUES ('first');
         INSERT INTO schema_migrations (version, name, applied_at) VALUES
             (1, 'create_projects', '2024-01-02 03:04:05'),
             (2, 'add_base_url', '2024-02-03 04:05:06');",
    )
    .unwrap();
}

#[test]
fn origin_table_is_adopted_upgraded_in_place_and_carried_on_from() {
    let scratch = Scratch::new();
    copy_fixture(&scratch, "basic");
    origin_database(&scratch);
    let migrations = scratch.migrations();
    let mut conn = scratch.open();

    let status = migrations.status(&mut conn).unwrap();
    assert_eq!((status.applied_count(), status.pending_count()), (2, 1));
    assert!(
        status
            .applied
            .iter()
            .all(|a| a.checksum_ok && a.row.checksum.is_none())
    );
    assert_eq!(
        columns(&conn, "schema_migrations").len(),
        3,
        "status must not upgrade the table"
    );

    let report = migrations.run(&mut conn).unwrap();
    assert_eq!(report.versions(), [3]);
    assert_eq!(recorded_versions(&conn), [1, 2, 3]);
    assert_eq!(
        columns(&conn, "schema_migrations"),
        [
            "version",
            "name",
            "applied_at",
            "checksum",
            "execution_ms",
            "state",
            "cumulative_checksum"
        ]
    );
    let kept: (String, Option<String>, String) = conn
        .query_row(
            "SELECT applied_at, checksum, state FROM schema_migrations WHERE version = 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    assert_eq!(kept, ("2024-01-02 03:04:05".into(), None, "applied".into()));
    let projects: i64 = conn
        .query_row("SELECT count(*) FROM projects", [], |r| r.get(0))
        .unwrap();
    assert_eq!(projects, 1, "adoption re-ran nothing");
    migrations.validate(&mut conn).unwrap();
}

#[test]
fn origin_table_with_nothing_pending_is_left_as_it_is() {
    let scratch = Scratch::new();
    scratch.write(
        "0001_create_projects.sql",
        "-- migrate:up\nCREATE TABLE projects (id INTEGER);",
    );
    scratch.write(
        "0002_add_base_url.sql",
        "-- migrate:up\nALTER TABLE projects ADD COLUMN base_url TEXT;",
    );
    origin_database(&scratch);
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
}

#[test]
fn other_tools_tables_are_refused_and_left_untouched() {
    let cases = [
        (
            "CREATE TABLE schema_migrations (version bigint NOT NULL PRIMARY KEY, dirty boolean NOT NULL); INSERT INTO schema_migrations VALUES (3, 0);",
            "golang-migrate",
        ),
        (
            "CREATE TABLE schema_migrations (version varchar(255) PRIMARY KEY); INSERT INTO schema_migrations VALUES ('20240101000000');",
            "Rails or dbmate",
        ),
        (
            "CREATE TABLE schema_migrations (id INTEGER, title TEXT);",
            "",
        ),
    ];
    for (setup, tool) in cases {
        let scratch = Scratch::new();
        copy_fixture(&scratch, "basic");
        scratch.open().execute_batch(setup).unwrap();
        let before = scratch.bytes();
        let migrations = scratch.migrations();
        let err = migrations.run(&mut scratch.open()).unwrap_err();
        match (&err, tool) {
            (Error::ForeignTable { tool: found, .. }, expected) => assert_eq!(*found, expected),
            (Error::UnknownTable { .. }, "") => {}
            _ => panic!("unexpected error for {setup}: {err:?}"),
        }
        assert!(err.to_string().contains("schema_migrations"), "{err}");
        assert!(migrations.status(&mut scratch.open()).is_err());
        assert!(migrations.reset_history(&mut scratch.open()).is_err());
        assert_eq!(
            scratch.bytes(),
            before,
            "{tool}: the database must be unchanged"
        );
    }
}
