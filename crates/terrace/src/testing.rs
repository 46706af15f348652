//! Test databases (feature `testing`): each test gets a freshly migrated database of
//! its own, on SQLite, PostgreSQL or MySQL, removed when the test ends — also when it
//! panics, because the removal runs in `Drop`, which runs while a panic unwinds.
//!
//! With the attribute, the parameter's type picks the backend:
//!
//! ```
//! use terrace::{Migration, Migrations, migrations};
//!
//! static MIGRATIONS: Migrations = migrations![
//!     Migration::sql(1, "create_projects", "CREATE TABLE projects (id INTEGER PRIMARY KEY, name TEXT);"),
//! ];
//!
//! #[terrace::test(migrations = MIGRATIONS)]
//! fn a_new_database_has_no_projects(conn: &mut rusqlite::Connection) {
//!     let count: i64 = conn.query_row("SELECT count(*) FROM projects", [], |row| row.get(0)).unwrap();
//!     assert_eq!(count, 0);
//! }
//! # fn main() {}
//! ```
//!
//! `&mut postgres::Client` and `&mut mysql::Conn` get a scratch database on the server
//! that `DATABASE_URL` names (or the variable given as `url_env = "NAME"`);
//! `&mut terrace::Connection` gets whichever backend that variable names, SQLite when
//! it is not set. diesel's `&mut SqliteConnection`, `&mut PgConnection` and
//! `&mut MysqlConnection` (with their features) work the same way, the database
//! migrated through that connection.
//!
//! An `async fn` takes an sqlx pool by value (`sqlx::SqlitePool`, `sqlx::PgPool`,
//! `sqlx::MySqlPool`) or an sqlx connection as `&mut` (`SqliteConnection`,
//! `PgConnection`, `MySqlConnection`), with terrace's feature for it. It runs on a new
//! single-threaded tokio runtime (sqlx needs its `runtime-tokio` feature), its
//! database migrated through that pool or connection with
//! [`run_async`](crate::Migrations::run_async):
//!
//! ```no_run
//! # static MIGRATIONS: terrace::Migrations = terrace::migrations![];
//! #[terrace::test(migrations = MIGRATIONS)]
//! async fn a_new_database_has_no_projects(pool: sqlx::SqlitePool) {
//!     let count: i64 = sqlx::query_scalar("SELECT count(*) FROM projects")
//!         .fetch_one(&pool)
//!         .await
//!         .unwrap();
//!     assert_eq!(count, 0);
//! }
//! # fn main() {}
//! ```
//!
//! A server's scratch database is created, dropped and swept through whichever driver
//! for that server the build has: terrace's blocking one (`postgres`, `mysql`), else
//! sqlx's, else diesel's, so the test's own driver is enough.
//!
//! Without the attribute, [`TestDb`] does the same:
//!
//! ```
//! # use terrace::{Migration, Migrations, migrations};
//! # static MIGRATIONS: Migrations = migrations![
//! #     Migration::sql(1, "create_projects", "CREATE TABLE projects (id INTEGER PRIMARY KEY, name TEXT);"),
//! # ];
//! use terrace::testing::TestDb;
//!
//! # fn main() -> Result<(), terrace::testing::TestDbError> {
//! let db = TestDb::sqlite(&MIGRATIONS)?;
//! let conn: rusqlite::Connection = db.open()?;
//! conn.execute("INSERT INTO projects (name) VALUES ('terrace')", []).unwrap();
//! let file = db.sqlite_path().expect("a SQLite test database has a file").to_owned();
//! drop(conn);
//! drop(db);
//! assert!(!file.exists());
//! # Ok(())
//! # }
//! ```
//!
//! A server's scratch databases are named `terrace_testdb_<host>_<pid>_<n>` (`<host>` a
//! short hash of this machine's identity) and SQLite's folders likewise, in the system's
//! temporary folder. A test process that is killed cannot drop its own: the first test
//! database a process makes on a server (or in the temporary folder) first drops those
//! this host's dead processes left behind, where `/proc` tells which processes run.
//! See `docs/test-databases.md`.
//!
//! The parameter must be a connection type the helper knows ("a test database cannot
//! be opened as a `String`", pointing at the type):
//!
//! ```compile_fail,E0277
//! # static MIGRATIONS: terrace::Migrations = terrace::migrations![];
//! terrace::testing::TestDb::builder().run(&MIGRATIONS, |conn: &mut String| conn.clear());
//! ```
//!
//! and lent to the test, with the migrations named:
//!
//! ```compile_fail
//! # static MIGRATIONS: terrace::Migrations = terrace::migrations![];
//! #[terrace::test(migrations = MIGRATIONS)]
//! fn owns_its_connection(conn: rusqlite::Connection) {}
//! # fn main() {}
//! ```
//!
//! ```compile_fail
//! #[terrace::test]
//! fn which_migrations(conn: &mut rusqlite::Connection) {}
//! # fn main() {}
//! ```
//!
//! A plain `fn` is lent its connection; only an `async fn` takes a pool by value:
//!
//! ```compile_fail
//! # static MIGRATIONS: terrace::Migrations = terrace::migrations![];
//! #[terrace::test(migrations = MIGRATIONS)]
//! fn pool_in_a_plain_fn(pool: sqlx::SqlitePool) {}
//! # fn main() {}
//! ```
//!
//! An `async fn` takes an sqlx pool or connection, and a plain `fn` a blocking one: the
//! attribute hands an `async fn`'s parameter to [`Builder::run_async`], whose bound
//! says "an async test cannot be handed a `rusqlite::Connection`", and a plain `fn`'s
//! to [`Builder::run`] ("a test database cannot be opened as a `SqliteConnection`" for
//! an sqlx connection), each with a note listing the types it takes:
//!
//! ```compile_fail,E0277
//! # static MIGRATIONS: terrace::Migrations = terrace::migrations![];
//! terrace::testing::TestDb::builder()
//!     .run_async(&MIGRATIONS, |_conn: &mut rusqlite::Connection| Box::pin(async {}));
//! ```
//!
//! ```compile_fail,E0277
//! # static MIGRATIONS: terrace::Migrations = terrace::migrations![];
//! terrace::testing::TestDb::builder().run(&MIGRATIONS, |_conn: &mut sqlx::SqliteConnection| {});
//! ```
//!
//! Only a pool is taken by value, through [`TestPool`] ("an async test takes only an
//! sqlx pool by value, not a `SqliteConnection`"):
//!
//! ```compile_fail,E0277
//! fn by_value(conn: &mut sqlx::SqliteConnection) -> sqlx::SqliteConnection {
//!     <sqlx::SqliteConnection as terrace::testing::TestPool>::handle(conn)
//! }
//! ```
//!
//! ```
//! fn by_value(pool: &mut sqlx::SqlitePool) -> sqlx::SqlitePool {
//!     <sqlx::SqlitePool as terrace::testing::TestPool>::handle(pool)
//! }
//! ```

