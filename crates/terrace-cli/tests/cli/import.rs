//! `terrace import --from TOOL`: each tool's folder written as Terrace's, with the
//! mapping file; the refusals; and the adoption of each tool's history on SQLite,
//! PostgreSQL and MySQL.

use crate::servers::{ScratchDatabase, connect, execute};
use crate::support::Sandbox;
use sha2::{Digest, Sha384};
use terrace::Connection;

const USERS: &str = "CREATE TABLE users (id INTEGER PRIMARY KEY, name VARCHAR(100));";
const DROP_USERS: &str = "DROP TABLE users;";
const POSTS: &str = "CREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER);";
const INDEX: &str = "CREATE INDEX posts_user ON posts (user_id);";
const DROP_INDEX: &str = "DROP INDEX posts_user;";

/// The text of an imported file.
fn imported(header: &str, up_marker: &str, up: &str, down: Option<(&str, &str)>) -> String {
    let mut text = format!("-- Imported from {header}.\n{up_marker}\n{up}\n");
    if let Some((marker, sql)) = down {
        text.push_str(&format!("{marker}\n{sql}\n"));
    }
    text
}

fn read(sandbox: &Sandbox, relative: &str) -> String {
    std::fs::read_to_string(sandbox.path().join(relative)).unwrap()
}

/// Asserts the three files every fixture becomes, in `migrations/`: create_users,
/// add_posts and index_posts, each imported from `files[i]` (the tool's version
/// `ids[i]`), the third with the up marker `third_up`, each with a down section under
/// `downs[i]`'s marker where there is one.
#[track_caller]
fn assert_three(
    sandbox: &Sandbox,
    tool: &str,
    files: [&str; 3],
    ids: [&str; 3],
    third_up: &str,
    downs: [Option<&str>; 3],
) {
    let names = [
        "0001_create_users.sql",
        "0002_add_posts.sql",
        "0003_index_posts.sql",
    ];
    let ups = [(UP, USERS), (UP, POSTS), (third_up, INDEX)];
    let down_sql = [DROP_USERS, "", DROP_INDEX];
    let mut expected: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
    expected.push("import-map.toml".to_owned());
    assert_eq!(sandbox.files("migrations"), expected);
    for i in 0..3 {
        let text = imported(
            &format!("{tool}: {} (version {})", files[i], ids[i]),
            ups[i].0,
            ups[i].1,
            downs[i].map(|marker| (marker, down_sql[i])),
        );
        assert_eq!(
            read(sandbox, &format!("migrations/{}", names[i])),
            text,
            "{}",
            names[i]
        );
    }
}

// ---------------------------------------------------------------- fixtures

fn sqlx_fixture(sandbox: &Sandbox) {
    sandbox.write(
        "src/20240101000001_create_users.up.sql",
        &format!("{USERS}\n"),
    );
    sandbox.write(
        "src/20240101000001_create_users.down.sql",
        &format!("{DROP_USERS}\n"),
    );
    sandbox.write("src/20240101000002_Add-Posts.sql", &format!("{POSTS}\n"));
    sandbox.write(
        "src/20240101000003_index_posts.up.sql",
        &format!("-- no-transaction\n{INDEX}\n"),
    );
    sandbox.write(
        "src/20240101000003_index_posts.down.sql",
        &format!("{DROP_INDEX}\n"),
    );
    sandbox.write("src/README.md", "not a migration\n");
}

fn refinery_fixture(sandbox: &Sandbox) {
    sandbox.write("src/V1__create_users.sql", &format!("{USERS}\n"));
    sandbox.write("src/more/V2__add_posts.sql", &format!("{POSTS}\n"));
    sandbox.write(
        "src/U3__index_posts.sql",
        &format!("-- +refinery NO TRANSACTION\n{INDEX}\n"),
    );
    sandbox.write("src/README.md", "not a migration\n");
}

fn diesel_fixture(sandbox: &Sandbox) {
    sandbox.write("src/.keep", "");
    sandbox.write(
        "src/2024-01-01-000001_create_users/up.sql",
        &format!("{USERS}\n"),
    );
    sandbox.write(
        "src/2024-01-01-000001_create_users/down.sql",
        &format!("{DROP_USERS}\n"),
    );
    sandbox.write(
        "src/2024-01-01-000002_add_posts/up.sql",
        &format!("{POSTS}\n"),
    );
    sandbox.write(
        "src/2024-01-01-000003_index_posts/up.sql",
        &format!("{INDEX}\n"),
    );
    sandbox.write(
        "src/2024-01-01-000003_index_posts/down.sql",
        &format!("{DROP_INDEX}\n"),
    );
    sandbox.write(
        "src/2024-01-01-000003_index_posts/metadata.toml",
        "run_in_transaction = false\n",
    );
}

fn dbmate_fixture(sandbox: &Sandbox) {
    sandbox.write(
        "src/20240101000001_create_users.sql",
        &format!("-- migrate:up\n{USERS}\n\n-- migrate:down\n{DROP_USERS}\n"),
    );
    sandbox.write(
        "src/20240101000002_add_posts.sql",
        &format!("-- migrate:up\n{POSTS}\n"),
    );
    sandbox.write(
        "src/20240101000003_index_posts.sql",
        &format!("-- migrate:up transaction:false\n{INDEX}\n-- migrate:down\n{DROP_INDEX}\n"),
    );
}

/// goose's block here is one statement in every dialect, so every database adopts it.
fn goose_fixture(sandbox: &Sandbox) {
    sandbox.write(
        "src/00001_create_users.sql",
        &format!("-- +goose Up\n{USERS}\n\n-- +goose Down\n{DROP_USERS}\n"),
    );
    sandbox.write(
        "src/00002_add_posts.sql",
        &format!(
            "-- +goose Up\n-- +goose StatementBegin\n{}\n-- +goose StatementEnd\n",
            POSTS.replace("INTEGER);", "INTEGER,\n  note TEXT DEFAULT 'a;b');")
        ),
    );
    sandbox.write(
        "src/00003_index_posts.sql",
        &format!("-- +goose NO TRANSACTION\n-- +goose Up\n{INDEX}\n-- +goose Down\n{DROP_INDEX}\n"),
    );
}

