//! `terrace lint`, and `migrate` linting first.

use crate::support::{CREATE_PROJECTS, Sandbox};

/// A project with one clean migration and one that drops a table.
fn with_a_drop() -> Sandbox {
    let sandbox = Sandbox::project();
    sandbox.migration(
        "0001_create_projects.sql",
        &format!("{CREATE_PROJECTS}\nCREATE TABLE legacy (id INTEGER);"),
        Some("DROP TABLE legacy;\nDROP TABLE projects;"),
    );
    sandbox.migration(
        "0002_drop_legacy.sql",
        "DROP TABLE legacy;",
        Some("CREATE TABLE legacy (id INTEGER);"),
    );
    sandbox
}

#[test]
fn prints_each_finding_and_fails_on_an_error() {
    let sandbox = with_a_drop();
    let run = sandbox.run(&["lint"]);
    run.code(1);
    assert_eq!(
        run.stdout,
        "migrations/0002_drop_legacy.sql:2: error[drop-table]: DROP TABLE deletes legacy and every \
         row in it; stop using the table first, drop it in a later release, and keep a backup; \
         suppress with a reason once that is so\n\
         1 error, 0 warnings in 2 migrations (sqlite)\n"
    );
    assert!(run.stderr.is_empty(), "{}", run.stderr);
    // Nothing was opened or created.
    assert!(sandbox.db_bytes().is_none());
}

#[test]
fn warnings_pass_unless_denied() {
    let sandbox = Sandbox::project();
    sandbox.migration("0001_create_projects.sql", CREATE_PROJECTS, None);
    let run = sandbox.run(&["lint"]);
    run.ok();
    assert_eq!(
        run.stdout,
        "migrations/0001_create_projects.sql:1: warning[no-down]: no down section: this migration \
         cannot be rolled back; write a down section, or `-- migrate:down noop` when undoing needs \
         no SQL\n0 errors, 1 warning in 1 migration (sqlite)\n"
    );
    sandbox.run(&["lint", "--deny-warnings"]).code(1);
}

#[test]
fn a_clean_folder_passes() {
    let sandbox = Sandbox::three_migrations();
    let run = sandbox.run(&["lint"]);
    run.ok();
    assert_eq!(run.stdout, "no findings in 3 migrations (sqlite)\n");
}

#[test]
fn json_lists_the_findings_and_counts() {
    let sandbox = with_a_drop();
    sandbox.migration(
        "0003_note.sql",
        "ALTER TABLE projects ADD COLUMN note TEXT;",
        None,
    );
    let run = sandbox.run(&["lint", "--format", "json"]);
    run.code(1);
    let doc = run.json();
    assert_eq!(doc["dialect"], "sqlite");
    assert_eq!(doc["migrations"], 3);
    assert_eq!(doc["errors"], 1);
    assert_eq!(doc["warnings"], 1);
    let first = &doc["findings"][0];
    assert_eq!(first["file"], "migrations/0002_drop_legacy.sql");
    assert_eq!(first["line"], 2);
    assert_eq!(first["version"], 2);
    assert_eq!(first["name"], "drop_legacy");
    assert_eq!(first["code"], "drop-table");
    assert_eq!(first["severity"], "error");
    assert_eq!(
        first["message"],
        "DROP TABLE deletes legacy and every row in it"
    );
    assert!(
        first["alternative"]
            .as_str()
            .unwrap()
            .starts_with("stop using the table")
    );
    assert_eq!(doc["findings"][1]["code"], "no-down");
    assert_eq!(doc["findings"][1]["severity"], "warning");
}