mod admin;
#[cfg(any(
    feature = "diesel-sqlite",
    feature = "diesel-postgres",
    feature = "diesel-mysql"
))]
mod on_diesel;
mod on_sqlx;
mod scratch;

pub use on_sqlx::{AsyncTestConnection, TestPool};

use crate::backend::Database;
use crate::connection::{Connection, DatabaseUrl, Scheme, redact};
use crate::error::BoxError;
use crate::migrations::Migrations;
use scratch::{Place, create_server, create_sqlite, open_url, remove, sweep_once};
use std::fmt;
use std::path::Path;

/// The variable a test database's server URL is read from unless told otherwise.
pub const DEFAULT_URL_ENV: &str = "DATABASE_URL";

/// The origin of a URL given to [`Builder::server_url`], in messages.
const GIVEN: &str = "the server URL given";

/// Why a test database could not be made, opened or removed. Passwords never appear
/// in it.
///
/// `Debug` prints the message and its causes, one `caused by:` line each, as
/// [`Error`](crate::Error)'s does: what a test that unwraps it, or a `main` that
/// returns it, shows.
#[derive(thiserror::Error)]
#[non_exhaustive]
pub enum TestDbError {
    /// The test needs a server and the variable that names it is not set.
    #[error(
        "{variable} is not set: a {} test database is made on the server it names; set it to \
         a URL such as {} (a user allowed to create databases)",
        backend_name(*wanted),
        example_url(*wanted)
    )]
    MissingUrl {
        /// The variable read.
        variable: String,
        /// The backend the test asked for.
        wanted: Scheme,
    },
    /// The URL names another backend than the test asked for.
    #[error(
        "{origin} names a {} database, but this test needs a {} server: set it to a URL such \
         as {}{}",
        backend_name(*found),
        backend_name(*wanted),
        example_url(*wanted),
        if origin == GIVEN { "" } else { ", or read another variable with url_env" }
    )]
    WrongBackend {
        /// Where the URL came from: the variable's name, or "the server URL given"
        /// ([`Builder::server_url`]).
        origin: String,
        /// The backend the URL names.
        found: Scheme,
        /// The backend the test asked for.
        wanted: Scheme,
    },
    /// The URL could not be parsed.
    #[error("{origin} is not a database URL Terrace can open")]
    BadUrl {
        /// Where the URL came from.
        origin: String,
        /// Why (the URL in it with any password hidden).
        #[source]
        source: crate::Error,
    },
    /// The test database is on another backend than the connection asked for.
    #[error(
        "the test database is a {} database: it cannot be opened as a {} connection",
        backend_name(*database),
        backend_name(*wanted)
    )]
    OtherBackend {
        /// The test database's backend.
        database: Scheme,
        /// The connection's backend.
        wanted: Scheme,
    },
    /// Making, opening, migrating or removing the test database failed.
    #[error("cannot {action} {target}")]
    Failed {
        /// What was being done ("create the scratch database", "migrate", …).
        action: &'static str,
        /// The database, folder or server, with any password hidden.
        target: String,
        /// The driver's, the file system's or the migration's error.
        #[source]
        source: BoxError,
    },
}