fn golang_migrate_fixture(sandbox: &Sandbox) {
    sandbox.write("src/000001_create_users.up.sql", &format!("{USERS}\n"));
    sandbox.write(
        "src/000001_create_users.down.sql",
        &format!("{DROP_USERS}\n"),
    );
    sandbox.write("src/000002_add_posts.up.sql", &format!("{POSTS}\n"));
    sandbox.write("src/000003_index_posts.up.sql", &format!("{INDEX}\n"));
    sandbox.write(
        "src/000003_index_posts.down.sql",
        &format!("{DROP_INDEX}\n"),
    );
}

fn flyway_fixture(sandbox: &Sandbox) {
    sandbox.write("src/V1__create_users.sql", &format!("{USERS}\n"));
    sandbox.write("src/U1__create_users.sql", &format!("{DROP_USERS}\n"));
    sandbox.write("src/V1_1__Add_Posts.sql", &format!("{POSTS}\n"));
    sandbox.write("src/nested/V2__index_posts.sql", &format!("{INDEX}\n"));
    sandbox.write(
        "src/nested/V2__index_posts.sql.conf",
        "# per-script settings\nexecuteInTransaction=false\n",
    );
}

/// Flyway's checksums of `V1_1__Add_Posts.sql` and `V2__index_posts.sql`.
const FLYWAY_POSTS_CRC: i32 = -844_296_177;
const FLYWAY_INDEX_CRC: i32 = 162_911_025;

fn fixture(tool: &str, sandbox: &Sandbox) {
    match tool {
        "sqlx" => sqlx_fixture(sandbox),
        "refinery" => refinery_fixture(sandbox),
        "diesel" => diesel_fixture(sandbox),
        "dbmate" => dbmate_fixture(sandbox),
        "goose" => goose_fixture(sandbox),
        "golang-migrate" => golang_migrate_fixture(sandbox),
        "flyway" => flyway_fixture(sandbox),
        other => unreachable!("{other}"),
    }
}

// ---------------------------------------------------------------- folders

const UP: &str = "-- migrate:up";
const UP_NO_TX: &str = "-- migrate:up transaction:false";
const DOWN: &str = "-- migrate:down";

#[test]
fn sqlx_pairs_simple_files_and_no_transaction() {
    let sandbox = Sandbox::project();
    sqlx_fixture(&sandbox);
    let run = sandbox.run(&["import", "--from", "sqlx", "src"]);
    run.ok();
    assert_eq!(
        run.stdout,
        "0001_create_users.sql <- 20240101000001_create_users.up.sql (sqlx 20240101000001; down)\n\
         0002_add_posts.sql <- 20240101000002_Add-Posts.sql (sqlx 20240101000002; no down)\n\
         0003_index_posts.sql <- 20240101000003_index_posts.up.sql (sqlx 20240101000003; transaction:false, down)\n\
         wrote 3 migrations and import-map.toml to migrations\n"
    );
    assert_three(
        &sandbox,
        "sqlx",
        [
            "20240101000001_create_users.up.sql",
            "20240101000002_Add-Posts.sql",
            "20240101000003_index_posts.up.sql",
        ],
        ["20240101000001", "20240101000002", "20240101000003"],
        UP_NO_TX,
        [Some(DOWN), None, Some(DOWN)],
    );
    assert_eq!(
        read(&sandbox, "migrations/import-map.toml"),
        "# Written by `terrace import --from sqlx`: each migration's id in sqlx (old_id),\n\
         # its file there (source_file) and the Terrace version and file it became.\n\
         tool = \"sqlx\"\nsource = \"src\"\n\
         \n[[migration]]\nversion = 1\nfile = \"0001_create_users.sql\"\nold_id = \"20240101000001\"\nsource_file = \"20240101000001_create_users.up.sql\"\n\
         \n[[migration]]\nversion = 2\nfile = \"0002_add_posts.sql\"\nold_id = \"20240101000002\"\nsource_file = \"20240101000002_Add-Posts.sql\"\n\
         \n[[migration]]\nversion = 3\nfile = \"0003_index_posts.sql\"\nold_id = \"20240101000003\"\nsource_file = \"20240101000003_index_posts.up.sql\"\n"
    );
    // Terrace reads the folder without a warning, and runs it.
    let run = sandbox.run(&["migrate"]);
    run.ok();
    assert!(!run.stderr.contains("warning"), "{}", run.stderr);
    assert_eq!(sandbox.recorded(), [1, 2, 3]);
}

#[test]
fn refinery_versioned_and_unversioned_files_in_subfolders() {
    let sandbox = Sandbox::project();
    refinery_fixture(&sandbox);
    sandbox.run(&["import", "--from", "refinery", "src"]).ok();
    assert_three(
        &sandbox,
        "refinery",
        [
            "V1__create_users.sql",
            "more/V2__add_posts.sql",
            "U3__index_posts.sql",
        ],
        ["1", "2", "3"],
        UP_NO_TX,
        [None, None, None],
    );
    sandbox.run(&["migrate"]).ok();
}

#[test]
fn diesel_folders_metadata_and_missing_downs() {
    let sandbox = Sandbox::project();
    diesel_fixture(&sandbox);
    sandbox.run(&["import", "--from", "diesel", "src"]).ok();
    assert_three(
        &sandbox,
        "diesel",
        [
            "2024-01-01-000001_create_users",
            "2024-01-01-000002_add_posts",
            "2024-01-01-000003_index_posts",
        ],
        ["20240101000001", "20240101000002", "20240101000003"],
        UP_NO_TX,
        [Some(DOWN), None, Some("-- migrate:down transaction:false")],
    );
    sandbox.run(&["migrate"]).ok();
}

#[test]
fn dbmate_sections_and_options() {
    let sandbox = Sandbox::project();
    dbmate_fixture(&sandbox);
    sandbox.run(&["import", "--from", "dbmate", "src"]).ok();
    assert_three(
        &sandbox,
        "dbmate",
        [
            "20240101000001_create_users.sql",
            "20240101000002_add_posts.sql",
            "20240101000003_index_posts.sql",
        ],
        ["20240101000001", "20240101000002", "20240101000003"],
        UP_NO_TX,
        [Some(DOWN), None, Some(DOWN)],
    );
    sandbox.run(&["migrate"]).ok();
}

