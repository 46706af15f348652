//! The quick start-up check: a fully migrated database is proven up to date by one
//! read of its history, without the lock — and anything less than proof falls back to
//! the full, validating run.

use crate::support::{Scratch, copy_fixture};
use std::time::Duration;
use terrace::{Error, Migrations, Problem};

static EMBEDDED: Migrations = terrace::embed_migrations!("tests/fixtures/basic");

/// Holds SQLite's write lock from another connection while `test` runs: a run that
/// needs the lock fails after the (short) lock timeout, one that does not succeeds.
fn with_write_lock_held(scratch: &Scratch, test: impl FnOnce()) {
    let holder = scratch.open();
    holder.execute_batch("BEGIN IMMEDIATE").unwrap();
    test();
    holder.execute_batch("ROLLBACK").unwrap();
}

fn quick(migrations: &Migrations) -> Migrations {
    migrations
        .clone()
        .with_lock_timeout(Duration::from_millis(200))
}

#[test]
fn a_fully_migrated_database_is_proven_up_to_date_without_the_lock() {
    let scratch = Scratch::new();
    copy_fixture(&scratch, "basic");
    scratch.migrations().run(&mut scratch.open()).unwrap();
    with_write_lock_held(&scratch, || {
        // Read from the folder at run time, and embedded with the checksum computed at
        // build time: both prove it from the same row.
        assert_eq!(
            quick(&scratch.migrations())
                .run(&mut scratch.open())
                .unwrap()
                .count(),
            0
        );
        assert_eq!(
            quick(&EMBEDDED).run(&mut scratch.open()).unwrap().count(),
            0
        );
    });
}

#[test]
fn pending_migrations_take_the_full_run() {
    let scratch = Scratch::new();
    copy_fixture(&scratch, "basic");
    scratch
        .migrations()
        .run_to(&mut scratch.open(), terrace::Target::Version(2))
        .unwrap();
    with_write_lock_held(&scratch, || {
        let err = quick(&EMBEDDED).run(&mut scratch.open()).unwrap_err();
        assert!(
            matches!(err, Error::LockTimeout { .. }),
            "it waited for the lock: {err:?}"
        );
    });
    assert_eq!(EMBEDDED.run(&mut scratch.open()).unwrap().versions(), [3]);
}

#[test]
fn an_edit_a_rename_or_a_dirty_row_is_never_hidden_by_the_quick_check() {
    let scratch = Scratch::new();
    copy_fixture(&scratch, "basic");
    scratch.migrations().run(&mut scratch.open()).unwrap();

    scratch.write(
        "0002_add_base_url.sql",
        "-- migrate:up\nALTER TABLE projects ADD COLUMN base_url VARCHAR(9);",
    );
    assert!(matches!(
        scratch.migrations().run(&mut scratch.open()),
        Err(Error::Invalid { problems }) if matches!(problems[..], [Problem::ChecksumMismatch { version: 2, .. }])
    ));
    copy_fixture(&scratch, "basic");

    let dir = scratch.migrations_dir();
    std::fs::rename(
        dir.join("0003_create_checks.sql"),
        dir.join("0003_create_check_table.sql"),
    )
    .unwrap();
    assert!(matches!(
        scratch.migrations().run(&mut scratch.open()),
        Err(Error::Invalid { problems }) if matches!(problems[..], [Problem::NameMismatch { version: 3, .. }])
    ));
    std::fs::rename(
        dir.join("0003_create_check_table.sql"),
        dir.join("0003_create_checks.sql"),
    )
    .unwrap();

    scratch.write("0009_broken.sql", "no marker");
    assert!(
        scratch.migrations().run(&mut scratch.open()).is_err(),
        "a broken file is reported"
    );
    std::fs::remove_file(dir.join("0009_broken.sql")).unwrap();

    scratch
        .open()
        .execute_batch("UPDATE schema_migrations SET state = 'started' WHERE version = 3")
        .unwrap();
    assert!(matches!(
        scratch.migrations().run(&mut scratch.open()),
        Err(Error::Invalid { problems }) if matches!(problems[..], [Problem::Dirty { version: 3, .. }])
    ));
}