impl fmt::Debug for TestDbError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        terrace_core::error::write_with_causes(self, f)
    }
}

fn backend_name(scheme: Scheme) -> &'static str {
    match scheme {
        Scheme::Sqlite => "SQLite",
        Scheme::Postgres => "PostgreSQL",
        Scheme::Mysql => "MySQL",
    }
}

fn example_url(scheme: Scheme) -> &'static str {
    match scheme {
        Scheme::Sqlite => "sqlite:PATH",
        Scheme::Postgres => "postgres://USER@HOST/DB",
        Scheme::Mysql => "mysql://USER@HOST/DB",
    }
}

/// The error's message followed by each of its causes.
fn render(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(next) = cause {
        text.push_str(": ");
        text.push_str(&next.to_string());
        cause = next.source();
    }
    text
}

/// A migrated database for one test, removed when dropped (also while a panic
/// unwinds): a SQLite file in a temporary folder, or a scratch database on a server.
pub struct TestDb {
    /// `None` once removed by [`TestDb::close`].
    place: Option<Place>,
    url: String,
}

impl fmt::Debug for TestDb {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TestDb")
            .field("url", &redact(&self.url))
            .finish()
    }
}

/// How to make a [`TestDb`]: which backend, and where a server's URL comes from.
#[derive(Debug, Clone)]
#[must_use]
pub struct Builder {
    backend: Option<Scheme>,
    source: UrlSource,
}

#[derive(Clone)]
enum UrlSource {
    Env(String),
    Given(String),
}

impl fmt::Debug for UrlSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UrlSource::Env(variable) => f.debug_tuple("Env").field(variable).finish(),
            UrlSource::Given(url) => f.debug_tuple("Given").field(&redact(url)).finish(),
        }
    }
}

