use super::*;
use crate::parse_sections;
use Dialect::{Mysql, Postgres, Sqlite};

/// The findings of a file, as `(line, code)`.
fn findings(text: &str, dialect: Dialect) -> Vec<(usize, &'static str)> {
    let sections = parse_sections(text).unwrap();
    lint(text, &sections, dialect)
        .into_iter()
        .map(|f| (f.line, f.rule.code()))
        .collect()
}

/// The codes found in an up section (with a no-op down).
fn codes(dialect: Dialect, up: &str) -> Vec<&'static str> {
    let text = format!("-- migrate:up\n{up}\n-- migrate:down noop\n");
    findings(&text, dialect)
        .into_iter()
        .map(|(_, code)| code)
        .collect()
}

/// `failing` is reported as `rule` (once), `passing` is not.
fn rule(rule: Rule, dialect: Dialect, failing: &str, passing: &str) {
    assert_eq!(codes(dialect, failing), [rule.code()], "failing: {failing}");
    assert!(
        !codes(dialect, passing).contains(&rule.code()),
        "passing: {passing}"
    );
}

#[test]
fn no_down() {
    assert_eq!(
        findings("-- migrate:up\nCREATE TABLE a (id INT);\n", Sqlite),
        [(1, "no-down")]
    );
    assert_eq!(
        findings("\n-- migrate:up\nSELECT 1;\n-- migrate:down\n", Sqlite),
        [(2, "no-down")]
    );
    assert!(findings("-- migrate:up\nSELECT 1;\n-- migrate:down noop\n", Sqlite).is_empty());
    assert!(
        findings(
            "-- migrate:up\nCREATE TABLE a (id INT);\n-- migrate:down\nDROP TABLE a;\n",
            Sqlite
        )
        .is_empty()
    );
}

#[test]
fn destructive_statements() {
    for dialect in [Sqlite, Postgres, Mysql] {
        rule(
            Rule::DropTable,
            dialect,
            "DROP TABLE IF EXISTS old_orders",
            "CREATE TABLE tmp (id INT);\nDROP TABLE tmp",
        );
        rule(
            Rule::DropColumn,
            dialect,
            "ALTER TABLE orders DROP COLUMN note",
            "ALTER TABLE orders DROP CONSTRAINT orders_note",
        );
        rule(
            Rule::Truncate,
            dialect,
            "TRUNCATE TABLE orders",
            "DELETE FROM orders WHERE id < 10",
        );
    }
    rule(
        Rule::DropColumn,
        Mysql,
        "ALTER TABLE orders DROP note",
        "ALTER TABLE orders DROP INDEX orders_note, ALGORITHM=INPLACE",
    );
    assert_eq!(
        codes(Postgres, "DROP TABLE a, b"),
        ["drop-table", "drop-table"]
    );
}

#[test]
fn postgres_index() {
    rule(
        Rule::PgIndexNotConcurrent,
        Postgres,
        "CREATE UNIQUE INDEX orders_user ON public.orders (user_id)",
        "CREATE TABLE orders (id INT, user_id INT);\nCREATE INDEX orders_user ON orders (user_id)",
    );
    let concurrent = "-- migrate:up transaction:false\nCREATE INDEX CONCURRENTLY o ON orders (a);\n-- migrate:down noop\n";
    assert!(findings(concurrent, Postgres).is_empty());
    // SQLite and MySQL build indexes without this lock.
    assert!(codes(Sqlite, "CREATE INDEX o ON orders (a)").is_empty());
}

#[test]
fn postgres_concurrently_in_transaction() {
    rule(
        Rule::PgConcurrentlyInTransaction,
        Postgres,
        "DROP INDEX CONCURRENTLY orders_user",
        "DROP INDEX orders_user",
    );
    assert_eq!(
        codes(Postgres, "CREATE INDEX CONCURRENTLY o ON orders (a)"),
        ["pg-concurrently-in-transaction"]
    );
}

