//! Errors as scripts read them (`--format json`): one object with a stable `kind`, a
//! `message`, and the fields that locate the failure (see docs/json-errors.md); and, in
//! text, a `PATH:LINE` location and no driver structure.

use crate::servers::ScratchDatabase;
use crate::support::{ADD_BASE_URL, CREATE_PROJECTS, Sandbox};
use serde_json::{Value, json};

/// The failing migration's file: its statement starts on line 4.
const FAILING: &str =
    "-- migrate:up\n-- copy the old rows\n\nINSERT INTO nowhere (id)\nVALUES (1);\n";

/// A project whose third migration fails on its first statement, at line 4 of its file.
fn failing_project() -> Sandbox {
    let sandbox = Sandbox::project();
    sandbox.migration(
        "0001_create_projects.sql",
        CREATE_PROJECTS,
        Some("DROP TABLE projects;"),
    );
    sandbox.migration("0002_add_base_url.sql", ADD_BASE_URL, None);
    sandbox.write("migrations/0003_copy_rows.sql", FAILING);
    sandbox
}

/// Asserts what every backend reports alike for the failing migration.
#[track_caller]
fn assert_failed_migration(doc: &Value) {
    assert_eq!(doc["kind"], "migration_failed", "{doc:#}");
    assert_eq!(doc["version"], 3, "{doc:#}");
    assert_eq!(doc["name"], "copy_rows", "{doc:#}");
    assert_eq!(doc["file"], "migrations/0003_copy_rows.sql", "{doc:#}");
    assert_eq!(doc["line"], 4, "{doc:#}");
    assert_eq!(doc["statement"], "INSERT INTO nowhere (id)", "{doc:#}");
    assert_eq!(
        doc["applied"],
        json!([
            {"version": 1, "name": "create_projects"},
            {"version": 2, "name": "add_base_url"}
        ]),
        "{doc:#}"
    );
    let message = doc["message"].as_str().unwrap();
    assert!(message.contains("nowhere"), "{doc:#}");
    assert!(!message.contains("{ "), "{doc:#}");
    assert_eq!(message.matches("INSERT INTO nowhere").count(), 1, "{doc:#}");
}

/// Asserts that text output names the file and line as `PATH:LINE` and holds no
/// driver `Debug` structure.
#[track_caller]
fn assert_plain_text(stderr: &str, location: Option<&str>) {
    if let Some(location) = location {
        assert!(stderr.contains(location), "{stderr}");
        // The statement is quoted once, by its first line.
        assert_eq!(stderr.matches("INSERT INTO nowhere").count(), 1, "{stderr}");
    }
    for debug in [
        "{ ",
        "DbError",
        "DriverError",
        "MySqlError",
        "SqliteFailure",
    ] {
        assert!(!stderr.contains(debug), "{debug}: {stderr}");
    }
}

/// The failing project's JSON error, then its text error on a fresh project (and,
/// for a server, a fresh database: the JSON run left the first two applied).
fn failing_migration(json_db: Option<&str>, text_db: Option<&str>) -> (Value, String) {
    let run = |database: Option<&str>, json: bool| {
        let sandbox = failing_project();
        let mut args: Vec<&str> = Vec::new();
        if let Some(url) = database {
            args.extend(["--database", url]);
        }
        args.push("migrate");
        if json {
            args.extend(["--format", "json"]);
        }
        let run = sandbox.run(&args);
        run.code(1);
        run
    };
    let doc = run(json_db, true).json();
    (doc, run(text_db, false).stderr)
}

#[test]
fn a_failing_migration_on_sqlite() {
    let (doc, stderr) = failing_migration(None, None);
    assert_failed_migration(&doc);
    assert_eq!(doc["code"], 1, "{doc:#}");
    assert_eq!(doc["code_name"], "SQLITE_ERROR", "{doc:#}");
    assert!(doc.get("sqlstate").is_none(), "{doc:#}");
    assert_plain_text(&stderr, Some("migrations/0003_copy_rows.sql:4"));
}

#[test]
#[cfg_attr(
    not(terrace_test_postgres),
    ignore = "TERRACE_TEST_POSTGRES_URL was not set when the tests were built"
)]
fn a_failing_migration_on_postgres() {
    let (json_db, text_db) = (
        ScratchDatabase::new("TERRACE_TEST_POSTGRES_URL"),
        ScratchDatabase::new("TERRACE_TEST_POSTGRES_URL"),
    );
    let (doc, stderr) = failing_migration(Some(&json_db.url), Some(&text_db.url));
    assert_failed_migration(&doc);
    assert_eq!(doc["sqlstate"], "42P01", "{doc:#}");
    assert_plain_text(&stderr, Some("migrations/0003_copy_rows.sql:4"));
}