#[test]
fn goose_annotations_blocks_and_no_transaction() {
    let sandbox = Sandbox::project();
    goose_fixture(&sandbox);
    // A PL/pgSQL body in a block: kept whole by the PostgreSQL reading.
    let function = "CREATE FUNCTION touch() RETURNS trigger AS $$\nBEGIN\n  NEW.updated_at = now();\n  RETURN NEW;\nEND;\n$$ LANGUAGE plpgsql";
    sandbox.write(
        "src/00004_touch_function.sql",
        &format!("-- +goose Up\n-- +goose StatementBegin\n{function};\n-- +goose StatementEnd\n\n-- +goose Down\nDROP FUNCTION touch();\n"),
    );
    sandbox.run(&["import", "--from", "goose", "src"]).ok();
    assert_eq!(
        read(&sandbox, "migrations/0002_add_posts.sql"),
        imported(
            "goose: 00002_add_posts.sql (version 2)",
            UP,
            &POSTS.replace("INTEGER);", "INTEGER,\n  note TEXT DEFAULT 'a;b');"),
            None
        )
    );
    assert_eq!(
        read(&sandbox, "migrations/0003_index_posts.sql"),
        imported(
            "goose: 00003_index_posts.sql (version 3)",
            UP_NO_TX,
            INDEX,
            Some(("-- migrate:down transaction:false", DROP_INDEX))
        )
    );
    assert_eq!(
        read(&sandbox, "migrations/0004_touch_function.sql"),
        imported(
            "goose: 00004_touch_function.sql (version 4)",
            UP,
            &format!("{function};"),
            Some((DOWN, "DROP FUNCTION touch();"))
        )
    );
}

#[test]
fn golang_migrate_up_and_down_files() {
    let sandbox = Sandbox::project();
    golang_migrate_fixture(&sandbox);
    sandbox
        .run(&["import", "--from", "golang-migrate", "src"])
        .ok();
    assert_three(
        &sandbox,
        "golang-migrate",
        [
            "000001_create_users.up.sql",
            "000002_add_posts.up.sql",
            "000003_index_posts.up.sql",
        ],
        ["1", "2", "3"],
        UP,
        [Some(DOWN), None, Some(DOWN)],
    );
    sandbox.run(&["migrate"]).ok();
}

#[test]
fn flyway_versions_undo_scripts_and_script_config() {
    let sandbox = Sandbox::project();
    flyway_fixture(&sandbox);
    sandbox.run(&["import", "--from", "flyway", "src"]).ok();
    assert_three(
        &sandbox,
        "flyway",
        [
            "V1__create_users.sql",
            "V1_1__Add_Posts.sql",
            "nested/V2__index_posts.sql",
        ],
        ["1", "1.1", "2"],
        UP_NO_TX,
        [Some(DOWN), None, None],
    );
    sandbox.run(&["migrate"]).ok();
}

#[test]
fn explicit_empty_downs_become_noop_markers() {
    let sandbox = Sandbox::empty();
    sandbox.write("diesel/2024-01-01-000001_create_users/up.sql", USERS);
    sandbox.write("diesel/2024-01-01-000001_create_users/down.sql", "  \n");
    sandbox.write(
        "goose/1_create_users.sql",
        &format!("-- +goose Up\n{USERS}\n-- +goose Down\n"),
    );
    sandbox.write(
        "dbmate/1_create_users.sql",
        &format!("-- migrate:up\n{USERS}\n-- migrate:down\n"),
    );
    sandbox.write("golang/1_create_users.up.sql", USERS);
    sandbox.write("golang/1_create_users.down.sql", "");
    for (tool, dir) in [
        ("diesel", "diesel"),
        ("goose", "goose"),
        ("dbmate", "dbmate"),
        ("golang-migrate", "golang"),
    ] {
        let out = format!("out-{dir}");
        let run = sandbox.run(&["import", "--from", tool, dir, "--out", &out]);
        run.ok();
        assert!(
            run.stdout.contains("(down: noop)") || run.stdout.contains("; down: noop)"),
            "{}",
            run.stdout
        );
        let text = read(&sandbox, &format!("{out}/0001_create_users.sql"));
        assert!(
            text.ends_with(&format!("-- migrate:up\n{USERS}\n-- migrate:down noop\n")),
            "{tool}: {text}"
        );
    }
}

#[test]
fn names_are_made_descriptive_snake_case() {
    let sandbox = Sandbox::empty();
    sandbox.write("src/1_Update.up.sql", USERS);
    sandbox.write("src/2_1st-table.up.sql", POSTS);
    sandbox
        .run(&["import", "--from", "golang-migrate", "src"])
        .ok();
    assert_eq!(
        sandbox.files("migrations"),
        [
            "0001_import_update.sql",
            "0002_import_1st_table.sql",
            "import-map.toml"
        ]
    );
}

#[test]
fn json_output() {
    let sandbox = Sandbox::project();
    goose_fixture(&sandbox);
    let doc = sandbox
        .run(&["import", "--from", "goose", "src", "--format", "json"])
        .ok()
        .json();
    assert_eq!(
        doc,
        serde_json::json!({
            "from": "goose",
            "source": "src",
            "out": "migrations",
            "dry_run": false,
            "map_file": "migrations/import-map.toml",
            "migrations": [
                {"version": 1, "name": "create_users", "file": "0001_create_users.sql", "old_id": "1",
                 "source_file": "00001_create_users.sql", "transactional": true, "down": "sql"},
                {"version": 2, "name": "add_posts", "file": "0002_add_posts.sql", "old_id": "2",
                 "source_file": "00002_add_posts.sql", "transactional": true, "down": "none"},
                {"version": 3, "name": "index_posts", "file": "0003_index_posts.sql", "old_id": "3",
                 "source_file": "00003_index_posts.sql", "transactional": false, "down": "sql"}
            ],
            "adopted": null
        })
    );
}

