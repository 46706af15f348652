//! `terrace reset`.

use crate::support::Sandbox;

#[test]
fn refuses_without_yes() {
    let sandbox = Sandbox::three_migrations();
    sandbox.run(&["migrate"]).ok();
    let run = sandbox.run(&["reset"]);
    run.code(2);
    assert!(
        run.stderr
            .contains("hint: run `terrace reset --yes` to confirm"),
        "{}",
        run.stderr
    );
    assert_eq!(sandbox.recorded(), [1, 2, 3]);
}

#[test]
fn refuses_a_protected_database_even_with_yes() {
    let sandbox = Sandbox::three_migrations();
    sandbox.write(
        "terrace.toml",
        "database = \"sqlite:app.db\"\nprotected = true\n",
    );
    sandbox.run(&["migrate"]).ok();
    for args in [&["reset", "--yes"][..], &["reset"][..]] {
        let run = sandbox.run(args);
        run.code(1);
        assert!(
            run.stderr.starts_with(
                "error: refusing to reset: terrace.toml marks this database as protected\n"
            ),
            "{}",
            run.stderr
        );
        assert!(
            run.stderr.contains("`protected = true` in terrace.toml"),
            "{}",
            run.stderr
        );
    }
    assert_eq!(sandbox.recorded(), [1, 2, 3]);
}

#[test]
fn drops_the_history_with_yes_and_says_what_it_dropped() {
    let sandbox = Sandbox::three_migrations();
    sandbox.run(&["migrate"]).ok();
    let run = sandbox.run(&["reset", "--yes"]);
    run.ok();
    assert_eq!(
        run.stdout,
        "dropped table schema_migrations (3 rows): the migration history is gone, the schema \
         itself was not changed\n\
         to adopt the existing schema, run `terrace baseline 3` (the last version it has)\n"
    );
    assert!(sandbox.columns("schema_migrations").is_empty());
    assert_eq!(sandbox.columns("projects").len(), 4, "the schema stays");

    let doc = sandbox
        .run(&["reset", "--yes", "--format", "json"])
        .ok()
        .json();
    assert_eq!(
        doc,
        serde_json::json!({
            "table": "schema_migrations",
            "dropped": false,
            "rows": 0,
            "database": "sqlite:app.db",
            "config": "terrace.toml"
        })
    );
}

#[test]
fn help_says_what_it_does_and_does_not_do() {
    let run = Sandbox::empty().run(&["reset", "--help"]);
    run.ok();
    for words in [
        "drops only the tracking table",
        "tables, columns and data stay",
        "terrace baseline VERSION",
    ] {
        assert!(run.stdout.contains(words), "{words}: {}", run.stdout);
    }
}
