//! Every command that writes says first which database it works on (password hidden)
//! and which `terrace.toml` it read: two lines on stderr in text, `database` and
//! `config` fields in JSON. Only `migrate` creates a SQLite file, and says so once.

use crate::support::Sandbox;

const BANNER: &str = "database: sqlite:app.db (from terrace.toml)\nconfig: terrace.toml\n";
const CREATED: &str = "note: created new database file app.db\n";

/// `terrace ARGS`, asserting it succeeds and that stderr is the banner, then `extra`.
#[track_caller]
fn says_which(sandbox: &Sandbox, args: &[&str], extra: &str) {
    let run = sandbox.run(args);
    run.ok();
    assert_eq!(run.stderr, format!("{BANNER}{extra}"), "{args:?}");
}

/// `terrace ARGS --format json`, asserting it succeeds, writes nothing on stderr and
/// names the database and the settings file in its document.
#[track_caller]
fn json_says_which(sandbox: &Sandbox, args: &[&str]) -> serde_json::Value {
    let mut all = args.to_vec();
    all.extend(["--format", "json"]);
    let run = sandbox.run(&all);
    run.ok();
    assert!(run.stderr.is_empty(), "{args:?}: {}", run.stderr);
    let doc = run.json();
    assert_eq!(doc["database"], "sqlite:app.db", "{args:?}: {doc}");
    assert_eq!(doc["config"], "terrace.toml", "{args:?}: {doc}");
    doc
}

#[test]
fn every_writing_command_says_which_database_in_text() {
    let sandbox = Sandbox::three_migrations();
    says_which(&sandbox, &["migrate", "--to", "2"], CREATED);
    says_which(&sandbox, &["migrate"], "");
    says_which(&sandbox, &["migrate", "--dry-run"], "");
    says_which(&sandbox, &["rollback", "--dry-run"], "");
    says_which(&sandbox, &["rollback"], "");
    says_which(&sandbox, &["repair"], "");
    says_which(&sandbox, &["reset", "--yes"], "");
    says_which(&sandbox, &["baseline", "2"], "");
    assert_eq!(sandbox.recorded(), [1, 2]);
}

#[test]
fn every_writing_command_says_which_database_in_json() {
    let sandbox = Sandbox::three_migrations();
    let doc = json_says_which(&sandbox, &["migrate", "--to", "2"]);
    assert_eq!(doc["created_database_file"], "app.db");
    let doc = json_says_which(&sandbox, &["migrate"]);
    assert!(doc.get("created_database_file").is_none(), "{doc}");
    json_says_which(&sandbox, &["migrate", "--dry-run"]);
    json_says_which(&sandbox, &["rollback", "--dry-run"]);
    json_says_which(&sandbox, &["rollback"]);
    json_says_which(&sandbox, &["repair"]);
    json_says_which(&sandbox, &["reset", "--yes"]);
    json_says_which(&sandbox, &["baseline", "2"]);
    assert_eq!(sandbox.recorded(), [1, 2]);
}

#[test]
fn read_only_commands_name_it_in_json_only() {
    let sandbox = Sandbox::three_migrations();
    sandbox.run(&["migrate"]).ok();
    for args in [&["status"][..], &["validate"], &["history"]] {
        let run = sandbox.run(args);
        run.ok();
        assert!(run.stderr.is_empty(), "{args:?}: {}", run.stderr);
        json_says_which(&sandbox, args);
    }
}

#[test]
fn without_terrace_toml_it_says_where_the_settings_came_from() {
    let sandbox = Sandbox::empty();
    sandbox.migration(
        "0001_create_projects.sql",
        crate::support::CREATE_PROJECTS,
        Some("DROP TABLE projects;"),
    );
    let run = sandbox.run_with(".", &[("DATABASE_URL", "sqlite:env.db")], &["migrate"]);
    run.ok();
    assert!(
        run.stderr.starts_with(
            "database: sqlite:env.db (from DATABASE_URL)\n\
             config: no terrace.toml found; settings from flags and environment\n\
             note: created new database file env.db\n"
        ),
        "{}",
        run.stderr
    );
    let run = sandbox.run(&[
        "--database",
        "sqlite:env.db",
        "rollback",
        "--format",
        "json",
    ]);
    run.ok();
    let doc = run.json();
    assert_eq!(doc["database"], "sqlite:env.db");
    assert!(doc["config"].is_null(), "{doc}");
}

