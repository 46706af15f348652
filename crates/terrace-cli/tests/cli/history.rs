//! `terrace history`.

use crate::support::Sandbox;

#[test]
fn the_tracking_table_oldest_first() {
    let sandbox = Sandbox::three_migrations();
    sandbox.run(&["migrate"]).ok();
    let run = sandbox.run(&["history"]);
    run.ok();
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines.len(), 4, "{}", run.stdout);
    assert!(
        lines[0].starts_with("VERSION  NAME             APPLIED AT           DURATION  CHECKSUM"),
        "{}",
        lines[0]
    );
    for (line, name) in lines[1..].iter().zip([
        "1        create_projects",
        "2        add_base_url",
        "3        add_deleted_at",
    ]) {
        assert!(line.starts_with(name), "{line}");
        assert!(line.contains(" ms "), "{line}");
        assert!(line.contains("sha256:"), "{line}");
        assert!(line.ends_with("applied"), "{line}");
    }
}

#[test]
fn json_rows_carry_execution_time() {
    let sandbox = Sandbox::three_migrations();
    sandbox.run(&["migrate", "--to", "2"]).ok();
    let doc = sandbox.run(&["history", "--format", "json"]).ok().json();
    assert_eq!(doc["table"], "schema_migrations");
    let rows = doc["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["version"], 1);
    assert_eq!(rows[1]["name"], "add_base_url");
    assert!(rows[1]["execution_ms"].is_i64());
    assert!(rows[1]["checksum"].as_str().unwrap().starts_with("sha256:"));
    assert_eq!(rows[1]["state"], "applied");
}

#[test]
fn needs_no_migrations_folder_and_reports_an_empty_history() {
    let sandbox = Sandbox::three_migrations();
    sandbox.run(&["migrate", "--to", "1"]).ok();
    std::fs::rename(
        sandbox.path().join("migrations"),
        sandbox.path().join("moved"),
    )
    .unwrap();
    let run = sandbox.run(&["history"]);
    assert!(
        run.ok().stdout.contains("1        create_projects"),
        "{}",
        run.stdout
    );

    let run = sandbox.run(&["history", "--table", "other_history"]);
    assert_eq!(
        run.ok().stdout.trim(),
        "no migrations recorded in other_history"
    );
}
