//! `terrace squash --to V`: migrations 1 to V replaced by a baseline of their schema;
//! databases that applied them keep their history, new ones run the baseline.

use crate::schema::{Backend, database, dump};
use crate::support::Sandbox;

/// The migrations folder's files and the database's bytes, to show nothing changed.
fn state(sandbox: &Sandbox) -> (Vec<String>, Option<Vec<u8>>) {
    (sandbox.files("migrations"), sandbox.db_bytes())
}

/// Three migrations, then two more: a table and an index.
fn five_migrations() -> Sandbox {
    let sandbox = Sandbox::three_migrations();
    sandbox.migration(
        "0004_create_tasks.sql",
        "CREATE TABLE tasks (id INTEGER PRIMARY KEY, project_id INTEGER NOT NULL);",
        Some("DROP TABLE tasks;"),
    );
    sandbox.migration(
        "0005_index_tasks.sql",
        "CREATE INDEX tasks_by_project ON tasks (project_id);",
        Some("DROP INDEX tasks_by_project;"),
    );
    sandbox
}

/// The history's (version, name) rows of a SQLite database file in the sandbox.
fn rows(sandbox: &Sandbox, file: &str) -> Vec<(i64, String)> {
    let conn = rusqlite::Connection::open(sandbox.path().join(file)).unwrap();
    let mut statement = conn
        .prepare("SELECT version, name FROM schema_migrations ORDER BY version")
        .unwrap();
    statement
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

#[test]
fn squashed_folder_keeps_old_histories_and_builds_new_databases_alike() {
    let sandbox = five_migrations();
    sandbox.run(&["sum"]).ok();
    sandbox.run(&["migrate", "--to", "3"]).ok();
    // A database that stopped at 2 before the squash.
    sandbox
        .run(&["--database", "sqlite:behind.db", "migrate", "--to", "2"])
        .ok();

    let run = sandbox.run(&["squash", "--to", "3"]);
    run.ok();
    assert!(
        run.stdout.starts_with("wrote 0003_squashed_1_to_3.sql in "),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.ends_with(
            "removed 3 files:\n  0001_create_projects.sql\n  0002_add_base_url.sql\n  \
             0003_add_deleted_at.sql\nrewrote migrations/terrace.sum\n"
        ),
        "{}",
        run.stdout
    );
    assert_eq!(
        sandbox.files("migrations"),
        [
            "0003_squashed_1_to_3.sql",
            "0004_create_tasks.sql",
            "0005_index_tasks.sql",
            "terrace.sum"
        ]
    );
    let baseline =
        std::fs::read_to_string(sandbox.path().join("migrations/0003_squashed_1_to_3.sql"))
            .unwrap();
    assert!(
        baseline.contains("-- terrace:squashed 1 create_projects sha256:")
            && baseline.contains("-- terrace:squashed 3 add_deleted_at sha256:"),
        "{baseline}"
    );

    // The database squashed from validates (terrace.sum included), keeps rows 1 to 3
    // and migrates the rest.
    sandbox.run(&["validate"]).ok();
    let status = sandbox.run(&["status", "--format", "json"]).ok().json();
    assert_eq!(status["problems"], serde_json::json!([]), "{status}");
    sandbox.run(&["migrate"]).ok();
    assert_eq!(
        rows(&sandbox, "app.db"),
        [
            (1, "create_projects".to_owned()),
            (2, "add_base_url".to_owned()),
            (3, "add_deleted_at".to_owned()),
            (4, "create_tasks".to_owned()),
            (5, "index_tasks".to_owned()),
        ]
    );
    sandbox.run(&["repair"]).ok();
    assert_eq!(rows(&sandbox, "app.db").len(), 5);

    // A new database runs the baseline, then 4 and 5, and ends with the same schema.
    sandbox
        .run(&["--database", "sqlite:fresh.db", "migrate"])
        .ok();
    assert_eq!(
        rows(&sandbox, "fresh.db"),
        [
            (3, "squashed_1_to_3".to_owned()),
            (4, "create_tasks".to_owned()),
            (5, "index_tasks".to_owned()),
        ]
    );
    assert_eq!(
        dump(&sandbox, "sqlite:fresh.db"),
        dump(&sandbox, "sqlite:app.db")
    );

    // A database holding 1 and 2 only would run the baseline over them: refused.
    let before = std::fs::read(sandbox.path().join("behind.db")).unwrap();
    let run = sandbox.run(&["--database", "sqlite:behind.db", "migrate"]);
    run.code(1);
    assert!(
        run.stderr
            .contains("migration 3 (squashed_1_to_3): a squashed baseline"),
        "{}",
        run.stderr
    );
    assert_eq!(
        std::fs::read(sandbox.path().join("behind.db")).unwrap(),
        before
    );
}

#[test]
fn a_history_that_differs_from_the_squashed_lines_is_refused() {
    let sandbox = five_migrations();
    sandbox.run(&["migrate", "--to", "3"]).ok();
    sandbox.run(&["squash", "--to", "3"]).ok();
    sandbox
        .open_db()
        .execute_batch("UPDATE schema_migrations SET name = 'other_name' WHERE version = 2")
        .unwrap();
    let run = sandbox.run(&["validate"]);
    run.code(1);
    assert!(
        run.stderr
            .contains("migration 2 (other_name): the squashed baseline 3"),
        "{}",
        run.stderr
    );
    let status = sandbox.run(&["status", "--format", "json"]).json();
    let checks: Vec<_> = status["applied"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row["checksum_ok"].as_bool())
        .collect();
    assert_eq!(checks, [Some(true), Some(false), Some(true)], "{status}");
}

#[test]
fn malformed_squashed_lines_are_refused_naming_the_file() {
    let sandbox = Sandbox::project();
    let file = "migrations/0001_squashed_1_to_1.sql";
    sandbox.write(
        file,
        "-- terrace:squashed one create_projects sha256:00\n-- migrate:up\nSELECT 1;\n",
    );
    let run = sandbox.run(&["validate"]);
    run.code(1);
    assert!(
        run.stderr.contains(
            "0001_squashed_1_to_1.sql:1: '-- terrace:squashed' line: its version is not a whole \
             number"
        ),
        "{}",
        run.stderr
    );
    sandbox.write(
        file,
        "-- terrace:squashed 2 create_projects sha256:00\n-- migrate:up\nSELECT 1;\n",
    );
    let run = sandbox.run(&["validate"]);
    run.code(1);
    assert!(
        run.stderr.contains(
            "migration 1 (squashed_1_to_1): its '-- terrace:squashed' lines must list versions \
             1 to 1, once each and in order"
        ),
        "{}",
        run.stderr
    );
}

#[test]
fn dry_run_prints_the_baseline_and_changes_nothing() {
    let sandbox = Sandbox::three_migrations();
    sandbox.run(&["sum"]).ok();
    sandbox.run(&["migrate"]).ok();
    let before = state(&sandbox);
    let run = sandbox.run(&["squash", "--to", "2", "--dry-run"]);
    run.ok();
    assert_eq!(state(&sandbox), before);
    let (head, rest) = run
        .stdout
        .split_once('\n')
        .unwrap_or_else(|| panic!("{}", run.stdout));
    assert_eq!(head, "would write 0002_squashed_1_to_2.sql in migrations:");
    let (baseline, removed) = rest
        .split_once("would remove 2 files:\n")
        .unwrap_or_else(|| panic!("{}", run.stdout));
    assert_eq!(
        removed,
        "  0001_create_projects.sql\n  0002_add_base_url.sql\n\
         would rewrite migrations/terrace.sum\nnothing changed (dry run)\n"
    );
    assert!(
        baseline.starts_with(
            "-- The schema migrations 1 to 2 built, written by `terrace squash --to 2`.\n"
        ) && baseline.contains("\n-- migrate:up\n"),
        "{baseline}"
    );
    assert!(baseline.contains("base_url"), "{baseline}");
    assert!(!baseline.contains("deleted_at"), "{baseline}");
}

#[test]
fn json_lists_the_file_its_sql_and_the_files_it_replaces() {
    let sandbox = Sandbox::three_migrations();
    sandbox.run(&["migrate"]).ok();
    let doc = sandbox
        .run(&["squash", "--to", "3", "--dry-run", "--format", "json"])
        .ok()
        .json();
    assert_eq!(doc["dry_run"], true);
    assert_eq!(doc["write"], "0003_squashed_1_to_3.sql");
    assert_eq!(doc["sum"], serde_json::Value::Null);
    assert_eq!(
        doc["remove"],
        serde_json::json!([
            "0001_create_projects.sql",
            "0002_add_base_url.sql",
            "0003_add_deleted_at.sql"
        ])
    );
    assert!(doc["sql"].as_str().unwrap().contains("deleted_at"), "{doc}");
}

#[test]
fn refuses_when_the_database_has_not_applied_every_squashed_migration() {
    let sandbox = Sandbox::three_migrations();
    sandbox.run(&["migrate", "--to", "1"]).ok();
    let before = state(&sandbox);
    let run = sandbox.run(&["squash", "--to", "3"]);
    run.code(1);
    assert!(
        run.diagnostics().starts_with(
            "error: cannot squash to 3: the database has not applied migration 2 (add_base_url)\n"
        ),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("terrace migrate --to 3"),
        "{}",
        run.stderr
    );
    assert_eq!(state(&sandbox), before);
}

#[test]
fn refuses_a_version_the_folder_does_not_hold_the_first_one_and_a_second_squash() {
    let sandbox = Sandbox::three_migrations();
    sandbox.run(&["migrate"]).ok();
    let run = sandbox.run(&["squash", "--to", "7", "--dry-run"]);
    run.code(1);
    assert!(
        run.diagnostics().starts_with("error: cannot squash to 7: ")
            && run.stderr.contains("holds no migration 7"),
        "{}",
        run.stderr
    );
    let run = sandbox.run(&["squash", "--to", "1"]);
    run.code(1);
    assert!(run.stderr.contains("nothing to squash"), "{}", run.stderr);
    sandbox.run(&["squash", "--to", "2"]).ok();
    let before = state(&sandbox);
    let run = sandbox.run(&["squash", "--to", "3"]);
    run.code(1);
    assert!(
        run.stderr.contains("is already a squashed baseline"),
        "{}",
        run.stderr
    );
    assert_eq!(state(&sandbox), before);
}

/// On each backend: a database at 1 is refused; squashing 1 and 2 keeps the history of
/// the database squashed from, which then migrates 3; a new database runs the
/// baseline and 3 and ends with the same schema.
fn squash_on(backend: Backend) {
    let sandbox = Sandbox::project();
    sandbox.migration(
        "0001_create_projects.sql",
        "CREATE TABLE projects (id INTEGER PRIMARY KEY, name VARCHAR(100) NOT NULL);",
        None,
    );
    sandbox.migration(
        "0002_add_base_url.sql",
        "ALTER TABLE projects ADD COLUMN base_url VARCHAR(200);",
        None,
    );
    sandbox.migration(
        "0003_add_deleted_at.sql",
        "ALTER TABLE projects ADD COLUMN deleted_at VARCHAR(30);",
        None,
    );
    let (behind, _behind_db) = database(backend, &sandbox, "behind.db");
    sandbox
        .run(&["--database", &behind, "migrate", "--to", "1"])
        .ok();
    let run = sandbox.run(&["--database", &behind, "squash", "--to", "2"]);
    run.code(1);
    assert!(
        run.stderr
            .contains("has not applied migration 2 (add_base_url)"),
        "{}",
        run.stderr
    );

    let (live, _live_db) = database(backend, &sandbox, "live.db");
    sandbox
        .run(&["--database", &live, "migrate", "--to", "2"])
        .ok();
    let history = |url: &str| {
        let doc = sandbox
            .run(&["--database", url, "history", "--format", "json"])
            .ok()
            .json();
        doc["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|row| {
                (
                    row["version"].as_u64().unwrap(),
                    row["name"].as_str().unwrap().to_owned(),
                )
            })
            .collect::<Vec<_>>()
    };
    let expected = dump(&sandbox, &live);
    let doc = sandbox
        .run(&[
            "--database",
            &live,
            "squash",
            "--to",
            "2",
            "--dry-run",
            "--format",
            "json",
        ])
        .ok()
        .json();
    assert!(
        !doc["sql"].as_str().unwrap().contains("deleted_at"),
        "{doc}"
    );
    assert_eq!(dump(&sandbox, &live), expected);

    sandbox
        .run(&["--database", &live, "squash", "--to", "2"])
        .ok();
    sandbox.run(&["--database", &live, "validate"]).ok();
    sandbox.run(&["--database", &live, "migrate"]).ok();
    assert_eq!(
        history(&live),
        [
            (1, "create_projects".to_owned()),
            (2, "add_base_url".to_owned()),
            (3, "add_deleted_at".to_owned())
        ]
    );

    let (fresh, _fresh_db) = database(backend, &sandbox, "fresh.db");
    sandbox.run(&["--database", &fresh, "migrate"]).ok();
    assert_eq!(
        history(&fresh),
        [
            (2, "squashed_1_to_2".to_owned()),
            (3, "add_deleted_at".to_owned())
        ]
    );
    assert_eq!(dump(&sandbox, &fresh), dump(&sandbox, &live));
}

#[test]
fn squash_on_sqlite() {
    squash_on(Backend::Sqlite);
}

on_servers!(squash_on_servers, squash_on);
