//! `repair` accepts intended edits and clears interrupted runs, but never makes the
//! history say something that did not happen.

use crate::backends::{TestDb, backend_test};
use terrace::{Error, Problem};

fn write_three(db: &TestDb) {
    db.write(
        "0001_create_a.sql",
        "-- migrate:up\nCREATE TABLE a (id INTEGER);",
    );
    db.write(
        "0002_create_b.sql",
        "-- migrate:up\nCREATE TABLE b (id INTEGER);",
    );
    db.write(
        "0003_create_c.sql",
        "-- migrate:up\nCREATE TABLE c (id INTEGER);",
    );
}

/// Every history row as `version name state checksum`.
fn history_rows(db: &TestDb) -> Vec<String> {
    const SQL: &str =
        "SELECT version, name, state, checksum FROM schema_migrations ORDER BY version";
    let columns: Vec<Vec<String>> = (0..4).map(|i| db.column(SQL, i)).collect();
    (0..columns[0].len())
        .map(|row| {
            columns
                .iter()
                .map(|column| column[row].as_str())
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect()
}

backend_test!(a_started_row_below_applied_ones_is_not_cleared, |db| {
    write_three(db);
    db.migrations().run(&mut db.connect()).unwrap();
    db.execute("UPDATE schema_migrations SET state = 'started' WHERE version = 2");
    let before = history_rows(db);

    let err = db.migrations().repair(&mut db.connect()).unwrap_err();
    match &err {
        Error::RepairRefused { problems } => assert!(
            matches!(
                problems[..],
                [Problem::DirtyBelowApplied {
                    version: 2,
                    latest_applied: 3,
                    ..
                }]
            ),
            "{problems:?}"
        ),
        other => panic!("{other:?}"),
    }
    assert!(err.to_string().contains("nothing was changed"), "{err}");
    assert_eq!(history_rows(db), before, "the history is untouched");
});

backend_test!(
    another_migration_under_the_same_number_is_not_accepted,
    |db| {
        // Two branches each added migration 2; this database ran `add_tokens`.
        db.write(
            "0001_create_a.sql",
            "-- migrate:up\nCREATE TABLE a (id INTEGER);",
        );
        db.write(
            "0002_add_tokens.sql",
            "-- migrate:up\nCREATE TABLE tokens (id INTEGER);",
        );
        db.migrations().run(&mut db.connect()).unwrap();
        // After the merge, the other branch's migration is 2 and `add_tokens` became 3.
        std::fs::remove_file(db.scratch.migrations_dir().join("0002_add_tokens.sql")).unwrap();
        db.write(
            "0002_create_invoices.sql",
            "-- migrate:up\nCREATE TABLE invoices (id INTEGER);",
        );
        db.write(
            "0003_add_tokens.sql",
            "-- migrate:up\nCREATE TABLE tokens (id INTEGER);",
        );
        let before = history_rows(db);

        let err = db.migrations().run(&mut db.connect()).unwrap_err();
        assert!(
            matches!(&err, Error::Invalid { problems } if matches!(problems[..], [Problem::Replaced { version: 2, now_at: Some(3), .. }])),
            "{err:?}"
        );
        assert!(!err.to_string().contains("terrace repair"), "{err}");

        let err = db.migrations().repair(&mut db.connect()).unwrap_err();
        assert!(
            matches!(&err, Error::RepairRefused { problems } if matches!(problems[..], [Problem::Replaced { version: 2, .. }])),
            "{err:?}"
        );
        assert!(
            err.to_string().contains("two migrations took number 2"),
            "{err}"
        );
        assert_eq!(history_rows(db), before, "create_invoices is not recorded");
        assert!(!db.table_exists("invoices"));
    }
);

backend_test!(
    a_pending_draft_stops_neither_repair_nor_a_baseline_below_it,
    |db| {
        write_three(db);
        db.migrations().run(&mut db.connect()).unwrap();
        db.write(
            "0002_create_b.sql",
            "-- migrate:up\nCREATE TABLE b (id INTEGER, note TEXT);",
        );
        // What `terrace new` writes: nothing under `-- migrate:up` yet.
        db.write("0004_create_d.sql", "-- migrate:up\n\n-- migrate:down\n");
        let migrations = db.migrations();

        let report = migrations.repair(&mut db.connect()).unwrap();
        assert_eq!(report.changes.len(), 1, "{:?}", report.changes);
        // The draft still stops a run, and repair says so.
        assert!(
            matches!(&report.remaining[..], [Problem::File { path, .. }] if path.ends_with("0004_create_d.sql")),
            "{:?}",
            report.remaining
        );

        migrations.reset_history(&mut db.connect()).unwrap();
        let report = migrations.baseline(&mut db.connect(), 3).unwrap();
        assert_eq!(report.versions(), [1, 2, 3]);
        assert_eq!(db.versions(), [1, 2, 3]);

        // A baseline that would take the draft in is refused, naming it.
        migrations.reset_history(&mut db.connect()).unwrap();
        match migrations.baseline(&mut db.connect(), 4) {
            Err(Error::Invalid { problems }) => assert!(
                matches!(&problems[..], [Problem::File { path, .. }] if path.ends_with("0004_create_d.sql")),
                "{problems:?}"
            ),
            other => panic!("{other:?}"),
        }
        assert!(db.versions().is_empty());
    }
);
