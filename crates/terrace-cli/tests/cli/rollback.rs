//! `terrace rollback` (and its alias `down`).

use crate::support::{ADD_DELETED_AT, Sandbox};

#[test]
fn one_step_by_default() {
    let sandbox = Sandbox::three_migrations();
    sandbox.run(&["migrate"]).ok();
    let run = sandbox.run(&["rollback"]);
    run.ok();
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert!(
        lines[0].starts_with("undid 3 add_deleted_at ("),
        "{}",
        run.stdout
    );
    assert_eq!(lines[1], "committed 3");
    assert!(
        lines[2].starts_with("rolled back 1 migration in "),
        "{}",
        run.stdout
    );
    assert_eq!(sandbox.recorded(), [1, 2]);
    assert_eq!(sandbox.columns("projects"), ["id", "name", "base_url"]);
}

#[test]
fn steps_and_to() {
    let sandbox = Sandbox::three_migrations();
    sandbox.run(&["migrate"]).ok();
    sandbox.run(&["down", "--steps", "2"]).ok();
    assert_eq!(sandbox.recorded(), [1]);

    sandbox.run(&["migrate"]).ok();
    let run = sandbox.run(&["rollback", "--to", "1"]);
    run.ok();
    assert!(
        run.stdout.contains("undid 3 add_deleted_at")
            && run.stdout.contains("undid 2 add_base_url")
            && run.stdout.contains("\ncommitted 3 to 2\n"),
        "{}",
        run.stdout
    );
    assert_eq!(sandbox.recorded(), [1]);

    sandbox.run(&["rollback", "--to", "0"]).ok();
    assert_eq!(sandbox.recorded(), Vec::<i64>::new());
    let run = sandbox.run(&["rollback"]);
    assert_eq!(run.ok().stdout.trim(), "nothing to roll back");
}

#[test]
fn refuses_before_changing_anything_when_a_migration_has_no_down() {
    let sandbox = Sandbox::three_migrations();
    sandbox.migration("0003_add_deleted_at.sql", ADD_DELETED_AT, None);
    sandbox.run(&["migrate"]).ok();
    let before = sandbox.db_bytes().unwrap();
    let run = sandbox.run(&["rollback", "--steps", "2"]);
    run.code(1);
    assert!(
        run.diagnostics()
            .starts_with("error: cannot roll back: 3 (add_deleted_at) has no down section\n"),
        "{}",
        run.stderr
    );
    assert!(run.stdout.is_empty(), "{}", run.stdout);
    assert_eq!(sandbox.db_bytes().unwrap(), before);
    assert_eq!(sandbox.recorded(), [1, 2, 3]);
}

#[test]
fn dry_run_prints_the_down_sql_and_changes_nothing() {
    let sandbox = Sandbox::three_migrations();
    sandbox.run(&["migrate"]).ok();
    let before = sandbox.db_bytes().unwrap();
    let run = sandbox.run(&["rollback", "--steps", "2", "--dry-run"]);
    run.ok();
    assert!(
        run.stdout
            .starts_with("dry run: 2 migrations would be rolled back; nothing was changed\n"),
        "{}",
        run.stdout
    );
    let deleted_at = run
        .stdout
        .find("-- 3 add_deleted_at (down)\nALTER TABLE projects DROP COLUMN deleted_at;")
        .unwrap();
    let base_url = run
        .stdout
        .find("-- 2 add_base_url (down)\nALTER TABLE projects DROP COLUMN base_url;")
        .unwrap();
    assert!(deleted_at < base_url, "newest first");
    assert_eq!(sandbox.db_bytes().unwrap(), before);
}

#[test]
fn usage_errors() {
    let sandbox = Sandbox::three_migrations();
    sandbox.run(&["migrate"]).ok();
    sandbox.run(&["rollback", "--steps", "0"]).code(2);
    sandbox
        .run(&["rollback", "--steps", "1", "--to", "1"])
        .code(2);
    let run = sandbox.run(&["rollback", "--to", "7"]);
    run.code(2);
    assert!(
        run.stderr.contains("version 7 is not a known migration"),
        "{}",
        run.stderr
    );
    assert_eq!(sandbox.recorded(), [1, 2, 3]);
}

#[test]
fn json() {
    let sandbox = Sandbox::three_migrations();
    sandbox.run(&["migrate"]).ok();
    let doc = sandbox
        .run(&["rollback", "--steps", "2", "--format", "json"])
        .ok()
        .json();
    assert_eq!(doc["direction"], "down");
    assert_eq!(doc["dry_run"], false);
    assert_eq!(doc["steps"][0]["version"], 3);
    assert_eq!(doc["steps"][1]["version"], 2);
    assert_eq!(doc["steps"].as_array().unwrap().len(), 2);
}

#[test]
fn a_protected_database_refuses_every_rollback_but_a_dry_run() {
    let sandbox = Sandbox::three_migrations();
    sandbox.write(
        "terrace.toml",
        "database = \"sqlite:app.db\"\nprotected = true\n",
    );
    sandbox.run(&["migrate"]).ok();
    for args in [
        &["rollback"][..],
        &["rollback", "--to", "0"][..],
        &["rollback", "--steps", "2"][..],
        &["down"][..],
        &["rollback", "--format", "json"][..],
    ] {
        let run = sandbox.run(args);
        run.code(1);
        assert!(
            run.all()
                .contains("refusing to roll back: terrace.toml marks this database as protected"),
            "{args:?}: {}",
            run.all()
        );
        assert!(
            run.all().contains("`protected = true` in terrace.toml"),
            "{args:?}: {}",
            run.all()
        );
    }
    assert_eq!(sandbox.recorded(), [1, 2, 3]);
    let run = sandbox.run(&["rollback", "--to", "0", "--dry-run"]);
    run.ok();
    assert!(
        run.stdout.contains("DROP TABLE projects;"),
        "{}",
        run.stdout
    );
    assert_eq!(sandbox.recorded(), [1, 2, 3]);
}
