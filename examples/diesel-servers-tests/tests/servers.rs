//! `#[terrace::test]` and `terrace::testing` in a build whose only server drivers are
//! diesel's: each test gets a scratch database of its own on the server, migrated
//! through its connection, and the database is gone afterwards, also after a panic.

#![expect(clippy::unwrap_used, reason = "a test fails loudly on any setup error")]

use diesel::sql_types::Text;
use diesel::{Connection, MysqlConnection, PgConnection, QueryableByName, RunQueryDsl, sql_query};
use diesel_servers_tests::MIGRATIONS;
use std::panic::{AssertUnwindSafe, catch_unwind};
use terrace::testing::TestDb;

const POSTGRES_URL: &str = "TERRACE_TEST_POSTGRES_URL";
const MYSQL_URL: &str = "TERRACE_TEST_MYSQL_URL";

#[derive(QueryableByName)]
struct Name {
    #[diesel(sql_type = Text)]
    name: String,
}

fn strings<C: Connection>(conn: &mut C, query: &str) -> Vec<String>
where
    diesel::query_builder::SqlQuery: diesel::query_dsl::LoadQuery<'static, C, Name>,
{
    sql_query(query)
        .load::<Name>(conn)
        .unwrap()
        .into_iter()
        .map(|row| row.name)
        .collect()
}

fn server_url(variable: &str) -> String {
    std::env::var(variable).unwrap_or_else(|_| panic!("{variable} is not set"))
}

const POSTGRES_NAME: &str = "SELECT current_database()::text AS name";
const POSTGRES_NAMES: &str = "SELECT datname::text AS name FROM pg_database";
const MYSQL_NAME: &str = "SELECT DATABASE() AS name";
const MYSQL_NAMES: &str =
    "SELECT CAST(schema_name AS CHAR) AS name FROM information_schema.schemata";
const PROJECTS: &str = "SELECT name FROM projects";

/// The database a server URL names, which the scratch database must not be.
fn assert_scratch(name: &str, variable: &str) {
    let url = server_url(variable);
    let own = url.split('?').next().unwrap_or_default().rsplit('/').next();
    assert!(name.starts_with("terrace_testdb_"), "{name}");
    assert_ne!(Some(name), own);
}

#[terrace::test(migrations = MIGRATIONS, url_env = "TERRACE_TEST_POSTGRES_URL")]
#[cfg_attr(
    not(terrace_test_postgres),
    ignore = "TERRACE_TEST_POSTGRES_URL was not set when the tests were built"
)]
fn postgres_connection_gets_a_migrated_scratch_database(conn: &mut PgConnection) {
    let name = strings(conn, POSTGRES_NAME).remove(0);
    assert_scratch(&name, POSTGRES_URL);
    assert_eq!(strings(conn, PROJECTS), ["terrace"]);
}

#[terrace::test(migrations = MIGRATIONS, url_env = "TERRACE_TEST_MYSQL_URL")]
#[cfg_attr(
    not(terrace_test_mysql),
    ignore = "TERRACE_TEST_MYSQL_URL was not set when the tests were built"
)]
fn mysql_connection_gets_a_migrated_scratch_database(conn: &mut MysqlConnection) {
    let name = strings(conn, MYSQL_NAME).remove(0);
    assert_scratch(&name, MYSQL_URL);
    assert_eq!(strings(conn, PROJECTS), ["terrace"]);
}

/// Runs a test on a scratch database, then one that panics inside a transaction
/// (`lock`), and checks each database is gone from the server afterwards.
fn dropped_after_return_and_panic<C: Connection + terrace::testing::TestConnection>(
    variable: &str,
    name_query: &str,
    names_query: &str,
    lock: &str,
) where
    diesel::query_builder::SqlQuery: diesel::query_dsl::LoadQuery<'static, C, Name>,
{
    let name = TestDb::builder()
        .url_env(variable)
        .run(&MIGRATIONS, |conn: &mut C| {
            strings(conn, name_query).remove(0)
        });
    assert_scratch(&name, variable);
    let mut server = C::establish(&server_url(variable)).unwrap();
    assert!(!strings(&mut server, names_query).contains(&name), "{name}");

    let (sender, receiver) = std::sync::mpsc::channel();
    let panicked = catch_unwind(AssertUnwindSafe(|| {
        TestDb::builder()
            .url_env(variable)
            .run(&MIGRATIONS, |conn: &mut C| {
                conn.batch_execute(lock).unwrap();
                sender.send(strings(conn, name_query).remove(0)).unwrap();
                panic!("the test body failed");
            })
    }));
    assert!(panicked.is_err());
    let name = receiver.recv().unwrap();
    assert_scratch(&name, variable);
    assert!(!strings(&mut server, names_query).contains(&name), "{name}");
}

#[test]
#[cfg_attr(
    not(terrace_test_postgres),
    ignore = "TERRACE_TEST_POSTGRES_URL was not set when the tests were built"
)]
fn postgres_scratch_database_is_dropped_after_the_test_and_after_a_panic() {
    dropped_after_return_and_panic::<PgConnection>(
        POSTGRES_URL,
        POSTGRES_NAME,
        POSTGRES_NAMES,
        "BEGIN; LOCK TABLE projects",
    );
}

#[test]
#[cfg_attr(
    not(terrace_test_mysql),
    ignore = "TERRACE_TEST_MYSQL_URL was not set when the tests were built"
)]
fn mysql_scratch_database_is_dropped_after_the_test_and_after_a_panic() {
    dropped_after_return_and_panic::<MysqlConnection>(
        MYSQL_URL,
        MYSQL_NAME,
        MYSQL_NAMES,
        "START TRANSACTION; UPDATE projects SET name = 'locked'",
    );
}

/// Under CI, both servers must be configured and built for.
#[path = "../../servers-tests-common/ci.rs"]
mod ci;
