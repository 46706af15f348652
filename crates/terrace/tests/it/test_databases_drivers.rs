//! `#[terrace::test]` on the drivers an application brings: an `async fn` taking an
//! sqlx pool (by value) or connection (`&mut`), run on a tokio runtime of its own, and
//! a plain `fn` taking a diesel connection. Each gets a database of its own, migrated
//! through that driver, and it is gone afterwards, also after a panic.

use crate::backends::Kind;
use crate::test_databases::{MIGRATIONS, exists, fail, matrix, record, recorded};
use diesel::connection::SimpleConnection;
use diesel::query_builder::SqlQuery;
use diesel::query_dsl::LoadQuery;
use diesel::{QueryableByName, RunQueryDsl};
use std::panic::catch_unwind;

/// For one database: a test on a pool (by value), one on a connection (`&mut`), and
/// one that panics inside a transaction holding a lock (`lock`). Each checks its
/// database is migrated and empty and records where it is (`location`, a query).
macro_rules! sqlx_tests {
    (
        $(#[$only:meta])*
        url_env = $env:literal,
        $pool_test:ident($pool:ty),
        $connection_test:ident($connection:ty),
        $panics:ident,
        location = $location:literal,
        lock = $lock:literal $(,)?
    ) => {
        #[terrace::test(migrations = MIGRATIONS, url_env = $env)]
        $(#[$only])*
        async fn $pool_test(mut pool: $pool) {
            let count: i64 = sqlx::query_scalar("SELECT count(*) FROM projects")
                .fetch_one(&pool)
                .await
                .unwrap();
            assert_eq!(count, 0);
            let status = MIGRATIONS.status_async(&mut pool).await.unwrap();
            assert_eq!((status.applied_count(), status.pending_count()), (2, 0));
            record(sqlx::query_scalar($location).fetch_one(&pool).await.unwrap());
        }

        #[terrace::test(migrations = MIGRATIONS, url_env = $env)]
        $(#[$only])*
        async fn $connection_test(conn: &mut $connection) {
            let count: i64 = sqlx::query_scalar("SELECT count(*) FROM projects")
                .fetch_one(&mut *conn)
                .await
                .unwrap();
            assert_eq!(count, 0);
            let status = MIGRATIONS.status_async(&mut *conn).await.unwrap();
            assert_eq!(status.applied_count(), 2);
            record(
                sqlx::query_scalar($location)
                    .fetch_one(&mut *conn)
                    .await
                    .unwrap(),
            );
        }

        #[terrace::test(migrations = MIGRATIONS, url_env = $env)]
        #[should_panic(expected = "the test body failed")]
        $(#[$only])*
        async fn $panics(pool: $pool) {
            // The pooled connection is still in its transaction, holding the lock, when
            // the database is removed.
            let mut transaction = pool.begin().await.unwrap();
            sqlx::query($lock)
                .execute(&mut *transaction)
                .await
                .unwrap();
            fail(
                sqlx::query_scalar($location)
                    .fetch_one(&mut *transaction)
                    .await
                    .unwrap(),
            );
        }
    };
}

sqlx_tests!(
    url_env = "TERRACE_TEST_UNSET_SERVER_URL",
    sqlx_sqlite_pool(sqlx::SqlitePool),
    sqlx_sqlite_connection(sqlx::SqliteConnection),
    sqlx_sqlite_pool_panics,
    location = "SELECT file FROM pragma_database_list WHERE name = 'main'",
    lock = "INSERT INTO projects (name) VALUES ('half')",
);

sqlx_tests!(
    #[cfg_attr(
        not(terrace_test_postgres),
        ignore = "TERRACE_TEST_POSTGRES_URL was not set when the tests were built"
    )]
    url_env = "TERRACE_TEST_POSTGRES_URL",
    sqlx_postgres_pool(sqlx::PgPool),
    sqlx_postgres_connection(sqlx::PgConnection),
    sqlx_postgres_pool_panics,
    location = "SELECT current_database()::text",
    lock = "LOCK TABLE projects",
);

sqlx_tests!(
    #[cfg_attr(
        not(terrace_test_mysql),
        ignore = "TERRACE_TEST_MYSQL_URL was not set when the tests were built"
    )]
    url_env = "TERRACE_TEST_MYSQL_URL",
    sqlx_mysql_pool(sqlx::MySqlPool),
    sqlx_mysql_connection(sqlx::MySqlConnection),
    sqlx_mysql_pool_panics,
    location = "SELECT DATABASE()",
    lock = "SELECT * FROM projects FOR UPDATE",
);

