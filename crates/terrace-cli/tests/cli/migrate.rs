//! `terrace migrate` (and its alias `up`).

use crate::support::{ADD_BASE_URL, ADD_DELETED_AT, CREATE_PROJECTS, Sandbox};

#[test]
fn applies_everything_then_finds_nothing_to_do() {
    let sandbox = Sandbox::three_migrations();
    let run = sandbox.run(&["migrate"]);
    run.ok();
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines.len(), 5, "{}", run.stdout);
    // One transaction for the run on SQLite: each migration ran, and all three are
    // applied once it commits.
    for (line, expected) in lines.iter().zip([
        "ran 1 create_projects (",
        "ran 2 add_base_url (",
        "ran 3 add_deleted_at (",
    ]) {
        assert!(
            line.starts_with(expected) && line.ends_with(" ms; commits with the run)"),
            "{line}"
        );
    }
    assert_eq!(lines[3], "committed 1 to 3");
    assert!(
        lines[4].starts_with("applied 3 migrations in "),
        "{}",
        lines[4]
    );
    assert_eq!(
        run.stderr,
        "database: sqlite:app.db (from terrace.toml)\nconfig: terrace.toml\n\
         note: created new database file app.db\n"
    );
    assert_eq!(sandbox.recorded(), [1, 2, 3]);
    assert_eq!(
        sandbox.columns("projects"),
        ["id", "name", "base_url", "deleted_at"]
    );

    let again = sandbox.run(&["up"]);
    again.ok();
    assert_eq!(
        again.stdout.trim(),
        "nothing to apply: the database is up to date"
    );
    assert_eq!(sandbox.recorded(), [1, 2, 3]);
}

#[test]
fn to_a_version() {
    let sandbox = Sandbox::three_migrations();
    sandbox.run(&["migrate", "--to", "2"]).ok();
    assert_eq!(sandbox.recorded(), [1, 2]);
    let run = sandbox.run(&["migrate", "--to", "2"]);
    assert_eq!(run.ok().stdout.trim(), "nothing to apply up to version 2");

    let run = sandbox.run(&["migrate", "--to", "9"]);
    run.code(2);
    assert!(
        run.stderr.contains("version 9 is not a known migration"),
        "{}",
        run.stderr
    );
}

#[test]
fn dry_run_prints_the_sql_and_leaves_the_file_byte_identical() {
    let sandbox = Sandbox::three_migrations();
    sandbox.run(&["migrate", "--to", "1"]).ok();
    let before = sandbox.db_bytes().unwrap();

    let run = sandbox.run(&["migrate", "--dry-run"]);
    run.ok();
    assert!(
        run.stdout
            .starts_with("dry run: 2 migrations would be applied; nothing was changed"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("-- 2 add_base_url (up)\n"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains(ADD_BASE_URL), "{}", run.stdout);
    assert!(run.stdout.contains(ADD_DELETED_AT), "{}", run.stdout);
    assert!(
        !run.stdout.contains(CREATE_PROJECTS),
        "applied already: {}",
        run.stdout
    );
    assert_eq!(sandbox.db_bytes().unwrap(), before);
    assert_eq!(sandbox.recorded(), [1]);

    let doc = sandbox
        .run(&["migrate", "--dry-run", "--format", "json"])
        .ok()
        .json();
    assert_eq!(doc["dry_run"], true);
    assert_eq!(doc["direction"], "up");
    assert_eq!(doc["steps"][0]["version"], 2);
    assert_eq!(doc["steps"][0]["sql"], ADD_BASE_URL);
    assert_eq!(doc["steps"][1]["transactional"], true);
    assert_eq!(sandbox.db_bytes().unwrap(), before);
}

#[test]
fn a_failing_migration_names_itself_and_keeps_the_ones_before() {
    let sandbox = Sandbox::three_migrations();
    sandbox.migration(
        "0004_add_broken.sql",
        "ALTER TABLE projects ADD COLUMN ok TEXT;\nALTER TABLE nowhere ADD COLUMN x TEXT;",
        None,
    );
    let run = sandbox.run(&["migrate"]);
    run.code(1);
    assert!(
        run.stdout.contains("ran 3 add_deleted_at") && run.stdout.contains("committed 1 to 3\n"),
        "{}",
        run.stdout
    );
    assert!(
        run.diagnostics().starts_with("note: created new database file app.db
error: migration 4 (add_broken) failed at migrations/0004_add_broken.sql:3, in its up section: ALTER TABLE nowhere"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("  caused by: no such table: nowhere"),
        "{}",
        run.stderr
    );
    assert_eq!(sandbox.recorded(), [1, 2, 3]);
    assert!(!sandbox.columns("projects").contains(&"ok".to_owned()));
}

#[test]
fn validation_problems_stop_the_run_before_anything_changes() {
    let sandbox = Sandbox::three_migrations();
    sandbox.migration("0005_add_gap.sql", "SELECT 1;", None);
    sandbox.write("migrations/0006_add_junk.sql", "SELECT 1;\n");
    let run = sandbox.run(&["migrate"]);
    run.code(1);
    assert!(
        run.diagnostics()
            .starts_with("error: validation found 2 problems, nothing was changed:"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("0006_add_junk.sql"), "{}", run.stderr);
    assert!(
        run.stderr.contains("version 4 is missing"),
        "{}",
        run.stderr
    );
    assert!(
        !sandbox.db_path().exists(),
        "no database file is created for broken migrations"
    );
}

#[test]
fn a_missing_migrations_folder_is_explained() {
    let sandbox = Sandbox::empty();
    let run = sandbox.run(&["--database", "app.db", "migrate"]);
    run.code(1);
    assert!(
        run.stderr
            .starts_with("error: cannot read the migrations folder migrations\n"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("hint: create it with `terrace init`"),
        "{}",
        run.stderr
    );
}

#[test]
fn json() {
    let sandbox = Sandbox::three_migrations();
    let doc = sandbox.run(&["migrate", "--format", "json"]).ok().json();
    assert_eq!(doc["direction"], "up");
    assert_eq!(doc["dry_run"], false);
    let steps = doc["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 3);
    assert_eq!(steps[2]["version"], 3);
    assert_eq!(steps[2]["name"], "add_deleted_at");
    assert!(steps[2]["duration_ms"].is_u64());
    assert!(doc["total_ms"].is_u64());
}

#[test]
fn json_errors_are_one_document_on_stdout() {
    let sandbox = Sandbox::three_migrations();
    sandbox.migration("0005_add_gap.sql", "SELECT 1;", None);
    let run = sandbox.run(&["migrate", "--format", "json"]);
    run.code(1);
    assert!(run.stderr.is_empty(), "{}", run.stderr);
    let doc = run.json();
    assert!(
        doc["error"]
            .as_str()
            .unwrap()
            .starts_with("validation failed, nothing was changed:")
    );
    assert_eq!(
        doc["problems"][0],
        "version 4 is missing: versions must run 1, 2, 3, … without gaps"
    );

    let run = sandbox.run(&["migrate", "--format", "json", "--to", "x"]);
    run.code(2);
    assert!(
        run.json()["error"]
            .as_str()
            .unwrap()
            .contains("invalid value 'x'")
    );
}
