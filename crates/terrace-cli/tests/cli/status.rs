//! `terrace status`.

use crate::support::Sandbox;

#[test]
fn text_lists_every_migration_with_its_state() {
    let sandbox = Sandbox::three_migrations();
    sandbox.run(&["migrate", "--to", "2"]).ok();
    let run = sandbox.run(&["status"]);
    run.ok();
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(
        lines[0],
        "VERSION  NAME             APPLIED AT           STATE"
    );
    assert!(
        lines[1].starts_with("1        create_projects  20") && lines[1].ends_with("  applied"),
        "{}",
        lines[1]
    );
    assert!(
        lines[2].starts_with("2        add_base_url     20") && lines[2].ends_with("  applied"),
        "{}",
        lines[2]
    );
    assert_eq!(
        lines[3],
        "3        add_deleted_at                        pending"
    );
    assert_eq!(lines[4], "");
    assert_eq!(lines[5], "2 applied, 1 pending");
    assert_eq!(lines.len(), 6, "{}", run.stdout);
}

#[test]
fn json_field_by_field() {
    let sandbox = Sandbox::three_migrations();
    sandbox.run(&["migrate", "--to", "2"]).ok();
    let run = sandbox.run(&["status", "--format", "json"]);
    run.ok();
    assert!(run.stderr.is_empty());
    let doc = run.json();
    assert_eq!(doc["applied_count"], 2);
    assert_eq!(doc["pending_count"], 1);
    assert_eq!(doc["up_to_date"], false);
    let applied = doc["applied"].as_array().unwrap();
    assert_eq!(applied.len(), 2);
    assert_eq!(applied[0]["version"], 1);
    assert_eq!(applied[0]["name"], "create_projects");
    assert!(applied[0]["applied_at"].as_str().unwrap().starts_with("20"));
    assert_eq!(applied[0]["checksum_ok"], true);
    assert!(
        applied[0]["checksum"]
            .as_str()
            .unwrap()
            .starts_with("sha256:")
    );
    assert!(applied[0]["execution_ms"].is_i64());
    assert_eq!(applied[0]["state"], "applied");
    assert_eq!(applied[1]["version"], 2);
    assert_eq!(applied[1]["name"], "add_base_url");
    assert_eq!(
        doc["pending"],
        serde_json::json!([{"version": 3, "name": "add_deleted_at", "problem": null}])
    );
    assert_eq!(doc["dirty"], serde_json::json!([]));
    assert_eq!(doc["problems"], serde_json::json!([]));
}

#[test]
fn check_fails_while_anything_is_pending() {
    let sandbox = Sandbox::three_migrations();
    sandbox.run(&["migrate", "--to", "1"]).ok();
    sandbox.run(&["status", "--check"]).code(1);
    sandbox
        .run(&["status", "--check", "--format", "json"])
        .code(1);
    sandbox.run(&["migrate"]).ok();
    let run = sandbox.run(&["status", "--check"]);
    run.ok();
    assert!(
        run.stdout.ends_with("3 applied, 0 pending: up to date\n"),
        "{}",
        run.stdout
    );
}

