//! Database URLs: the schemes this build opens, the ones it refuses, and passwords that
//! must never be shown.

use crate::support::{Run, Sandbox};

#[test]
fn sqlite_url_forms_open_the_same_file() {
    let sandbox = Sandbox::three_migrations();
    sandbox
        .run(&["--database", "sqlite:app.db", "migrate", "--to", "1"])
        .ok();
    sandbox
        .run(&["--database", "sqlite://app.db", "migrate", "--to", "2"])
        .ok();
    sandbox.run(&["--database", "app.db", "migrate"]).ok();
    let absolute = format!("sqlite://{}", sandbox.db_path().display());
    let doc = sandbox
        .run(&["--database", &absolute, "status", "--format", "json"])
        .ok()
        .json();
    assert_eq!(doc["applied_count"], 3);
}

#[test]
fn an_unknown_scheme_is_a_usage_error() {
    let sandbox = Sandbox::three_migrations();
    let run = sandbox.run(&["--database", "redis://localhost/0", "status"]);
    run.code(2);
    assert_eq!(
        run.stderr,
        "error: cannot use database URL 'redis://localhost/0': unknown scheme 'redis:' (supported: sqlite:, postgres://, mysql://)\n"
    );
}

#[test]
fn a_password_never_appears() {
    let sandbox = Sandbox::three_migrations();
    // Nothing listens on port 9: every command fails to connect.
    let url = "postgres://deploy:hunter2secret@127.0.0.1:9/app?sslmode=disable";
    for args in [
        vec!["--database", url, "migrate"],
        vec!["--database", url, "status", "--format", "json"],
        vec!["--database", url, "rollback", "--dry-run"],
    ] {
        let run = sandbox.run(&args);
        run.code(1);
        assert!(
            !run.all().contains("hunter2secret"),
            "{args:?}: {}",
            run.all()
        );
        assert!(
            run.all()
                .contains("cannot connect to postgres://deploy:***@127.0.0.1:9/app"),
            "{}",
            run.all()
        );
    }
    let run = sandbox.run_with(".", &[("DATABASE_URL", url)], &["validate"]);
    run.code(1);
    assert!(!run.all().contains("hunter2secret"), "{}", run.all());

    let run = sandbox.run(&[
        "--database",
        "mysql://root:hunter2secret@127.0.0.1:9/app",
        "status",
    ]);
    run.code(1);
    assert!(
        run.stderr
            .contains("cannot connect to mysql://root:***@127.0.0.1:9/app"),
        "{}",
        run.stderr
    );
    assert!(!run.all().contains("hunter2secret"));

    let run = sandbox.run(&[
        "--database",
        "oracle://scott:hunter2secret@db/orcl",
        "status",
    ]);
    run.code(2);
    assert!(!run.all().contains("hunter2secret"));
}

#[test]
fn a_path_that_is_not_a_database_is_a_clear_error() {
    let sandbox = Sandbox::three_migrations();
    sandbox.write(
        "notes.txt",
        "these are not the tables you are looking for\n",
    );
    let run = sandbox.run(&["--database", "notes.txt", "status"]);
    run.code(1);
    assert!(run.stderr.starts_with("error: "), "{}", run.stderr);
    assert!(
        run.stderr.contains("file is not a database"),
        "{}",
        run.stderr
    );

    let run = sandbox.run(&["--database", "missing/app.db", "migrate"]);
    run.code(1);
    assert_eq!(
        run.diagnostics(),
        "error: cannot create the database file missing/app.db: the folder missing does not exist\n"
    );
}

/// Runs `args` in text and in JSON, asserting it fails with `code` and that `secret`
/// appears in neither stream; returns the text run.
#[track_caller]
fn fails_without(sandbox: &Sandbox, args: &[&str], code: i32, secret: &str) -> Run {
    let mut json_args = args.to_vec();
    json_args.extend(["--format", "json"]);
    let json = sandbox.run(&json_args);
    json.code(code);
    assert!(!json.all().contains(secret), "{args:?}: {}", json.all());
    assert!(json.json()["error"].is_string(), "{}", json.stdout);
    let text = sandbox.run(args);
    text.code(code);
    assert!(!text.all().contains(secret), "{args:?}: {}", text.all());
    assert!(text.stderr.starts_with("error: "), "{}", text.stderr);
    text
}

