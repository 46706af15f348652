//! `terrace renumber`: migrations that share a version after a merge get the next free
//! versions; a migration a database has applied never moves.

use crate::servers::ScratchDatabase;
use crate::support::{ADD_BASE_URL, CREATE_PROJECTS, Sandbox};

/// A folder (no database configured) where two branches each added migration 2.
fn merged() -> Sandbox {
    let sandbox = Sandbox::empty();
    sandbox.migration("0001_create_projects.sql", CREATE_PROJECTS, None);
    sandbox.migration("0002_add_base_url.sql", ADD_BASE_URL, None);
    sandbox.migration(
        "0002_add_owner.sql",
        "ALTER TABLE projects ADD COLUMN owner TEXT;",
        None,
    );
    sandbox
}

#[test]
fn named_files_move_after_the_highest_version() {
    let sandbox = merged();
    sandbox.migration(
        "0003_add_owner_index.sql",
        "CREATE INDEX projects_owner ON projects (owner);",
        None,
    );
    let run = sandbox.run(&[
        "renumber",
        "migrations/0003_add_owner_index.sql",
        "0002_add_owner.sql",
    ]);
    assert_eq!(
        run.ok().stdout,
        "renumbered 2 migrations:\n  0002_add_owner.sql → 0003_add_owner.sql\n  \
         0003_add_owner_index.sql → 0004_add_owner_index.sql\n"
    );
    assert_eq!(
        sandbox.files("migrations"),
        [
            "0001_create_projects.sql",
            "0002_add_base_url.sql",
            "0003_add_owner.sql",
            "0004_add_owner_index.sql"
        ]
    );
    let text = std::fs::read_to_string(sandbox.path().join("migrations/0003_add_owner.sql"));
    assert!(text.unwrap().contains("ADD COLUMN owner"));
    sandbox.run(&["validate"]).ok();
    sandbox.run(&["renumber"]).ok();
}

#[test]
fn json_lists_the_moves() {
    let sandbox = merged();
    let doc = sandbox
        .run(&["renumber", "0002_add_owner.sql", "--format", "json"])
        .ok()
        .json();
    assert_eq!(
        doc,
        serde_json::json!({
            "dry_run": false,
            "database_checked": false,
            "moves": [{
                "from": "0002_add_owner.sql",
                "to": "0003_add_owner.sql",
                "from_version": 2,
                "to_version": 3
            }],
            "sum": null
        })
    );
}

#[test]
fn a_dry_run_renames_nothing() {
    let sandbox = merged();
    sandbox.run(&["sum"]).ok();
    let sum = std::fs::read(sandbox.path().join("migrations/terrace.sum")).unwrap();
    let before = sandbox.files("migrations");
    let run = sandbox.run(&["renumber", "--dry-run", "0002_add_owner.sql"]);
    assert_eq!(
        run.ok().stdout,
        "would renumber 1 migration:\n  0002_add_owner.sql → 0003_add_owner.sql\n\
         (dry run: nothing was renamed)\n"
    );
    let doc = sandbox
        .run(&[
            "renumber",
            "--dry-run",
            "0002_add_owner.sql",
            "--format",
            "json",
        ])
        .ok()
        .json();
    assert_eq!(doc["dry_run"], true);
    assert_eq!(doc["moves"][0]["to"], "0003_add_owner.sql");
    assert_eq!(doc["sum"], serde_json::Value::Null);
    assert_eq!(sandbox.files("migrations"), before);
    assert_eq!(
        std::fs::read(sandbox.path().join("migrations/terrace.sum")).unwrap(),
        sum
    );
}

#[test]
fn collisions_without_a_database_are_refused_naming_the_files() {
    let sandbox = merged();
    let before = sandbox.files("migrations");
    let run = sandbox.run(&["renumber"]);
    assert_eq!(
        run.code(1).stderr,
        "error: migrations share a version:\n  \
         version 2: 0002_add_base_url.sql, 0002_add_owner.sql\n\
         name the file(s) to move (`terrace renumber FILE…`), or give the --database of a \
         shared database, whose applied migrations stay\n"
    );
    let doc = sandbox
        .run(&["renumber", "--format", "json"])
        .code(1)
        .json();
    assert_eq!(doc["kind"], "refused", "{doc:#}");
    assert!(
        doc["message"]
            .as_str()
            .unwrap()
            .contains("version 2: 0002_add_base_url.sql, 0002_add_owner.sql"),
        "{doc:#}"
    );
    assert_eq!(sandbox.files("migrations"), before);
}

#[test]
fn a_sequential_folder_needs_nothing_and_a_gap_is_refused() {
    let sandbox = Sandbox::empty();
    sandbox.migration("0001_create_projects.sql", CREATE_PROJECTS, None);
    sandbox.migration("0002_add_base_url.sql", ADD_BASE_URL, None);
    let run = sandbox.run(&["renumber"]);
    assert_eq!(
        run.ok().stdout,
        "nothing to renumber: every migration has a version of its own, without gaps\n"
    );
    let doc = sandbox.run(&["renumber", "--format", "json"]).ok().json();
    assert_eq!(doc["moves"], serde_json::json!([]));

    sandbox.migration("0005_add_owner.sql", "SELECT 1;", None);
    let run = sandbox.run(&["renumber"]);
    assert!(
        run.code(1)
            .stderr
            .starts_with("error: versions are missing: 3 to 4; name the file(s) to move"),
        "{}",
        run.stderr
    );
    sandbox.run(&["renumber", "0005_add_owner.sql"]).ok();
    assert_eq!(sandbox.files("migrations")[2], "0003_add_owner.sql");
}