#[test]
#[cfg_attr(
    not(terrace_test_mysql),
    ignore = "TERRACE_TEST_MYSQL_URL was not set when the tests were built"
)]
fn a_failing_migration_on_mariadb() {
    let (json_db, text_db) = (
        ScratchDatabase::new("TERRACE_TEST_MYSQL_URL"),
        ScratchDatabase::new("TERRACE_TEST_MYSQL_URL"),
    );
    let (doc, stderr) = failing_migration(Some(&json_db.url), Some(&text_db.url));
    assert_failed_migration(&doc);
    assert_eq!(doc["sqlstate"], "42S02", "{doc:#}");
    assert_eq!(doc["code"], 1146, "{doc:#}");
    assert_plain_text(&stderr, Some("migrations/0003_copy_rows.sql:4"));
}

/// A refused connection on each backend: kind `connect`, in JSON and plain in text.
#[test]
fn a_refused_connection_on_each_backend() {
    let sandbox = Sandbox::project();
    // Nothing listens on port 1; a SQLite file in a folder that does not exist cannot
    // be opened.
    for url in [
        "sqlite:no/such/folder/app.db",
        "postgres://postgres@127.0.0.1:1/x",
        "mysql://root@127.0.0.1:1/x",
    ] {
        let doc = sandbox
            .run(&["--database", url, "migrate", "--format", "json"])
            .code(1)
            .json();
        assert_eq!(doc["kind"], "connect", "{doc:#}");
        assert!(
            doc["message"].as_str().unwrap().contains("cannot"),
            "{doc:#}"
        );
        assert!(
            doc["hint"].is_string() || url.starts_with("sqlite"),
            "{doc:#}"
        );
        let run = sandbox.run(&["--database", url, "migrate"]);
        run.code(1);
        assert_plain_text(&run.stderr, None);
    }
}

