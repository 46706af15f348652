//! A new cargo application that embeds its migrations, built and run as a user would:
//! `terrace init` makes its build script watch the folder, so that a migration added
//! later is embedded by the next build; without that the build warns; a bad folder is a
//! compile error that starts with the file and line at fault; and an error returned
//! from `main` prints readably.
//!
//! Each test builds a package of its own name in one target folder under the
//! workspace's (`first-hour-crate`), so that terrace and SQLite are compiled once and
//! later runs take seconds.

use crate::support::Sandbox;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The application: it migrates `app.db` and says how many migrations it applied.
const MAIN: &str = r#"static MIGRATIONS: terrace::Migrations = terrace::embed_migrations!("migrations");

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = terrace::DatabaseUrl::parse("sqlite:app.db")?;
    let mut conn = terrace::Connection::open(&url, &terrace::ConnectOptions::default())?;
    let report = MIGRATIONS.run(&mut conn)?;
    println!("applied {}", report.steps.len());
    Ok(())
}
"#;

/// The target folder every application of these tests is built in.
fn target_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("first-hour-crate")
}

/// A cargo package named `name` in a sandbox, depending on terrace by path, with the
/// workspace's lock file (so it builds offline, with the versions the workspace tested).
fn app(name: &str) -> Sandbox {
    let sandbox = Sandbox::empty();
    let terrace = concat!(env!("CARGO_MANIFEST_DIR"), "/../terrace");
    sandbox.write(
        "Cargo.toml",
        &format!(
            "[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2024\"\npublish = false\n\n\
             [dependencies]\nterrace = {{ path = {terrace:?}, default-features = false, features = [\"bundled\"] }}\n\n\
             [workspace]\n"
        ),
    );
    let lock = concat!(env!("CARGO_MANIFEST_DIR"), "/../../Cargo.lock");
    std::fs::copy(lock, sandbox.path().join("Cargo.lock")).unwrap();
    sandbox.write("src/main.rs", MAIN);
    sandbox
}

/// What a build or a run printed.
struct Output {
    success: bool,
    stdout: String,
    stderr: String,
}

/// `cargo build` of the sandbox's package.
fn build(sandbox: &Sandbox) -> Output {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .args(["build", "--offline", "--quiet", "--color", "never"])
        .current_dir(sandbox.path())
        .env("CARGO_TARGET_DIR", target_dir())
        .env("CARGO_TERM_COLOR", "never")
        // The caller's flags (`-D warnings`) would turn the warning tested into an error.
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS");
    output(command)
}

/// Runs the built application `name` in the sandbox.
fn run_app(sandbox: &Sandbox, name: &str) -> Output {
    let mut command = Command::new(target_dir().join("debug").join(name));
    command.current_dir(sandbox.path());
    output(command)
}

