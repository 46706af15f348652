//! What people read: help texts and the messages of refusals, as snapshots.

use crate::support::Sandbox;

#[test]
fn top_level_help() {
    let run = Sandbox::empty().run(&["--help"]);
    insta::assert_snapshot!("help", run.ok().stdout);
}

#[test]
fn migrate_help() {
    let run = Sandbox::empty().run(&["migrate", "--help"]);
    insta::assert_snapshot!("migrate_help", run.ok().stdout);
}

#[test]
fn rollback_help() {
    let run = Sandbox::empty().run(&["rollback", "--help"]);
    insta::assert_snapshot!("rollback_help", run.ok().stdout);
}

#[test]
fn import_help() {
    let run = Sandbox::empty().run(&["import", "--help"]);
    insta::assert_snapshot!("import_help", run.ok().stdout);
}

#[test]
fn lint_help() {
    let run = Sandbox::empty().run(&["lint", "--help"]);
    insta::assert_snapshot!("lint_help", run.ok().stdout);
}

#[test]
fn schema_help() {
    for (command, name) in [("dump", "schema_dump_help"), ("diff", "schema_diff_help")] {
        let run = Sandbox::empty().run(&["schema", command, "--help"]);
        insta::assert_snapshot!(name, run.ok().stdout);
    }
}

#[test]
fn fleet_help() {
    let run = Sandbox::empty().run(&["fleet", "--help"]);
    insta::assert_snapshot!("fleet_help", run.ok().stdout);
    let run = Sandbox::empty().run(&["fleet", "migrate", "--help"]);
    insta::assert_snapshot!("fleet_migrate_help", run.ok().stdout);
}

#[test]
fn no_command_shows_the_help_and_exits_2() {
    let run = Sandbox::empty().run(&[]);
    run.code(2);
    assert!(
        run.stderr.contains("Usage: terrace [OPTIONS] <COMMAND>"),
        "{}",
        run.stderr
    );
}

#[test]
fn refusal_messages() {
    let sandbox = Sandbox::three_migrations();
    sandbox.run(&["migrate"]).ok();
    let messages = [
        vec!["new", "migration_7"],
        vec!["new", "Bad-Name"],
        vec!["reset"],
        vec!["--database", "redis://localhost", "status"],
        vec![
            "--database",
            "postgres://app:secret@127.0.0.1:9/app",
            "status",
        ],
        vec!["--database", "nowhere.db", "rollback"],
        vec!["--dir", "nowhere", "status"],
        vec!["baseline", "3"],
        vec!["rollback", "--to", "9"],
    ]
    .iter()
    .map(|args| {
        let run = sandbox.run(args);
        assert!(run.stdout.is_empty(), "{args:?}: {}", run.stdout);
        format!(
            "$ terrace {}\n[exit {}]\n{}",
            args.join(" "),
            run.code,
            run.stderr_in(&sandbox)
        )
    })
    .collect::<Vec<_>>()
    .join("\n");
    insta::assert_snapshot!("refusals", messages);
}

#[test]
fn completions() {
    let sandbox = Sandbox::empty();
    for shell in ["bash", "zsh", "fish"] {
        let run = sandbox.run(&["completions", shell]);
        assert!(run.ok().stdout.contains("migrate"), "{shell}");
    }
    let doc = sandbox
        .run(&["completions", "fish", "--format", "json"])
        .ok()
        .json();
    assert_eq!(doc["shell"], "fish");
    assert!(doc["script"].as_str().unwrap().contains("rollback"));
    sandbox.run(&["completions", "tcsh"]).code(2);
}

#[test]
fn aliases_from_sqlx_cli() {
    let sandbox = Sandbox::three_migrations();
    sandbox.run(&["add", "add_owner"]).ok();
    assert!(
        sandbox
            .files("migrations")
            .contains(&"0004_add_owner.sql".to_owned())
    );
    std::fs::remove_file(sandbox.path().join("migrations/0004_add_owner.sql")).unwrap();
    sandbox.run(&["migrate"]).ok();
    let info = sandbox.run(&["info", "--format", "json"]);
    assert_eq!(info.ok().json()["applied_count"], 3);
    sandbox.run(&["revert"]).ok();
    assert_eq!(sandbox.recorded(), [1, 2]);
}

#[test]
fn a_mistyped_command_suggests_the_right_one() {
    for (typed, meant) in [
        ("migarte", "migrate"),
        ("stauts", "status"),
        ("rollbak", "rollback"),
    ] {
        let run = Sandbox::empty().run(&[typed]);
        run.code(2);
        assert!(
            run.stderr
                .contains(&format!("tip: a similar subcommand exists: '{meant}'")),
            "{typed}: {}",
            run.stderr
        );
    }
}
