//! Statement splitting as the servers see it: what each database's own client would
//! send, statement by statement.

use crate::backends::{Kind, TestDb, backend_test};
use terrace::Error;

/// Applies one migration whose up section is `sql`.
fn apply(db: &TestDb, sql: &str) {
    db.write("0001_split.sql", &format!("-- migrate:up\n{sql}\n"));
    db.migrations().run(&mut db.connect()).unwrap();
}

/// The first line of the statement a failing migration names.
fn failing_statement(db: &TestDb, sql: &str) -> String {
    db.write("0001_split.sql", &format!("-- migrate:up\n{sql}\n"));
    match db.migrations().run(&mut db.connect()).unwrap_err() {
        Error::MigrationFailed {
            statement: Some(statement),
            ..
        } => statement,
        other => panic!("unexpected error: {other}"),
    }
}

backend_test!(block_keywords_used_as_names_open_and_close_nothing, |db| {
    let sql = match db.kind {
        Kind::Sqlite => {
            "CREATE TABLE event (id INTEGER PRIMARY KEY, start INT, end INT, span INT);\n\
             CREATE TRIGGER event_span AFTER INSERT ON event BEGIN\n\
             \x20 UPDATE event SET span = NEW.end - NEW.start WHERE id = NEW.id;\n\
             END;\n\
             INSERT INTO event (id, start, end) VALUES (1, 2, 7);"
        }
        Kind::Mysql => {
            "CREATE TABLE event (id INT PRIMARY KEY, start INT, end INT, span INT);\n\
             CREATE TRIGGER event_span BEFORE INSERT ON event FOR EACH ROW BEGIN\n\
             \x20 SET NEW.span = NEW.end - NEW.start;\n\
             END;\n\
             CREATE PROCEDURE spans() BEGIN\n\
             \x20 SELECT start, end FROM event;\n\
             END;\n\
             INSERT INTO event (id, start, end) VALUES (1, 2, 7);"
        }
        Kind::Postgres => {
            "CREATE TABLE event (id INT PRIMARY KEY, start INT, \"end\" INT, span INT);\n\
             CREATE FUNCTION span_of(e event) RETURNS int LANGUAGE sql\n\
             BEGIN ATOMIC\n\
             \x20 SELECT e.end - e.start;\n\
             END;\n\
             INSERT INTO event (id, start, \"end\") VALUES (1, 2, 7);\n\
             UPDATE event SET span = span_of(event);"
        }
    };
    apply(db, sql);
    assert_eq!(db.strings("SELECT span FROM event"), ["5"]);
});

backend_test!(a_column_named_begin_opens_no_block, |db| {
    // Before, `event` among the first words made this a body that `begin` opened,
    // and the next statement was glued onto it.
    let statement = failing_statement(
        db,
        "CREATE TABLE event (id INT);\nALTER TABLE event ADD COLUMN begin INT;\nINSERT INTO nowhere VALUES (1);",
    );
    assert_eq!(statement, "INSERT INTO nowhere VALUES (1)");
});

backend_test!(whitespace_of_any_script_makes_no_statement, |db| {
    apply(
        db,
        "CREATE TABLE a (id INT);\u{0B};\u{A0};\u{2028}\u{3000};\nCREATE TABLE b (id INT);\u{A0}",
    );
    assert!(db.table_exists("a") && db.table_exists("b"));
});

/// Runs `test` on MariaDB.
fn on_mysql(test: impl FnOnce(&TestDb)) {
    crate::backends::with(Kind::Mysql, test);
}

#[test]
#[cfg_attr(
    not(terrace_test_mysql),
    ignore = "TERRACE_TEST_MYSQL_URL was not set when the tests were built"
)]
fn mysql_executable_comments_reach_the_server() {
    on_mysql(|db| {
        apply(
            db,
            "/*!40101 SET NAMES utf8mb4 */;\n\
             /*!40014 SET FOREIGN_KEY_CHECKS=0 */;\n\
             /*!50001 CREATE TABLE audit (id INT PRIMARY KEY) */;\n\
             /*M!100100 CREATE TABLE maria (id INT) */;\n\
             /*!40014 SET FOREIGN_KEY_CHECKS=1 */;\n\
             /*!50003 CREATE*/ /*!50003 TRIGGER `audit_fill` BEFORE INSERT ON `audit` FOR EACH ROW BEGIN\n\
             \x20 SET NEW.id = NEW.id + 1;\n\
             \x20 SET NEW.id = NEW.id * 10;\n\
             END */;\n\
             INSERT INTO audit VALUES (1);",
        );
        assert!(db.table_exists("maria"));
        assert_eq!(db.strings("SELECT id FROM audit"), ["20"]);
    });
}

#[test]
#[cfg_attr(
    not(terrace_test_mysql),
    ignore = "TERRACE_TEST_MYSQL_URL was not set when the tests were built"
)]
fn mysql_double_dash_without_a_space_is_minus_minus() {
    on_mysql(|db| {
        // `--1;` is no comment: the update ends at its `;`, and the failure is the
        // insert's, not a statement glued from both.
        let statement = failing_statement(
            db,
            "CREATE TABLE t (a INT);\nUPDATE t SET a = a--1;\nINSERT INTO nowhere VALUES (1);",
        );
        assert_eq!(statement, "INSERT INTO nowhere VALUES (1)");
    });
}

#[test]
#[cfg_attr(
    not(terrace_test_mysql),
    ignore = "TERRACE_TEST_MYSQL_URL was not set when the tests were built"
)]
fn mysql_compound_statements_without_begin_are_kept_whole() {
    on_mysql(|db| {
        apply(
            db,
            "CREATE TABLE t (x INT, y INT);\n\
             CREATE TRIGGER t_fill BEFORE INSERT ON t FOR EACH ROW\n\
             IF NEW.x IS NULL THEN SET NEW.x = 0; SET NEW.y = NEW.y + 1; END IF;\n\
             CREATE PROCEDURE fill() BEGIN\n\
             \x20 DECLARE n INT DEFAULT 0;\n\
             \x20 SET n = CASE WHEN n = 0 THEN 2 ELSE 3 END;\n\
             \x20 IF n = 2 THEN INSERT INTO t VALUES (10, n); END IF;\n\
             END;\n\
             CALL fill();\n\
             INSERT INTO t (y) VALUES (5);\n\
             BEGIN NOT ATOMIC\n\
             \x20 FOR i IN 1..2 DO INSERT INTO t VALUES (20 + i, 0); END FOR;\n\
             END;",
        );
        assert_eq!(
            db.strings("SELECT CONCAT(x, ':', y) FROM t ORDER BY x"),
            ["0:6", "10:2", "21:0", "22:0"]
        );
    });
}

#[test]
#[cfg_attr(
    not(terrace_test_postgres),
    ignore = "TERRACE_TEST_POSTGRES_URL was not set when the tests were built"
)]
fn postgres_rules_with_several_actions_are_kept_whole() {
    crate::backends::with(Kind::Postgres, |db| {
        apply(
            db,
            "CREATE TABLE a (id INT);\n\
             CREATE TABLE log (n INT);\n\
             CREATE RULE a_log AS ON INSERT TO a DO ALSO (INSERT INTO log VALUES (1); INSERT INTO log VALUES (2));\n\
             INSERT INTO a VALUES (1);",
        );
        assert_eq!(db.strings("SELECT n FROM log ORDER BY n"), ["1", "2"]);
    });
}