/// A test may return a `Result`; what it writes is in its database.
#[terrace::test(migrations = MIGRATIONS)]
async fn sqlx_test_returning_a_result(
    conn: &mut sqlx::SqliteConnection,
) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO projects (name, base_url) VALUES ('terrace', 'https://t')")
        .execute(&mut *conn)
        .await?;
    let names: Vec<String> = sqlx::query_scalar("SELECT name FROM projects")
        .fetch_all(&mut *conn)
        .await?;
    assert_eq!(names, ["terrace"]);
    Ok(())
}

#[terrace::test(migrations = MIGRATIONS, url_env = "TERRACE_TEST_UNSET_SERVER_URL")]
#[should_panic(expected = "TERRACE_TEST_UNSET_SERVER_URL is not set: ")]
async fn sqlx_without_a_server_url_fails_naming_the_variable(_pool: sqlx::PgPool) {}

// Runs a pool test and a connection test: each had a database of its own, and
// neither is left.
matrix!(
    sqlx_tests_get_a_database_each_removed_afterwards,
    sqlx_afterwards
);
fn sqlx_afterwards(kind: Kind) {
    let (pool_test, connection_test): (fn(), fn()) = match kind {
        Kind::Sqlite => (sqlx_sqlite_pool, sqlx_sqlite_connection),
        Kind::Postgres => (sqlx_postgres_pool, sqlx_postgres_connection),
        Kind::Mysql => (sqlx_mysql_pool, sqlx_mysql_connection),
    };
    pool_test();
    let first = recorded();
    connection_test();
    let second = recorded();
    assert_ne!(first, second, "two tests shared a database");
    for place in [first, second] {
        assert!(place.contains("terrace_testdb_"), "{place}");
        assert!(!exists(kind, &place), "{place} is still there");
    }
}

matrix!(
    sqlx_tests_remove_their_database_after_a_panic,
    sqlx_after_panic
);
fn sqlx_after_panic(kind: Kind) {
    let outcome = catch_unwind(match kind {
        Kind::Sqlite => sqlx_sqlite_pool_panics,
        Kind::Postgres => sqlx_postgres_pool_panics,
        Kind::Mysql => sqlx_mysql_pool_panics,
    });
    assert!(outcome.is_err());
    let place = recorded();
    assert!(place.contains("terrace_testdb_"), "{place}");
    assert!(!exists(kind, &place), "{place} is still there");
}

// diesel

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

#[derive(QueryableByName)]
struct Name {
    #[diesel(sql_type = diesel::sql_types::Text)]
    name: String,
}

/// Checks the database is migrated and empty, through a diesel connection, and says
/// where it is (by `location`, a query naming its column `name`).
fn diesel_check<C>(conn: &mut C, location: &str) -> String
where
    C: diesel::Connection + terrace::Database,
    SqlQuery: LoadQuery<'static, C, Count> + LoadQuery<'static, C, Name>,
{
    let count: Count = diesel::sql_query("SELECT count(*) AS n FROM projects")
        .get_result(conn)
        .unwrap();
    assert_eq!(count.n, 0);
    let status = MIGRATIONS.status(conn).unwrap();
    assert_eq!((status.applied_count(), status.pending_count()), (2, 0));
    diesel_location(conn, location)
}

/// Where the database is, by a query naming its column `name`.
fn diesel_location<C>(conn: &mut C, sql: &str) -> String
where
    C: diesel::Connection,
    SqlQuery: LoadQuery<'static, C, Name>,
{
    diesel::sql_query(sql)
        .get_result::<Name>(conn)
        .unwrap()
        .name
}

