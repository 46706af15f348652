//! A failing migration: rolled back whole, named precisely, earlier ones kept, later
//! ones never run.

use crate::backends::backend_test;
use crate::support::{Scratch, recorded_versions, table_exists};
use terrace::{Direction, Error, TransactionMode};

fn failing_folder(scratch: &Scratch) {
    scratch.write(
        "0001_create_projects.sql",
        "-- migrate:up\nCREATE TABLE projects (id INTEGER PRIMARY KEY);",
    );
    scratch.write(
        "0002_create_audit.sql",
        "-- migrate:up\nCREATE TABLE audit (id INTEGER);\nINSERT INTO audit VALUES (1);\n\nINSERT INTO no_such_table VALUES (1);\nCREATE TABLE after_failure (id INTEGER);\n",
    );
    scratch.write(
        "0003_create_later.sql",
        "-- migrate:up\nCREATE TABLE later (id INTEGER);",
    );
}

backend_test!(
    second_statement_failing_is_rolled_back_or_left_dirty,
    |db| {
        failing_folder(&db.scratch);
        let err = db.migrations().run(&mut db.connect()).unwrap_err();
        let transactional = db.kind != Kind::Mysql;
        match &err {
            Error::MigrationFailed {
                version,
                name,
                direction,
                statement,
                line,
                position,
                dirty,
                source,
                ..
            } => {
                assert_eq!(
                    (*version, name.as_str(), *direction),
                    (2, "create_audit", Direction::Up)
                );
                assert_eq!(
                    statement.as_deref(),
                    Some("INSERT INTO no_such_table VALUES (1)")
                );
                assert_eq!(*line, Some(5), "the line of the file");
                assert_eq!(*position, Some((3, 4)), "statement 3 of 4");
                assert_eq!(*dirty, !transactional);
                let message = source.to_string().to_lowercase();
                assert!(
                    message.contains("no_such_table") || message.contains("no such table"),
                    "{message}"
                );
            }
            other => panic!("{other:?}"),
        }
        let message = err.to_string();
        assert!(
            message.contains("migration 2 (create_audit)") && message.contains("no_such_table"),
            "{message}"
        );
        assert!(db.table_exists("projects"), "migration 1 stays applied");
        assert!(!db.table_exists("later"), "nothing after the failure runs");
        assert_eq!(
            message.contains("failed at statement 3 of 4 (statements 1..2 ran)"),
            !transactional,
            "{message}"
        );
        if transactional {
            assert!(
                message.contains(
                    "0002_create_audit.sql:5, in its up section: INSERT INTO no_such_table"
                ),
                "{message}"
            );
            assert!(
                !db.table_exists("audit"),
                "the failing migration's first statement is undone"
            );
            assert_eq!(db.versions(), [1]);
        } else {
            // MySQL commits each DDL statement: the half-done migration is marked dirty.
            assert!(db.table_exists("audit"));
            assert_eq!(
                db.strings("SELECT state FROM schema_migrations ORDER BY version"),
                ["applied", "started"]
            );
            let status = db.migrations().status(&mut db.connect()).unwrap();
            assert_eq!(status.dirty().map(|r| r.version).collect::<Vec<_>>(), [2]);
            let refused = db.migrations().run(&mut db.connect()).unwrap_err();
            assert!(refused.to_string().contains("terrace repair"), "{refused}");
            db.execute("DROP TABLE audit");
            let repair = db.migrations().repair(&mut db.connect()).unwrap();
            assert_eq!(repair.changes.len(), 1);
            assert_eq!(db.versions(), [1]);
        }
        db.write(
            "0002_create_audit.sql",
            "-- migrate:up\nCREATE TABLE audit (id INTEGER);",
        );
        assert_eq!(
            db.migrations().run(&mut db.connect()).unwrap().versions(),
            [2, 3]
        );
    }
);

#[test]
fn second_statement_failing_in_either_sqlite_mode_leaves_no_trace() {
    for mode in [TransactionMode::PerRun, TransactionMode::PerMigration] {
        let scratch = Scratch::new();
        failing_folder(&scratch);
        let mut conn = scratch.open();
        let err = scratch
            .migrations()
            .with_transaction_mode(mode)
            .run(&mut conn)
            .unwrap_err();
        assert!(
            matches!(
                err,
                Error::MigrationFailed {
                    version: 2,
                    dirty: false,
                    ..
                }
            ),
            "{mode:?}: {err:?}"
        );
        assert!(
            table_exists(&conn, "projects"),
            "{mode:?}: migration 1 stays applied"
        );
        assert!(
            !table_exists(&conn, "audit"),
            "{mode:?}: the first statement is undone"
        );
        assert!(
            !table_exists(&conn, "later"),
            "{mode:?}: nothing after the failure runs"
        );
        assert_eq!(recorded_versions(&conn), [1], "{mode:?}");
        assert!(conn.is_autocommit(), "no transaction is left open");
    }
}

