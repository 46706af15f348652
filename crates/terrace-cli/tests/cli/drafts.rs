//! A draft — a file just written by `terrace new`, its up section still empty — does
//! not stop commands it has nothing to do with: `status` lists it as pending with its
//! problem, `rollback` of applied migrations goes ahead; `migrate` refuses, naming it.

use crate::support::Sandbox;

const DRAFT: &str = "migrations/0004_add_owner.sql";

/// Three applied migrations and a draft written by `terrace new`.
fn applied_and_a_draft() -> Sandbox {
    let sandbox = Sandbox::three_migrations();
    sandbox.run(&["migrate"]).ok();
    let run = sandbox.run(&["new", "add_owner"]);
    run.ok();
    assert_eq!(run.stdout.trim(), DRAFT);
    sandbox
}

#[test]
fn status_lists_a_draft_as_pending_with_its_problem() {
    let sandbox = applied_and_a_draft();
    let run = sandbox.run(&["status"]);
    run.ok();
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(
        lines[4], "4        add_owner                             pending: the up section is empty",
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("3 applied, 1 pending"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains(&format!("1 problem:\n  - {DRAFT}: the up section is empty")),
        "{}",
        run.stdout
    );
    sandbox.run(&["status", "--check"]).code(1);

    let doc = sandbox.run(&["status", "--format", "json"]).ok().json();
    assert_eq!(doc["pending_count"], 1);
    assert_eq!(doc["pending"][0]["version"], 4);
    assert_eq!(doc["pending"][0]["name"], "add_owner");
    assert_eq!(
        doc["pending"][0]["problem"],
        format!("{DRAFT}: the up section is empty")
    );
    assert_eq!(doc["applied"][2]["checksum_ok"], true);
}

#[test]
fn a_ready_pending_migration_has_no_problem() {
    let sandbox = Sandbox::three_migrations();
    sandbox.run(&["migrate", "--to", "2"]).ok();
    let doc = sandbox.run(&["status", "--format", "json"]).ok().json();
    assert_eq!(doc["pending"][0]["version"], 3);
    let pending = doc["pending"][0].as_object().unwrap();
    assert!(pending["problem"].is_null(), "{doc}");
}

#[test]
fn a_draft_does_not_stop_a_rollback() {
    let sandbox = applied_and_a_draft();
    let run = sandbox.run(&["rollback", "--dry-run"]);
    run.ok();
    assert!(
        run.stdout
            .starts_with("dry run: 1 migration would be rolled back"),
        "{}",
        run.stdout
    );
    let run = sandbox.run(&["rollback"]);
    run.ok();
    assert!(
        run.stdout.contains("undid 3 add_deleted_at"),
        "{}",
        run.stdout
    );
    assert_eq!(sandbox.recorded(), [1, 2]);
    let doc = sandbox.run(&["rollback", "--format", "json"]).ok().json();
    assert_eq!(doc["steps"][0]["version"], 2);
    assert_eq!(sandbox.recorded(), [1]);
}

#[test]
fn migrate_refuses_naming_the_draft() {
    let sandbox = applied_and_a_draft();
    let before = sandbox.db_bytes();
    let run = sandbox.run(&["migrate"]);
    run.code(1);
    assert!(
        run.stderr
            .contains(&format!("{DRAFT}: the up section is empty")),
        "{}",
        run.stderr
    );
    assert_eq!(sandbox.db_bytes(), before);
    sandbox.run(&["migrate", "--dry-run"]).code(1);
    sandbox.run(&["validate"]).code(1);
}

#[test]
fn an_edited_applied_migration_still_stops_a_rollback() {
    let sandbox = applied_and_a_draft();
    sandbox.migration(
        "0002_add_base_url.sql",
        "ALTER TABLE projects ADD COLUMN base_url TEXT NOT NULL DEFAULT '';",
        Some("ALTER TABLE projects DROP COLUMN base_url;"),
    );
    for args in [&["rollback"][..], &["rollback", "--dry-run"]] {
        let run = sandbox.run(args);
        run.code(1);
        assert!(
            run.stderr
                .contains("migration 2 (add_base_url) was edited after it was applied"),
            "{}",
            run.stderr
        );
        assert!(!run.stderr.contains(DRAFT), "{}", run.stderr);
    }
    assert_eq!(sandbox.recorded(), [1, 2, 3]);
}

#[test]
fn a_draft_stops_neither_repair_nor_a_baseline_below_it() {
    let sandbox = applied_and_a_draft();
    sandbox.migration(
        "0002_add_base_url.sql",
        "ALTER TABLE projects ADD COLUMN base_url TEXT NOT NULL DEFAULT '';",
        Some("ALTER TABLE projects DROP COLUMN base_url;"),
    );
    // Repair accepts the edit; the draft is what remains, as `migrate` would say.
    let run = sandbox.run(&["repair"]);
    run.code(1);
    assert!(run.stdout.starts_with("made 1 change:"), "{}", run.stdout);
    assert!(
        run.diagnostics().starts_with(&format!(
            "error: 1 problem remains that repair does not fix:\n  - {DRAFT}: the up section is empty"
        )),
        "{}",
        run.stderr
    );
    let doc = sandbox.run(&["status", "--format", "json"]).ok().json();
    assert_eq!(doc["applied"][1]["checksum_ok"], true);

    sandbox.run(&["reset", "--yes"]).ok();
    sandbox.run(&["baseline", "3"]).ok();
    assert_eq!(sandbox.recorded(), [1, 2, 3]);
    sandbox.run(&["reset", "--yes"]).ok();
    let run = sandbox.run(&["baseline", "4"]);
    run.code(1);
    assert!(run.stderr.contains(DRAFT), "{}", run.stderr);
}
