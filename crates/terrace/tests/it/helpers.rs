//! The idempotent schema helpers, by introspection.

use crate::support::{Scratch, columns};
use terrace::DbSqlite as _;
use terrace::{Migration, Migrations};

#[terrace::migration]
fn add_token_tracking(db: &mut terrace::Db<'_>) -> terrace::CodeResult {
    assert_eq!(db.backend_name(), "sqlite");
    assert!(db.has_table("checks")?);
    assert!(!db.has_table("no_such_table")?);
    let added = db.add_column_if_missing("checks", "input_tokens", "INTEGER NOT NULL DEFAULT 0")?;
    let again = db.add_column_if_missing("checks", "INPUT_TOKENS", "INTEGER NOT NULL DEFAULT 0")?;
    assert!(
        !again,
        "a second add is a no-op (names compare without case)"
    );
    db.add_column_if_missing("checks", "output_tokens", "INTEGER NOT NULL DEFAULT 0")?;
    db.create_index_if_missing(
        "idx_checks_tokens",
        "checks",
        &["input_tokens", "output_tokens"],
    )?;
    assert!(!db.create_index_if_missing("idx_checks_tokens", "checks", &["input_tokens"])?);
    assert!(db.has_index("checks", "idx_checks_tokens")?);
    let conn = db.sqlite().expect("the SQLite connection");
    // 7 when this migration added the column, 8 when it found it already there.
    conn.execute(
        "UPDATE checks SET input_tokens = ?1",
        [if added { 7 } else { 8 }],
    )?;
    Ok(())
}

#[terrace::migration]
fn drop_token_tracking(db: &mut terrace::Db<'_>) -> terrace::CodeResult {
    db.execute("DROP INDEX IF EXISTS idx_checks_tokens; SELECT 1")?;
    assert!(db.drop_column_if_exists("checks", "input_tokens")?);
    assert!(!db.drop_column_if_exists("checks", "input_tokens")?);
    db.drop_column_if_exists("checks", "output_tokens")?;
    Ok(())
}

fn list() -> Migrations {
    Migrations::from_vec(vec![
        Migration::sql(
            1,
            "create_checks",
            "CREATE TABLE checks (id INTEGER PRIMARY KEY); INSERT INTO checks DEFAULT VALUES;",
        ),
        Migration::code(2, "add_token_tracking", add_token_tracking)
            .with_down_code(drop_token_tracking),
    ])
}

#[test]
fn helpers_add_what_is_missing_and_skip_what_exists() {
    let scratch = Scratch::new();
    let mut conn = scratch.open();
    list().run(&mut conn).unwrap();
    assert_eq!(
        columns(&conn, "checks"),
        ["id", "input_tokens", "output_tokens"]
    );
    let tokens: i64 = conn
        .query_row("SELECT input_tokens FROM checks", [], |r| r.get(0))
        .unwrap();
    assert_eq!(tokens, 7);
    list()
        .rollback(&mut conn, terrace::Target::Steps(1))
        .unwrap();
    assert_eq!(columns(&conn, "checks"), ["id"]);
}

#[test]
fn a_code_migration_meeting_a_column_added_by_hand_still_succeeds() {
    let scratch = Scratch::new();
    let mut conn = scratch.open();
    list()
        .run_to(&mut conn, terrace::Target::Version(1))
        .unwrap();
    conn.execute_batch("ALTER TABLE checks ADD COLUMN input_tokens INTEGER NOT NULL DEFAULT 0")
        .unwrap();
    list().run(&mut conn).unwrap();
    assert_eq!(
        columns(&conn, "checks"),
        ["id", "input_tokens", "output_tokens"]
    );
    let tokens: i64 = conn
        .query_row("SELECT input_tokens FROM checks", [], |r| r.get(0))
        .unwrap();
    assert_eq!(tokens, 8, "the migration found the column already there");
}