#[test]
fn a_failing_code_migration_is_rolled_back_and_named() {
    #[terrace::migration]
    fn half_then_fail(db: &mut terrace::Db<'_>) -> terrace::CodeResult {
        db.execute("CREATE TABLE half (id INTEGER)")?;
        Err("the backfill found bad data".into())
    }
    let migrations = terrace::Migrations::from_vec(vec![
        terrace::Migration::sql(1, "create_projects", "CREATE TABLE projects (id INTEGER);"),
        terrace::Migration::code(2, "backfill_totals", half_then_fail),
    ]);
    let scratch = Scratch::new();
    let mut conn = scratch.open();
    let err = migrations.run(&mut conn).unwrap_err();
    assert!(
        matches!(
            &err,
            Error::MigrationFailed {
                version: 2,
                statement: None,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(err.to_string(), "migration 2 (backfill_totals) failed");
    assert_eq!(
        std::error::Error::source(&err).unwrap().to_string(),
        "the backfill found bad data"
    );
    assert!(!table_exists(&conn, "half"));
    assert_eq!(recorded_versions(&conn), [1]);
}

#[test]
fn the_lock_is_released_after_a_failure() {
    let scratch = Scratch::new();
    failing_folder(&scratch);
    let mut conn = scratch.open();
    assert!(scratch.migrations().run(&mut conn).is_err());
    // Another connection can take the write lock at once.
    let other = scratch.open();
    other.execute_batch("BEGIN IMMEDIATE; COMMIT;").unwrap();
    // And after fixing the file the same connection carries on.
    scratch.write(
        "0002_create_audit.sql",
        "-- migrate:up\nCREATE TABLE audit (id INTEGER);",
    );
    assert_eq!(
        scratch.migrations().run(&mut conn).unwrap().versions(),
        [2, 3]
    );
}

#[test]
fn a_read_only_database_gets_a_clear_error_and_status_still_works() {
    let scratch = Scratch::new();
    failing_folder(&scratch);
    scratch
        .open()
        .execute_batch("CREATE TABLE app (id INTEGER)")
        .unwrap();
    let before = scratch.bytes();
    let mut conn = rusqlite::Connection::open_with_flags(
        scratch.db_path(),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .unwrap();
    let err = scratch.migrations().run(&mut conn).unwrap_err();
    assert!(matches!(err, Error::Database { .. }), "{err:?}");
    let chain = format!("{err}: {}", std::error::Error::source(&err).unwrap());
    assert!(chain.contains("readonly"), "{chain}");
    assert_eq!(
        scratch
            .migrations()
            .status(&mut conn)
            .unwrap()
            .pending_count(),
        3
    );
    assert_eq!(scratch.bytes(), before);
}

#[terrace::migration]
fn commit_then_fail(db: &mut terrace::Db<'_>) -> terrace::CodeResult {
    db.execute("CREATE TABLE early (id INTEGER)")?;
    db.execute("COMMIT")?;
    db.execute("INSERT INTO nowhere VALUES (1)")
}

#[terrace::migration]
fn roll_back_then_fail(db: &mut terrace::Db<'_>) -> terrace::CodeResult {
    db.execute("CREATE TABLE early (id INTEGER)")?;
    db.execute("ROLLBACK")?;
    db.execute("INSERT INTO nowhere VALUES (1)")
}

#[terrace::migration]
fn commit_then_succeed(db: &mut terrace::Db<'_>) -> terrace::CodeResult {
    db.execute("CREATE TABLE early (id INTEGER)")?;
    db.execute("COMMIT")?;
    db.execute("CREATE TABLE late (id INTEGER)")
}

fn ending_its_transaction(code: terrace::CodeFn) -> terrace::Migrations {
    terrace::Migrations::from_vec(vec![
        terrace::Migration::sql(1, "create_projects", "CREATE TABLE projects (id INTEGER);"),
        terrace::Migration::code(2, "commit_early", code),
        terrace::Migration::sql(3, "create_later", "CREATE TABLE later (id INTEGER);"),
    ])
}

const TRANSACTIONAL_MODES: [TransactionMode; 2] =
    [TransactionMode::PerRun, TransactionMode::PerMigration];

backend_test!(
    a_migration_that_ends_its_transaction_and_fails_reports_its_own_error,
    |db| {
        if db.kind == Kind::Mysql {
            return; // every migration runs outside a transaction there
        }
        for mode in TRANSACTIONAL_MODES {
            let migrations = ending_its_transaction(commit_then_fail).with_transaction_mode(mode);
            let err = migrations.run(&mut db.connect()).unwrap_err();
            assert!(
                matches!(err, Error::TransactionEnded { version: 2, .. }),
                "{mode:?}: {err:?}"
            );
            // The migration's own failure, not an error from cleaning up after it.
            let failure = std::error::Error::source(&err).unwrap();
            assert!(
                failure
                    .to_string()
                    .starts_with("migration 2 (commit_early) failed"),
                "{mode:?}: {failure}"
            );
            let cause = std::error::Error::source(failure).unwrap().to_string();
            assert!(cause.contains("nowhere"), "{mode:?}: {cause}");
            assert_eq!(db.versions(), [1], "{mode:?}: what committed is recorded");
            assert!(!db.table_exists("later"), "{mode:?}");
            db.execute("DROP TABLE early; DROP TABLE projects; DROP TABLE schema_migrations");
        }
    }
);

backend_test!(
    a_migration_that_ends_its_transaction_is_not_recorded_as_applied,
    |db| {
        if db.kind == Kind::Mysql {
            return; // every migration runs outside a transaction there
        }
        for mode in TRANSACTIONAL_MODES {
            let migrations =
                ending_its_transaction(commit_then_succeed).with_transaction_mode(mode);
            let err = migrations.run(&mut db.connect()).unwrap_err();
            assert!(
                matches!(err, Error::TransactionEnded { version: 2, .. }),
                "{mode:?}: {err:?}"
            );
            assert!(
                err.to_string().contains("transaction:false"),
                "{mode:?}: {err}"
            );
            assert!(
                !db.versions().contains(&2),
                "{mode:?}: not recorded as applied"
            );
            assert!(!db.table_exists("later"), "{mode:?}: nothing after it runs");
            db.execute(
                "DROP TABLE IF EXISTS early; DROP TABLE IF EXISTS late; DROP TABLE projects; DROP TABLE schema_migrations",
            );
        }
    }
);

backend_test!(
    a_migration_that_rolls_back_its_transaction_leaves_the_history_true,
    |db| {
        if db.kind == Kind::Mysql {
            return; // every migration runs outside a transaction there
        }
        for mode in TRANSACTIONAL_MODES {
            let migrations =
                ending_its_transaction(roll_back_then_fail).with_transaction_mode(mode);
            let err = migrations.run(&mut db.connect()).unwrap_err();
            assert!(
                matches!(err, Error::TransactionEnded { version: 2, .. }),
                "{mode:?}: {err:?}"
            );
            // Migration 1 is recorded exactly when its work is there: in one
            // transaction per run the ROLLBACK took both, otherwise neither.
            assert_eq!(
                db.versions().contains(&1),
                db.table_exists("projects"),
                "{mode:?}: {:?}",
                db.versions()
            );
            if mode == TransactionMode::PerRun {
                assert!(err.to_string().contains("so is migration 1"), "{err}");
            }
            assert!(!db.versions().contains(&2), "{mode:?}");
            db.execute(
                "DROP TABLE IF EXISTS early; DROP TABLE IF EXISTS projects; DROP TABLE IF EXISTS schema_migrations",
            );
        }
    }
);

#[test]
fn a_list_built_in_code_reports_the_line_of_its_section() {
    let scratch = Scratch::new();
    let migrations = terrace::Migrations::from_vec(vec![terrace::Migration::sql(
        1,
        "create_audit",
        "CREATE TABLE audit (id INTEGER);\n\nINSERT INTO no_such_table VALUES (1);",
    )]);
    match migrations.run(&mut scratch.open()).unwrap_err() {
        Error::MigrationFailed { line, .. } => assert_eq!(line, Some(3)),
        other => panic!("{other:?}"),
    }
}

backend_test!(
    a_failure_names_its_file_and_the_migrations_applied_before_it,
    |db| {
        failing_folder(&db.scratch);
        let err = db.migrations().run(&mut db.connect()).unwrap_err();
        let file = db.scratch.migrations_dir().join("0002_create_audit.sql");
        match &err {
            Error::MigrationFailed {
                file: Some(path),
                applied,
                ..
            } => {
                assert_eq!(path, &file);
                assert_eq!(applied, &[(1, "create_projects".to_owned())]);
            }
            other => panic!("{other:?}"),
        }
        assert!(
            err.to_string()
                .contains(&format!("at {}:5, in its up section", file.display())),
            "{err}"
        );
    }
);

#[test]
fn a_long_failing_statement_is_quoted_cut_short() {
    let scratch = Scratch::new();
    let long = format!("INSERT INTO no_such_table VALUES ({})", "1, ".repeat(100));
    let migrations =
        terrace::Migrations::from_vec(vec![terrace::Migration::sql(1, "fill", long.leak())]);
    let err = migrations.run(&mut scratch.open()).unwrap_err();
    match &err {
        Error::MigrationFailed {
            statement: Some(statement),
            applied,
            file,
            ..
        } => {
            assert!(statement.chars().count() <= 101, "{statement}");
            assert!(statement.ends_with('…'), "{statement}");
            assert!(applied.is_empty() && file.is_none());
        }
        other => panic!("{other:?}"),
    }
}
