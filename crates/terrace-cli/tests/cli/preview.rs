//! The read-only commands on a SQLite database that does not exist yet — a new user's
//! first command: they show the new, empty database it would be, and create nothing.

use crate::support::{CREATE_PROJECTS, Sandbox};

const NOTE: &str = "note: database file app.db does not exist yet; nothing applied (`terrace migrate` creates it)\n";

#[track_caller]
fn nothing_created(sandbox: &Sandbox) {
    assert_eq!(sandbox.db_bytes(), None);
    assert_eq!(sandbox.files("."), ["migrations", "terrace.toml"]);
}

#[test]
fn status_shows_every_migration_pending() {
    let sandbox = Sandbox::three_migrations();
    let run = sandbox.run(&["status"]);
    run.ok();
    assert_eq!(run.stderr, NOTE);
    assert!(
        run.stdout.contains("0 applied, 3 pending"),
        "{}",
        run.stdout
    );
    let doc = sandbox.run(&["status", "--format", "json"]).ok().json();
    assert_eq!(
        (doc["applied_count"].as_u64(), doc["pending_count"].as_u64()),
        (Some(0), Some(3))
    );
    sandbox.run(&["status", "--check"]).code(1);
    nothing_created(&sandbox);
}

#[test]
fn a_dry_run_shows_every_migration_with_its_sql() {
    let sandbox = Sandbox::three_migrations();
    let run = sandbox.run(&["migrate", "--dry-run"]);
    run.ok();
    assert_eq!(run.diagnostics(), NOTE);
    assert!(
        run.stdout
            .starts_with("dry run: 3 migrations would be applied; nothing was changed"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains(CREATE_PROJECTS), "{}", run.stdout);
    let doc = sandbox
        .run(&["migrate", "--dry-run", "--format", "json"])
        .ok()
        .json();
    assert_eq!(doc["steps"].as_array().unwrap().len(), 3);
    assert_eq!(doc["steps"][0]["sql"], CREATE_PROJECTS);

    let run = sandbox.run(&["rollback", "--dry-run"]);
    run.ok();
    assert!(
        run.stdout.starts_with("dry run: nothing to roll back"),
        "{}",
        run.stdout
    );
    nothing_created(&sandbox);
}

#[test]
fn validate_and_history_read_the_empty_database() {
    let sandbox = Sandbox::three_migrations();
    let run = sandbox.run(&["validate"]);
    run.ok();
    assert_eq!(run.stderr, NOTE);
    assert!(
        run.stdout
            .contains("checked against the history: no problems"),
        "{}",
        run.stdout
    );
    let doc = sandbox.run(&["history", "--format", "json"]).ok().json();
    assert_eq!(doc["rows"].as_array().unwrap().len(), 0);
    nothing_created(&sandbox);
}

#[test]
fn commands_that_write_still_need_the_file() {
    let sandbox = Sandbox::three_migrations();
    for args in [["rollback"].as_slice(), &["repair"], &["baseline", "1"]] {
        let run = sandbox.run(args);
        run.code(1);
        assert!(
            run.stderr.contains("database file app.db does not exist"),
            "{args:?}: {}",
            run.stderr
        );
    }
    nothing_created(&sandbox);
}