impl UrlSource {
    fn origin(&self) -> String {
        match self {
            UrlSource::Env(variable) => variable.clone(),
            UrlSource::Given(_) => GIVEN.to_owned(),
        }
    }

    /// The URL, if any: an empty variable counts as unset.
    fn value(&self) -> Option<String> {
        match self {
            UrlSource::Env(variable) => std::env::var(variable).ok().filter(|v| !v.is_empty()),
            UrlSource::Given(url) => Some(url.clone()),
        }
    }
}

/// Where a test database is to be made.
#[derive(Debug, PartialEq, Eq)]
enum Target {
    Sqlite,
    Server(Scheme, String),
}

/// Where the test database goes, from the backend asked for (`None`: whichever the URL
/// names) and the URL found: a server test needs a URL of its own scheme; SQLite needs
/// none.
fn resolve(
    wanted: Option<Scheme>,
    origin: &str,
    url: Option<String>,
) -> Result<Target, TestDbError> {
    let url = match (wanted, url) {
        (Some(Scheme::Sqlite), _) | (None, None) => return Ok(Target::Sqlite),
        (Some(wanted), None) => {
            return Err(TestDbError::MissingUrl {
                variable: origin.to_owned(),
                wanted,
            });
        }
        (_, Some(url)) => url,
    };
    // Any server: its scratch database is made through whichever driver for it the
    // build has.
    let found = DatabaseUrl::parse_any(&url)
        .map_err(|source| TestDbError::BadUrl {
            origin: origin.to_owned(),
            source,
        })?
        .scheme();
    match (wanted, found) {
        (Some(wanted), found) if wanted != found => Err(TestDbError::WrongBackend {
            origin: origin.to_owned(),
            found,
            wanted,
        }),
        (_, Scheme::Sqlite) => Ok(Target::Sqlite),
        (_, server) => Ok(Target::Server(server, url)),
    }
}

impl TestDb {
    /// A migrated SQLite file in a new temporary folder.
    pub fn sqlite(migrations: &Migrations) -> Result<TestDb, TestDbError> {
        TestDb::builder().backend(Scheme::Sqlite).create(migrations)
    }

    /// A migrated scratch database on the PostgreSQL server `DATABASE_URL` names.
    pub fn postgres(migrations: &Migrations) -> Result<TestDb, TestDbError> {
        TestDb::builder()
            .backend(Scheme::Postgres)
            .create(migrations)
    }

    /// A migrated scratch database on the MySQL or MariaDB server `DATABASE_URL` names.
    pub fn mysql(migrations: &Migrations) -> Result<TestDb, TestDbError> {
        TestDb::builder().backend(Scheme::Mysql).create(migrations)
    }

    /// A builder: the backend `DATABASE_URL` names (SQLite when it is not set) unless
    /// [`Builder::backend`] says which.
    pub fn builder() -> Builder {
        Builder {
            backend: None,
            source: UrlSource::Env(DEFAULT_URL_ENV.to_owned()),
        }
    }

    /// The database's URL, for [`DatabaseUrl::parse`] or the application's own code.
    /// It holds the server URL's password, if it had one.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The backend.
    pub fn scheme(&self) -> Scheme {
        match &self.place {
            Some(Place::Server { scheme, .. }) => *scheme,
            _ => Scheme::Sqlite,
        }
    }

    /// The scratch database's name on its server (`None` for SQLite).
    pub fn database_name(&self) -> Option<&str> {
        match &self.place {
            Some(Place::Server { name, .. }) => Some(name),
            _ => None,
        }
    }

    /// The SQLite file (`None` on a server).
    pub fn sqlite_path(&self) -> Option<&Path> {
        match &self.place {
            Some(Place::Sqlite { file, .. }) => Some(file),
            _ => None,
        }
    }