#[test]
fn an_edited_migration_is_shown_and_fails_the_check() {
    let sandbox = Sandbox::three_migrations();
    sandbox.run(&["migrate"]).ok();
    sandbox.migration(
        "0002_add_base_url.sql",
        "ALTER TABLE projects ADD COLUMN base_url TEXT NOT NULL DEFAULT '';",
        None,
    );
    let run = sandbox.run(&["status", "--check"]);
    run.code(1);
    assert!(
        run.stdout.lines().nth(2).unwrap().ends_with("  edited"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("1 problem:\n  - migration 2 (add_base_url) was edited after it was applied"),
        "{}",
        run.stdout
    );

    let doc = sandbox.run(&["status", "--format", "json"]).ok().json();
    assert_eq!(doc["applied"][1]["checksum_ok"], false);
    assert_eq!(doc["problems"].as_array().unwrap().len(), 1);
}

#[test]
fn an_empty_database_has_everything_pending_and_gets_no_table() {
    let sandbox = Sandbox::three_migrations();
    std::fs::write(sandbox.db_path(), b"").unwrap();
    let doc = sandbox.run(&["status", "--format", "json"]).ok().json();
    assert_eq!(
        (doc["applied_count"].as_u64(), doc["pending_count"].as_u64()),
        (Some(0), Some(3))
    );
    assert_eq!(sandbox.db_bytes().unwrap(), b"");
}

#[test]
fn no_database_configured_is_a_usage_error() {
    let sandbox = Sandbox::empty();
    let run = sandbox.run(&["status"]);
    run.code(2);
    assert!(
        run.stderr
            .starts_with("error: no database given\nhint: pass --database"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_dirty_migration_is_counted_apart_and_fails_the_check() {
    let sandbox = Sandbox::three_migrations();
    sandbox.write(
        "migrations/0002_add_base_url.sql",
        "-- migrate:up transaction:false\nALTER TABLE projects ADD COLUMN base_url TEXT;\nINSERT INTO nowhere VALUES (1);\n",
    );
    sandbox.run(&["migrate"]).code(1);
    let run = sandbox.run(&["status", "--check"]);
    run.code(1);
    assert!(
        run.stdout.contains("1 applied, 1 pending, 1 dirty"),
        "{}",
        run.stdout
    );
    let doc = sandbox.run(&["status", "--format", "json"]).json();
    assert_eq!(doc["dirty"][0]["version"], 2);
}

#[test]
fn hundreds_of_migrations_are_all_verified_and_every_problem_reported() {
    // Enough files for the folder to be read on several threads, with the database
    // opened beside them.
    let sandbox = Sandbox::project();
    for v in 1..=300 {
        sandbox.migration(
            &format!("{v:04}_create_table_{v}.sql"),
            &format!("CREATE TABLE t{v} (id INTEGER PRIMARY KEY);"),
            Some(&format!("DROP TABLE t{v};")),
        );
    }
    sandbox.run(&["migrate"]).ok();
    sandbox.run(&["status", "--check"]).ok();
    sandbox.migration(
        "0007_create_table_7.sql",
        "CREATE TABLE t7 (id INTEGER PRIMARY KEY, v TEXT);",
        None,
    );
    sandbox.migration(
        "0250_create_table_250.sql",
        "BEGIN;\nCREATE TABLE t250 (id INTEGER PRIMARY KEY);\nCOMMIT;",
        None,
    );
    sandbox.migration(
        "0301_create_table_301.sql",
        "CREATE TABLE t301 (id INTEGER PRIMARY KEY);",
        None,
    );
    let run = sandbox.run(&["status", "--check"]);
    run.code(1);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert!(
        lines[7].starts_with("7 ") && lines[7].ends_with("  edited"),
        "{}",
        lines[7]
    );
    assert!(lines[250].ends_with("  missing"), "{}", lines[250]);
    assert!(lines[301].starts_with("301 ") && lines[301].ends_with("  pending"));
    let applied = lines.iter().filter(|l| l.ends_with("  applied")).count();
    assert_eq!(applied, 298, "{}", run.stdout);
    assert!(
        run.stdout.contains("300 applied, 1 pending"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("migration 7 (create_table_7) was edited after it was applied"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("0250_create_table_250.sql:2: 'BEGIN'"),
        "{}",
        run.stdout
    );
}

#[test]
fn a_folder_that_cannot_be_read_is_reported_before_the_database() {
    let sandbox = Sandbox::project();
    std::fs::remove_dir(sandbox.path().join("migrations")).unwrap();
    // Not a database: opening it fails too, but the folder comes first.
    std::fs::create_dir(sandbox.db_path()).unwrap();
    let run = sandbox.run(&["status"]);
    assert_ne!(run.code, 0);
    assert!(
        run.stderr
            .starts_with("error: cannot read the migrations folder migrations"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("not a SQLite"), "{}", run.stderr);
}

#[test]
fn folder_warnings_come_before_the_note_on_a_missing_database() {
    let sandbox = Sandbox::three_migrations();
    sandbox.write("migrations/0004_add_x.SQL", "-- migrate:up\nSELECT 1;\n");
    let run = sandbox.run(&["status"]);
    run.ok();
    let warning = run.stderr.find("0004_add_x.SQL").expect(&run.stderr);
    let note = run.stderr.find("does not exist yet").expect(&run.stderr);
    assert!(warning < note, "{}", run.stderr);
    assert_eq!(sandbox.db_bytes(), None);
}

#[test]
fn another_tools_table_is_refused_after_the_folder_warnings() {
    let sandbox = Sandbox::three_migrations();
    sandbox.write("migrations/0004_add_x.SQL", "-- migrate:up\nSELECT 1;\n");
    sandbox
        .open_db()
        .execute_batch("CREATE TABLE schema_migrations (version bigint NOT NULL PRIMARY KEY, dirty boolean NOT NULL);")
        .unwrap();
    let run = sandbox.run(&["status"]);
    run.code(1);
    let warning = run.stderr.find("0004_add_x.SQL").expect(&run.stderr);
    let refusal = run.stderr.find("golang-migrate").expect(&run.stderr);
    assert!(warning < refusal, "{}", run.stderr);
    assert!(run.stdout.is_empty(), "{}", run.stdout);
}