fn output(mut command: Command) -> Output {
    let output = command
        .stdin(Stdio::null())
        .output()
        .expect("start the command");
    Output {
        success: output.status.success(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// Gives the package a build script that watches `migrations/`.
fn watch_migrations(app: &Sandbox) {
    app.write(
        "build.rs",
        "//! Watches the folder.\nfn main() {\n    println!(\"cargo:rerun-if-changed=migrations\");\n}\n",
    );
}

/// Writes migration `file` creating table `table`.
fn migration(sandbox: &Sandbox, file: &str, table: &str) {
    sandbox.write(
        &format!("migrations/{file}"),
        &format!("-- migrate:up\nCREATE TABLE {table} (id INTEGER PRIMARY KEY);\n"),
    );
}

#[test]
fn after_init_a_new_migration_is_embedded_by_the_next_build() {
    let name = "first-hour-init";
    let app = app(name);
    migration(&app, "0001_create_projects.sql", "projects");
    migration(&app, "0002_create_tasks.sql", "tasks");

    let init = app.run(&["--database", "sqlite:app.db", "init"]);
    init.ok();
    assert!(
        init.stdout.contains(
            "created build.rs: cargo rebuilds the crate when a migration is added to migrations/"
        ),
        "{}",
        init.stdout
    );
    let script = std::fs::read_to_string(app.path().join("build.rs")).unwrap();
    assert!(
        script.contains("    println!(\"cargo:rerun-if-changed=migrations\");\n"),
        "{script}"
    );
    // Twice: nothing more to do, and the line is not added again.
    app.run(&["init"]).code(1);
    assert_eq!(
        std::fs::read_to_string(app.path().join("build.rs")).unwrap(),
        script
    );

    let built = build(&app);
    assert!(built.success, "{}", built.stderr);
    assert!(!built.stderr.contains("not watched"), "{}", built.stderr);
    let ran = run_app(&app, name);
    assert!(ran.success, "{}", ran.stderr);
    assert_eq!(ran.stdout, "applied 2\n");

    migration(&app, "0003_create_notes.sql", "notes");
    // `init` wrote terrace.sum, so the build refuses the new file until it is summed.
    let built = build(&app);
    assert!(!built.success);
    assert!(
        built
            .stderr
            .contains("error: migrations/terrace.sum: 0003_create_notes.sql"),
        "{}",
        built.stderr
    );
    app.run(&["sum"]).ok();
    let built = build(&app);
    assert!(built.success, "{}", built.stderr);
    let ran = run_app(&app, name);
    assert!(ran.success, "{}", ran.stderr);
    assert_eq!(ran.stdout, "applied 1\n");
    app.run(&["status"]).ok();
}

#[test]
fn without_a_watching_build_script_the_build_warns_until_init_adds_one() {
    let name = "first-hour-warn";
    let app = app(name);
    migration(&app, "0001_create_projects.sql", "projects");
    let built = build(&app);
    assert!(built.success, "{}", built.stderr);
    assert!(
        built.stderr.contains(
            "warning: use of deprecated constant `MIGRATIONS::migrations_folder_not_watched`: \
             migrations/ is not watched by a build script, so a migration file added to it is \
             not embedded until something else rebuilds this crate; run `terrace init`"
        ),
        "{}",
        built.stderr
    );
    assert!(built.stderr.contains("src/main.rs:1:"), "{}", built.stderr);
    // `#[allow(deprecated)]` on the item silences it.
    app.write("src/main.rs", &format!("#[allow(deprecated)]\n{MAIN}"));
    let built = build(&app);
    assert!(built.success, "{}", built.stderr);
    assert!(!built.stderr.contains("not watched"), "{}", built.stderr);
    app.write("src/main.rs", MAIN);

    // A build script that watches something else: the line is added to its main.
    app.write(
        "build.rs",
        "//! Mine.\nfn main() {\n    println!(\"cargo:rerun-if-changed=assets\");\n}\n",
    );
    let built = build(&app);
    assert!(
        built
            .stderr
            .contains("migrations/ is not watched by the build script build.rs"),
        "{}",
        built.stderr
    );

    // With terrace.toml already there, init completes the build script only.
    app.write("terrace.toml", "database = \"sqlite:app.db\"\n");
    let init = app.run(&["init"]);
    init.ok();
    assert!(
        init.stdout
            .contains("terrace.toml already exists; it was left as it is"),
        "{}",
        init.stdout
    );
    assert_eq!(
        std::fs::read_to_string(app.path().join("build.rs")).unwrap(),
        "//! Mine.\nfn main() {\n    println!(\"cargo:rerun-if-changed=migrations\");\n    \
         println!(\"cargo:rerun-if-changed=assets\");\n}\n"
    );
    assert_eq!(
        std::fs::read_to_string(app.path().join("terrace.toml")).unwrap(),
        "database = \"sqlite:app.db\"\n"
    );
    let built = build(&app);
    assert!(built.success, "{}", built.stderr);
    assert!(!built.stderr.contains("not watched"), "{}", built.stderr);
}

/// The compiler's errors for a folder, with the sandbox's path replaced.
fn compile_errors(app: &Sandbox) -> String {
    let built = build(app);
    assert!(!built.success, "the build should fail:\n{}", built.stderr);
    let root = app.path().canonicalize().unwrap();
    built
        .stderr
        .replace(&root.display().to_string(), "[APP]")
        .replace(&app.path().display().to_string(), "[APP]")
}

#[test]
fn a_bad_folder_is_a_compile_error_naming_the_file_and_line() {
    let name = "first-hour-errors";
    let app = app(name);
    // The build script watches the folder, so no warning mixes in.
    watch_migrations(&app);
    type Setup = fn(&Sandbox);
    let cases: [(&str, Setup); 6] = [
        ("unknown_marker", |app| {
            migration(app, "0001_create_projects.sql", "projects");
            app.write(
                "migrations/0002_create_tasks.sql",
                "-- migrate:up\nCREATE TABLE tasks (id INTEGER);\n-- migrate:dwon\nDROP TABLE tasks;\n",
            );
        }),
        ("commit_in_a_transaction", |app| {
            app.write(
                "migrations/0001_create_projects.sql",
                "-- migrate:up\nCREATE TABLE projects (id INTEGER);\nCOMMIT;\n",
            );
        }),
        ("duplicate_version", |app| {
            migration(app, "0001_create_projects.sql", "projects");
            migration(app, "0002_create_tasks.sql", "tasks");
            migration(app, "0002_create_notes.sql", "notes");
        }),
        ("gap", |app| {
            migration(app, "0001_create_projects.sql", "projects");
            migration(app, "0004_create_tasks.sql", "tasks");
        }),
        ("bad_file_name", |app| {
            migration(app, "0001_CreateProjects.sql", "projects");
        }),
        ("unreadable_folder", |_| {}),
    ];
    for (case, setup) in cases {
        let _ = std::fs::remove_dir_all(app.path().join("migrations"));
        if case != "unreadable_folder" {
            std::fs::create_dir(app.path().join("migrations")).unwrap();
        }
        setup(&app);
        let errors = compile_errors(&app);
        let first = errors.lines().next().unwrap_or_default();
        assert!(
            first.starts_with("error: migrations"),
            "{case}: the first line names the file: {errors}"
        );
        insta::assert_snapshot!(format!("app_crate_errors_{case}"), errors);
    }
}

#[test]
fn an_error_returned_from_main_prints_its_message_and_causes() {
    let name = "first-hour-main";
    let app = app(name);
    watch_migrations(&app);
    migration(&app, "0001_create_projects.sql", "projects");
    app.write(
        "migrations/0002_add_owner.sql",
        "-- migrate:up\nALTER TABLE project ADD COLUMN owner TEXT;\n",
    );
    let built = build(&app);
    assert!(built.success, "{}", built.stderr);
    let ran = run_app(&app, name);
    assert!(!ran.success);
    insta::assert_snapshot!("app_crate_main_error", ran.stderr);
}
