//! `--allow-newer` and `allow_newer`: an older build beside migrations a newer build
//! applied, as during a rolling deploy.

use crate::support::Sandbox;

/// Three migrations applied, then the newest file taken away: the folder is an older
/// build's.
fn older_build() -> Sandbox {
    let sandbox = Sandbox::three_migrations();
    sandbox.run(&["migrate"]).ok();
    std::fs::remove_file(sandbox.path().join("migrations/0003_add_deleted_at.sql")).unwrap();
    sandbox
}

const WARNING: &str = "warning: migration 3 (add_deleted_at) is applied but unknown to these \
                       migrations, whose newest is 2: a newer build applied it; left alone, as \
                       newer applied migrations are allowed";

#[test]
fn refused_by_default_with_a_message_that_names_the_setting() {
    let sandbox = older_build();
    let before = sandbox.db_bytes();
    for args in [&["migrate"][..], &["validate"], &["status", "--check"]] {
        let run = sandbox.run(args);
        run.code(1);
        assert!(
            run.all().contains(
                "migration 3 (add_deleted_at) is recorded as applied but is newer than every \
                 migration here (the newest is 2)"
            ) && run.all().contains("--allow-newer")
                && run.all().contains("allow_newer = true"),
            "{args:?}: {}",
            run.all()
        );
    }
    let run = sandbox.run(&["--format", "json", "migrate"]);
    run.code(1);
    let doc = run.json();
    assert_eq!(doc["kind"], "validation");
    assert_eq!(doc["details"][0]["kind"], "newer_applied");
    assert_eq!(doc["details"][0]["version"], 3);
    assert_eq!(doc["details"][0]["name"], "add_deleted_at");
    assert_eq!(sandbox.db_bytes(), before, "nothing changed");
}

#[test]
fn allowed_by_the_flag_with_a_warning_naming_them() {
    let sandbox = older_build();
    let before = sandbox.db_bytes();
    let run = sandbox.run(&["migrate", "--allow-newer"]);
    run.ok();
    assert!(run.diagnostics().contains(WARNING), "{}", run.stderr);
    assert_eq!(
        run.stdout.trim(),
        "nothing to apply: the database is up to date"
    );
    assert_eq!(sandbox.db_bytes(), before, "nothing changed");

    let run = sandbox.run(&["status", "--allow-newer", "--check"]);
    run.ok();
    assert!(run.stderr.contains(WARNING), "{}", run.stderr);
    let newest = run.stdout.lines().find(|l| l.starts_with("3 ")).unwrap();
    assert!(
        newest.contains("add_deleted_at") && newest.ends_with("newer (unknown here)"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("up to date"), "{}", run.stdout);

    let run = sandbox.run(&["validate", "--allow-newer"]);
    run.ok();
    assert!(run.stderr.contains(WARNING), "{}", run.stderr);
    assert!(
        run.stdout.starts_with("valid: 2 migrations"),
        "{}",
        run.stdout
    );
}

#[test]
fn json_documents_carry_them_as_a_field() {
    let sandbox = older_build();
    let newer = serde_json::json!([{"version": 3, "name": "add_deleted_at"}]);
    for args in [&["migrate"][..], &["status"], &["validate"]] {
        let mut all = vec!["--format", "json"];
        all.extend_from_slice(args);
        all.push("--allow-newer");
        let run = sandbox.run(&all);
        run.ok();
        let doc = run.json();
        assert_eq!(doc["newer_applied"], newer, "{args:?}: {doc}");
        assert_eq!(
            doc["warnings"][0].as_str().map(|w| format!("warning: {w}")),
            Some(WARNING.to_owned()),
            "{args:?}: {doc}"
        );
    }
    // Nothing newer: an empty list.
    let sandbox = Sandbox::three_migrations();
    let run = sandbox.run(&["--format", "json", "migrate", "--allow-newer"]);
    assert_eq!(run.ok().json()["newer_applied"], serde_json::json!([]));
}

#[test]
fn allowed_by_terrace_toml() {
    let sandbox = older_build();
    sandbox.write(
        "terrace.toml",
        "database = \"sqlite:app.db\"\nallow_newer = true\n",
    );
    for args in [&["migrate"][..], &["status", "--check"], &["validate"]] {
        let run = sandbox.run(args);
        run.ok();
        assert!(run.stderr.contains(WARNING), "{args:?}: {}", run.stderr);
    }
    // The setting holds for every command: repair has nothing left to report.
    assert_eq!(sandbox.run(&["repair"]).ok().stdout, "nothing to repair\n");
    sandbox.write(
        "terrace.toml",
        "database = \"sqlite:app.db\"\nallow_newer = \"yes\"\n",
    );
    let run = sandbox.run(&["migrate"]);
    run.code(2);
    assert!(run.stderr.contains("terrace.toml"), "{}", run.stderr);
}

#[test]
fn a_migration_missing_in_the_middle_stays_an_error() {
    let sandbox = Sandbox::three_migrations();
    sandbox.run(&["migrate"]).ok();
    std::fs::remove_file(sandbox.path().join("migrations/0002_add_base_url.sql")).unwrap();
    let run = sandbox.run(&["migrate", "--allow-newer"]);
    run.code(1);
    assert!(
        run.stderr
            .contains("migration 2 (add_base_url) is recorded as applied but no longer exists"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("warning: migration"), "{}", run.stderr);
}

#[test]
fn rollback_refuses_while_newer_migrations_are_applied() {
    let sandbox = older_build();
    let before = sandbox.db_bytes();
    for args in [
        &["rollback"][..],
        &["rollback", "--to", "1"],
        &["rollback", "--dry-run"],
    ] {
        let run = sandbox.run(args);
        run.code(1);
        assert!(
            run.stderr.contains(
                "cannot roll back: 3 (add_deleted_at) was applied by a newer build and unknown \
                 here, and a rollback starts with the newest; roll back with that build"
            ),
            "{args:?}: {}",
            run.stderr
        );
    }
    let run = sandbox.run(&["--format", "json", "rollback"]);
    run.code(1);
    assert_eq!(run.json()["kind"], "rollback_past_newer");
    sandbox.write(
        "terrace.toml",
        "database = \"sqlite:app.db\"\nallow_newer = true\n",
    );
    sandbox.run(&["rollback"]).code(1);
    assert_eq!(sandbox.db_bytes(), before, "nothing changed");
}