#[test]
fn postgres_constraints() {
    rule(
        Rule::PgConstraintNotValid,
        Postgres,
        "ALTER TABLE orders ADD CONSTRAINT orders_user FOREIGN KEY (user_id) REFERENCES users (id)",
        "ALTER TABLE orders ADD CONSTRAINT orders_user FOREIGN KEY (user_id) REFERENCES users (id) NOT VALID",
    );
    rule(
        Rule::PgConstraintNotValid,
        Postgres,
        "ALTER TABLE orders ADD CHECK (total >= 0)",
        "CREATE TABLE orders (total INT);\nALTER TABLE orders ADD CHECK (total >= 0)",
    );
}

#[test]
fn postgres_column_type() {
    rule(
        Rule::PgAlterColumnType,
        Postgres,
        "ALTER TABLE orders ALTER COLUMN total TYPE bigint",
        "ALTER TABLE orders ALTER COLUMN total SET DEFAULT 0",
    );
    rule(
        Rule::PgAlterColumnType,
        Postgres,
        "ALTER TABLE orders ALTER total SET DATA TYPE bigint",
        "SELECT 1",
    );
}

#[test]
fn postgres_set_not_null() {
    rule(
        Rule::PgSetNotNull,
        Postgres,
        "ALTER TABLE orders ALTER COLUMN user_id SET NOT NULL",
        "ALTER TABLE orders ADD CONSTRAINT user_nn CHECK (user_id IS NOT NULL) NOT VALID;\n\
         ALTER TABLE orders VALIDATE CONSTRAINT user_nn;\n\
         ALTER TABLE orders ALTER COLUMN user_id SET NOT NULL",
    );
    // A check that is never validated does not count, nor one on another column.
    let unvalidated = "ALTER TABLE orders ADD CONSTRAINT user_nn CHECK (user_id IS NOT NULL) NOT VALID;\n\
                       ALTER TABLE orders ALTER COLUMN user_id SET NOT NULL";
    assert_eq!(codes(Postgres, unvalidated), ["pg-set-not-null"]);
    let other = "ALTER TABLE orders ADD CONSTRAINT nn CHECK (total IS NOT NULL) NOT VALID;\n\
                 ALTER TABLE orders VALIDATE CONSTRAINT nn;\n\
                 ALTER TABLE orders ALTER COLUMN user_id SET NOT NULL";
    assert_eq!(codes(Postgres, other), ["pg-set-not-null"]);
}

#[test]
fn postgres_volatile_default() {
    rule(
        Rule::PgVolatileDefault,
        Postgres,
        "ALTER TABLE orders ADD COLUMN token uuid DEFAULT gen_random_uuid()",
        "ALTER TABLE orders ADD COLUMN created_at timestamptz DEFAULT now()",
    );
    rule(
        Rule::PgVolatileDefault,
        Postgres,
        "ALTER TABLE orders ADD COLUMN n bigserial",
        "ALTER TABLE orders ADD COLUMN n bigint",
    );
    rule(
        Rule::PgVolatileDefault,
        Postgres,
        "ALTER TABLE orders ADD COLUMN n bigint GENERATED ALWAYS AS IDENTITY",
        "CREATE TABLE orders (id INT);\nALTER TABLE orders ADD COLUMN n bigint GENERATED ALWAYS AS IDENTITY",
    );
}

#[test]
fn mysql_table_copy() {
    rule(
        Rule::MysqlTableCopy,
        Mysql,
        "ALTER TABLE orders MODIFY total BIGINT NOT NULL",
        "ALTER TABLE orders MODIFY total BIGINT NOT NULL, ALGORITHM=INPLACE, LOCK=NONE",
    );
    rule(
        Rule::MysqlTableCopy,
        Mysql,
        "ALTER TABLE orders ADD COLUMN note TEXT, ALGORITHM=COPY",
        "ALTER TABLE orders ADD COLUMN note TEXT",
    );
    assert!(
        codes(
            Mysql,
            "CREATE TABLE t (a INT);\nALTER TABLE t ENGINE=InnoDB"
        )
        .is_empty()
    );
}