#[test]
fn the_new_file_message_appears_once() {
    let sandbox = Sandbox::three_migrations();
    let first = sandbox.run(&["migrate", "--to", "1"]);
    first.ok();
    assert_eq!(first.all().matches("created new database file").count(), 1);
    for args in [&["migrate", "--to", "2"][..], &["migrate"]] {
        let again = sandbox.run(args);
        again.ok();
        assert!(
            !again.all().contains("created new database file"),
            "{}",
            again.all()
        );
    }
}

#[test]
fn a_failing_first_migration_still_says_the_file_was_created() {
    let sandbox = Sandbox::project();
    sandbox.migration("0001_broken.sql", "CREATE TABLE;", None);
    let run = sandbox.run(&["migrate"]);
    run.code(1);
    assert!(
        run.stderr.starts_with(&format!("{BANNER}{CREATED}")),
        "{}",
        run.stderr
    );
}

#[test]
fn only_migrate_creates_a_database_file() {
    let sandbox = Sandbox::three_migrations();
    for args in [
        &["rollback"][..],
        &["baseline", "1"],
        &["repair"],
        &["reset", "--yes"],
    ] {
        let run = sandbox.run(args);
        run.code(1);
        assert!(run.stderr.starts_with(BANNER), "{args:?}: {}", run.stderr);
        assert!(
            run.stderr
                .contains("error: the database file app.db does not exist"),
            "{args:?}: {}",
            run.stderr
        );
        assert!(
            run.stderr.contains("`terrace migrate` creates the file"),
            "{args:?}: {}",
            run.stderr
        );
        let json = sandbox.run(&[args, &["--format", "json"][..]].concat());
        json.code(1);
        let doc = json.json();
        assert_eq!(doc["database"], "sqlite:app.db", "{doc}");
        assert_eq!(sandbox.db_bytes(), None, "{args:?}");
    }
}

#[test]
fn a_password_in_the_url_never_appears() {
    let sandbox = Sandbox::three_migrations();
    let url = "postgres://deploy:hunter2secret@127.0.0.1:9/app";
    for args in [
        &["migrate"][..],
        &["rollback"],
        &["repair"],
        &["reset", "--yes"],
        &["baseline", "1"],
    ] {
        let run = sandbox.run(&[&["--database", url][..], args].concat());
        run.code(1);
        assert!(
            run.stderr.starts_with(
                "database: postgres://deploy:***@127.0.0.1:9/app (from --database)\n\
                 config: terrace.toml\n"
            ),
            "{args:?}: {}",
            run.stderr
        );
        assert!(!run.all().contains("hunter2secret"), "{}", run.all());
        let json = sandbox.run(&[&["--database", url, "--format", "json"][..], args].concat());
        json.code(1);
        assert_eq!(
            json.json()["database"],
            "postgres://deploy:***@127.0.0.1:9/app"
        );
        assert!(!json.all().contains("hunter2secret"), "{}", json.all());
    }
}

#[test]
fn it_names_a_dot_env_file_and_a_terrace_toml_in_a_parent_folder() {
    let sandbox = Sandbox::three_migrations();
    sandbox.write(".env", "DATABASE_URL=sqlite:from_env.db\n");
    let run = sandbox.run(&["migrate", "--to", "1"]);
    run.ok();
    assert!(
        run.stderr
            .starts_with("database: sqlite:from_env.db (from .env)\nconfig: terrace.toml\n"),
        "{}",
        run.stderr
    );
    std::fs::remove_file(sandbox.path().join(".env")).unwrap();

    sandbox.write(
        "terrace.toml",
        "database = \"sqlite:app.db\"\ndir = \"migrations\"\n",
    );
    std::fs::create_dir(sandbox.path().join("sub")).unwrap();
    let run = sandbox.run_with("sub", &[], &["migrate", "--to", "1"]);
    run.ok();
    let parent = sandbox.path().display().to_string();
    assert_eq!(
        run.stderr_in(&sandbox),
        "database: sqlite:[SANDBOX]/app.db (from [SANDBOX]/terrace.toml)\n\
         config: [SANDBOX]/terrace.toml\n\
         note: created new database file [SANDBOX]/app.db\n",
        "{parent}"
    );
}
