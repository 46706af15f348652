//! Errors that lead to the fix: plain messages without a driver's wrapping or a repeated
//! statement, and a hint for the failures people meet most.

use crate::servers::{ScratchDatabase, execute};
use crate::support::{CREATE_PROJECTS, Sandbox};

/// The hint line of a run's stderr.
fn hint(stderr: &str) -> &str {
    stderr
        .lines()
        .find_map(|line| line.strip_prefix("hint: "))
        .unwrap_or_else(|| panic!("no hint in:\n{stderr}"))
}

#[test]
fn a_refused_server_connection_reads_as_a_sentence_not_a_driver_structure() {
    let sandbox = Sandbox::project();
    // Nothing listens on port 1 of the loopback address.
    for url in [
        "mysql://root@127.0.0.1:1/x",
        "postgres://postgres@127.0.0.1:1/x",
    ] {
        let run = sandbox.run(&["--database", url, "status"]);
        run.code(1);
        assert!(
            run.stderr.contains(&format!(
                "error: cannot connect to {url}\n  caused by: connection refused\n"
            )),
            "{}",
            run.stderr
        );
        for debug in ["DriverError", "IoError", "{", "os error"] {
            assert!(!run.stderr.contains(debug), "{}", run.stderr);
        }
        let json = sandbox
            .run(&["--database", url, "status", "--format", "json"])
            .code(1)
            .json();
        assert_eq!(
            json["error"],
            format!("cannot connect to {url}: connection refused")
        );
    }
}

#[test]
fn a_failing_sqlite_statement_is_quoted_once() {
    let sandbox = Sandbox::project();
    let statement = "CREATE TABLE projects (id INTEGER, name TEXT, owner TEXT, created_at TEXT)";
    sandbox.migration(
        "0001_create_projects.sql",
        &format!("{CREATE_PROJECTS}\n{statement};"),
        None,
    );
    let run = sandbox.run(&["migrate"]);
    run.code(1);
    assert_eq!(run.stderr.matches(statement).count(), 1, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("caused by: table projects already exists\n"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("SQL logic error"), "{}", run.stderr);
    let json = sandbox.run(&["migrate", "--format", "json"]).code(1).json();
    let error = json["error"].as_str().unwrap();
    assert_eq!(error.matches(statement).count(), 1, "{error}");
}

#[track_caller]
fn assert_points_to_baseline(stderr: &str) {
    let hint = hint(stderr);
    assert!(
        hint.contains("already has this schema") && hint.contains("terrace baseline"),
        "{stderr}"
    );
}

#[test]
fn a_table_that_exists_after_reset_points_to_baseline_on_sqlite() {
    let sandbox = Sandbox::three_migrations();
    sandbox.run(&["migrate"]).ok();
    sandbox.run(&["reset", "--yes"]).ok();
    let run = sandbox.run(&["migrate"]);
    run.code(1);
    assert_points_to_baseline(&run.stderr);
    let json = sandbox.run(&["migrate", "--format", "json"]).code(1).json();
    assert!(
        json["hint"].as_str().unwrap().contains("terrace baseline"),
        "{json}"
    );
}

/// A project whose first migration creates a table the server database already has.
fn existing_schema_on(var: &str) {
    let db = ScratchDatabase::new(var);
    execute(&db.url, CREATE_PROJECTS);
    let sandbox = Sandbox::three_migrations();
    let run = sandbox.run(&["--database", &db.url, "migrate"]);
    run.code(1);
    assert_points_to_baseline(&run.stderr);
}

#[test]
#[cfg_attr(
    not(terrace_test_postgres),
    ignore = "TERRACE_TEST_POSTGRES_URL was not set when the tests were built"
)]
fn a_table_that_already_exists_points_to_baseline_on_postgres() {
    existing_schema_on("TERRACE_TEST_POSTGRES_URL");
}

#[test]
#[cfg_attr(
    not(terrace_test_mysql),
    ignore = "TERRACE_TEST_MYSQL_URL was not set when the tests were built"
)]
fn a_table_that_already_exists_points_to_baseline_on_mysql() {
    existing_schema_on("TERRACE_TEST_MYSQL_URL");
}

