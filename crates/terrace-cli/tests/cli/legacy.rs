//! A database written by the original tool: its three-column `schema_migrations` with
//! versions 1 and 2 recorded.

use crate::support::{ADD_BASE_URL, CREATE_PROJECTS, Sandbox};

fn legacy_database(sandbox: &Sandbox) {
    sandbox
        .open_db()
        .execute_batch(&format!(
            "CREATE TABLE schema_migrations (
                 version INTEGER PRIMARY KEY,
                 name TEXT NOT NULL,
                 applied_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP
             );
             {CREATE_PROJECTS}
             {ADD_BASE_URL}
             INSERT INTO schema_migrations (version, name, applied_at) VALUES
                 (1, 'create_projects', '2024-01-02 03:04:05'),
                 (2, 'add_base_url', '2024-02-03 04:05:06');"
        ))
        .unwrap();
}

#[test]
fn status_shows_the_two_applied_without_touching_the_table() {
    let sandbox = Sandbox::three_migrations();
    legacy_database(&sandbox);
    let before = sandbox.db_bytes().unwrap();

    let run = sandbox.run(&["status"]);
    run.ok();
    assert!(
        run.stdout
            .contains("1        create_projects  2024-01-02 03:04:05  applied"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("2 applied, 1 pending"),
        "{}",
        run.stdout
    );

    let doc = sandbox.run(&["status", "--format", "json"]).ok().json();
    assert_eq!(doc["applied_count"], 2);
    assert_eq!(doc["pending_count"], 1);
    assert_eq!(doc["applied"][1]["applied_at"], "2024-02-03 04:05:06");
    assert_eq!(doc["applied"][1]["checksum_ok"], true);
    assert_eq!(doc["applied"][1]["checksum"], serde_json::Value::Null);
    assert_eq!(doc["problems"], serde_json::json!([]));
    assert_eq!(sandbox.db_bytes().unwrap(), before);
    assert_eq!(sandbox.columns("schema_migrations").len(), 3);
}

#[test]
fn migrate_applies_the_rest_and_upgrades_the_table() {
    let sandbox = Sandbox::three_migrations();
    legacy_database(&sandbox);
    let run = sandbox.run(&["migrate"]);
    run.ok();
    assert!(
        run.stdout.starts_with("ran 3 add_deleted_at (") && run.stdout.contains("\ncommitted 3\n"),
        "{}",
        run.stdout
    );
    assert_eq!(sandbox.recorded(), [1, 2, 3]);
    assert_eq!(
        sandbox.columns("schema_migrations"),
        [
            "version",
            "name",
            "applied_at",
            "checksum",
            "execution_ms",
            "state",
            "cumulative_checksum"
        ]
    );
    let run = sandbox.run(&["history"]);
    assert!(
        run.ok()
            .stdout
            .contains("2        add_base_url     2024-02-03 04:05:06  -         -"),
        "{}",
        run.stdout
    );
}

#[test]
fn another_tools_table_is_refused() {
    let sandbox = Sandbox::three_migrations();
    sandbox
        .open_db()
        .execute_batch("CREATE TABLE schema_migrations (version bigint NOT NULL PRIMARY KEY, dirty boolean NOT NULL);")
        .unwrap();
    let run = sandbox.run(&["migrate"]);
    run.code(1);
    assert!(run.stderr.contains("golang-migrate"), "{}", run.stderr);
}
