//! `terrace repair`.

use crate::support::Sandbox;

#[test]
fn accepts_an_edit_and_says_so() {
    let sandbox = Sandbox::three_migrations();
    sandbox.run(&["migrate"]).ok();
    sandbox.migration(
        "0002_add_base_url.sql",
        "ALTER TABLE projects ADD COLUMN base_url VARCHAR(200);",
        None,
    );
    sandbox.run(&["validate"]).code(1);

    let run = sandbox.run(&["repair"]);
    run.ok();
    assert_eq!(
        run.stdout,
        "made 1 change:\n  migration 2 (add_base_url): accepted its current checksum\n"
    );
    sandbox.run(&["validate"]).ok();
    assert_eq!(sandbox.run(&["repair"]).ok().stdout, "nothing to repair\n");
}

#[test]
fn reports_what_it_cannot_fix_with_exit_1() {
    let sandbox = Sandbox::three_migrations();
    sandbox.run(&["migrate"]).ok();
    std::fs::remove_file(sandbox.path().join("migrations/0003_add_deleted_at.sql")).unwrap();
    let run = sandbox.run(&["repair"]);
    run.code(1);
    assert_eq!(run.stdout, "nothing to repair\n");
    assert!(run.diagnostics().starts_with("error: 1 problem remains that repair does not fix:\n  - migration 3 (add_deleted_at) is recorded as applied but is newer than every migration here"), "{}", run.stderr);

    let run = sandbox.run(&["repair", "--format", "json"]);
    run.code(1);
    let doc = run.json();
    assert_eq!(doc["changes"], serde_json::json!([]));
    assert_eq!(doc["remaining"].as_array().unwrap().len(), 1);
}

#[test]
fn json_lists_changes() {
    let sandbox = Sandbox::three_migrations();
    sandbox.run(&["migrate"]).ok();
    sandbox.migration(
        "0001_create_projects.sql",
        "CREATE TABLE projects (id INTEGER PRIMARY KEY, name TEXT);",
        None,
    );
    let doc = sandbox.run(&["repair", "--format", "json"]).ok().json();
    assert_eq!(doc["changes"][0]["kind"], "checksum");
    assert_eq!(doc["changes"][0]["version"], 1);
    assert_eq!(
        doc["changes"][0]["message"],
        "migration 1 (create_projects): accepted its current checksum"
    );
    assert_eq!(doc["remaining"], serde_json::json!([]));
}
