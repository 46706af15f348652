//! sqlx's pools and connections as test connections: an `async fn` under
//! `#[terrace::test]` runs on a tokio runtime of its own and gets a database migrated
//! through its pool or connection (`run_async` over the sqlx adapter).
//!
//! The database is made, and dropped, outside the test's runtime: a server's scratch
//! database is created and dropped over a blocking driver, or over sqlx on a runtime of
//! its own, neither of which can run inside another runtime.

use super::{Builder, Scheme, TestDb, TestDbError, render, sealed};
use crate::backend::AsyncDatabase;
use crate::migrations::Migrations;
use std::future::Future;
use std::pin::Pin;

/// An sqlx pool or connection an `async fn` under `#[terrace::test]` accepts as its
/// parameter: `sqlx::SqlitePool`, `sqlx::PgPool`, `sqlx::MySqlPool` (by value, or as
/// `&mut`) and `&mut sqlx::SqliteConnection`, `&mut sqlx::PgConnection`,
/// `&mut sqlx::MySqlConnection`, each with terrace's feature for it.
#[diagnostic::on_unimplemented(
    message = "an async test cannot be handed a `{Self}`",
    label = "not an sqlx pool or connection of a compiled-in backend",
    note = "an `async fn` takes `sqlx::SqlitePool`, `sqlx::PgPool` or `sqlx::MySqlPool`, or \
            `&mut sqlx::SqliteConnection`, `&mut sqlx::PgConnection` or \
            `&mut sqlx::MySqlConnection`, with terrace's feature for that backend enabled \
            (`sqlx-sqlite`, `sqlx-postgres`, `sqlx-mysql`); a blocking connection needs a \
            plain fn"
)]
pub trait AsyncTestConnection: AsyncDatabase + Sized + sealed::Sealed {
    /// The backend this type connects to.
    #[doc(hidden)]
    const BACKEND: Scheme;

    /// Connects to the test database.
    #[doc(hidden)]
    fn open_test_db(db: &TestDb) -> impl Future<Output = Result<Self, TestDbError>>;

    /// Closes the connections, before the database is removed.
    #[doc(hidden)]
    fn close(self) -> impl Future<Output = ()>;
}

/// An sqlx pool, which an async test may take by value: it gets a clone of the pool
/// the database was migrated through.
#[diagnostic::on_unimplemented(
    message = "an async test takes only an sqlx pool by value, not a `{Self}`",
    label = "not an sqlx pool of a compiled-in backend",
    note = "by value, an `async fn` takes `sqlx::SqlitePool`, `sqlx::PgPool` or \
            `sqlx::MySqlPool`; a connection is lent, as `&mut sqlx::SqliteConnection`, \
            `&mut sqlx::PgConnection` or `&mut sqlx::MySqlConnection`"
)]
pub trait TestPool: AsyncTestConnection + Clone {
    /// The pool a by-value parameter gets: a clone of the test's.
    #[doc(hidden)]
    fn handle(&mut self) -> Self {
        self.clone()
    }
}

/// A test's future, borrowing its connection.
type TestFuture<'c, R> = Pin<Box<dyn Future<Output = R> + 'c>>;

impl Builder {
    /// Runs an async test on a new database, migrated through the sqlx pool or
    /// connection `C` the test takes: what `#[terrace::test]` expands an `async fn`
    /// to. The test runs on a new single-threaded tokio runtime (sqlx needs its
    /// `runtime-tokio` feature). Panics, naming what is wrong, when the database cannot
    /// be made; closes the test's connections and removes the database when the test
    /// returns or panics.
    pub fn run_async<C: AsyncTestConnection, R>(
        mut self,
        migrations: &Migrations,
        test: impl for<'c> FnOnce(&'c mut C) -> TestFuture<'c, R>,
    ) -> R {
        self.backend = Some(C::BACKEND);
        let cannot = |what: &str, e: &TestDbError| -> ! {
            panic!("cannot {what} the test database: {}", render(e))
        };
        // Made outside the runtime; dropped after it, on return and while unwinding.
        let db = self.create_empty().unwrap_or_else(|e| cannot("make", &e));
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap_or_else(|e| panic!("cannot start a tokio runtime for the test: {e}"));
        runtime.block_on(async {
            let mut conn = C::open_test_db(&db)
                .await
                .unwrap_or_else(|e| cannot("open", &e));
            if let Err(source) = migrations.run_async(&mut conn).await {
                cannot("make", &db.migration_failed(source));
            }
            let output = test(&mut conn).await;
            conn.close().await;
            output
        })
    }
}