    /// A new connection to the database: `rusqlite::Connection`, `postgres::Client`,
    /// `mysql::Conn` (each only on its own backend) or [`Connection`].
    pub fn open<C: TestConnection>(&self) -> Result<C, TestDbError> {
        C::open_test_db(self)
    }

    /// Removes the database now, saying if that failed (dropping it removes it too,
    /// but can only print a failure). Close the test's connections first: on
    /// PostgreSQL and MySQL those still open are ended.
    pub fn close(mut self) -> Result<(), TestDbError> {
        match self.place.take() {
            Some(place) => remove(place),
            None => Ok(()),
        }
    }

    fn open_any(&self) -> Result<Connection, TestDbError> {
        match &self.place {
            #[cfg(feature = "sqlite")]
            Some(Place::Sqlite { file, .. }) => rusqlite::Connection::open(file)
                .map(Connection::Sqlite)
                .map_err(|e| TestDbError::Failed {
                    action: "open the test database",
                    target: file.display().to_string(),
                    source: Box::new(e),
                }),
            _ => open_url(&self.url).map_err(|source| TestDbError::Failed {
                action: "connect to the test database",
                target: redact(&self.url).into_owned(),
                source,
            }),
        }
    }

    /// The connection of a backend, or why there is none.
    fn open_as<C>(
        &self,
        wanted: Scheme,
        take: impl FnOnce(Connection) -> Option<C>,
    ) -> Result<C, TestDbError> {
        self.expect_backend(wanted)?;
        let connection = self.open_any()?;
        Ok(take(connection).expect("a URL of this scheme opens a connection of its backend"))
    }
}

impl TestDb {
    /// An error unless the database is on `wanted`'s backend.
    fn expect_backend(&self, wanted: Scheme) -> Result<(), TestDbError> {
        let database = self.scheme();
        if database == wanted {
            Ok(())
        } else {
            Err(TestDbError::OtherBackend { database, wanted })
        }
    }

    /// A driver's failure to connect to this database.
    #[cfg_attr(
        not(any(
            feature = "diesel-sqlite",
            feature = "diesel-postgres",
            feature = "diesel-mysql",
            feature = "sqlx-sqlite",
            feature = "sqlx-postgres",
            feature = "sqlx-mysql"
        )),
        allow(dead_code, reason = "only the diesel and sqlx connections use it")
    )]
    fn connect_failed(&self, source: BoxError) -> TestDbError {
        TestDbError::Failed {
            action: "connect to the test database",
            target: redact(&self.url).into_owned(),
            source,
        }
    }

    /// Migrating this database failed.
    fn migration_failed(&self, source: crate::Error) -> TestDbError {
        TestDbError::Failed {
            action: "migrate the test database",
            target: redact(&self.url).into_owned(),
            source: Box::new(source),
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some(place) = self.place.take()
            && let Err(error) = remove(place)
        {
            eprintln!("warning: {}", render(&error));
        }
    }
}

impl Builder {
    /// The backend: SQLite, PostgreSQL or MySQL.
    pub fn backend(mut self, backend: Scheme) -> Builder {
        self.backend = Some(backend);
        self
    }

    /// Reads the server URL from this variable instead of `DATABASE_URL`.
    pub fn url_env(mut self, variable: &str) -> Builder {
        self.source = UrlSource::Env(variable.to_owned());
        self
    }

    /// Uses this server URL instead of reading a variable.
    pub fn server_url(mut self, url: &str) -> Builder {
        self.source = UrlSource::Given(url.to_owned());
        self
    }

    /// Makes the database and runs the migrations on it. A server URL's own database
    /// is only used to create and drop the scratch database; the first test database a
    /// process makes in a place first drops the leftovers there (see
    /// [`sweep`](Builder::sweep)).
    pub fn create(self, migrations: &Migrations) -> Result<TestDb, TestDbError> {
        // Made first, so that a failing migration still removes the database.
        let db = self.create_empty()?;
        let mut conn = db.open_any()?;
        migrations
            .run(&mut conn)
            .map_err(|source| db.migration_failed(source))?;
        Ok(db)
    }