#[test]
fn mysql_ddl_with_dml() {
    rule(
        Rule::MysqlDdlWithDml,
        Mysql,
        "ALTER TABLE orders ADD COLUMN note TEXT;\nUPDATE orders SET note = ''",
        "UPDATE orders SET note = '';\nDELETE FROM orders WHERE id = 1",
    );
    // Reported once, on the statement that made the mix.
    let text = "-- migrate:up\nINSERT INTO a VALUES (1);\nCREATE TABLE b (id INT);\nINSERT INTO a VALUES (2);\n-- migrate:down noop\n";
    assert_eq!(findings(text, Mysql), [(3, "mysql-ddl-with-dml")]);
    // Filling a table the migration created is part of creating it.
    let seeded =
        "CREATE TABLE kinds (id INT);\nINSERT INTO kinds VALUES (1);\nUPDATE kinds SET id = 2";
    assert!(codes(Mysql, seeded).is_empty());
    assert!(
        codes(
            Postgres,
            "ALTER TABLE orders ADD COLUMN note TEXT;\nUPDATE orders SET note = ''"
        )
        .is_empty()
    );
}

#[test]
fn sqlite_alter() {
    for (failing, passing) in [
        (
            "ALTER TABLE orders ALTER COLUMN total SET NOT NULL",
            "ALTER TABLE orders RENAME COLUMN total TO amount",
        ),
        (
            "ALTER TABLE orders ADD CONSTRAINT c CHECK (total > 0)",
            "ALTER TABLE orders ADD COLUMN note TEXT",
        ),
        (
            "ALTER TABLE orders ADD COLUMN a TEXT, ADD COLUMN b TEXT",
            "ALTER TABLE orders ADD a TEXT",
        ),
        (
            "ALTER TABLE orders ADD COLUMN a TEXT NOT NULL",
            "ALTER TABLE orders ADD COLUMN a TEXT NOT NULL DEFAULT ''",
        ),
        (
            "ALTER TABLE orders ADD COLUMN at TEXT DEFAULT CURRENT_TIMESTAMP",
            "ALTER TABLE orders ADD COLUMN at TEXT DEFAULT '2024-01-01'",
        ),
        (
            "ALTER TABLE orders ADD COLUMN id2 INTEGER UNIQUE",
            "ALTER TABLE orders DROP COLUMN note;\nSELECT 1",
        ),
    ] {
        let failing_codes = codes(Sqlite, failing);
        assert_eq!(failing_codes, ["sqlite-alter-unsupported"], "{failing}");
        assert!(
            !codes(Sqlite, passing).contains(&"sqlite-alter-unsupported"),
            "{passing}"
        );
    }
}

#[test]
fn sqlite_pragma_foreign_keys() {
    rule(
        Rule::SqlitePragmaForeignKeys,
        Sqlite,
        "PRAGMA foreign_keys = OFF",
        "PRAGMA foreign_key_check",
    );
    let outside =
        "-- migrate:up transaction:false\nPRAGMA foreign_keys = OFF;\n-- migrate:down noop\n";
    assert!(findings(outside, Sqlite).is_empty());
}

