//! `#[terrace::test]` and `terrace::testing` in a build whose only server drivers are
//! sqlx's: each test gets a scratch database of its own on the server, migrated
//! through its pool or connection, and the database is gone afterwards, also after a
//! panic.

#![expect(clippy::unwrap_used, reason = "a test fails loudly on any setup error")]

use sqlx::{Connection, MySqlConnection, MySqlPool, PgConnection, PgPool};
use sqlx_servers_tests::MIGRATIONS;
use std::panic::{AssertUnwindSafe, catch_unwind};
use terrace::Scheme;
use terrace::testing::TestDb;

const POSTGRES_URL: &str = "TERRACE_TEST_POSTGRES_URL";
const MYSQL_URL: &str = "TERRACE_TEST_MYSQL_URL";
const SCRATCH_PREFIX: &str = "terrace_testdb_";

fn server_url(variable: &str) -> String {
    std::env::var(variable).unwrap_or_else(|_| panic!("{variable} is not set"))
}

/// The databases on the PostgreSQL server, seen over a connection of their own.
async fn postgres_databases() -> Vec<String> {
    let mut conn = PgConnection::connect(&server_url(POSTGRES_URL))
        .await
        .unwrap();
    let names = sqlx::query_scalar("SELECT datname::text FROM pg_database")
        .fetch_all(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
    names
}

/// The databases on the MySQL server, seen over a connection of their own.
async fn mysql_databases() -> Vec<String> {
    let mut conn = MySqlConnection::connect(&server_url(MYSQL_URL))
        .await
        .unwrap();
    let names =
        sqlx::query_scalar("SELECT CAST(schema_name AS CHAR) FROM information_schema.schemata")
            .fetch_all(&mut conn)
            .await
            .unwrap();
    conn.close().await.unwrap();
    names
}

fn block_on<F: Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(future)
}

/// The database a server URL names, which the scratch database must not be.
fn servers_own(variable: &str) -> String {
    let url = server_url(variable);
    let path = url.split('?').next().unwrap_or_default();
    path.rsplit('/').next().unwrap_or_default().to_owned()
}

fn assert_scratch(name: &str, variable: &str) {
    assert!(name.starts_with(SCRATCH_PREFIX), "{name}");
    assert_ne!(name, servers_own(variable));
}

#[terrace::test(migrations = MIGRATIONS, url_env = "TERRACE_TEST_POSTGRES_URL")]
#[cfg_attr(
    not(terrace_test_postgres),
    ignore = "TERRACE_TEST_POSTGRES_URL was not set when the tests were built"
)]
async fn postgres_pool_gets_a_migrated_scratch_database(pool: PgPool) {
    let name: String = sqlx::query_scalar("SELECT current_database()::text")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_scratch(&name, POSTGRES_URL);
    let projects: Vec<String> = sqlx::query_scalar("SELECT name FROM projects")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(projects, ["terrace"]);
    assert!(postgres_databases().await.contains(&name));
}

#[terrace::test(migrations = MIGRATIONS, url_env = "TERRACE_TEST_MYSQL_URL")]
#[cfg_attr(
    not(terrace_test_mysql),
    ignore = "TERRACE_TEST_MYSQL_URL was not set when the tests were built"
)]
async fn mysql_pool_gets_a_migrated_scratch_database(pool: MySqlPool) {
    let name: String = sqlx::query_scalar("SELECT DATABASE()")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_scratch(&name, MYSQL_URL);
    let projects: Vec<String> = sqlx::query_scalar("SELECT name FROM projects")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(projects, ["terrace"]);
    assert!(mysql_databases().await.contains(&name));
}

/// A test on a scratch database through a connection, then one that panics with a
/// transaction still open on a pool (`lock`); each database is gone afterwards.
macro_rules! dropped_after_return_and_panic {
    (
        $(#[$only:meta])*
        $test:ident,
        url_env = $variable:expr,
        $connection:ty,
        $pool:ty,
        name = $name:literal,
        lock = $lock:literal,
        databases = $databases:ident $(,)?
    ) => {
        #[test]
        $(#[$only])*
        fn $test() {
            let name = TestDb::builder()
                .url_env($variable)
                .run_async(&MIGRATIONS, |conn: &mut $connection| {
                    Box::pin(async move {
                        let name: String = sqlx::query_scalar($name)
                            .fetch_one(&mut *conn)
                            .await
                            .unwrap();
                        let status = MIGRATIONS.status_async(&mut *conn).await.unwrap();
                        assert_eq!((status.applied_count(), status.pending_count()), (2, 0));
                        name
                    })
                });
            assert_scratch(&name, $variable);
            assert!(!block_on($databases()).contains(&name), "{name}");

            let (sender, receiver) = std::sync::mpsc::channel();
            let panicked = catch_unwind(AssertUnwindSafe(|| {
                TestDb::builder()
                    .url_env($variable)
                    .run_async(&MIGRATIONS, |pool: &mut $pool| {
                        Box::pin(async move {
                            let mut transaction = pool.begin().await.unwrap();
                            sqlx::query($lock)
                                .execute(&mut *transaction)
                                .await
                                .unwrap();
                            let name: String = sqlx::query_scalar($name)
                                .fetch_one(&mut *transaction)
                                .await
                                .unwrap();
                            sender.send(name).unwrap();
                            panic!("the test body failed");
                        })
                    })
            }));
            assert!(panicked.is_err());
            let name = receiver.recv().unwrap();
            assert_scratch(&name, $variable);
            assert!(!block_on($databases()).contains(&name), "{name}");
        }
    };
}

dropped_after_return_and_panic!(
    #[cfg_attr(
        not(terrace_test_postgres),
        ignore = "TERRACE_TEST_POSTGRES_URL was not set when the tests were built"
    )]
    postgres_scratch_database_is_dropped_after_the_test_and_after_a_panic,
    url_env = POSTGRES_URL,
    PgConnection,
    PgPool,
    name = "SELECT current_database()::text",
    lock = "LOCK TABLE projects",
    databases = postgres_databases,
);

dropped_after_return_and_panic!(
    #[cfg_attr(
        not(terrace_test_mysql),
        ignore = "TERRACE_TEST_MYSQL_URL was not set when the tests were built"
    )]
    mysql_scratch_database_is_dropped_after_the_test_and_after_a_panic,
    url_env = MYSQL_URL,
    MySqlConnection,
    MySqlPool,
    name = "SELECT DATABASE()",
    lock = "SELECT * FROM projects FOR UPDATE",
    databases = mysql_databases,
);

/// A sweep lists the server's databases through sqlx, also when asked from inside a
/// running tokio runtime (an application's own `#[tokio::test]`).
#[tokio::test]
#[cfg_attr(
    not(all(terrace_test_postgres, terrace_test_mysql)),
    ignore = "TERRACE_TEST_POSTGRES_URL or TERRACE_TEST_MYSQL_URL was not set when the tests were built"
)]
async fn servers_are_swept_from_inside_a_runtime() {
    for (backend, variable) in [(Scheme::Postgres, POSTGRES_URL), (Scheme::Mysql, MYSQL_URL)] {
        let swept = TestDb::builder()
            .backend(backend)
            .url_env(variable)
            .sweep()
            .unwrap();
        for name in swept {
            assert_scratch(&name, variable);
        }
    }
}

/// Under CI, both servers must be configured and built for.
#[path = "../../servers-tests-common/ci.rs"]
mod ci;