/// Implements the traits for one database's pool and connection.
macro_rules! sqlx_test_connection {
    ($feature:literal, $scheme:expr, $database:ty, $connection:ty, $options:ty, $open:expr) => {
        #[cfg(feature = $feature)]
        impl sealed::Sealed for ::sqlx::Pool<$database> {}

        #[cfg(feature = $feature)]
        impl AsyncTestConnection for ::sqlx::Pool<$database> {
            const BACKEND: Scheme = $scheme;

            async fn open_test_db(db: &TestDb) -> Result<Self, TestDbError> {
                db.expect_backend($scheme)?;
                let options: $options = $open(db)?;
                ::sqlx::pool::PoolOptions::<$database>::new()
                    .connect_with(options)
                    .await
                    .map_err(|e| db.connect_failed(Box::new(e)))
            }

            async fn close(self) {
                ::sqlx::Pool::close(&self).await;
            }
        }

        #[cfg(feature = $feature)]
        impl TestPool for ::sqlx::Pool<$database> {}

        #[cfg(feature = $feature)]
        impl sealed::Sealed for $connection {}

        #[cfg(feature = $feature)]
        impl AsyncTestConnection for $connection {
            const BACKEND: Scheme = $scheme;

            async fn open_test_db(db: &TestDb) -> Result<Self, TestDbError> {
                db.expect_backend($scheme)?;
                let options: $options = $open(db)?;
                ::sqlx::ConnectOptions::connect(&options)
                    .await
                    .map_err(|e| db.connect_failed(Box::new(e)))
            }

            async fn close(self) {
                // A connection that cannot say goodbye is closed all the same.
                let _ = ::sqlx::Connection::close(self).await;
            }
        }
    };
}

/// A server's connect options from the test database's URL.
#[cfg(any(feature = "sqlx-postgres", feature = "sqlx-mysql"))]
fn server_options<O>(db: &TestDb) -> Result<O, TestDbError>
where
    O: std::str::FromStr<Err = ::sqlx::Error>,
{
    db.url()
        .parse()
        .map_err(|e: ::sqlx::Error| db.connect_failed(Box::new(e)))
}

#[cfg(feature = "sqlx-sqlite")]
fn sqlite_options(db: &TestDb) -> Result<::sqlx::sqlite::SqliteConnectOptions, TestDbError> {
    let file = db.sqlite_path().expect("a SQLite test database has a file");
    Ok(::sqlx::sqlite::SqliteConnectOptions::new()
        .filename(file)
        .create_if_missing(true))
}

sqlx_test_connection!(
    "sqlx-sqlite",
    Scheme::Sqlite,
    ::sqlx::Sqlite,
    ::sqlx::SqliteConnection,
    ::sqlx::sqlite::SqliteConnectOptions,
    sqlite_options
);
sqlx_test_connection!(
    "sqlx-postgres",
    Scheme::Postgres,
    ::sqlx::Postgres,
    ::sqlx::PgConnection,
    ::sqlx::postgres::PgConnectOptions,
    server_options
);
sqlx_test_connection!(
    "sqlx-mysql",
    Scheme::Mysql,
    ::sqlx::MySql,
    ::sqlx::MySqlConnection,
    ::sqlx::mysql::MySqlConnectOptions,
    server_options
);