    /// Makes the database, not yet migrated (after sweeping the leftovers of its place
    /// once per process).
    fn create_empty(self) -> Result<TestDb, TestDbError> {
        let target = resolve(self.backend, &self.source.origin(), self.source.value())?;
        sweep_once(&target);
        match target {
            Target::Sqlite => create_sqlite(),
            Target::Server(scheme, server_url) => create_server(scheme, server_url),
        }
    }

    /// Runs a test on a new database, the backend picked by the connection's type:
    /// what `#[terrace::test]` expands to. Panics, naming what is wrong, when the
    /// database cannot be made; removes it when the test returns or panics.
    pub fn run<C: TestConnection, R>(
        mut self,
        migrations: &Migrations,
        test: impl FnOnce(&mut C) -> R,
    ) -> R {
        if let Some(backend) = C::BACKEND {
            self.backend = Some(backend);
        }
        let db = self
            .create_empty()
            .unwrap_or_else(|e| panic!("cannot make the test database: {}", render(&e)));
        let mut conn = db
            .open::<C>()
            .unwrap_or_else(|e| panic!("cannot open the test database: {}", render(&e)));
        // Through the test's own driver, so that its feature alone is enough.
        if let Err(source) = migrations.run(&mut conn) {
            panic!(
                "cannot make the test database: {}",
                render(&db.migration_failed(source))
            );
        }
        // `conn` is dropped before `db`, on return and while unwinding.
        test(&mut conn)
    }

    /// Drops the test databases (or SQLite folders) on this builder's server (or in the
    /// temporary folder) that test processes of this host left behind and that no
    /// longer run, and returns their names. Does nothing where `/proc` does not tell
    /// which processes run.
    pub fn sweep(self) -> Result<Vec<String>, TestDbError> {
        scratch::sweep(&resolve(
            self.backend,
            &self.source.origin(),
            self.source.value(),
        )?)
    }
}

mod sealed {
    pub trait Sealed {}
}

/// A connection type a [`TestDb`] hands out, and a plain `fn` under `#[terrace::test]`
/// accepts as its parameter: `rusqlite::Connection`, `postgres::Client`, `mysql::Conn`,
/// diesel's `SqliteConnection`, `PgConnection` and `MysqlConnection` (each with its
/// feature) and [`Connection`]. The test database is migrated through it.
#[diagnostic::on_unimplemented(
    message = "a test database cannot be opened as a `{Self}`",
    label = "not a blocking connection type of a compiled-in backend",
    note = "a plain fn takes `&mut rusqlite::Connection`, `&mut postgres::Client`, \
            `&mut mysql::Conn`, `&mut terrace::Connection`, or diesel's \
            `&mut SqliteConnection`, `&mut PgConnection`, `&mut MysqlConnection`, with \
            terrace's feature for that backend enabled; an sqlx pool or connection needs an \
            `async fn`"
)]
pub trait TestConnection: Database + Sized + sealed::Sealed {
    /// The backend this type connects to (`None`: any).
    #[doc(hidden)]
    const BACKEND: Option<Scheme>;

    /// Opens a connection to the test database.
    #[doc(hidden)]
    fn open_test_db(db: &TestDb) -> Result<Self, TestDbError>;
}

impl sealed::Sealed for Connection {}

impl TestConnection for Connection {
    const BACKEND: Option<Scheme> = None;

    fn open_test_db(db: &TestDb) -> Result<Self, TestDbError> {
        db.open_any()
    }
}

#[cfg(feature = "sqlite")]
impl sealed::Sealed for rusqlite::Connection {}

#[cfg(feature = "sqlite")]
impl TestConnection for rusqlite::Connection {
    const BACKEND: Option<Scheme> = Some(Scheme::Sqlite);

