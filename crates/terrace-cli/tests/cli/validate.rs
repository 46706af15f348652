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

#[test]
fn files_that_look_like_migrations_but_are_ignored_are_warned_about() {
    let sandbox = Sandbox::three_migrations();
    sandbox.run(&["migrate"]).ok();
    sandbox.write(
        "migrations/0004_add_owner.SQL",
        "-- migrate:up\nALTER TABLE projects ADD COLUMN owner TEXT;\n",
    );
    let run = sandbox.run(&["validate"]);
    run.ok();
    assert_eq!(
        run.stderr,
        "warning: migrations/0004_add_owner.SQL: looks like a migration but is ignored, as only \
         names ending in '.sql' are read; rename it to 0004_add_owner.sql if it is one\n"
    );
    assert!(
        run.stdout.starts_with("valid: 3 migrations"),
        "{}",
        run.stdout
    );

    let run = sandbox.run(&["validate", "--format", "json"]);
    run.ok();
    assert!(run.stderr.is_empty(), "{}", run.stderr);
    let doc = run.json();
    assert_eq!(doc["valid"], true);
    let warnings = doc["warnings"].as_array().unwrap();
    assert_eq!(warnings.len(), 1, "{doc}");
    assert!(warnings[0].as_str().unwrap().contains("0004_add_owner.SQL"));

    // Without warnings, the documents stay as they were.
    std::fs::remove_file(sandbox.path().join("migrations/0004_add_owner.SQL")).unwrap();
    let doc = sandbox.run(&["validate", "--format", "json"]).json();
    assert!(doc.get("warnings").is_none(), "{doc}");
}

#[test]
fn an_empty_folder_is_a_warning_for_a_new_project() {
    let sandbox = Sandbox::project();
    // `migrate` right after `init`: nothing to do, said loudly.
    let run = sandbox.run(&["migrate"]);
    run.ok();
    let warning =
        "warning: migrations holds no migration (files named like 0001_create_users.sql)\n";
    assert_eq!(
        run.diagnostics(),
        format!("{warning}note: created new database file app.db\n")
    );
    let doc = sandbox.run(&["migrate", "--format", "json"]).json();
    assert!(doc["warnings"][0].as_str().is_some(), "{doc}");

    let run = sandbox.run(&["validate"]);
    run.ok();
    assert_eq!(run.stderr, warning);
    let run = sandbox.run(&["status"]);
    run.ok();
    assert_eq!(run.stderr, warning);
    let doc = sandbox.run(&["status", "--format", "json"]).json();
    assert!(
        doc["warnings"][0]
            .as_str()
            .unwrap()
            .contains("holds no migration"),
        "{doc}"
    );
}

#[test]
fn an_empty_folder_is_an_error_for_a_database_with_history() {
    let sandbox = Sandbox::three_migrations();
    sandbox.run(&["migrate"]).ok();
    for name in sandbox.files("migrations") {
        std::fs::remove_file(sandbox.path().join("migrations").join(name)).unwrap();
    }
    let before = sandbox.db_bytes().unwrap();
    let run = sandbox.run(&["migrate"]);
    run.code(1);
    assert!(
        run.stderr.contains(
            "migrations holds no migration, but the history records 3 applied; \
             is this the right migrations folder?"
        ),
        "{}",
        run.stderr
    );
    assert_eq!(sandbox.db_bytes().unwrap(), before);
    let doc = sandbox.run(&["migrate", "--format", "json"]).json();
    assert!(
        doc["problems"][0]
            .as_str()
            .unwrap()
            .contains("holds no migration"),
        "{doc}"
    );
    sandbox.run(&["validate"]).code(1);
}

#[test]
fn a_nul_byte_is_refused_naming_the_file_and_line() {
    let sandbox = Sandbox::empty();
    sandbox.write(
        "migrations/0001_create_projects.sql",
        "-- migrate:up\nCREATE TABLE projects (id INTEGER);\n\0DROP TABLE projects;\n",
    );
    let run = sandbox.run(&["validate"]);
    run.code(1);
    assert!(
        run.stderr
            .contains("migrations/0001_create_projects.sql:3: a NUL byte"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_psql_meta_command_is_refused_naming_the_file_line_and_fix() {
    let sandbox = Sandbox::empty();
    sandbox.write(
        "migrations/0001_create_projects.sql",
        "-- migrate:up\n--\n-- PostgreSQL database dump\n--\n\n\\restrict 6P3XkQ\n\nCREATE TABLE projects (id INTEGER);\n",
    );
    let run = sandbox.run(&["validate"]);
    run.code(1);
    assert!(
        run.stderr.contains(
            "migrations/0001_create_projects.sql:6: '\\restrict 6P3XkQ' is a command of the \
             database's command-line client"
        ) && run.stderr.contains("remove the line"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_down_marker_inside_a_string_literal_is_refused() {
    let sandbox = Sandbox::empty();
    sandbox.write(
        "migrations/0001_create_projects.sql",
        "-- migrate:up\nCREATE TABLE projects (note TEXT DEFAULT 'a\n-- migrate:down\nb');\n",
    );
    let run = sandbox.run(&["validate"]);
    run.code(1);
    assert!(
        run.stderr.contains(
            "migrations/0001_create_projects.sql:3: the '-- migrate:down' marker is inside \
             a string literal opened at line 2"
        ),
        "{}",
        run.stderr
    );
}

#[test]
fn a_checksum_edited_by_hand_is_a_warning_naming_the_version() {
    let sandbox = Sandbox::three_migrations();
    sandbox.run(&["migrate"]).ok();
    rusqlite::Connection::open(sandbox.db_path())
        .unwrap()
        .execute_batch("UPDATE schema_migrations SET checksum = 'edited' WHERE version = 2")
        .unwrap();
    let warning = "warning: migration 2 (add_base_url) is recorded with checksum \"edited\", \
                   from no algorithm Terrace knows: an edit to its file cannot be detected";
    for command in ["validate", "status"] {
        let run = sandbox.run(&[command]);
        run.ok();
        assert!(run.stderr.contains(warning), "{command}: {}", run.stderr);
    }
    let doc = sandbox.run(&["validate", "--format", "json"]).json();
    assert!(
        doc["warnings"][0]
            .as_str()
            .unwrap()
            .starts_with("migration 2 (add_base_url) is recorded with checksum"),
        "{doc}"
    );
    // Repair records the file's checksum, and the warning is gone.
    sandbox.run(&["repair"]).ok();
    let run = sandbox.run(&["validate"]);
    assert!(!run.stderr.contains("warning"), "{}", run.stderr);
}
