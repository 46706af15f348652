//! `-- migrate:down noop`: `rollback` removes the history row, runs no SQL, and says so.

use crate::support::{ADD_BASE_URL, Sandbox};

/// Three migrations whose second marks its down section as a no-op.
fn with_noop_down() -> Sandbox {
    let sandbox = Sandbox::three_migrations();
    sandbox.write(
        "migrations/0002_add_base_url.sql",
        &format!("-- migrate:up\n{ADD_BASE_URL}\n-- migrate:down noop\n-- the column may stay\n"),
    );
    sandbox.run(&["migrate"]).ok();
    sandbox
}

#[test]
fn rollback_reports_the_step_as_a_no_op() {
    let sandbox = with_noop_down();
    let run = sandbox.run(&["rollback", "--steps", "2"]);
    run.ok();
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert!(
        lines[0].starts_with("undid 3 add_deleted_at ("),
        "{}",
        run.stdout
    );
    assert!(
        lines[1].starts_with("undid 2 add_base_url (no-op, nothing ran; "),
        "{}",
        run.stdout
    );
    assert!(
        lines[3].starts_with("rolled back 2 migrations in ")
            && lines[3].ends_with("(2 add_base_url a no-op: nothing ran)"),
        "{}",
        run.stdout
    );
    assert_eq!(sandbox.recorded(), [1]);
    assert_eq!(
        sandbox.columns("projects"),
        ["id", "name", "base_url"],
        "the no-op left its column"
    );
}

#[test]
fn json_marks_the_step_as_a_no_op() {
    let sandbox = with_noop_down();
    let run = sandbox.run(&["--format", "json", "rollback", "--steps", "2"]);
    let doc = run.ok().json();
    let steps = doc["steps"].as_array().unwrap();
    assert_eq!(
        steps
            .iter()
            .map(|s| (s["version"].as_u64().unwrap(), s["noop"].as_bool().unwrap()))
            .collect::<Vec<_>>(),
        [(3, false), (2, true)]
    );
    assert_eq!(sandbox.recorded(), [1]);
}

#[test]
fn the_dry_run_shows_a_no_op_not_a_refusal() {
    let sandbox = with_noop_down();
    let before = sandbox.db_bytes();
    let run = sandbox.run(&["rollback", "--to", "1", "--dry-run"]);
    run.ok();
    assert!(
        run.stdout
            .contains("-- 2 add_base_url (down, no-op)\n-- (nothing runs: the rollback only removes its history row)"),
        "{}",
        run.stdout
    );
    let run = sandbox.run(&["--format", "json", "rollback", "--to", "1", "--dry-run"]);
    let doc = run.ok().json();
    assert_eq!(doc["steps"][1]["version"], 2);
    assert_eq!(doc["steps"][1]["noop"], true);
    assert_eq!(doc["steps"][1]["sql"], serde_json::Value::Null);
    assert_eq!(doc["steps"][0]["noop"], false);
    assert_eq!(sandbox.db_bytes(), before);
}

#[test]
fn sql_after_the_marker_is_refused_naming_file_and_line() {
    let sandbox = Sandbox::project();
    sandbox.write(
        "migrations/0001_create_items.sql",
        "-- migrate:up\nCREATE TABLE items (id INTEGER);\n-- migrate:down noop\n-- a note\nDROP TABLE items;\n",
    );
    for args in [&["validate"][..], &["migrate"]] {
        let run = sandbox.run(args);
        run.code(1);
        assert!(
            run.stderr.contains("migrations/0001_create_items.sql:5: ")
                && run.stderr.contains("'-- migrate:down noop' (line 3)"),
            "{args:?}: {}",
            run.stderr
        );
    }
    sandbox.write(
        "migrations/0001_create_items.sql",
        "-- migrate:up\nCREATE TABLE items (id INTEGER);\n-- migrate:down noop transaction:false\n",
    );
    let run = sandbox.run(&["validate"]);
    run.code(1);
    assert!(
        run.stderr.contains("migrations/0001_create_items.sql:3: ")
            && run.stderr.contains("'transaction:false'"),
        "{}",
        run.stderr
    );
}