#[test]
fn json_output_of_an_adoption() {
    let sandbox = Sandbox::project();
    goose_fixture(&sandbox);
    create_goose_history(&sandbox);
    let doc = sandbox
        .run(&[
            "import",
            "--from",
            "goose",
            "src",
            "--database",
            "sqlite:app.db",
            "--format",
            "json",
        ])
        .ok()
        .json();
    assert_eq!(doc["database"], "sqlite:app.db");
    assert_eq!(
        doc["adopted"],
        serde_json::json!({
            "table": "goose_db_version",
            "recorded": [
                {"version": 1, "name": "create_users"},
                {"version": 2, "name": "add_posts"},
                {"version": 3, "name": "index_posts"}
            ]
        })
    );
    assert_eq!(doc["migrations"].as_array().unwrap().len(), 3);
}

#[test]
fn dry_run_writes_nothing() {
    let sandbox = Sandbox::project();
    goose_fixture(&sandbox);
    let run = sandbox.run(&["import", "--from", "goose", "src", "--dry-run"]);
    run.ok();
    assert!(
        run.stdout
            .ends_with("would write 3 migrations and import-map.toml to migrations\n"),
        "{}",
        run.stdout
    );
    assert!(sandbox.files("migrations").is_empty());
    // Nor with a database: the history is read, nothing recorded.
    create_goose_history(&sandbox);
    let before = sandbox.db_bytes();
    let run = sandbox.run(&[
        "import",
        "--from",
        "goose",
        "src",
        "--dry-run",
        "--database",
        "sqlite:app.db",
    ]);
    run.ok();
    assert!(
        run.stdout
            .contains("would record 3 index_posts as applied\n"),
        "{}",
        run.stdout
    );
    assert!(sandbox.files("migrations").is_empty());
    assert_eq!(sandbox.db_bytes(), before);
}

fn create_goose_history(sandbox: &Sandbox) {
    sandbox
        .open_db()
        .execute_batch(&foreign_history("goose", Backend::Sqlite))
        .unwrap();
}

// ---------------------------------------------------------------- refusals