#[test]
fn suppressions_before_the_statement_at_its_end_and_file_wide() {
    let sandbox = Sandbox::project();
    sandbox.write(
        "migrations/0001_before.sql",
        "-- migrate:up\n-- terrace:allow drop-table: archived in 2.3\nDROP TABLE a;\n\
         -- migrate:down noop\n",
    );
    sandbox.write(
        "migrations/0002_end_of_line.sql",
        "-- migrate:up\nDROP TABLE b; -- terrace:allow drop-table\nDROP TABLE c;\n\
         -- migrate:down noop\n",
    );
    sandbox.write(
        "migrations/0003_file_wide.sql",
        "-- terrace:allow no-down, drop-table cleanup release\n-- migrate:up\nDROP TABLE d;\n",
    );
    sandbox.write(
        "migrations/0004_unknown.sql",
        "-- migrate:up\n-- terrace:allow drop-tabel\nDROP TABLE e;\n-- migrate:down noop\n",
    );
    let run = sandbox.run(&["lint", "--format", "json"]);
    run.code(1);
    let found: Vec<(String, u64, String)> = run.json()["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["name"].as_str().unwrap().to_owned(),
                f["line"].as_u64().unwrap(),
                f["code"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let expected = [
        ("end_of_line", 3, "drop-table"),
        ("unknown", 2, "unknown-suppression"),
        ("unknown", 3, "drop-table"),
    ]
    .map(|(name, line, code)| (name.to_owned(), line, code.to_owned()));
    assert_eq!(found, expected);
}

#[test]
fn the_dialect_comes_from_the_flag_or_the_configured_database() {
    let sandbox = Sandbox::project();
    sandbox.migration(
        "0001_index.sql",
        "CREATE INDEX projects_name ON projects (name);",
        Some("DROP INDEX projects_name;"),
    );
    // terrace.toml names a SQLite database: no PostgreSQL rule applies.
    sandbox.run(&["lint"]).ok();
    let run = sandbox.run(&["lint", "--dialect", "postgres"]);
    run.code(1);
    assert!(
        run.stdout.contains("error[pg-index-not-concurrent]"),
        "{}",
        run.stdout
    );
    let run = sandbox.run(&["--database", "postgres://u@localhost/x", "lint"]);
    run.code(1);
    assert!(run.stdout.ends_with("(postgres)\n"), "{}", run.stdout);

    let bare = Sandbox::empty();
    bare.migration("0001_a.sql", "SELECT 1;", Some("SELECT 1;"));
    let run = bare.run(&["lint"]);
    run.code(2);
    assert_eq!(
        run.stderr,
        "error: lint needs a dialect: no --dialect and no database configured\n\
         hint: pass --dialect sqlite|postgres|mysql, or configure the database with --database, \
         DATABASE_URL or `database` in terrace.toml (it is not opened)\n"
    );
    bare.run(&["lint", "--dialect", "mysql"]).ok();
}

#[test]
fn a_broken_file_is_named() {
    let sandbox = Sandbox::project();
    sandbox.write("migrations/0001_broken.sql", "CREATE TABLE a (id INT);\n");
    let run = sandbox.run(&["lint"]);
    run.code(1);
    assert!(run.stderr.contains("0001_broken.sql"), "{}", run.stderr);
}

#[test]
fn migrate_with_lint_stops_before_anything_runs() {
    let sandbox = with_a_drop();
    std::fs::rename(
        sandbox.path().join("migrations/0002_drop_legacy.sql"),
        sandbox.path().join("0002_drop_legacy.sql"),
    )
    .unwrap();
    sandbox.run(&["migrate"]).ok();
    std::fs::rename(
        sandbox.path().join("0002_drop_legacy.sql"),
        sandbox.path().join("migrations/0002_drop_legacy.sql"),
    )
    .unwrap();
    let before = sandbox.db_bytes().unwrap();

    let run = sandbox.run(&["migrate", "--lint"]);
    run.code(1);
    assert!(
        run.diagnostics().contains(
            "lint: migrations/0002_drop_legacy.sql:2: error[drop-table]: DROP TABLE \
             deletes legacy"
        ),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("error: lint found 1 error in the pending migrations; nothing was run\n"),
        "{}",
        run.stderr
    );
    assert_eq!(sandbox.db_bytes().unwrap(), before);

    // The setting does the same; --no-lint overrides it.
    sandbox.write(
        "terrace.toml",
        "database = \"sqlite:app.db\"\nlint = true\n",
    );
    let run = sandbox.run(&["migrate", "--format", "json"]);
    run.code(1);
    let doc = run.json();
    assert_eq!(doc["kind"], "lint");
    assert!(
        doc["warnings"][0]
            .as_str()
            .unwrap()
            .starts_with("lint: migrations/0002_drop_legacy.sql:2: error[drop-table]: "),
        "{doc}"
    );
    assert_eq!(sandbox.db_bytes().unwrap(), before);
    sandbox.run(&["migrate", "--no-lint"]).ok();
    assert_eq!(sandbox.recorded(), [1, 2]);
}

#[test]
fn migrate_with_lint_lints_only_pending_migrations_and_runs_past_warnings() {
    let sandbox = with_a_drop();
    sandbox.run(&["migrate"]).ok();
    sandbox.write(
        "terrace.toml",
        "database = \"sqlite:app.db\"\nlint = true\n",
    );
    sandbox.migration(
        "0003_note.sql",
        "ALTER TABLE projects ADD COLUMN note TEXT;",
        None,
    );
    let run = sandbox.run(&["migrate"]);
    run.ok();
    assert!(run.stderr.contains("warning[no-down]"), "{}", run.stderr);
    assert!(!run.stderr.contains("drop-table"), "{}", run.stderr);
    assert_eq!(sandbox.recorded(), [1, 2, 3]);
}

#[test]
fn migrate_with_lint_on_a_new_database_lints_every_migration_up_to_the_target() {
    let sandbox = with_a_drop();
    sandbox.write(
        "terrace.toml",
        "database = \"sqlite:app.db\"\nlint = true\n",
    );
    let run = sandbox.run(&["migrate"]);
    run.code(1);
    assert!(!run.stderr.contains("does not exist yet"), "{}", run.stderr);
    assert!(sandbox.db_bytes().is_none(), "no database file was created");
    sandbox.run(&["migrate", "--to", "1"]).ok();
    assert_eq!(sandbox.recorded(), [1]);
}

/// On a server: `migrate --lint` refuses a pending migration with an error finding in
/// the server's dialect, applies nothing (the history keeps its one row, and the
/// migration applies cleanly afterwards, so none of it ran), then `--no-lint` runs it.
fn migrate_with_lint_on_a_server(var: &str, up: &str, code: &str) {
    let db = crate::servers::ScratchDatabase::new(var);
    let sandbox = Sandbox::project();
    sandbox.write(
        "terrace.toml",
        &format!("database = \"{}\"\nlint = true\n", db.url),
    );
    sandbox.migration(
        "0001_create_orders.sql",
        "CREATE TABLE orders (id INT PRIMARY KEY, user_id INT);",
        Some("DROP TABLE orders;"),
    );
    sandbox.run(&["migrate"]).ok();
    sandbox.migration("0002_change_orders.sql", up, Some("SELECT 1;"));

    let run = sandbox.run(&["migrate"]);
    run.code(1);
    assert!(
        run.stderr
            .contains("lint: migrations/0002_change_orders.sql:")
            && run.stderr.contains(&format!("error[{code}]")),
        "{}",
        run.stderr
    );
    let history = sandbox.run(&["history", "--format", "json"]);
    history.ok();
    assert_eq!(history.json()["rows"].as_array().unwrap().len(), 1);

    sandbox.run(&["migrate", "--no-lint"]).ok();
    let history = sandbox.run(&["history", "--format", "json"]);
    assert_eq!(history.json()["rows"].as_array().unwrap().len(), 2);
}

#[test]
#[cfg_attr(
    not(terrace_test_postgres),
    ignore = "TERRACE_TEST_POSTGRES_URL was not set when the tests were built"
)]
fn migrate_with_lint_on_postgres() {
    migrate_with_lint_on_a_server(
        "TERRACE_TEST_POSTGRES_URL",
        "CREATE INDEX orders_user ON orders (user_id);",
        "pg-index-not-concurrent",
    );
}

#[test]
#[cfg_attr(
    not(terrace_test_mysql),
    ignore = "TERRACE_TEST_MYSQL_URL was not set when the tests were built"
)]
fn migrate_with_lint_on_mysql() {
    migrate_with_lint_on_a_server(
        "TERRACE_TEST_MYSQL_URL",
        "ALTER TABLE orders ADD COLUMN note TEXT;\nUPDATE orders SET note = '';",
        "mysql-ddl-with-dml",
    );
}
