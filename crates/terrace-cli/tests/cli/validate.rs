//! `terrace validate`.

use crate::support::Sandbox;

#[test]
fn passes_on_a_consistent_database() {
    let sandbox = Sandbox::three_migrations();
    sandbox.run(&["migrate"]).ok();
    let run = sandbox.run(&["validate"]);
    run.ok();
    assert_eq!(
        run.stdout.trim(),
        "valid: 3 migrations in migrations, checked against the history: no problems"
    );
}

#[test]
fn fails_on_an_edited_file_naming_it() {
    let sandbox = Sandbox::three_migrations();
    sandbox.run(&["migrate"]).ok();
    let before = sandbox.db_bytes().unwrap();
    sandbox.migration(
        "0002_add_base_url.sql",
        "ALTER TABLE projects ADD COLUMN base_url VARCHAR(200);",
        None,
    );
    let run = sandbox.run(&["validate"]);
    run.code(1);
    assert!(run.stdout.is_empty(), "{}", run.stdout);
    assert_eq!(
        run.stderr,
        "error: validation failed, nothing was changed:\n  \
         - migration 2 (add_base_url) was edited after it was applied (checksum differs); \
         revert the edit, or accept it with `terrace repair`\n"
    );
    assert_eq!(sandbox.db_bytes().unwrap(), before);

    let run = sandbox.run(&["validate", "--format", "json"]);
    run.code(1);
    let doc = run.json();
    assert_eq!(doc["valid"], false);
    assert_eq!(doc["database_checked"], true);
    assert_eq!(doc["migrations"], 3);
    assert!(
        doc["problems"][0]
            .as_str()
            .unwrap()
            .starts_with("migration 2 (add_base_url) was edited")
    );
}

#[test]
fn without_a_database_checks_the_files_alone() {
    let sandbox = Sandbox::empty();
    sandbox.migration(
        "0001_create_projects.sql",
        "CREATE TABLE p (id INTEGER);",
        None,
    );
    let run = sandbox.run(&["validate"]);
    assert!(
        run.ok()
            .stdout
            .contains("files only: no database configured"),
        "{}",
        run.stdout
    );

    sandbox.migration("0003_add_base_url.sql", "SELECT 1;", None);
    sandbox.write("migrations/0004_add_nothing.sql", "-- migrate:up\n");
    let run = sandbox.run(&["validate"]);
    run.code(1);
    assert!(
        run.stderr.starts_with("error: validation found 2 problems"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("migrations/0004_add_nothing.sql: the up section is empty"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("version 2 is missing"),
        "{}",
        run.stderr
    );
}