#[test]
fn a_folder_that_is_not_empty_is_refused_unless_overwrite() {
    let sandbox = Sandbox::project();
    golang_migrate_fixture(&sandbox);
    sandbox.migration("0001_old_one.sql", USERS, None);
    let run = sandbox.run(&["import", "--from", "golang-migrate", "src"]);
    run.code(1);
    assert!(
        run.stderr.starts_with("error: migrations is not empty (0001_old_one.sql); refusing to write the imported migrations into it\n"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("--overwrite"), "{}", run.stderr);
    assert_eq!(sandbox.files("migrations"), ["0001_old_one.sql"]);
    sandbox
        .run(&["import", "--from", "golang-migrate", "src", "--overwrite"])
        .ok();
    assert_eq!(
        sandbox.files("migrations"),
        [
            "0001_create_users.sql",
            "0002_add_posts.sql",
            "0003_index_posts.sql",
            "import-map.toml"
        ]
    );
}

#[test]
fn flyway_repeatables_and_placeholders_are_refused() {
    let sandbox = Sandbox::project();
    flyway_fixture(&sandbox);
    sandbox.write("src/R__views.sql", "CREATE VIEW v AS SELECT 1;");
    sandbox.write("src/more/R__grants.sql", "SELECT 1;");
    sandbox.write(
        "src/V3__seed.sql",
        "INSERT INTO ${schema}.users (name) VALUES ('a');",
    );
    let run = sandbox.run(&["import", "--from", "flyway", "src"]);
    run.code(1);
    assert_eq!(
        run.stderr,
        "error: cannot import src as flyway migrations:\n  \
         repeatable migrations, which Terrace does not have: R__views.sql, more/R__grants.sql (move their SQL into a versioned migration, or keep running them with Flyway)\n  \
         V3__seed.sql:1: the placeholder ${schema} is replaced by Flyway, not by Terrace; write its value into the file\n"
    );
    assert!(sandbox.files("migrations").is_empty());
}

#[test]
fn files_terrace_would_refuse_are_named_and_nothing_is_written() {
    let sandbox = Sandbox::project();
    sandbox.write(
        "src/1_create_users.up.sql",
        &format!("BEGIN;\n{USERS}\nCOMMIT;\n"),
    );
    let run = sandbox.run(&["import", "--from", "golang-migrate", "src"]);
    run.code(1);
    assert_eq!(
        run.stderr,
        "error: the imported migrations would not pass Terrace's validation:\n  \
         migrations/0001_create_users.sql:3: 'BEGIN' controls the transaction Terrace runs the up section in; remove it, or run the section outside a transaction with '-- migrate:up transaction:false' (imported from 1_create_users.up.sql)\n\
         hint: fix the source file named, then import again\n"
    );
    assert!(sandbox.files("migrations").is_empty());
    // A folder the import created is removed again.
    sandbox
        .run(&["import", "--from", "golang-migrate", "src", "--out", "new"])
        .code(1);
    assert!(!sandbox.path().join("new").exists());
    // A migration with no SQL would be a draft.
    sandbox.write("src/1_create_users.up.sql", USERS);
    sandbox.write("src/2_nothing_yet.up.sql", "-- to do\n");
    let run = sandbox.run(&["import", "--from", "golang-migrate", "src"]);
    run.code(1);
    assert!(
        run.stderr.contains("\n  2_nothing_yet.up.sql: no SQL to run; Terrace reads a migration without any as an unfinished draft"),
        "{}",
        run.stderr
    );
}

#[test]
fn goose_blocks_terrace_would_split_are_refused() {
    let sandbox = Sandbox::project();
    sandbox.write(
        "src/1_two_statements.sql",
        "-- +goose Up\n-- +goose StatementBegin\nCREATE TABLE a (id INT);\nCREATE TABLE b (id INT);\n-- +goose StatementEnd\n",
    );
    let run = sandbox.run(&["import", "--from", "goose", "src"]);
    run.code(1);
    assert!(
        run.stderr.contains("1_two_statements.sql:2: the StatementBegin block would be split into several statements by Terrace"),
        "{}",
        run.stderr
    );
    // A dollar-quoted body is whole for PostgreSQL, not for the SQLite database adopted.
    let sandbox = Sandbox::project();
    sandbox.write(
        "src/1_touch_function.sql",
        "-- +goose Up\n-- +goose StatementBegin\nCREATE FUNCTION f() RETURNS int AS $$\nBEGIN\n  RETURN 1;\nEND;\n$$ LANGUAGE plpgsql;\n-- +goose StatementEnd\n",
    );
    create_goose_history(&sandbox);
    let run = sandbox.run(&[
        "import",
        "--from",
        "goose",
        "src",
        "--database",
        "sqlite:app.db",
    ]);
    run.code(1);
    assert!(
        run.stderr
            .contains("1_touch_function.sql:2: the StatementBegin block"),
        "{}",
        run.stderr
    );
    sandbox.run(&["import", "--from", "goose", "src"]).ok();
}

#[test]
fn code_migrations_are_refused() {
    let sandbox = Sandbox::project();
    sandbox.write(
        "goose/1_create_users.sql",
        &format!("-- +goose Up\n{USERS}\n"),
    );
    sandbox.write("goose/2_backfill.go", "package migrations\n");
    let run = sandbox.run(&["import", "--from", "goose", "goose"]);
    run.code(1);
    assert!(
        run.stderr.contains("2_backfill.go: a Go migration"),
        "{}",
        run.stderr
    );
    sandbox.write("refinery/V1__create_users.sql", USERS);
    sandbox.write("refinery/V2__backfill.rs", "fn migration() {}\n");
    let run = sandbox.run(&["import", "--from", "refinery", "refinery"]);
    run.code(1);
    assert!(
        run.stderr.contains("V2__backfill.rs: a Rust migration"),
        "{}",
        run.stderr
    );
}

#[test]
fn the_tools_table_under_another_name() {
    let sandbox = Sandbox::project();
    goose_fixture(&sandbox);
    create_goose_history(&sandbox);
    sandbox
        .open_db()
        .execute_batch("ALTER TABLE goose_db_version RENAME TO app_versions;")
        .unwrap();
    let adopt = [
        "import",
        "--from",
        "goose",
        "src",
        "--database",
        "sqlite:app.db",
    ];
    let run = sandbox.run(&adopt);
    run.code(1);
    assert!(
        run.diagnostics()
            .starts_with("error: cannot read goose's table goose_db_version\n  caused by: no such table: goose_db_version\n"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("--from-table"), "{}", run.stderr);
    let run = sandbox.run(
        &[
            &adopt[..],
            &["--from-table", "app_versions; DROP TABLE users"],
        ]
        .concat(),
    );
    run.code(2);
    assert!(run.stderr.contains("is not a table name"), "{}", run.stderr);
    let run = sandbox.run(&[
        "import",
        "--from",
        "goose",
        "src",
        "--from-table",
        "app_versions",
    ]);
    assert!(
        run.code(2).stderr.contains("--from-table needs --database"),
        "{}",
        run.stderr
    );
    let run = sandbox.run(&[&adopt[..], &["--from-table", "app_versions"]].concat());
    run.ok();
    assert!(
        run.stdout.ends_with("adopted goose's history from app_versions: 3 migrations recorded as applied without running them; app_versions is left as it was\n"),
        "{}",
        run.stdout
    );
    assert_eq!(sandbox.recorded(), [1, 2, 3]);
}

#[test]
fn a_database_with_terrace_history_is_refused() {
    let sandbox = Sandbox::project();
    goose_fixture(&sandbox);
    create_goose_history(&sandbox);
    let adopt = [
        "import",
        "--from",
        "goose",
        "src",
        "--database",
        "sqlite:app.db",
    ];
    sandbox.run(&adopt).ok();
    let files = read(&sandbox, "migrations/0001_create_users.sql");
    let before = sandbox.db_bytes();
    let run = sandbox.run(&[&adopt[..], &["--overwrite"]].concat());
    run.code(1);
    assert!(
        run.diagnostics().starts_with(
            "error: Terrace's table schema_migrations already holds 3 migrations; import adopts a history only into an empty one\n"
        ),
        "{}",
        run.stderr
    );
    assert_eq!(sandbox.db_bytes(), before);
    assert_eq!(read(&sandbox, "migrations/0001_create_users.sql"), files);
}

#[test]
fn the_foreign_table_as_terraces_table_is_refused() {
    for tool in ["dbmate", "golang-migrate"] {
        let sandbox = Sandbox::project();
        fixture(tool, &sandbox);
        sandbox
            .open_db()
            .execute_batch(&foreign_history(tool, Backend::Sqlite))
            .unwrap();
        let before = sandbox.db_bytes();
        let run = sandbox.run(&[
            "import",
            "--from",
            tool,
            "src",
            "--database",
            "sqlite:app.db",
        ]);
        run.code(2);
        assert!(
            run.stderr.contains(&format!(
                "error: Terrace's tracking table schema_migrations is {tool}'s table too"
            )),
            "{}",
            run.stderr
        );
        assert!(run.stderr.contains("--table"), "{}", run.stderr);
        assert_eq!(sandbox.db_bytes(), before);
        assert!(sandbox.files("migrations").is_empty());
    }
}

/// Imports `tool`'s fixture against a SQLite history changed by `sql`, expecting a
/// refusal; nothing is written, to the folder or the database.
#[track_caller]
fn refused_history(tool: &str, sql: &str) -> String {
    let sandbox = Sandbox::project();
    fixture(tool, &sandbox);
    let conn = sandbox.open_db();
    conn.execute_batch(&foreign_history(tool, Backend::Sqlite))
        .unwrap();
    conn.execute_batch(sql).unwrap();
    drop(conn);
    let before = sandbox.db_bytes();
    let run = sandbox.run(&[
        "import",
        "--from",
        tool,
        "src",
        "--database",
        "sqlite:app.db",
        "--table",
        "terrace_migrations",
    ]);
    run.code(1);
    assert_eq!(sandbox.db_bytes(), before);
    assert!(sandbox.files("migrations").is_empty());
    run.diagnostics().to_owned()
}

#[test]
fn dirty_or_failed_histories_are_refused() {
    let text = refused_history(
        "golang-migrate",
        "UPDATE schema_migrations SET dirty = TRUE;",
    );
    assert!(
        text.starts_with("error: golang-migrate's table schema_migrations is dirty at version 3: a migration failed partway\nhint: repair the schema by hand, then `migrate force VERSION`"),
        "{text}"
    );
    let text = refused_history(
        "sqlx",
        "UPDATE _sqlx_migrations SET success = FALSE WHERE version = 20240101000002;",
    );
    assert!(
        text.starts_with("error: sqlx's table _sqlx_migrations records migration 20240101000002 as failed (success = false)\n"),
        "{text}"
    );
    let text = refused_history(
        "flyway",
        "UPDATE flyway_schema_history SET success = FALSE WHERE installed_rank = 3;",
    );
    assert!(
        text.starts_with("error: Flyway's table flyway_schema_history records nested/V2__index_posts.sql (version 2) as failed\nhint: repair the schema by hand, run `flyway repair`"),
        "{text}"
    );
}

#[test]
fn unknown_applied_migrations_edits_and_gaps_are_refused() {
    let text = refused_history(
        "sqlx",
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) VALUES (20240101000009, 'gone', TRUE, X'00', 1);\n\
         UPDATE _sqlx_migrations SET checksum = X'0102' WHERE version = 20240101000001;",
    );
    assert!(
        text.starts_with(
            "error: cannot adopt sqlx's history from _sqlx_migrations:\n  \
             20240101000001_create_users.up.sql: edited since sqlx applied it (checksum in _sqlx_migrations: 0102, of the file: "
        ),
        "{text}"
    );
    assert!(
        text.contains("\n  version 20240101000009 is applied according to _sqlx_migrations, but no file in the source folder has it\n"),
        "{text}"
    );
    let text = refused_history(
        "goose",
        "DELETE FROM goose_db_version WHERE version_id = 2;",
    );
    assert!(
        text.contains("00002_add_posts.sql (version 2) is not applied, but a later migration is; Terrace applies migrations in order"),
        "{text}"
    );
    let text = refused_history(
        "flyway",
        "UPDATE flyway_schema_history SET checksum = 7 WHERE installed_rank = 2;",
    );
    assert!(
        text.contains("V1_1__Add_Posts.sql: edited since flyway applied it (checksum in flyway_schema_history: 7, of the file: -844296177)"),
        "{text}"
    );
}

// ---------------------------------------------------------------- adoption

/// A database of the matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Backend {
    Sqlite,
    Postgres,
    Mysql,
}

