//! SQLite foreign keys: a migration may rebuild a table the way SQLite documents it
//! (create the new table, copy, drop the old one, rename) without its `ON DELETE`
//! actions firing, and a migration that leaves a reference pointing nowhere fails.

use crate::support::Scratch;
use rusqlite::Connection;
use terrace::{Error, Migrations, TransactionMode};

const PARENT_AND_CHILD: &str = "-- migrate:up
CREATE TABLE parent (id INTEGER PRIMARY KEY, name TEXT);
CREATE TABLE child (
    id INTEGER PRIMARY KEY,
    parent_id INTEGER NOT NULL REFERENCES parent (id) ON DELETE CASCADE
);
INSERT INTO parent VALUES (1, 'one');
INSERT INTO child VALUES (10, 1);
";

/// SQLite's own twelve-step procedure, as a migration writes it.
const REBUILD_PARENT: &str = "-- migrate:up
CREATE TABLE parent_new (id INTEGER PRIMARY KEY, name TEXT NOT NULL DEFAULT '');
INSERT INTO parent_new SELECT id, coalesce(name, '') FROM parent;
DROP TABLE parent;
ALTER TABLE parent_new RENAME TO parent;
";

const DANGLING: &str = "-- migrate:up
CREATE TABLE unrelated (id INTEGER);
INSERT INTO child VALUES (11, 99);
";

fn foreign_keys(conn: &Connection) -> i64 {
    conn.pragma_query_value(None, "foreign_keys", |r| r.get(0))
        .unwrap()
}

fn set_foreign_keys(conn: &Connection, on: bool) {
    conn.pragma_update(None, "foreign_keys", on).unwrap();
    assert_eq!(foreign_keys(conn), i64::from(on));
}

