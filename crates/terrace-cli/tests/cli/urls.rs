//! Database URLs: the schemes this build opens, the ones it refuses, and passwords that
//! must never be shown.

use crate::support::Sandbox;

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
        run.stderr,
        "error: cannot create the database file missing/app.db: the folder missing does not exist\n"
    );
}