/// The tool's table as the tool creates it on `backend`, with every fixture migration
/// applied, as the tool would have recorded it.
fn foreign_history(tool: &str, backend: Backend) -> String {
    let (yes, no) = ("TRUE", "FALSE");
    let bytes = |hex: &str| match backend {
        Backend::Postgres => format!("decode('{hex}', 'hex')"),
        _ => format!("X'{hex}'"),
    };
    match tool {
        "sqlx" => {
            let ddl = match backend {
                Backend::Sqlite => "CREATE TABLE _sqlx_migrations (version BIGINT PRIMARY KEY, description TEXT NOT NULL, installed_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP, success BOOLEAN NOT NULL, checksum BLOB NOT NULL, execution_time BIGINT NOT NULL);",
                Backend::Postgres => "CREATE TABLE _sqlx_migrations (version BIGINT PRIMARY KEY, description TEXT NOT NULL, installed_on TIMESTAMPTZ NOT NULL DEFAULT now(), success BOOLEAN NOT NULL, checksum BYTEA NOT NULL, execution_time BIGINT NOT NULL);",
                Backend::Mysql => "CREATE TABLE _sqlx_migrations (version BIGINT PRIMARY KEY, description TEXT NOT NULL, installed_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP, success BOOLEAN NOT NULL, checksum BLOB NOT NULL, execution_time BIGINT NOT NULL);",
            };
            let mut sql = ddl.to_owned();
            for (version, description, text) in [
                (1, "create users", format!("{USERS}\n")),
                (2, "Add-Posts", format!("{POSTS}\n")),
                (3, "index posts", format!("-- no-transaction\n{INDEX}\n")),
            ] {
                let hex: String = Sha384::digest(text.as_bytes())
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect();
                sql.push_str(&format!(
                    "\nINSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) VALUES (2024010100000{version}, '{description}', {yes}, {}, 1234);",
                    bytes(&hex)
                ));
            }
            sql
        }
        "refinery" => "CREATE TABLE refinery_schema_history (version INT4 PRIMARY KEY, name VARCHAR(255), applied_on VARCHAR(255), checksum VARCHAR(255));\n\
             INSERT INTO refinery_schema_history VALUES (1, 'create_users', '2024-01-01T00:00:00Z', '1111');\n\
             INSERT INTO refinery_schema_history VALUES (2, 'add_posts', '2024-01-01T00:00:01Z', '2222');\n\
             INSERT INTO refinery_schema_history VALUES (3, 'index_posts', '2024-01-01T00:00:02Z', '3333');".to_owned(),
        "diesel" => "CREATE TABLE __diesel_schema_migrations (version VARCHAR(50) PRIMARY KEY NOT NULL, run_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP);\n\
             INSERT INTO __diesel_schema_migrations (version) VALUES ('20240101000001');\n\
             INSERT INTO __diesel_schema_migrations (version) VALUES ('20240101000002');\n\
             INSERT INTO __diesel_schema_migrations (version) VALUES ('20240101000003');".to_owned(),
        "dbmate" => "CREATE TABLE schema_migrations (version VARCHAR(128) PRIMARY KEY);\n\
             INSERT INTO schema_migrations (version) VALUES ('20240101000001');\n\
             INSERT INTO schema_migrations (version) VALUES ('20240101000002');\n\
             INSERT INTO schema_migrations (version) VALUES ('20240101000003');".to_owned(),
        "goose" => {
            let ddl = match backend {
                Backend::Sqlite => "CREATE TABLE goose_db_version (id INTEGER PRIMARY KEY AUTOINCREMENT, version_id INTEGER NOT NULL, is_applied INTEGER NOT NULL, tstamp TIMESTAMP DEFAULT (datetime('now')));",
                Backend::Postgres => "CREATE TABLE goose_db_version (id integer PRIMARY KEY GENERATED BY DEFAULT AS IDENTITY, version_id bigint NOT NULL, is_applied boolean NOT NULL, tstamp timestamp NOT NULL DEFAULT now());",
                Backend::Mysql => "CREATE TABLE goose_db_version (id serial NOT NULL, version_id bigint NOT NULL, is_applied boolean NOT NULL, tstamp timestamp NULL default now(), PRIMARY KEY(id));",
            };
            // Version 3 applied, rolled back (an older goose's row) and applied again.
            let mut sql = ddl.to_owned();
            for (version, applied) in [(0, yes), (1, yes), (2, yes), (3, yes), (3, no), (3, yes)] {
                sql.push_str(&format!(
                    "\nINSERT INTO goose_db_version (version_id, is_applied) VALUES ({version}, {applied});"
                ));
            }
            sql
        }
        "golang-migrate" => {
            let ddl = match backend {
                Backend::Sqlite => "CREATE TABLE schema_migrations (version uint64, dirty bool);\nCREATE UNIQUE INDEX version_unique ON schema_migrations (version);",
                _ => "CREATE TABLE schema_migrations (version bigint not null primary key, dirty boolean not null);",
            };
            format!("{ddl}\nINSERT INTO schema_migrations (version, dirty) VALUES (3, {no});")
        }
        "flyway" => {
            let ddl = match backend {
                Backend::Sqlite => "CREATE TABLE flyway_schema_history (installed_rank INT NOT NULL PRIMARY KEY, version VARCHAR(50), description VARCHAR(200) NOT NULL, type VARCHAR(20) NOT NULL, script VARCHAR(1000) NOT NULL, checksum INT, installed_by VARCHAR(100) NOT NULL, installed_on TEXT NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f','now')), execution_time INT NOT NULL, success BOOLEAN NOT NULL);",
                Backend::Postgres => "CREATE TABLE flyway_schema_history (installed_rank INT NOT NULL, version VARCHAR(50), description VARCHAR(200) NOT NULL, type VARCHAR(20) NOT NULL, script VARCHAR(1000) NOT NULL, checksum INTEGER, installed_by VARCHAR(100) NOT NULL, installed_on TIMESTAMP NOT NULL DEFAULT now(), execution_time INTEGER NOT NULL, success BOOLEAN NOT NULL, CONSTRAINT flyway_schema_history_pk PRIMARY KEY (installed_rank));",
                Backend::Mysql => "CREATE TABLE flyway_schema_history (installed_rank INT NOT NULL, version VARCHAR(50), description VARCHAR(200) NOT NULL, type VARCHAR(20) NOT NULL, script VARCHAR(1000) NOT NULL, checksum INT, installed_by VARCHAR(100) NOT NULL, installed_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP, execution_time INT NOT NULL, success BOOL NOT NULL, CONSTRAINT flyway_schema_history_pk PRIMARY KEY (installed_rank));",
            };
            // The database was baselined at 1, then 1.1 and 2 ran.
            format!(
                "{ddl}\n\
                 INSERT INTO flyway_schema_history (installed_rank, version, description, type, script, checksum, installed_by, execution_time, success) VALUES (1, '1', '<< Flyway Baseline >>', 'BASELINE', '<< Flyway Baseline >>', NULL, 'app', 0, {yes});\n\
                 INSERT INTO flyway_schema_history (installed_rank, version, description, type, script, checksum, installed_by, execution_time, success) VALUES (2, '1.1', 'Add Posts', 'SQL', 'V1_1__Add_Posts.sql', {FLYWAY_POSTS_CRC}, 'app', 12, {yes});\n\
                 INSERT INTO flyway_schema_history (installed_rank, version, description, type, script, checksum, installed_by, execution_time, success) VALUES (3, '2', 'index posts', 'SQL', 'nested/V2__index_posts.sql', {FLYWAY_INDEX_CRC}, 'app', 7, {yes});"
            )
        }
        other => unreachable!("{other}"),
    }
}

