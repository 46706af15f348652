//! `terrace baseline V`.

use crate::support::{ADD_BASE_URL, CREATE_PROJECTS, Sandbox};

#[test]
fn adopts_an_existing_schema_then_migrates_the_rest() {
    let sandbox = Sandbox::three_migrations();
    sandbox
        .open_db()
        .execute_batch(&format!("{CREATE_PROJECTS}\n{ADD_BASE_URL}"))
        .unwrap();
    let run = sandbox.run(&["baseline", "2"]);
    run.ok();
    assert_eq!(
        run.stdout,
        "recorded 1 create_projects\nrecorded 2 add_base_url\n\
         recorded 2 migrations as applied without running them\n"
    );
    assert_eq!(sandbox.recorded(), [1, 2]);
    let doc = sandbox.run(&["status", "--format", "json"]).ok().json();
    assert_eq!(
        (doc["applied_count"].as_u64(), doc["pending_count"].as_u64()),
        (Some(2), Some(1))
    );

    sandbox.run(&["migrate"]).ok();
    assert_eq!(sandbox.recorded(), [1, 2, 3]);
}

#[test]
fn refuses_a_database_with_history() {
    let sandbox = Sandbox::three_migrations();
    sandbox.run(&["migrate", "--to", "1"]).ok();
    let run = sandbox.run(&["baseline", "2"]);
    run.code(1);
    assert!(
        run.diagnostics()
            .starts_with("error: cannot baseline: the history already holds 1 migration(s)\n"),
        "{}",
        run.stderr
    );
    assert_eq!(sandbox.recorded(), [1]);
}

#[test]
fn json() {
    let sandbox = Sandbox::three_migrations();
    std::fs::write(sandbox.db_path(), b"").unwrap();
    let doc = sandbox
        .run(&["baseline", "1", "--format", "json"])
        .ok()
        .json();
    assert_eq!(
        doc,
        serde_json::json!({
            "baselined": [{"version": 1, "name": "create_projects"}],
            "database": "sqlite:app.db",
            "config": "terrace.toml"
        })
    );
}
