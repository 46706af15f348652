//! `terrace new NAME`.

use crate::support::Sandbox;

#[test]
fn numbers_files_sequentially_from_0001() {
    let sandbox = Sandbox::project();
    let run = sandbox.run(&["new", "create_projects"]);
    run.ok();
    assert_eq!(run.stdout.trim(), "migrations/0001_create_projects.sql");
    sandbox.run(&["new", "add_base_url"]).ok();
    assert_eq!(
        sandbox.files("migrations"),
        ["0001_create_projects.sql", "0002_add_base_url.sql"]
    );
    let text =
        std::fs::read_to_string(sandbox.path().join("migrations/0002_add_base_url.sql")).unwrap();
    assert!(text.contains("\n-- migrate:up\n"), "{text}");
    assert!(text.contains("\n-- migrate:down\n"), "{text}");
}

#[test]
fn keeps_the_width_the_folder_uses() {
    let sandbox = Sandbox::project();
    sandbox.migration(
        "001_create_projects.sql",
        "CREATE TABLE p (id INTEGER);",
        None,
    );
    sandbox.run(&["new", "add_base_url"]).ok();
    assert!(
        sandbox
            .path()
            .join("migrations/002_add_base_url.sql")
            .is_file()
    );

    let sandbox = Sandbox::project();
    sandbox.migration(
        "09_create_projects.sql",
        "CREATE TABLE p (id INTEGER);",
        None,
    );
    sandbox.run(&["new", "add_base_url"]).ok();
    assert!(
        sandbox
            .path()
            .join("migrations/10_add_base_url.sql")
            .is_file()
    );
}

#[test]
fn counts_files_whose_contents_are_not_finished() {
    let sandbox = Sandbox::project();
    sandbox.run(&["new", "create_projects"]).ok();
    sandbox.run(&["new", "add_base_url"]).ok();
    assert_eq!(
        sandbox.files("migrations"),
        ["0001_create_projects.sql", "0002_add_base_url.sql"]
    );
}

#[test]
fn refuses_bad_names_and_writes_nothing() {
    for (name, reason) in [
        ("migration_7", "must say what the migration does"),
        ("Bad-Name", "must be snake_case"),
        ("", "the name is empty"),
    ] {
        let sandbox = Sandbox::project();
        let run = sandbox.run(&["new", name]);
        run.code(2);
        assert!(
            run.stderr
                .starts_with(&format!("error: invalid migration name '{name}': ")),
            "{}",
            run.stderr
        );
        assert!(run.stderr.contains(reason), "{name}: {}", run.stderr);
        assert!(run.stdout.is_empty());
        assert!(sandbox.files("migrations").is_empty(), "{name}");
    }
}

#[test]
fn json() {
    let sandbox = Sandbox::project();
    let doc = sandbox
        .run(&["new", "create_projects", "--format", "json"])
        .ok()
        .json();
    assert_eq!(doc["path"], "migrations/0001_create_projects.sql");
    assert_eq!(doc["version"], 1);
    assert_eq!(doc["name"], "create_projects");
}

#[test]
fn creates_a_missing_folder() {
    let sandbox = Sandbox::empty();
    let run = sandbox.run(&["--dir", "db/migrations", "new", "create_projects"]);
    run.ok();
    assert_eq!(sandbox.files("db/migrations"), ["0001_create_projects.sql"]);
    assert!(
        run.stderr
            .contains("created the migrations folder db/migrations"),
        "{}",
        run.stderr
    );
}

#[test]
fn turns_dashes_into_underscores_and_says_so() {
    let sandbox = Sandbox::project();
    let run = sandbox.run(&["new", "add-users-email"]);
    run.ok();
    assert_eq!(sandbox.files("migrations"), ["0001_add_users_email.sql"]);
    assert!(
        run.stderr
            .contains("named the migration add_users_email (migration names use underscores)"),
        "{}",
        run.stderr
    );
}

#[test]
fn warns_when_the_name_repeats_an_existing_one() {
    let sandbox = Sandbox::project();
    sandbox.run(&["new", "add_base_url"]).ok();
    let run = sandbox.run(&["new", "add_base_url"]);
    run.ok();
    assert_eq!(
        sandbox.files("migrations"),
        ["0001_add_base_url.sql", "0002_add_base_url.sql"]
    );
    assert!(
        run.stderr
            .contains("0001_add_base_url.sql already has the name add_base_url"),
        "{}",
        run.stderr
    );
    let run = sandbox.run(&["new", "add_deleted_at"]);
    run.ok();
    assert!(run.stderr.is_empty(), "{}", run.stderr);
}