/// The tool's table name.
fn foreign_table(tool: &str) -> &'static str {
    match tool {
        "sqlx" => "_sqlx_migrations",
        "refinery" => "refinery_schema_history",
        "diesel" => "__diesel_schema_migrations",
        "goose" => "goose_db_version",
        "flyway" => "flyway_schema_history",
        _ => "schema_migrations",
    }
}

/// One number from a query, on any backend.
fn count(url: &str, sandbox: &Sandbox, sql: &str) -> i64 {
    if url.starts_with("sqlite:") {
        return sandbox
            .open_db()
            .query_row(sql, [], |row| row.get(0))
            .unwrap();
    }
    match connect(url) {
        Connection::Postgres(mut client) => client.query_one(sql, &[]).unwrap().get(0),
        Connection::Mysql(mut conn) => {
            mysql::prelude::Queryable::query_first::<i64, _>(&mut conn, sql)
                .unwrap()
                .unwrap()
        }
        _ => unreachable!("a server URL"),
    }
}

/// Creates `tool`'s history on `backend`, imports with `--database`, then checks that
/// Terrace finds every migration applied and nothing to run, and that the tool's
/// table is as it was.
fn adopt(tool: &str, backend: Backend) {
    let sandbox = Sandbox::empty();
    fixture(tool, &sandbox);
    let scratch = match backend {
        Backend::Sqlite => None,
        Backend::Postgres => Some(ScratchDatabase::new("TERRACE_TEST_POSTGRES_URL")),
        Backend::Mysql => Some(ScratchDatabase::new("TERRACE_TEST_MYSQL_URL")),
    };
    let url = scratch
        .as_ref()
        .map_or_else(|| "sqlite:app.db".to_owned(), |db| db.url.clone());
    let history = foreign_history(tool, backend);
    match &scratch {
        None => sandbox.open_db().execute_batch(&history).unwrap(),
        Some(db) => execute(&db.url, &history),
    }
    let table = foreign_table(tool);
    let rows = format!("SELECT COUNT(*) FROM {table}");
    let rows_before = count(&url, &sandbox, &rows);
    // dbmate's and golang-migrate's table has Terrace's default name.
    let terrace_table = if table == "schema_migrations" {
        "terrace_migrations"
    } else {
        "schema_migrations"
    };
    let terrace = |args: &[&str]| {
        let mut all = vec!["--database", url.as_str(), "--table", terrace_table];
        all.extend_from_slice(args);
        sandbox.run(&all)
    };

    let run = terrace(&["import", "--from", tool, "src"]);
    run.ok();
    assert!(
        run.stdout.ends_with(&format!(
            "recorded 1 create_users as applied\nrecorded 2 add_posts as applied\nrecorded 3 index_posts as applied\n\
             adopted {tool}'s history from {table}: 3 migrations recorded as applied without running them; {table} is left as it was\n"
        )),
        "{}",
        run.stdout
    );
    let doc = terrace(&["migrate", "--format", "json"]).ok().json();
    assert_eq!(doc["steps"], serde_json::json!([]), "{doc}");
    let doc = terrace(&["status", "--format", "json"]).ok().json();
    assert_eq!(
        (doc["applied_count"].as_u64(), doc["pending_count"].as_u64()),
        (Some(3), Some(0)),
        "{doc}"
    );
    terrace(&["status", "--check"]).ok();
    assert_eq!(count(&url, &sandbox, &rows), rows_before);
    // The schema itself was not touched: no migration ran.
    let users = match backend {
        Backend::Sqlite => "SELECT COUNT(*) FROM sqlite_master WHERE name = 'users'",
        Backend::Postgres => {
            "SELECT COUNT(*) FROM information_schema.tables WHERE table_name = 'users' AND table_schema = current_schema()"
        }
        Backend::Mysql => {
            "SELECT COUNT(*) FROM information_schema.tables WHERE table_name = 'users' AND table_schema = DATABASE()"
        }
    };
    assert_eq!(count(&url, &sandbox, users), 0);
}