#[test]
fn a_password_typed_anywhere_never_appears() {
    let sandbox = Sandbox::three_migrations();
    let secret = "hunter2secret";
    // A server URL without `//`.
    let run = fails_without(
        &sandbox,
        &[
            "--database",
            "postgres:deploy:hunter2secret@127.0.0.1:9/app",
            "status",
        ],
        2,
        secret,
    );
    assert!(
        run.stderr.contains("postgres:deploy:***@"),
        "{}",
        run.stderr
    );
    // A URL where clap expects something else: a positional argument, or --wait's
    // number.
    for args in [
        vec!["migrate", "postgres://deploy:hunter2secret@127.0.0.1:9/app"],
        vec!["status", "postgres:deploy:hunter2secret@127.0.0.1:9/app"],
        vec![
            "--wait",
            "postgres://deploy:hunter2secret@127.0.0.1:9/app",
            "migrate",
        ],
        vec!["migrate", "--wait=mysql://root:hunter2secret@db/app"],
        vec![
            "status",
            "--wait",
            "host=db password=hunter2secret dbname=app",
        ],
    ] {
        let run = fails_without(&sandbox, &args, 2, secret);
        assert!(run.stderr.contains("***"), "{}", run.stderr);
    }
    // A key=value connection string.
    fails_without(
        &sandbox,
        &[
            "--database",
            "host=127.0.0.1 user=app password=hunter2secret dbname=app",
            "migrate",
        ],
        2,
        secret,
    );
}

#[test]
fn a_broken_terrace_toml_never_shows_a_password() {
    let secret = "hunter2secret";
    for text in [
        // An unknown key holding a password.
        "database = \"postgres://deploy:hunter2secret@127.0.0.1:9/app\"\npassword = \"hunter2secret\"\n",
        // A URL that is not quoted.
        "database = postgres://deploy:hunter2secret@127.0.0.1:9/app\n",
        // A URL where a boolean belongs.
        "protected = \"postgres://deploy:hunter2secret@127.0.0.1:9/app\"\n",
        // A misspelt key holding a URL.
        "databse = \"mysql:root:hunter2secret@db/app\"\n",
    ] {
        let sandbox = Sandbox::three_migrations();
        sandbox.write("terrace.toml", text);
        let run = fails_without(&sandbox, &["status"], 2, secret);
        assert!(
            run.stderr
                .starts_with("error: invalid settings in terrace.toml\n  caused by: line "),
            "{}",
            run.stderr
        );
    }
}

#[test]
fn a_key_value_connection_string_creates_nothing() {
    let sandbox = Sandbox::three_migrations();
    let before = sandbox.files(".");
    let run = sandbox.run(&[
        "--database",
        "host=127.0.0.1 user=app password=hunter2secret dbname=app",
        "migrate",
    ]);
    run.code(2);
    assert!(
        run.stderr.contains("key=value connection string"),
        "{}",
        run.stderr
    );
    assert_eq!(sandbox.files("."), before);
}

#[test]
fn sqlite_url_parameters_are_not_part_of_the_file_name() {
    let sandbox = Sandbox::three_migrations();
    sandbox
        .run(&["--database", "sqlite:x.db?mode=rwc", "migrate"])
        .ok();
    assert!(sandbox.path().join("x.db").is_file());
    assert!(!sandbox.files(".").iter().any(|name| name.contains('?')));
    let doc = sandbox
        .run(&[
            "--database",
            "sqlite:x.db?mode=ro",
            "status",
            "--format",
            "json",
        ])
        .ok()
        .json();
    assert_eq!(doc["applied_count"], 3);
    let run = sandbox.run(&["--database", "sqlite:x.db?mode=ro", "rollback"]);
    run.code(1);
    assert!(run.stderr.contains("mode=ro"), "{}", run.stderr);
    let run = sandbox.run(&["--database", "sqlite:x.db?journal=wal", "status"]);
    run.code(2);
    assert!(
        run.stderr.contains("unknown SQLite parameter 'journal'"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_folder_named_as_the_database_says_so() {
    let sandbox = Sandbox::three_migrations();
    for args in [
        ["--database", "sqlite:migrations", "status"],
        ["--database", "sqlite:migrations", "migrate"],
    ] {
        let run = sandbox.run(&args);
        run.code(1);
        assert!(
            run.diagnostics()
                .starts_with("error: migrations is a directory, not a SQLite database file"),
            "{}",
            run.stderr
        );
        assert!(!run.stderr.contains("hint:"), "{}", run.stderr);
    }
}

#[test]
fn schemes_are_case_insensitive() {
    let sandbox = Sandbox::three_migrations();
    sandbox
        .run(&["--database", "SQLite:app.db", "migrate"])
        .ok();
    assert_eq!(sandbox.recorded(), [1, 2, 3]);
    let Ok(server) = std::env::var("TERRACE_TEST_POSTGRES_URL") else {
        let ci = std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0");
        assert!(
            !ci,
            "TERRACE_TEST_POSTGRES_URL is not set: CI must test against the real server"
        );
        return;
    };
    // Read-only, on a table no other test uses, with no migrations.
    std::fs::create_dir(sandbox.path().join("none")).unwrap();
    let upper = server.replacen("postgres://", "POSTGRES://", 1);
    let doc = sandbox
        .run(&[
            "--database",
            &upper,
            "--dir",
            "none",
            "--table",
            "terrace_cli_upper_case_probe",
            "status",
            "--format",
            "json",
        ])
        .ok()
        .json();
    assert_eq!(doc["pending_count"], 0);
}