#[test]
fn not_idempotent() {
    let marked = |up: &str| {
        let text = format!("-- migrate:up idempotent\n{up}\n-- migrate:down noop\n");
        findings(&text, Postgres)
            .into_iter()
            .map(|(_, code)| code)
            .collect::<Vec<_>>()
    };
    for (failing, passing) in [
        (
            "CREATE TABLE a (id INT)",
            "CREATE TABLE IF NOT EXISTS a (id INT)",
        ),
        (
            "CREATE UNIQUE INDEX CONCURRENTLY i ON a (id)",
            "CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS i ON a (id)",
        ),
        (
            "CREATE VIEW v AS SELECT 1",
            "CREATE OR REPLACE VIEW v AS SELECT 1",
        ),
        ("DROP TABLE a", "DROP TABLE IF EXISTS a"),
        (
            "ALTER TABLE a ADD COLUMN b TEXT",
            "ALTER TABLE a ADD COLUMN IF NOT EXISTS b TEXT",
        ),
        (
            "ALTER TABLE a RENAME COLUMN b TO c",
            "ALTER TABLE a ALTER COLUMN b SET DEFAULT ''",
        ),
        (
            "INSERT INTO a VALUES (1)",
            "INSERT INTO a VALUES (1) ON CONFLICT DO NOTHING",
        ),
    ] {
        assert!(marked(failing).contains(&"not-idempotent"), "{failing}");
        assert!(!marked(passing).contains(&"not-idempotent"), "{passing}");
    }
    // Without the marker, nothing is claimed.
    assert!(!codes(Postgres, "CREATE TABLE a (id INT)").contains(&"not-idempotent"));
}

#[test]
fn suppressions() {
    let before = "-- migrate:up\n-- terrace:allow drop-table the archive job copied it\nDROP TABLE old;\nDROP TABLE older;\n-- migrate:down noop\n";
    assert_eq!(findings(before, Sqlite), [(4, "drop-table")]);
    let end_of_line = "-- migrate:up\nDROP TABLE old; -- terrace:allow drop-table\nDROP TABLE older;\n-- migrate:down noop\n";
    assert_eq!(findings(end_of_line, Sqlite), [(3, "drop-table")]);
    let several = "-- migrate:up\n-- terrace:allow truncate, drop-table: both\nDROP TABLE old;\n-- migrate:down noop\n";
    assert!(findings(several, Sqlite).is_empty());
    let two = "-- migrate:up\n-- terrace:allow truncate, drop-table both fine\nDROP TABLE old;\n-- migrate:down noop\n";
    assert!(findings(two, Sqlite).is_empty());
    let file_wide =
        "-- terrace:allow no-down, drop-table\n-- migrate:up\nDROP TABLE a;\nDROP TABLE b;\n";
    assert!(findings(file_wide, Sqlite).is_empty());
    let other_code =
        "-- migrate:up\n-- terrace:allow truncate\nDROP TABLE old;\n-- migrate:down noop\n";
    assert_eq!(findings(other_code, Sqlite), [(3, "drop-table")]);
}

#[test]
fn unknown_suppression() {
    let unknown =
        "-- migrate:up\n-- terrace:allow drop-tables\nDROP TABLE old;\n-- migrate:down noop\n";
    assert_eq!(
        findings(unknown, Sqlite),
        [(2, "unknown-suppression"), (3, "drop-table")]
    );
    let empty = "-- terrace:allow\n-- migrate:up\nSELECT 1;\n-- migrate:down noop\n";
    assert_eq!(findings(empty, Sqlite), [(1, "unknown-suppression")]);
    let known = "-- terrace:allow truncate\n-- migrate:up\nSELECT 1;\n-- migrate:down noop\n";
    assert!(findings(known, Sqlite).is_empty());
}

#[test]
fn codes_are_unique_and_round_trip() {
    for rule in Rule::ALL {
        assert_eq!(Rule::from_code(rule.code()), Some(rule));
        assert!(!rule.alternative().is_empty());
    }
}

#[test]
fn comments_and_strings_hide_nothing_and_invent_nothing() {
    assert!(
        codes(
            Postgres,
            "INSERT INTO log VALUES ('DROP TABLE orders'); -- TRUNCATE x"
        )
        .is_empty()
    );
    assert_eq!(
        codes(Postgres, "CREATE /* CONCURRENTLY */ INDEX o ON orders (a)"),
        ["pg-index-not-concurrent"]
    );
    assert_eq!(
        codes(Postgres, "create index o on orders (a)"),
        ["pg-index-not-concurrent"]
    );
}
