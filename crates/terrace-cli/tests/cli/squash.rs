//! `terrace squash --to V --dry-run`: the baseline that would replace migrations 1 to
//! V, and the refusals.

use crate::schema::{Backend, database, dump};
use crate::support::Sandbox;

/// The migrations folder's files and the database's bytes, to show nothing changed.
fn state(sandbox: &Sandbox) -> (Vec<String>, Option<Vec<u8>>) {
    (sandbox.files("migrations"), sandbox.db_bytes())
}

#[test]
fn dry_run_prints_a_baseline_that_builds_the_same_schema_and_changes_nothing() {
    let sandbox = Sandbox::three_migrations();
    sandbox.run(&["migrate"]).ok();
    let before = state(&sandbox);
    let run = sandbox.run(&["squash", "--to", "2", "--dry-run"]);
    run.ok();
    assert_eq!(state(&sandbox), before);
    let (head, rest) = run
        .stdout
        .split_once('\n')
        .unwrap_or_else(|| panic!("{}", run.stdout));
    assert!(
        head.starts_with("would write 0002_squashed_1_to_2.sql in ") && head.ends_with(':'),
        "{head}"
    );
    let (baseline, removed) = rest
        .split_once("would remove 2 files:\n")
        .unwrap_or_else(|| panic!("{}", run.stdout));
    assert_eq!(
        removed,
        "  0001_create_projects.sql\n  0002_add_base_url.sql\nnothing changed (dry run)\n"
    );
    assert!(
        baseline.starts_with(
            "-- The schema migrations 1 to 2 built, written by `terrace squash --to 2`.\n\
             -- migrate:up\n"
        ),
        "{baseline}"
    );
    assert!(baseline.contains("base_url"), "{baseline}");
    assert!(!baseline.contains("deleted_at"), "{baseline}");

    // The baseline, run on an empty database, builds what migrations 1 and 2 built.
    let fresh = Sandbox::project();
    let built = Sandbox::three_migrations();
    std::fs::remove_file(built.path().join("migrations/0003_add_deleted_at.sql")).unwrap();
    built.run(&["migrate"]).ok();
    let expected = built.run(&["schema", "dump"]).ok().stdout.clone();
    fresh
        .open_db()
        .execute_batch(baseline.split_once("-- migrate:up\n").unwrap().1)
        .unwrap();
    assert_eq!(fresh.run(&["schema", "dump"]).ok().stdout, expected);
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
    let run = sandbox.run(&["squash", "--to", "3", "--dry-run"]);
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
fn dry_run_names_the_sum_file_it_would_rewrite() {
    let sandbox = Sandbox::three_migrations();
    sandbox.run(&["sum"]).ok();
    sandbox.run(&["migrate"]).ok();
    let before = state(&sandbox);
    let run = sandbox.run(&["squash", "--to", "2", "--dry-run"]);
    run.ok();
    assert!(
        run.stdout.contains("would rewrite ")
            && run
                .stdout
                .contains("terrace.sum\nnothing changed (dry run)\n"),
        "{}",
        run.stdout
    );
    assert_eq!(state(&sandbox), before);
}

#[test]
fn refuses_without_dry_run_changing_nothing() {
    let sandbox = Sandbox::three_migrations();
    sandbox.run(&["migrate"]).ok();
    let before = state(&sandbox);
    let run = sandbox.run(&["squash", "--to", "2"]);
    run.code(1);
    assert!(
        run.diagnostics()
            .starts_with("error: cannot squash to 2: only --dry-run is supported\n"),
        "{}",
        run.stderr
    );
    assert_eq!(state(&sandbox), before);
}

#[test]
fn refuses_a_version_the_folder_does_not_hold_and_the_first_one() {
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
    let run = sandbox.run(&["squash", "--to", "1", "--dry-run"]);
    run.code(1);
    assert!(run.stderr.contains("nothing to squash"), "{}", run.stderr);
}

/// On each backend: the baseline of 1..2, migrated into an empty database, builds the
/// schema migrations 1 and 2 build; the database squashed from keeps its history.
fn baseline_builds_the_same_schema(backend: Backend) {
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
    let (live, _live_db) = database(backend, &sandbox, "live.db");
    sandbox
        .run(&["--database", &live, "migrate", "--to", "2"])
        .ok();
    let expected = dump(&sandbox, &live);
    let history = sandbox
        .run(&["--database", &live, "history"])
        .ok()
        .stdout
        .clone();
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
    assert_eq!(dump(&sandbox, &live), expected);
    assert_eq!(
        sandbox.run(&["--database", &live, "history"]).ok().stdout,
        history
    );
    let sql = doc["sql"].as_str().unwrap();
    assert!(!sql.contains("deleted_at"), "{sql}");

    let (fresh, _fresh_db) = database(backend, &sandbox, "fresh.db");
    sandbox.write("baseline/0001_baseline.sql", sql);
    sandbox
        .run(&["--database", &fresh, "--dir", "baseline", "migrate"])
        .ok();
    assert_eq!(dump(&sandbox, &fresh), expected);

    // A database at 1 is refused, naming 2.
    let (behind, _behind_db) = database(backend, &sandbox, "behind.db");
    sandbox
        .run(&["--database", &behind, "migrate", "--to", "1"])
        .ok();
    let run = sandbox.run(&["--database", &behind, "squash", "--to", "2", "--dry-run"]);
    run.code(1);
    assert!(
        run.stderr
            .contains("has not applied migration 2 (add_base_url)"),
        "{}",
        run.stderr
    );
}

#[test]
fn baseline_builds_the_same_schema_on_sqlite() {
    baseline_builds_the_same_schema(Backend::Sqlite);
}

on_servers!(
    baseline_builds_the_same_schema_on,
    baseline_builds_the_same_schema
);