#[test]
fn the_folders_padding_is_kept() {
    let sandbox = Sandbox::empty();
    for v in 1..=9 {
        sandbox.migration(&format!("{v}_create_table_{v}.sql"), "SELECT 1;", None);
    }
    sandbox.migration("9_add_owner.sql", "SELECT 1;", None);
    sandbox.run(&["renumber", "9_add_owner.sql"]).ok();
    assert!(
        sandbox
            .files("migrations")
            .contains(&"10_add_owner.sql".to_owned())
    );
}

#[test]
fn files_outside_the_folder_or_not_migrations_are_refused() {
    let sandbox = merged();
    sandbox.write("elsewhere/0002_add_owner.sql", "-- migrate:up\nSELECT 1;\n");
    let run = sandbox.run(&["renumber", "elsewhere/0002_add_owner.sql"]);
    assert!(
        run.code(2)
            .stderr
            .contains("elsewhere/0002_add_owner.sql is not in the migrations folder migrations"),
        "{}",
        run.stderr
    );
    let run = sandbox.run(&["renumber", "0009_add_nothing.sql"]);
    assert!(
        run.code(1)
            .stderr
            .contains("0009_add_nothing.sql is not a migration file"),
        "{}",
        run.stderr
    );
}

/// The same merge against a database that applied one branch's migration 2: that one
/// stays, the other moves, a dry run renames nothing and naming the applied one is
/// refused.
fn with_a_database(url: &str) {
    let sandbox = Sandbox::empty();
    let terrace = |args: &[&str]| {
        let mut all = vec!["--database", url];
        all.extend_from_slice(args);
        sandbox.run(&all)
    };
    sandbox.migration("0001_create_projects.sql", CREATE_PROJECTS, None);
    sandbox.migration("0002_add_base_url.sql", ADD_BASE_URL, None);
    terrace(&["sum"]).ok();
    terrace(&["migrate"]).ok();
    // The other branch's migrations arrive with the merge.
    sandbox.migration(
        "0002_add_owner.sql",
        "ALTER TABLE projects ADD COLUMN owner TEXT;",
        None,
    );
    sandbox.migration(
        "0003_create_owners.sql",
        "CREATE TABLE owners (id INTEGER PRIMARY KEY);",
        None,
    );
    let before = sandbox.files("migrations");

    let run = terrace(&["renumber", "--dry-run"]);
    assert!(
        run.ok()
            .stdout
            .contains("would renumber 1 migration:\n  0002_add_owner.sql → 0004_add_owner.sql"),
        "{}",
        run.stdout
    );
    assert_eq!(sandbox.files("migrations"), before);

    let run = terrace(&["renumber", "0002_add_base_url.sql"]);
    assert!(
        run.code(1).stderr.contains(
            "0002_add_base_url.sql (version 2) is applied to the database, so its version \
             cannot change"
        ),
        "{}",
        run.stderr
    );
    assert_eq!(sandbox.files("migrations"), before);

    let doc = terrace(&["renumber", "--format", "json"]).ok().json();
    assert_eq!(doc["database_checked"], true);
    assert_eq!(
        doc["moves"],
        serde_json::json!([{
            "from": "0002_add_owner.sql",
            "to": "0004_add_owner.sql",
            "from_version": 2,
            "to_version": 4
        }])
    );
    assert_eq!(doc["sum"], "migrations/terrace.sum");
    assert_eq!(
        sandbox.files("migrations"),
        [
            "0001_create_projects.sql",
            "0002_add_base_url.sql",
            "0003_create_owners.sql",
            "0004_add_owner.sql",
            "terrace.sum"
        ]
    );
    terrace(&["validate"]).ok();
    let run = terrace(&["renumber"]);
    assert!(run.ok().stdout.starts_with("nothing to renumber"));
    terrace(&["migrate"]).ok();
    terrace(&["validate"]).ok();
}

#[test]
fn with_a_database_on_sqlite() {
    with_a_database("sqlite:app.db");
}

#[test]
#[cfg_attr(
    not(terrace_test_postgres),
    ignore = "TERRACE_TEST_POSTGRES_URL was not set when the tests were built"
)]
fn with_a_database_on_postgres() {
    let db = ScratchDatabase::new("TERRACE_TEST_POSTGRES_URL");
    with_a_database(&db.url);
}

#[test]
#[cfg_attr(
    not(terrace_test_mysql),
    ignore = "TERRACE_TEST_MYSQL_URL was not set when the tests were built"
)]
fn with_a_database_on_mysql() {
    let db = ScratchDatabase::new("TERRACE_TEST_MYSQL_URL");
    with_a_database(&db.url);
}
