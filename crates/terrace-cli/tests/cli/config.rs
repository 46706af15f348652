//! Where settings come from: flags, then the environment, then terrace.toml (here or in
//! a parent folder), then the defaults.

use crate::support::Sandbox;

fn applied(run: &crate::support::Run) -> u64 {
    run.ok().json()["applied_count"].as_u64().unwrap()
}

/// Two databases: `toml.db` (one migration applied) and `env.db` (two applied).
fn two_databases() -> Sandbox {
    let sandbox = Sandbox::three_migrations();
    sandbox
        .run(&["--database", "toml.db", "migrate", "--to", "1"])
        .ok();
    sandbox
        .run(&["--database", "env.db", "migrate", "--to", "2"])
        .ok();
    sandbox.run(&["--database", "flag.db", "migrate"]).ok();
    sandbox.write("terrace.toml", "database = \"sqlite:toml.db\"\n");
    sandbox
}

#[test]
fn database_url_beats_terrace_toml_and_the_flag_beats_both() {
    let sandbox = two_databases();
    let status = ["status", "--format", "json"];
    assert_eq!(applied(&sandbox.run(&status)), 1);
    assert_eq!(
        applied(&sandbox.run_with(".", &[("DATABASE_URL", "sqlite:env.db")], &status)),
        2
    );
    let flagged = ["--database", "flag.db", "status", "--format", "json"];
    assert_eq!(
        applied(&sandbox.run_with(".", &[("DATABASE_URL", "sqlite:env.db")], &flagged)),
        3
    );
    // An empty variable counts as unset.
    assert_eq!(
        applied(&sandbox.run_with(".", &[("DATABASE_URL", "")], &status)),
        1
    );
}

#[test]
fn terrace_toml_in_a_parent_folder_with_paths_relative_to_it() {
    let sandbox = Sandbox::empty();
    sandbox.write(
        "terrace.toml",
        "database = \"sqlite:data/app.db\"\ndir = \"db/migrations\"\ntable = \"applied_changes\"\n",
    );
    std::fs::create_dir_all(sandbox.path().join("data")).unwrap();
    std::fs::create_dir_all(sandbox.path().join("src/deep")).unwrap();
    sandbox.write(
        "db/migrations/0001_create_projects.sql",
        "-- migrate:up\nCREATE TABLE projects (id INTEGER);\n",
    );

    sandbox
        .run_with("src/deep", &[], &["new", "add_base_url"])
        .ok();
    assert_eq!(
        sandbox.files("db/migrations"),
        ["0001_create_projects.sql", "0002_add_base_url.sql"]
    );
    std::fs::remove_file(sandbox.path().join("db/migrations/0002_add_base_url.sql")).unwrap();

    sandbox.run_with("src/deep", &[], &["migrate"]).ok();
    let conn = rusqlite::Connection::open(sandbox.path().join("data/app.db")).unwrap();
    let recorded: i64 = conn
        .query_row("SELECT count(*) FROM applied_changes", [], |row| row.get(0))
        .unwrap();
    assert_eq!(recorded, 1);
}

#[test]
fn the_environment_beats_terrace_toml_for_the_folder_and_table() {
    let sandbox = Sandbox::three_migrations();
    sandbox.write(
        "terrace.toml",
        "database = \"sqlite:app.db\"\ndir = \"nowhere\"\ntable = \"toml_table\"\n",
    );
    let env = [
        ("TERRACE_DIR", "migrations"),
        ("TERRACE_TABLE", "env_table"),
    ];
    sandbox.run_with(".", &env, &["migrate"]).ok();
    assert_eq!(sandbox.columns("env_table").len(), 7);
    assert!(sandbox.columns("toml_table").is_empty());

    let run = sandbox.run(&["status"]);
    run.code(1);
    assert!(
        run.stderr
            .contains("cannot read the migrations folder nowhere"),
        "{}",
        run.stderr
    );
    sandbox
        .run(&[
            "--dir",
            "migrations",
            "--table",
            "env_table",
            "status",
            "--check",
        ])
        .ok();
}

#[test]
fn bad_settings_are_usage_errors() {
    let sandbox = Sandbox::three_migrations();
    sandbox.write("terrace.toml", "databse = \"sqlite:app.db\"\n");
    let run = sandbox.run(&["status"]);
    run.code(2);
    assert!(
        run.stderr
            .starts_with("error: invalid settings in terrace.toml\n  caused by: "),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("databse"), "{}", run.stderr);
    // Commands that read no settings still work.
    sandbox.run(&["completions", "bash"]).ok();

    let sandbox = Sandbox::three_migrations();
    let run = sandbox.run(&["--table", "bad-table", "migrate"]);
    run.code(2);
    assert!(
        run.stderr
            .starts_with("error: invalid table name 'bad-table'"),
        "{}",
        run.stderr
    );
}

#[test]
fn dot_env_in_a_parent_folder_names_the_database() {
    let sandbox = two_databases();
    std::fs::remove_file(sandbox.path().join("terrace.toml")).unwrap();
    std::fs::create_dir_all(sandbox.path().join("src")).unwrap();
    sandbox.write(
        ".env",
        "# local settings\n\nOTHER=1\nexport DATABASE_URL=\"sqlite:env.db\" # two applied\nBROKEN LINE\n\
         TERRACE_DIR=migrations\n",
    );
    let status = ["status", "--format", "json"];
    // Relative paths in .env are relative to its folder.
    assert_eq!(applied(&sandbox.run_with("src", &[], &status)), 2);
    // The real environment and the flag still win.
    assert_eq!(
        applied(&sandbox.run_with(".", &[("DATABASE_URL", "sqlite:toml.db")], &status)),
        1
    );
    let flagged = ["--database", "flag.db", "status", "--format", "json"];
    assert_eq!(applied(&sandbox.run_with(".", &[], &flagged)), 3);
    // .env beats terrace.toml, as the environment does.
    sandbox.write("terrace.toml", "database = \"sqlite:toml.db\"\n");
    assert_eq!(applied(&sandbox.run(&status)), 2);
    // Single quotes, and the folder and table settings.
    sandbox.write(
        ".env",
        "DATABASE_URL='sqlite:env.db'\nTERRACE_TABLE=other_history\n",
    );
    assert_eq!(applied(&sandbox.run(&status)), 0);
}

#[test]
fn a_password_in_dot_env_is_never_printed() {
    let sandbox = Sandbox::three_migrations();
    std::fs::remove_file(sandbox.path().join("terrace.toml")).unwrap();
    sandbox.write(
        ".env",
        "DATABASE_URL=postgres://app:hunter2@127.0.0.1:9/app?password=hunter2\n",
    );
    for format in ["text", "json"] {
        let run = sandbox.run(&["status", "--format", format]);
        run.code(1);
        assert!(run.all().contains("127.0.0.1:9"), "{}", run.all());
        assert!(!run.all().contains("hunter2"), "{}", run.all());
    }
}
