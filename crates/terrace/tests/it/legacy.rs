//! The origin's three-column table is adopted; other tools' tables are refused; odd
//! contents of a Terrace-shaped table are read without a panic, on every backend.

use crate::backends::{TestDb, backend_test};
use crate::support::copy_fixture;
use terrace::{Error, RowState};

/// A database as the original Python tool left it: the first two migrations applied
/// and recorded in its three-column table.
fn origin_database(db: &TestDb) {
    db.execute(
        "CREATE TABLE schema_migrations (
             version BIGINT PRIMARY KEY,
             name VARCHAR(255) NOT NULL,
             applied_at TIMESTAMP NULL DEFAULT CURRENT_TIMESTAMP
         );
         CREATE TABLE projects (id INTEGER PRIMARY KEY, name TEXT NOT NULL, base_url TEXT);
         INSERT INTO projects (id, name) VALUES (1, 'first');
         INSERT INTO schema_migrations (version, name, applied_at) VALUES
             (1, 'create_projects', '2024-01-02 03:04:05'),
             (2, 'add_base_url', '2024-02-03 04:05:06');",
    );
}

backend_test!(
    origin_table_is_adopted_upgraded_in_place_and_carried_on_from,
    |db| {
        copy_fixture(&db.scratch, "basic");
        origin_database(db);
        let migrations = db.migrations();

        let status = migrations.status(&mut db.connect()).unwrap();
        assert_eq!((status.applied_count(), status.pending_count()), (2, 1));
        assert!(
            status
                .applied
                .iter()
                .all(|a| a.checksum_ok && a.row.checksum.is_none())
        );
        assert_eq!(
            db.columns("schema_migrations").len(),
            3,
            "status must not upgrade the table"
        );

        let report = migrations.run(&mut db.connect()).unwrap();
        assert_eq!(report.versions(), [3]);
        assert_eq!(db.versions(), [1, 2, 3]);
        assert_eq!(
            db.columns("schema_migrations"),
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
        let status = migrations.status(&mut db.connect()).unwrap();
        let first = &status.applied[0].row;
        assert_eq!(
            (
                first.applied_at.as_deref(),
                first.checksum.as_deref(),
                first.state
            ),
            (Some("2024-01-02 03:04:05"), None, RowState::Applied)
        );
        assert_eq!(
            db.strings("SELECT state FROM schema_migrations WHERE version = 1"),
            ["applied"]
        );
        assert_eq!(
            db.count("SELECT count(*) FROM projects"),
            1,
            "adoption re-ran nothing"
        );
        migrations.validate(&mut db.connect()).unwrap();
    }
);

backend_test!(origin_table_with_nothing_pending_is_left_as_it_is, |db| {
    db.write(
        "0001_create_projects.sql",
        "-- migrate:up\nCREATE TABLE projects (id INTEGER);",
    );
    db.write(
        "0002_add_base_url.sql",
        "-- migrate:up\nALTER TABLE projects ADD COLUMN base_url TEXT;",
    );
    origin_database(db);
    let before = db.snapshot();
    assert_eq!(db.migrations().run(&mut db.connect()).unwrap().count(), 0);
    assert_eq!(db.snapshot(), before);
});

backend_test!(other_tools_tables_are_refused_and_left_untouched, |db| {
    let cases = [
        (
            "CREATE TABLE schema_migrations (version bigint NOT NULL PRIMARY KEY, dirty boolean NOT NULL); INSERT INTO schema_migrations VALUES (3, false);",
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
    copy_fixture(&db.scratch, "basic");
    for (setup, tool) in cases {
        db.execute(setup);
        let before = db.snapshot();
        let migrations = db.migrations();
        let err = migrations.run(&mut db.connect()).unwrap_err();
        match (&err, tool) {
            (Error::ForeignTable { tool: found, .. }, expected) => assert_eq!(*found, expected),
            (Error::UnknownTable { .. }, "") => {}
            _ => panic!("unexpected error for {setup}: {err:?}"),
        }
        assert!(err.to_string().contains("schema_migrations"), "{err}");
        assert!(migrations.status(&mut db.connect()).is_err());
        assert!(migrations.reset_history(&mut db.connect()).is_err());
        assert_eq!(
            db.snapshot(),
            before,
            "{tool}: the database must be unchanged"
        );
        db.execute("DROP TABLE schema_migrations");
    }
});

/// A Terrace-shaped table whose columns allow NULL, as a hand-made one may.
fn nullable_history(db: &TestDb) {
    db.execute(
        "CREATE TABLE schema_migrations (
             version BIGINT PRIMARY KEY,
             name VARCHAR(255) NULL,
             applied_at TIMESTAMP NULL DEFAULT NULL,
             checksum VARCHAR(100) NULL,
             execution_ms BIGINT NULL,
             state VARCHAR(16) NULL,
             cumulative_checksum VARCHAR(100) NULL
         );
         CREATE TABLE projects (id INTEGER);",
    );
    db.write(
        "0001_create_projects.sql",
        "-- migrate:up\nCREATE TABLE projects (id INTEGER);",
    );
    db.write(
        "0002_add_base_url.sql",
        "-- migrate:up\nALTER TABLE projects ADD COLUMN base_url TEXT;",
    );
}

backend_test!(a_null_state_reads_as_applied_like_a_row_without_one, |db| {
    nullable_history(db);
    db.execute(
        "INSERT INTO schema_migrations (version, name, state) VALUES (1, 'create_projects', NULL)",
    );
    let migrations = db.migrations();
    let status = migrations.status(&mut db.connect()).unwrap();
    assert_eq!(status.applied[0].row.state, RowState::Applied);
    assert!(status.problems.is_empty(), "{:?}", status.problems);
    assert_eq!(status.pending_count(), 1);
    assert_eq!(migrations.run(&mut db.connect()).unwrap().versions(), [2]);
    assert_eq!(db.versions(), [1, 2]);
    // The newest row with a NULL state: the quick check reads it too.
    db.execute("UPDATE schema_migrations SET state = NULL WHERE version = 2");
    assert_eq!(migrations.run(&mut db.connect()).unwrap().count(), 0);
    migrations.validate(&mut db.connect()).unwrap();
});

backend_test!(a_null_name_is_an_error_naming_the_version_and_table, |db| {
    nullable_history(db);
    db.execute("INSERT INTO schema_migrations (version, name, state) VALUES (1, NULL, 'applied')");
    let migrations = db.migrations();
    let before = db.snapshot();
    for err in [
        migrations.status(&mut db.connect()).unwrap_err(),
        migrations.run(&mut db.connect()).unwrap_err(),
        migrations.repair(&mut db.connect()).unwrap_err(),
    ] {
        assert!(matches!(err, Error::Database { .. }), "{err:?}");
        let chain = format!("{err}: {}", std::error::Error::source(&err).unwrap());
        assert!(
            chain.contains("table schema_migrations") && chain.contains("version 1"),
            "{chain}"
        );
        assert!(chain.contains("no name"), "{chain}");
    }
    assert_eq!(db.snapshot(), before);
});