fn children(conn: &Connection) -> Vec<(i64, i64)> {
    let mut stmt = conn
        .prepare("SELECT id, parent_id FROM child ORDER BY id")
        .unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

fn migrations(scratch: &Scratch, mode: TransactionMode) -> Migrations {
    scratch.migrations().with_transaction_mode(mode)
}

const MODES: [TransactionMode; 2] = [TransactionMode::PerRun, TransactionMode::PerMigration];

#[test]
fn the_bundled_sqlite_enforces_foreign_keys() {
    // What makes the rebuild dangerous: every connection starts with enforcement on.
    assert_eq!(foreign_keys(&Scratch::new().open()), 1);
}

#[test]
fn rebuilding_a_parent_table_keeps_its_children() {
    for mode in MODES {
        let scratch = Scratch::new();
        scratch.write("0001_parent_and_child.sql", PARENT_AND_CHILD);
        let mut conn = scratch.open();
        migrations(&scratch, mode).run(&mut conn).unwrap();
        scratch.write("0002_rebuild_parent.sql", REBUILD_PARENT);
        let report = migrations(&scratch, mode).run(&mut conn).unwrap();
        assert_eq!(report.count(), 1, "{mode:?}");
        assert_eq!(
            children(&conn),
            [(10, 1)],
            "{mode:?}: the child row survives"
        );
        assert_eq!(foreign_keys(&conn), 1, "{mode:?}: enforcement is back on");
        let violations: i64 = conn
            .query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(violations, 0);
        // Enforcement is really back: the cascade fires outside the migrations.
        conn.execute_batch("DELETE FROM parent").unwrap();
        assert!(children(&conn).is_empty());
    }
}

#[test]
fn a_migration_leaving_a_dangling_reference_fails_and_is_rolled_back() {
    for mode in MODES {
        let scratch = Scratch::new();
        scratch.write("0001_parent_and_child.sql", PARENT_AND_CHILD);
        scratch.write("0002_rebuild_parent.sql", REBUILD_PARENT);
        scratch.write("0003_dangling.sql", DANGLING);
        let mut conn = scratch.open();
        let err = migrations(&scratch, mode).run(&mut conn).unwrap_err();
        let Error::MigrationFailed {
            version, source, ..
        } = &err
        else {
            panic!("{mode:?}: {err:?}");
        };
        assert_eq!(*version, 3, "{mode:?}");
        let message = source.to_string();
        assert!(
            message.contains("table child") && message.contains("rowid 11"),
            "{mode:?}: {message}"
        );
        assert!(message.contains("parent"), "{mode:?}: {message}");
        // The failing migration is undone; the ones before it stay.
        assert_eq!(crate::support::recorded_versions(&conn), [1, 2], "{mode:?}");
        assert_eq!(children(&conn), [(10, 1)], "{mode:?}");
        assert!(!crate::support::table_exists(&conn, "unrelated"));
        assert_eq!(foreign_keys(&conn), 1, "{mode:?}");
    }
}

#[test]
fn violations_older_than_the_run_do_not_fail_it() {
    let scratch = Scratch::new();
    scratch.write("0001_parent_and_child.sql", PARENT_AND_CHILD);
    let mut conn = scratch.open();
    scratch.migrations().run(&mut conn).unwrap();
    set_foreign_keys(&conn, false);
    conn.execute_batch("INSERT INTO child VALUES (12, 42)")
        .unwrap();
    set_foreign_keys(&conn, true);
    scratch.write(
        "0002_more.sql",
        "-- migrate:up\nCREATE TABLE more (id INTEGER);",
    );
    assert_eq!(scratch.migrations().run(&mut conn).unwrap().count(), 1);
    assert_eq!(children(&conn), [(10, 1), (12, 42)]);
}

#[test]
fn the_callers_setting_is_restored_after_success_and_failure() {
    for on in [true, false] {
        for mode in MODES {
            let scratch = Scratch::new();
            scratch.write("0001_parent_and_child.sql", PARENT_AND_CHILD);
            let mut conn = scratch.open();
            set_foreign_keys(&conn, on);
            migrations(&scratch, mode).run(&mut conn).unwrap();
            assert_eq!(
                foreign_keys(&conn),
                i64::from(on),
                "after success, {mode:?}"
            );

            scratch.write(
                "0002_fails.sql",
                "-- migrate:up\nINSERT INTO no_such_table VALUES (1);",
            );
            migrations(&scratch, mode).run(&mut conn).unwrap_err();
            assert_eq!(
                foreign_keys(&conn),
                i64::from(on),
                "after failure, {mode:?}"
            );

            std::fs::remove_file(scratch.migrations_dir().join("0002_fails.sql")).unwrap();
            scratch.write(
                "0001_parent_and_child.sql",
                &format!(
                    "{PARENT_AND_CHILD}-- migrate:down\nDROP TABLE child;\nDROP TABLE parent;\n"
                ),
            );
            // A rollback (after `repair` accepts the edited file) restores it too.
            migrations(&scratch, mode).repair(&mut conn).unwrap();
            assert_eq!(foreign_keys(&conn), i64::from(on), "after repair, {mode:?}");
            migrations(&scratch, mode)
                .rollback(&mut conn, terrace::Target::Steps(1))
                .unwrap();
            assert_eq!(
                foreign_keys(&conn),
                i64::from(on),
                "after a rollback, {mode:?}"
            );
        }
    }
}

#[test]
fn with_enforcement_off_the_caller_gets_no_check() {
    // A caller who switched enforcement off asked for none: the run does not add it.
    let scratch = Scratch::new();
    scratch.write("0001_parent_and_child.sql", PARENT_AND_CHILD);
    scratch.write("0002_dangling.sql", DANGLING);
    let mut conn = scratch.open();
    set_foreign_keys(&conn, false);
    assert_eq!(scratch.migrations().run(&mut conn).unwrap().count(), 2);
    assert_eq!(children(&conn), [(10, 1), (11, 99)]);
    assert_eq!(foreign_keys(&conn), 0);
}

#[terrace::migration]
fn dangling_through_the_connection(db: &mut terrace::Db<'_>) -> terrace::CodeResult {
    let conn = db
        .connection::<rusqlite::Connection>()
        .expect("the SQLite connection");
    conn.execute_batch(
        "CREATE TABLE owner (id INTEGER PRIMARY KEY);
         CREATE TABLE pet (id INTEGER PRIMARY KEY, owner_id INTEGER REFERENCES owner (id));
         INSERT INTO pet VALUES (1, 7);",
    )?;
    Ok(())
}

#[test]
fn a_code_migration_using_the_connection_is_checked_too() {
    // No foreign key exists before the run, and the SQL the runner sees names none:
    // the code migration declares one on the connection itself.
    let scratch = Scratch::new();
    let mut conn = scratch.open();
    let migrations = Migrations::from_vec(vec![
        terrace::Migration::sql(1, "create_notes", "CREATE TABLE notes (id INTEGER);"),
        terrace::Migration::code(2, "dangling_pet", dangling_through_the_connection),
    ]);
    let err = migrations.run(&mut conn).unwrap_err();
    let Error::MigrationFailed {
        version, source, ..
    } = &err
    else {
        panic!("{err:?}");
    };
    assert_eq!(*version, 2);
    assert!(source.to_string().contains("table pet rowid 1"), "{source}");
    assert!(!crate::support::table_exists(&conn, "pet"));
    assert_eq!(crate::support::recorded_versions(&conn), [1]);
}
