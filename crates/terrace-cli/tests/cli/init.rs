//! `terrace init`.

use crate::support::Sandbox;

#[test]
fn creates_the_folder_and_a_commented_config() {
    let sandbox = Sandbox::empty();
    let run = sandbox.run(&["init"]);
    run.ok();
    assert!(sandbox.path().join("migrations").is_dir());
    let config = std::fs::read_to_string(sandbox.path().join("terrace.toml")).unwrap();
    assert!(config.contains("dir = \"migrations\""), "{config}");
    assert!(config.contains("protected = false"), "{config}");
    assert!(
        config.lines().filter(|l| l.starts_with('#')).count() >= 5,
        "commented: {config}"
    );
    assert!(
        run.stdout.contains("created terrace.toml"),
        "{}",
        run.stdout
    );
}

#[test]
fn refuses_to_overwrite_an_existing_config() {
    let sandbox = Sandbox::empty();
    sandbox.write("terrace.toml", "table = \"mine\"\n");
    let run = sandbox.run(&["init"]);
    run.code(1);
    assert!(
        run.stderr.contains("terrace.toml already exists"),
        "{}",
        run.stderr
    );
    let config = std::fs::read_to_string(sandbox.path().join("terrace.toml")).unwrap();
    assert_eq!(config, "table = \"mine\"\n");
    assert!(!sandbox.path().join("migrations").exists());
}

#[test]
fn the_created_config_is_used_by_the_next_commands() {
    let sandbox = Sandbox::empty();
    sandbox
        .run(&[
            "--dir",
            "db/migrations",
            "--database",
            "sqlite:app.db",
            "init",
        ])
        .ok();
    assert!(sandbox.path().join("db/migrations").is_dir());
    sandbox.run(&["new", "create_projects"]).ok();
    assert_eq!(
        sandbox.files("db/migrations"),
        ["0001_create_projects.sql", "terrace.sum"]
    );
    // The untouched template has an empty up section: reported, not applied.
    let run = sandbox.run(&["migrate"]);
    run.code(1);
    assert!(
        run.stderr
            .contains("0001_create_projects.sql: the up section is empty"),
        "{}",
        run.stderr
    );
}

#[test]
fn json() {
    let sandbox = Sandbox::empty();
    let doc = sandbox.run(&["--format", "json", "init"]).ok().json();
    assert_eq!(doc["config"], "terrace.toml");
    assert_eq!(doc["dir"], "migrations");
    assert_eq!(doc["created_dir"], true);
}

#[test]
fn writes_the_table_and_the_database_given() {
    let sandbox = Sandbox::empty();
    sandbox
        .run(&[
            "--table",
            "app_history",
            "--database",
            "sqlite:app.db",
            "init",
        ])
        .ok();
    let config = std::fs::read_to_string(sandbox.path().join("terrace.toml")).unwrap();
    assert!(config.contains("\ntable = \"app_history\"\n"), "{config}");
    assert!(
        config.contains("\ndatabase = \"sqlite:app.db\"\n"),
        "{config}"
    );
    sandbox.write(
        "migrations/0001_create_projects.sql",
        "-- migrate:up\nCREATE TABLE projects (id INTEGER);\n",
    );
    sandbox.run(&["migrate"]).ok();
    let conn = rusqlite::Connection::open(sandbox.path().join("app.db")).unwrap();
    let recorded: i64 = conn
        .query_row("SELECT count(*) FROM app_history", [], |row| row.get(0))
        .unwrap();
    assert_eq!(recorded, 1);
}

#[test]
fn never_writes_a_password() {
    let sandbox = Sandbox::empty();
    let run = sandbox.run(&[
        "--database",
        "postgres://app:hunter2@db.example.com/app",
        "init",
    ]);
    run.ok();
    let config = std::fs::read_to_string(sandbox.path().join("terrace.toml")).unwrap();
    assert!(!config.contains("hunter2"), "{config}");
    assert!(!config.contains("\ndatabase ="), "{config}");
    assert!(
        config.contains("# database = \"postgres://app:***@db.example.com/app\""),
        "{config}"
    );
    assert!(!run.all().contains("hunter2"), "{}", run.all());
    assert!(
        run.stdout
            .contains("the password was not written to terrace.toml: set DATABASE_URL"),
        "{}",
        run.stdout
    );
    let doc = Sandbox::empty()
        .run(&[
            "--database",
            "postgres://app:hunter2@db.example.com/app",
            "--format",
            "json",
            "init",
        ])
        .ok()
        .json();
    assert_eq!(doc["database_written"], false);
}

#[test]
fn refuses_an_invalid_table_and_writes_nothing() {
    let sandbox = Sandbox::empty();
    let run = sandbox.run(&["--table", "bad name", "init"]);
    run.code(2);
    assert_eq!(
        run.stderr.matches("invalid table name 'bad name'").count(),
        1,
        "{}",
        run.stderr
    );
    assert!(!sandbox.path().join("terrace.toml").exists());
    assert!(!sandbox.path().join("migrations").exists());
}