macro_rules! adoption {
    ($($module:ident => $tool:literal),* $(,)?) => {$(
        mod $module {
            #[test]
            fn sqlite() {
                super::adopt($tool, super::Backend::Sqlite);
            }

            #[test]
            #[cfg_attr(
                not(terrace_test_postgres),
                ignore = "TERRACE_TEST_POSTGRES_URL was not set when the tests were built"
            )]
            fn postgres() {
                super::adopt($tool, super::Backend::Postgres);
            }

            #[test]
            #[cfg_attr(
                not(terrace_test_mysql),
                ignore = "TERRACE_TEST_MYSQL_URL was not set when the tests were built"
            )]
            fn mysql() {
                super::adopt($tool, super::Backend::Mysql);
            }
        }
    )*};
}

mod adoption {
    use super::{Backend, adopt};

    adoption!(
        sqlx => "sqlx",
        refinery => "refinery",
        diesel => "diesel",
        dbmate => "dbmate",
        goose => "goose",
        golang_migrate => "golang-migrate",
        flyway => "flyway",
    );
}

#[test]
fn a_history_with_nothing_applied_records_nothing() {
    let sandbox = Sandbox::project();
    goose_fixture(&sandbox);
    sandbox
        .open_db()
        .execute_batch(
            "CREATE TABLE goose_db_version (id INTEGER PRIMARY KEY AUTOINCREMENT, version_id INTEGER NOT NULL, is_applied INTEGER NOT NULL, tstamp TIMESTAMP DEFAULT (datetime('now')));\n\
             INSERT INTO goose_db_version (version_id, is_applied) VALUES (0, 1);",
        )
        .unwrap();
    let run = sandbox.run(&[
        "import",
        "--from",
        "goose",
        "src",
        "--database",
        "sqlite:app.db",
    ]);
    run.ok();
    assert!(
        run.stdout.ends_with("adopted goose's history from goose_db_version: 0 migrations recorded as applied without running them; goose_db_version is left as it was\n"),
        "{}",
        run.stdout
    );
    assert_eq!(sandbox.columns("schema_migrations"), Vec::<String>::new());
    sandbox.run(&["migrate"]).ok();
    assert_eq!(sandbox.recorded(), [1, 2, 3]);
}

#[test]
fn json_errors_name_the_refusal() {
    let sandbox = Sandbox::project();
    flyway_fixture(&sandbox);
    sandbox.write("src/R__views.sql", "CREATE VIEW v AS SELECT 1;");
    let run = sandbox.run(&["import", "--from", "flyway", "src", "--format", "json"]);
    assert_eq!(run.code(1).json()["kind"], "import_refused");

    let sandbox = Sandbox::project();
    dbmate_fixture(&sandbox);
    sandbox
        .open_db()
        .execute_batch(&foreign_history("dbmate", Backend::Sqlite))
        .unwrap();
    let run = sandbox.run(&[
        "import",
        "--from",
        "dbmate",
        "src",
        "--database",
        "sqlite:app.db",
        "--format",
        "json",
    ]);
    assert_eq!(run.code(2).json()["kind"], "import_table_clash");

    let sandbox = Sandbox::project();
    golang_migrate_fixture(&sandbox);
    let conn = sandbox.open_db();
    conn.execute_batch(&foreign_history("golang-migrate", Backend::Sqlite))
        .unwrap();
    conn.execute_batch("UPDATE schema_migrations SET dirty = TRUE;")
        .unwrap();
    drop(conn);
    let run = sandbox.run(&[
        "import",
        "--from",
        "golang-migrate",
        "src",
        "--database",
        "sqlite:app.db",
        "--table",
        "terrace_migrations",
        "--format",
        "json",
    ]);
    let doc = run.code(1).json();
    assert_eq!(doc["kind"], "foreign_history_dirty");
    assert!(
        doc["hint"].as_str().unwrap().contains("migrate force"),
        "{doc}"
    );
}