#[test]
fn the_proof_does_not_rest_on_the_cumulative_checksums() {
    let scratch = Scratch::new();
    copy_fixture(&scratch, "basic");
    scratch.migrations().run(&mut scratch.open()).unwrap();
    scratch
        .open()
        .execute_batch("UPDATE schema_migrations SET cumulative_checksum = NULL")
        .unwrap();
    with_write_lock_held(&scratch, || {
        assert_eq!(
            quick(&EMBEDDED).run(&mut scratch.open()).unwrap().count(),
            0,
            "every row is read and checked, whatever the derived column holds"
        );
    });
    let report = EMBEDDED.repair(&mut scratch.open()).unwrap();
    assert!(
        report.changes.is_empty(),
        "cumulative checksums are filled in silently"
    );
}

#[test]
fn cumulative_checksums_computed_at_build_time_equal_those_computed_at_run_time() {
    let scratch = Scratch::new();
    copy_fixture(&scratch, "basic");
    EMBEDDED.run(&mut scratch.open()).unwrap();
    let rows = |scratch: &Scratch| -> Vec<String> {
        let conn = scratch.open();
        let mut stmt = conn
            .prepare("SELECT cumulative_checksum FROM schema_migrations ORDER BY version")
            .unwrap();
        stmt.query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    };
    let written_from_build_time = rows(&scratch);
    assert_eq!(written_from_build_time.len(), 3);
    // Repair with the run-time list rewrites any row whose value differs: none does.
    assert!(
        scratch
            .migrations()
            .repair(&mut scratch.open())
            .unwrap()
            .changes
            .is_empty()
    );
    assert_eq!(rows(&scratch), written_from_build_time);
    with_write_lock_held(&scratch, || {
        assert_eq!(
            quick(&scratch.migrations())
                .run(&mut scratch.open())
                .unwrap()
                .count(),
            0
        );
    });
}

mod on_every_backend {
    //! The check must never answer "up to date" when the full run would refuse: each
    //! history below still ends in the newest row the list expects, with its cumulative
    //! checksum intact, and the full validation finds the fault.

    use crate::backends::backend_test;
    use crate::support::copy_fixture;
    use terrace::{Error, Problem};

    /// Migrates the basic fixture, tampers with the history, and returns what the next
    /// run says.
    fn run_after(db: &crate::backends::TestDb, tamper: &str) -> Result<usize, Error> {
        copy_fixture(&db.scratch, "basic");
        db.migrations().run(&mut db.connect()).unwrap();
        db.execute(tamper);
        db.migrations().run(&mut db.connect()).map(|r| r.count())
    }

    fn problems(result: Result<usize, Error>) -> Vec<Problem> {
        match result {
            Err(Error::Invalid { problems }) => problems,
            other => panic!("the full validation refuses, not {other:?}"),
        }
    }

    backend_test!(a_dirty_middle_row_is_not_up_to_date, |db| {
        let found = problems(run_after(
            db,
            "UPDATE schema_migrations SET state = 'started' WHERE version = 2",
        ));
        assert!(
            matches!(found[..], [Problem::DirtyBelowApplied { version: 2, .. }]),
            "{found:?}"
        );
    });

    backend_test!(a_deleted_middle_row_is_not_up_to_date, |db| {
        let found = problems(run_after(
            db,
            "DELETE FROM schema_migrations WHERE version = 2",
        ));
        assert!(
            matches!(found[..], [Problem::OutOfOrder { version: 2, .. }]),
            "{found:?}"
        );
    });

    backend_test!(a_hand_edited_older_checksum_is_not_up_to_date, |db| {
        let found = problems(run_after(
            db,
            "UPDATE schema_migrations SET checksum = 'sha256:0000000000000000000000000000000000000000000000000000000000000000' WHERE version = 1",
        ));
        assert!(
            matches!(found[..], [Problem::ChecksumMismatch { version: 1, .. }]),
            "{found:?}"
        );
    });

    backend_test!(a_hand_edited_older_name_is_not_up_to_date, |db| {
        let found = problems(run_after(
            db,
            "UPDATE schema_migrations SET name = 'create_customers' WHERE version = 1",
        ));
        assert!(
            matches!(found[..], [Problem::NameMismatch { version: 1, .. }]),
            "{found:?}"
        );
    });

    backend_test!(an_extra_older_row_is_not_up_to_date, |db| {
        let found = problems(run_after(
            db,
            "INSERT INTO schema_migrations (version, name, checksum, state) VALUES (0, 'ghost', 'sha256:00', 'applied')",
        ));
        assert!(
            matches!(found[..], [Problem::Missing { version: 0, .. }]),
            "{found:?}"
        );
    });
}