#[test]
fn a_validation_error_names_the_file_and_line() {
    let sandbox = Sandbox::project();
    sandbox.migration("0001_create_projects.sql", CREATE_PROJECTS, None);
    sandbox.write(
        "migrations/0002_add_base_url.sql",
        &format!("-- migrate:up\n{ADD_BASE_URL}\nCOMMIT;\n"),
    );
    let doc = sandbox.run(&["migrate", "--format", "json"]).code(1).json();
    assert_eq!(doc["kind"], "validation", "{doc:#}");
    assert_eq!(doc["file"], "migrations/0002_add_base_url.sql", "{doc:#}");
    assert_eq!(doc["line"], 3, "{doc:#}");
    assert_eq!(doc["details"][0]["kind"], "file", "{doc:#}");
    assert_eq!(doc["details"][0]["line"], 3, "{doc:#}");
    assert!(
        doc["message"].as_str().unwrap().contains("'COMMIT'"),
        "{doc:#}"
    );
    let run = sandbox.run(&["migrate"]);
    run.code(1);
    assert!(
        run.stderr
            .contains("  - migrations/0002_add_base_url.sql:3: 'COMMIT' controls"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_marker_problem_is_located_as_path_and_line_from_a_subfolder_too() {
    let sandbox = Sandbox::project();
    sandbox.write(
        "terrace.toml",
        "database = \"sqlite:app.db\"\ndir = \"migrations\"\n",
    );
    sandbox.write(
        "migrations/0001_create_projects.sql",
        &format!("-- migrate:up\n{CREATE_PROJECTS}\n-- migrate:up\n"),
    );
    let run = sandbox.run(&["validate"]);
    run.code(1);
    assert!(
        run.stderr
            .contains("migrations/0001_create_projects.sql:3: a second '-- migrate:up' marker"),
        "{}",
        run.stderr
    );
    // From a folder under the migrations folder's parent, the path is relative too
    // when the migrations folder is below the current folder; above it, it is whole.
    std::fs::create_dir(sandbox.path().join("sub")).unwrap();
    let run = sandbox.run_with("sub", &[], &["validate"]);
    run.code(1);
    let whole = sandbox
        .path()
        .join("migrations/0001_create_projects.sql:3:")
        .display()
        .to_string();
    assert!(run.stderr.contains(&whole), "{}", run.stderr);
}

#[test]
fn an_edited_applied_migration_is_a_checksum_mismatch() {
    let sandbox = Sandbox::three_migrations();
    sandbox.run(&["migrate"]).ok();
    sandbox.migration(
        "0002_add_base_url.sql",
        "ALTER TABLE projects ADD COLUMN base TEXT;",
        None,
    );
    let doc = sandbox.run(&["migrate", "--format", "json"]).code(1).json();
    assert_eq!(doc["kind"], "checksum_mismatch", "{doc:#}");
    assert_eq!(doc["version"], 2, "{doc:#}");
    assert_eq!(doc["name"], "add_base_url", "{doc:#}");
    assert_eq!(doc["file"], "migrations/0002_add_base_url.sql", "{doc:#}");
}

#[test]
fn usage_errors_are_of_kind_usage_and_exit_with_2() {
    let sandbox = Sandbox::project();
    let doc = sandbox
        .run(&["migrate", "--no-such-flag", "--format", "json"])
        .code(2)
        .json();
    assert_eq!(doc["kind"], "usage", "{doc:#}");
    assert!(
        doc["message"].as_str().unwrap().contains("--no-such-flag"),
        "{doc:#}"
    );
    assert_eq!(doc["hint"], "see `terrace --help`", "{doc:#}");

    let empty = Sandbox::empty();
    std::fs::create_dir(empty.path().join("migrations")).unwrap();
    let doc = empty.run(&["migrate", "--format", "json"]).code(2).json();
    assert_eq!(doc["kind"], "usage", "{doc:#}");
    assert_eq!(doc["message"], "no database given", "{doc:#}");
    assert!(
        doc["hint"].as_str().unwrap().contains("--database"),
        "{doc:#}"
    );
}

#[test]
fn every_error_keeps_its_one_line_text() {
    // `error` holds the whole text, as before `kind` and `message` existed.
    let sandbox = Sandbox::three_migrations();
    sandbox.run(&["migrate"]).ok();
    let doc = sandbox
        .run(&["rollback", "--to", "7", "--format", "json"])
        .code(2)
        .json();
    assert_eq!(doc["kind"], "unknown_target", "{doc:#}");
    assert_eq!(doc["version"], 7, "{doc:#}");
    assert_eq!(doc["error"], doc["message"], "{doc:#}");
}

#[test]
fn a_failing_rollback_lists_the_migrations_rolled_back_before_it() {
    let sandbox = Sandbox::three_migrations();
    sandbox.run(&["migrate"]).ok();
    sandbox.migration(
        "0001_create_projects.sql",
        CREATE_PROJECTS,
        Some("DROP TABLE nowhere;"),
    );
    sandbox.run(&["repair"]).ok();
    let doc = sandbox
        .run(&["rollback", "--to", "0", "--format", "json"])
        .code(1)
        .json();
    assert_eq!(doc["kind"], "migration_failed", "{doc:#}");
    assert_eq!(doc["direction"], "down", "{doc:#}");
    assert_eq!(doc["version"], 1, "{doc:#}");
    assert_eq!(
        doc["file"], "migrations/0001_create_projects.sql",
        "{doc:#}"
    );
    assert_eq!(doc["line"], 4, "{doc:#}");
    assert_eq!(
        doc["applied"],
        json!([
            {"version": 3, "name": "add_deleted_at"},
            {"version": 2, "name": "add_base_url"}
        ]),
        "{doc:#}"
    );
}

#[test]
fn a_protected_database_refusal_is_of_its_own_kind() {
    let sandbox = Sandbox::three_migrations();
    sandbox.write(
        "terrace.toml",
        "database = \"sqlite:app.db\"\nprotected = true\n",
    );
    let doc = sandbox
        .run(&["reset", "--yes", "--format", "json"])
        .code(1)
        .json();
    assert_eq!(doc["kind"], "protected", "{doc:#}");
    assert!(
        doc["hint"].as_str().unwrap().contains("protected = true"),
        "{doc:#}"
    );
}

#[test]
fn a_migrations_folder_given_whole_under_the_current_folder_is_shown_relative() {
    let sandbox = failing_project();
    let dir = sandbox.path().join("migrations").display().to_string();
    let run = sandbox.run(&["--dir", &dir, "migrate"]);
    run.code(1);
    assert!(
        run.stderr
            .contains("failed at migrations/0003_copy_rows.sql:4, in its up section"),
        "{}",
        run.stderr
    );
    let sandbox = failing_project();
    let dir = sandbox.path().join("migrations").display().to_string();
    let doc = sandbox
        .run(&["--dir", &dir, "migrate", "--format", "json"])
        .code(1)
        .json();
    assert_eq!(doc["file"], "migrations/0003_copy_rows.sql", "{doc:#}");
}