const DIESEL_SQLITE_FILE: &str =
    "SELECT file AS name FROM pragma_database_list WHERE name = 'main'";
const DIESEL_POSTGRES_NAME: &str = "SELECT current_database()::text AS name";
const DIESEL_MYSQL_NAME: &str = "SELECT DATABASE() AS name";

#[terrace::test(migrations = MIGRATIONS)]
fn diesel_sqlite(conn: &mut diesel::SqliteConnection) {
    record(diesel_check(conn, DIESEL_SQLITE_FILE));
}

#[terrace::test(migrations = MIGRATIONS, url_env = "TERRACE_TEST_POSTGRES_URL")]
#[cfg_attr(
    not(terrace_test_postgres),
    ignore = "TERRACE_TEST_POSTGRES_URL was not set when the tests were built"
)]
fn diesel_postgres(conn: &mut diesel::PgConnection) {
    record(diesel_check(conn, DIESEL_POSTGRES_NAME));
}

#[terrace::test(migrations = MIGRATIONS, url_env = "TERRACE_TEST_MYSQL_URL")]
#[cfg_attr(
    not(terrace_test_mysql),
    ignore = "TERRACE_TEST_MYSQL_URL was not set when the tests were built"
)]
fn diesel_mysql(conn: &mut diesel::MysqlConnection) {
    record(diesel_check(conn, DIESEL_MYSQL_NAME));
}

#[terrace::test(migrations = MIGRATIONS)]
#[should_panic(expected = "the test body failed")]
fn diesel_sqlite_panics(conn: &mut diesel::SqliteConnection) {
    conn.batch_execute("BEGIN IMMEDIATE; INSERT INTO projects (name) VALUES ('half')")
        .unwrap();
    fail(diesel_location(conn, DIESEL_SQLITE_FILE));
}

#[terrace::test(migrations = MIGRATIONS, url_env = "TERRACE_TEST_POSTGRES_URL")]
#[should_panic(expected = "the test body failed")]
#[cfg_attr(
    not(terrace_test_postgres),
    ignore = "TERRACE_TEST_POSTGRES_URL was not set when the tests were built"
)]
fn diesel_postgres_panics(conn: &mut diesel::PgConnection) {
    conn.batch_execute("BEGIN; LOCK TABLE projects").unwrap();
    fail(diesel_location(conn, DIESEL_POSTGRES_NAME));
}

#[terrace::test(migrations = MIGRATIONS, url_env = "TERRACE_TEST_MYSQL_URL")]
#[should_panic(expected = "the test body failed")]
#[cfg_attr(
    not(terrace_test_mysql),
    ignore = "TERRACE_TEST_MYSQL_URL was not set when the tests were built"
)]
fn diesel_mysql_panics(conn: &mut diesel::MysqlConnection) {
    conn.batch_execute("START TRANSACTION; UPDATE projects SET name = 'locked'")
        .unwrap();
    fail(diesel_location(conn, DIESEL_MYSQL_NAME));
}

matrix!(
    diesel_tests_get_a_database_removed_afterwards,
    diesel_afterwards
);
fn diesel_afterwards(kind: Kind) {
    let test: fn() = match kind {
        Kind::Sqlite => diesel_sqlite,
        Kind::Postgres => diesel_postgres,
        Kind::Mysql => diesel_mysql,
    };
    test();
    let first = recorded();
    test();
    let second = recorded();
    assert_ne!(first, second, "two runs shared a database");
    for place in [first, second] {
        assert!(place.contains("terrace_testdb_"), "{place}");
        assert!(!exists(kind, &place), "{place} is still there");
    }
}

matrix!(
    diesel_tests_remove_their_database_after_a_panic,
    diesel_after_panic
);
fn diesel_after_panic(kind: Kind) {
    let outcome = catch_unwind(match kind {
        Kind::Sqlite => diesel_sqlite_panics,
        Kind::Postgres => diesel_postgres_panics,
        Kind::Mysql => diesel_mysql_panics,
    });
    assert!(outcome.is_err());
    let place = recorded();
    assert!(place.contains("terrace_testdb_"), "{place}");
    assert!(!exists(kind, &place), "{place} is still there");
}