#[test]
#[cfg_attr(
    not(terrace_test_postgres),
    ignore = "TERRACE_TEST_POSTGRES_URL was not set when the tests were built"
)]
fn a_statement_that_cannot_run_in_a_transaction_points_to_transaction_false() {
    let db = ScratchDatabase::new("TERRACE_TEST_POSTGRES_URL");
    let sandbox = Sandbox::project();
    sandbox.migration("0001_create_projects.sql", CREATE_PROJECTS, None);
    sandbox.migration(
        "0002_index_projects.sql",
        "CREATE INDEX CONCURRENTLY projects_name ON projects (name);",
        None,
    );
    let run = sandbox.run(&["--database", &db.url, "migrate"]);
    run.code(1);
    assert!(
        hint(&run.stderr).contains("-- migrate:up transaction:false"),
        "{}",
        run.stderr
    );
}

#[test]
#[cfg_attr(
    not(terrace_test_postgres),
    ignore = "TERRACE_TEST_POSTGRES_URL was not set when the tests were built"
)]
fn an_enum_value_used_where_it_was_added_points_to_a_later_migration() {
    let db = ScratchDatabase::new("TERRACE_TEST_POSTGRES_URL");
    let sandbox = Sandbox::project();
    sandbox.migration(
        "0001_create_mood.sql",
        "CREATE TYPE mood AS ENUM ('sad');",
        None,
    );
    sandbox.migration(
        "0002_add_glad.sql",
        "ALTER TYPE mood ADD VALUE 'glad';\nCREATE TABLE moods (m mood DEFAULT 'glad');",
        None,
    );
    let run = sandbox.run(&["--database", &db.url, "migrate"]);
    run.code(1);
    let hint = hint(&run.stderr);
    assert!(
        hint.contains("later migration") && hint.contains("-- migrate:up transaction:false"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_duplicate_version_hint_names_the_migrations_and_terrace_new() {
    let sandbox = Sandbox::three_migrations();
    sandbox.migration("0003_add_owner.sql", "SELECT 1;", None);
    let run = sandbox.run(&["migrate"]);
    run.code(1);
    let hint = hint(&run.stderr);
    for expected in [
        "0003_add_deleted_at.sql",
        "0003_add_owner.sql",
        "terrace new",
    ] {
        assert!(hint.contains(expected), "{}", run.stderr);
    }
}

#[test]
#[cfg_attr(
    not(terrace_test_mysql),
    ignore = "TERRACE_TEST_MYSQL_URL was not set when the tests were built"
)]
fn a_lost_mysql_connection_reads_as_a_sentence_not_a_driver_structure() {
    use mysql::prelude::Queryable;
    let db = ScratchDatabase::new("TERRACE_TEST_MYSQL_URL");
    let sandbox = Sandbox::project();
    sandbox.migration("0001_wait.sql", "SELECT SLEEP(20);", None);
    let child = sandbox
        .command(".", &[], &["--database", &db.url, "migrate"])
        .spawn()
        .unwrap();
    // Once the migration runs, its connection is killed from another one.
    let terrace::Connection::Mysql(mut killer) = crate::servers::connect(&db.url) else {
        unreachable!("a MySQL URL");
    };
    let database = db.url.rsplit('/').next().unwrap().to_owned();
    let started = std::time::Instant::now();
    let id = loop {
        let id: Option<u64> = killer
            .exec_first(
                "SELECT id FROM information_schema.processlist \
                 WHERE db = ? AND info LIKE 'SELECT SLEEP%'",
                (database.as_str(),),
            )
            .unwrap();
        if let Some(id) = id {
            break id;
        }
        assert!(started.elapsed().as_secs() < 15, "the migration never ran");
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    killer.query_drop(format!("KILL {id}")).unwrap();
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("migration 1 (wait) failed"), "{stderr}");
    for debug in ["IoError", "DriverError", "{"] {
        assert!(!stderr.contains(debug), "{stderr}");
    }
}

#[test]
fn a_file_that_is_not_a_sqlite_database_is_named() {
    let sandbox = Sandbox::three_migrations();
    sandbox.write("notes.db", &"not a database at all\n".repeat(20));
    for command in ["status", "migrate"] {
        let run = sandbox.run(&["--database", "sqlite:notes.db", command]);
        run.code(1);
        assert!(
            run.stderr
                .contains("error: cannot open the database file notes.db: file is not a database"),
            "{command}: {}",
            run.stderr
        );
    }
}