    #[allow(unreachable_patterns, reason = "the other backends are optional")]
    fn open_test_db(db: &TestDb) -> Result<Self, TestDbError> {
        db.open_as(Scheme::Sqlite, |conn| match conn {
            Connection::Sqlite(conn) => Some(conn),
            _ => None,
        })
    }
}

#[cfg(feature = "postgres")]
impl sealed::Sealed for postgres::Client {}

#[cfg(feature = "postgres")]
impl TestConnection for postgres::Client {
    const BACKEND: Option<Scheme> = Some(Scheme::Postgres);

    #[allow(unreachable_patterns, reason = "the other backends are optional")]
    fn open_test_db(db: &TestDb) -> Result<Self, TestDbError> {
        db.open_as(Scheme::Postgres, |conn| match conn {
            Connection::Postgres(client) => Some(client),
            _ => None,
        })
    }
}

#[cfg(feature = "mysql")]
impl sealed::Sealed for mysql::Conn {}

#[cfg(feature = "mysql")]
impl TestConnection for mysql::Conn {
    const BACKEND: Option<Scheme> = Some(Scheme::Mysql);

    #[allow(unreachable_patterns, reason = "the other backends are optional")]
    fn open_test_db(db: &TestDb) -> Result<Self, TestDbError> {
        db.open_as(Scheme::Mysql, |conn| match conn {
            Connection::Mysql(conn) => Some(conn),
            _ => None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_prints_the_message_and_its_causes() {
        let err = resolve(None, "V", url("mongodb://h/db")).unwrap_err();
        assert!(matches!(err, TestDbError::BadUrl { .. }), "{err}");
        let cause = std::error::Error::source(&err).unwrap();
        let expected = format!("{err}\ncaused by: {cause}");
        assert_eq!(format!("{err:?}"), expected);
        assert_eq!(format!("{err:#?}"), expected);
        assert!(!format!("{err:?}").contains("BadUrl"), "{err:?}");
    }

    fn url(text: &str) -> Option<String> {
        Some(text.to_owned())
    }

    #[test]
    fn the_backend_and_the_url_decide_where_the_database_goes() {
        let pg = "postgres://u@h/db";
        assert_eq!(resolve(None, "V", None).unwrap(), Target::Sqlite);
        assert_eq!(
            resolve(None, "V", url("sqlite:dev.db")).unwrap(),
            Target::Sqlite
        );
        assert_eq!(
            resolve(None, "V", url(pg)).unwrap(),
            Target::Server(Scheme::Postgres, pg.to_owned())
        );
        assert_eq!(
            resolve(Some(Scheme::Sqlite), "V", url(pg)).unwrap(),
            Target::Sqlite
        );
        assert_eq!(
            resolve(Some(Scheme::Postgres), "V", url(pg)).unwrap(),
            Target::Server(Scheme::Postgres, pg.to_owned())
        );
    }

    #[test]
    fn a_missing_or_mismatched_url_names_the_variable() {
        let missing = resolve(Some(Scheme::Postgres), "DATABASE_URL", None).unwrap_err();
        assert!(matches!(missing, TestDbError::MissingUrl { .. }));
        assert_eq!(
            missing.to_string(),
            "DATABASE_URL is not set: a PostgreSQL test database is made on the server it \
             names; set it to a URL such as postgres://USER@HOST/DB (a user allowed to create \
             databases)"
        );
        let wrong = resolve(
            Some(Scheme::Mysql),
            "DATABASE_URL",
            url("postgres://app:s3cret@h/db"),
        )
        .unwrap_err();
        assert_eq!(
            wrong.to_string(),
            "DATABASE_URL names a PostgreSQL database, but this test needs a MySQL server: set \
             it to a URL such as mysql://USER@HOST/DB, or read another variable with url_env"
        );
        let bad = resolve(None, "TEST_URL", url("redis://app:s3cret@h")).unwrap_err();
        assert_eq!(
            bad.to_string(),
            "TEST_URL is not a database URL Terrace can open"
        );
        assert!(!render(&bad).contains("s3cret"), "{}", render(&bad));
    }
}
