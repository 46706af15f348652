//! `terrace::testing` and `#[terrace::test]`: every test gets a migrated database of its
//! own, on each backend, and it is gone afterwards, also after a panic.
//!
//! The servers are the ones the rest of the suite uses (`TERRACE_TEST_POSTGRES_URL`,
//! `TERRACE_TEST_MYSQL_URL`), named with `url_env` since `DATABASE_URL` can only name
//! one of them.

use crate::backends::Kind;
use std::cell::RefCell;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use terrace::testing::{Builder, TestDb, TestDbError};
use terrace::{ConnectOptions, Connection, DatabaseUrl, Migration, Migrations, Scheme, migrations};

pub(crate) static MIGRATIONS: Migrations = migrations![
    Migration::sql(
        1,
        "create_projects",
        "CREATE TABLE projects (id INTEGER PRIMARY KEY, name VARCHAR(100))"
    ),
    Migration::sql(
        2,
        "add_base_url",
        "ALTER TABLE projects ADD COLUMN base_url VARCHAR(200)"
    ),
];

/// A variable no test environment sets.
const UNSET: &str = "TERRACE_TEST_UNSET_SERVER_URL";

fn url_env(kind: Kind) -> &'static str {
    match kind {
        Kind::Sqlite => UNSET,
        Kind::Postgres => "TERRACE_TEST_POSTGRES_URL",
        Kind::Mysql => "TERRACE_TEST_MYSQL_URL",
    }
}

fn scheme(kind: Kind) -> Scheme {
    match kind {
        Kind::Sqlite => Scheme::Sqlite,
        Kind::Postgres => Scheme::Postgres,
        Kind::Mysql => Scheme::Mysql,
    }
}

fn builder(kind: Kind) -> Builder {
    TestDb::builder()
        .backend(scheme(kind))
        .url_env(url_env(kind))
}

/// Runs SQL statements (`;`-separated, no `;` inside them).
fn execute(conn: &mut Connection, sql: &str) {
    match conn {
        Connection::Sqlite(conn) => conn.execute_batch(sql).unwrap(),
        Connection::Postgres(client) => client.batch_execute(sql).unwrap(),
        Connection::Mysql(conn) => {
            for statement in sql.split(';').filter(|s| !s.trim().is_empty()) {
                mysql::prelude::Queryable::query_drop(conn, statement).unwrap();
            }
        }
        _ => unreachable!("every backend is compiled into the tests"),
    }
}

/// The first column of the first row, as text.
fn text(conn: &mut Connection, sql: &str) -> String {
    match conn {
        Connection::Sqlite(conn) => conn
            .query_row(sql, [], |row| {
                row.get::<_, rusqlite::types::Value>(0).map(|v| match v {
                    rusqlite::types::Value::Integer(i) => i.to_string(),
                    rusqlite::types::Value::Text(t) => t,
                    other => format!("{other:?}"),
                })
            })
            .unwrap(),
        Connection::Postgres(client) => client
            .simple_query(sql)
            .unwrap()
            .into_iter()
            .find_map(|m| match m {
                postgres::SimpleQueryMessage::Row(row) => row.get(0).map(str::to_owned),
                _ => None,
            })
            .unwrap(),
        Connection::Mysql(conn) => mysql::prelude::Queryable::query_first::<String, _>(conn, sql)
            .unwrap()
            .unwrap(),
        _ => unreachable!("every backend is compiled into the tests"),
    }
}

fn projects(conn: &mut Connection) -> i64 {
    text(conn, "SELECT count(*) FROM projects").parse().unwrap()
}

/// The SQLite file, or the scratch database's name.
fn location(db: &TestDb) -> String {
    match db.sqlite_path() {
        Some(path) => path.display().to_string(),
        None => db.database_name().unwrap().to_owned(),
    }
}

fn admin(kind: Kind) -> Connection {
    let url = std::env::var(url_env(kind)).unwrap();
    Connection::open(
        &DatabaseUrl::parse(&url).unwrap(),
        &ConnectOptions::default(),
    )
    .unwrap()
}

fn server_has(kind: Kind, name: &str) -> bool {
    let sql = match kind {
        Kind::Postgres => format!("SELECT count(*) FROM pg_database WHERE datname = '{name}'"),
        _ => {
            format!("SELECT count(*) FROM information_schema.schemata WHERE schema_name = '{name}'")
        }
    };
    text(&mut admin(kind), &sql) == "1"
}

/// Whether a test database is still there: its SQLite file or folder, or its name on
/// the server.
pub(crate) fn exists(kind: Kind, location: &str) -> bool {
    match kind {
        Kind::Sqlite => {
            let file = Path::new(location);
            file.exists() || file.parent().is_some_and(Path::exists)
        }
        _ => server_has(kind, location),
    }
}

/// `name::sqlite`, `name::postgres`, `name::mysql`, each calling `body(kind)`; a server
/// whose URL was not set when the tests were built is ignored, as in the rest of the
/// suite.
macro_rules! matrix {
    ($name:ident, $body:ident) => {
        mod $name {
            use crate::backends::Kind;

            #[test]
            fn sqlite() {
                super::$body(Kind::Sqlite);
            }

            #[test]
            #[cfg_attr(
                not(terrace_test_postgres),
                ignore = "TERRACE_TEST_POSTGRES_URL was not set when the tests were built"
            )]
            fn postgres() {
                super::$body(Kind::Postgres);
            }

            #[test]
            #[cfg_attr(
                not(terrace_test_mysql),
                ignore = "TERRACE_TEST_MYSQL_URL was not set when the tests were built"
            )]
            fn mysql() {
                super::$body(Kind::Mysql);
            }
        }
    };
}

pub(crate) use matrix;

matrix!(a_test_database_is_migrated, migrated);
fn migrated(kind: Kind) {
    let db = builder(kind).create(&MIGRATIONS).unwrap();
    assert_eq!(db.scheme(), scheme(kind));
    let mut conn: Connection = db.open().unwrap();
    let status = MIGRATIONS.status(&mut conn).unwrap();
    assert_eq!((status.applied_count(), status.pending_count()), (2, 0));
    execute(
        &mut conn,
        "INSERT INTO projects (id, name, base_url) VALUES (1, 'terrace', 'https://example.org')",
    );
    assert_eq!(projects(&mut conn), 1);
    // Its URL opens the same database.
    let mut again = Connection::open(
        &DatabaseUrl::parse(db.url()).unwrap(),
        &ConnectOptions::default(),
    )
    .unwrap();
    assert_eq!(projects(&mut again), 1);
    // The driver's own connection type, on its own backend only.
    let typed = match kind {
        Kind::Sqlite => db.open::<rusqlite::Connection>().map(drop),
        Kind::Postgres => db.open::<postgres::Client>().map(drop),
        Kind::Mysql => db.open::<mysql::Conn>().map(drop),
    };
    typed.unwrap();
    let other = match kind {
        Kind::Postgres => db.open::<mysql::Conn>().map(drop),
        _ => db.open::<postgres::Client>().map(drop),
    };
    assert!(
        matches!(other, Err(TestDbError::OtherBackend { database, .. }) if database == scheme(kind)),
        "{other:?}"
    );
}

matrix!(two_test_databases_are_apart, apart);
fn apart(kind: Kind) {
    let first = builder(kind).create(&MIGRATIONS).unwrap();
    let second = builder(kind).create(&MIGRATIONS).unwrap();
    assert_ne!(location(&first), location(&second));
    execute(
        &mut first.open().unwrap(),
        "INSERT INTO projects (id, name) VALUES (1, 'first')",
    );
    assert_eq!(projects(&mut first.open().unwrap()), 1);
    assert_eq!(projects(&mut second.open().unwrap()), 0);
}

matrix!(the_database_is_gone_after_the_helper_drops, gone_after_drop);
fn gone_after_drop(kind: Kind) {
    let db = builder(kind).create(&MIGRATIONS).unwrap();
    let place = location(&db);
    assert!(exists(kind, &place));
    // A connection still in a transaction when the test ends does not keep it.
    let mut left_open: Connection = db.open().unwrap();
    execute(&mut left_open, "BEGIN; SELECT * FROM projects");
    drop(db);
    assert!(!exists(kind, &place), "{place} is still there");
    drop(left_open);

    // close() does the same, and says if it failed.
    let db = builder(kind).create(&MIGRATIONS).unwrap();
    let place = location(&db);
    db.close().unwrap();
    assert!(!exists(kind, &place), "{place} is still there");
}

matrix!(the_database_is_gone_after_a_panic, gone_after_panic);
fn gone_after_panic(kind: Kind) {
    let mut place = String::new();
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        let db = builder(kind).create(&MIGRATIONS).unwrap();
        place = location(&db);
        let mut conn: Connection = db.open().unwrap();
        execute(&mut conn, "INSERT INTO projects (id) VALUES (1)");
        panic!("the test failed");
    }));
    assert!(outcome.is_err());
    assert!(!place.is_empty());
    assert!(!exists(kind, &place), "{place} is still there");
}

matrix!(a_failing_migration_leaves_no_database, failing_migration);
fn failing_migration(kind: Kind) {
    static BROKEN: Migrations = migrations![
        Migration::sql(1, "create_projects", "CREATE TABLE projects (id INTEGER)"),
        Migration::sql(2, "broken", "CREATE TABLE projects (id INTEGER)"),
    ];
    let err = builder(kind).create(&BROKEN).unwrap_err();
    let TestDbError::Failed { action, target, .. } = &err else {
        panic!("{err:?}");
    };
    assert_eq!(*action, "migrate the test database");
    let cause = std::error::Error::source(&err).unwrap().to_string();
    assert!(cause.contains("migration 2 (broken) failed"), "{cause}");
    // The database it names (the URL's file, or its last part) is gone.
    let place = match kind {
        Kind::Sqlite => target.strip_prefix("sqlite:").unwrap(),
        _ => target.rsplit('/').next().unwrap(),
    };
    assert!(place.contains("terrace_testdb_"), "{place}");
    assert!(!exists(kind, place), "{place} is still there");
}

trait Drivers {
    fn postgres(&mut self) -> &mut postgres::Client;
    fn mysql(&mut self) -> &mut mysql::Conn;
}

impl Drivers for Connection {
    fn postgres(&mut self) -> &mut postgres::Client {
        match self {
            Connection::Postgres(client) => client,
            _ => panic!("not PostgreSQL"),
        }
    }

    fn mysql(&mut self) -> &mut mysql::Conn {
        match self {
            Connection::Mysql(conn) => conn,
            _ => panic!("not MySQL"),
        }
    }
}

#[test]
fn a_server_test_without_its_url_is_an_error_naming_the_variable() {
    for wanted in [Scheme::Postgres, Scheme::Mysql] {
        let err = TestDb::builder()
            .backend(wanted)
            .url_env(UNSET)
            .create(&MIGRATIONS)
            .unwrap_err();
        assert!(
            matches!(&err, TestDbError::MissingUrl { variable, wanted: w } if variable == UNSET && *w == wanted),
            "{err:?}"
        );
        assert!(
            err.to_string()
                .starts_with(&format!("{UNSET} is not set: ")),
            "{err}"
        );
    }
    // SQLite needs no server.
    TestDb::builder()
        .backend(Scheme::Sqlite)
        .url_env(UNSET)
        .create(&MIGRATIONS)
        .unwrap();
    // Without a backend, the variable decides: SQLite when it is not set.
    let db = TestDb::builder()
        .url_env(UNSET)
        .create(&MIGRATIONS)
        .unwrap();
    assert_eq!(db.scheme(), Scheme::Sqlite);
}

#[test]
fn database_url_is_read_unless_told_otherwise() {
    let err_or_db = TestDb::postgres(&MIGRATIONS);
    match std::env::var("DATABASE_URL").ok().filter(|v| !v.is_empty()) {
        None => assert!(
            matches!(&err_or_db, Err(TestDbError::MissingUrl { variable, .. }) if variable == "DATABASE_URL"),
            "{err_or_db:?}"
        ),
        Some(url) if url.starts_with("postgres") => assert!(err_or_db.is_ok(), "{err_or_db:?}"),
        Some(_) => assert!(
            matches!(&err_or_db, Err(TestDbError::WrongBackend { origin, .. }) if origin == "DATABASE_URL"),
            "{err_or_db:?}"
        ),
    }
}

#[test]
fn a_url_of_another_backend_is_an_error() {
    let cases = [
        (
            Scheme::Postgres,
            "mysql://root:s3cret@127.0.0.1/app",
            Scheme::Mysql,
        ),
        (
            Scheme::Mysql,
            "postgres://app:s3cret@127.0.0.1/app",
            Scheme::Postgres,
        ),
        (Scheme::Mysql, "sqlite:app.db", Scheme::Sqlite),
    ];
    for (wanted, url, found) in cases {
        let err = TestDb::builder()
            .backend(wanted)
            .server_url(url)
            .create(&MIGRATIONS)
            .unwrap_err();
        assert!(
            matches!(&err, TestDbError::WrongBackend { found: f, wanted: w, .. } if *f == found && *w == wanted),
            "{err:?}"
        );
        let message = err.to_string();
        assert!(
            message.starts_with("the server URL given names a "),
            "{message}"
        );
        assert!(!format!("{message} {err:?}").contains("s3cret"), "{err:?}");
    }
    let err = TestDb::builder()
        .server_url("redis://127.0.0.1")
        .create(&MIGRATIONS)
        .unwrap_err();
    assert!(matches!(err, TestDbError::BadUrl { .. }), "{err:?}");
}

#[test]
#[cfg_attr(
    not(terrace_test_mysql),
    ignore = "TERRACE_TEST_MYSQL_URL was not set when the tests were built"
)]
fn a_variable_naming_another_backend_is_an_error_naming_it() {
    let err = TestDb::builder()
        .backend(Scheme::Postgres)
        .url_env("TERRACE_TEST_MYSQL_URL")
        .create(&MIGRATIONS)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "TERRACE_TEST_MYSQL_URL names a MySQL database, but this test needs a PostgreSQL \
         server: set it to a URL such as postgres://USER@HOST/DB, or read another variable \
         with url_env"
    );
}

// The attribute. Each test records where its database was, so that the tests after
// them, which call them as functions, can check it is gone.

thread_local! {
    static LOCATION: RefCell<Option<String>> = const { RefCell::new(None) };
}

pub(crate) fn record(location: String) {
    LOCATION.with(|l| *l.borrow_mut() = Some(location));
}

pub(crate) fn recorded() -> String {
    LOCATION
        .with(|l| l.borrow_mut().take())
        .expect("the test recorded its database")
}

#[terrace::test(migrations = MIGRATIONS)]
fn attribute_sqlite(conn: &mut rusqlite::Connection) {
    let count: i64 = conn
        .query_row("SELECT count(*) FROM projects", [], |r| r.get(0))
        .unwrap();
    assert_eq!(count, 0);
    assert_eq!(MIGRATIONS.status(conn).unwrap().applied_count(), 2);
    record(conn.path().unwrap().to_owned());
}

#[terrace::test(migrations = MIGRATIONS, url_env = "TERRACE_TEST_POSTGRES_URL")]
#[cfg_attr(
    not(terrace_test_postgres),
    ignore = "TERRACE_TEST_POSTGRES_URL was not set when the tests were built"
)]
fn attribute_postgres(client: &mut postgres::Client) {
    let count: i64 = client
        .query_one("SELECT count(*) FROM projects", &[])
        .unwrap()
        .get(0);
    assert_eq!(count, 0);
    assert_eq!(MIGRATIONS.status(client).unwrap().applied_count(), 2);
    record(
        client
            .query_one("SELECT current_database()::text", &[])
            .unwrap()
            .get(0),
    );
}

#[terrace::test(migrations = MIGRATIONS, url_env = "TERRACE_TEST_MYSQL_URL")]
#[cfg_attr(
    not(terrace_test_mysql),
    ignore = "TERRACE_TEST_MYSQL_URL was not set when the tests were built"
)]
fn attribute_mysql(conn: &mut mysql::Conn) {
    use mysql::prelude::Queryable;
    let count: Option<i64> = conn.query_first("SELECT count(*) FROM projects").unwrap();
    assert_eq!(count, Some(0));
    assert_eq!(MIGRATIONS.status(conn).unwrap().applied_count(), 2);
    record(conn.query_first("SELECT DATABASE()").unwrap().unwrap());
}

/// `terrace::Connection` takes the backend its variable names; a test may return a
/// `Result`.
#[terrace::test(migrations = MIGRATIONS, url_env = "TERRACE_TEST_POSTGRES_URL")]
#[cfg_attr(
    not(terrace_test_postgres),
    ignore = "TERRACE_TEST_POSTGRES_URL was not set when the tests were built"
)]
fn attribute_any_backend(conn: &mut Connection) -> Result<(), terrace::Error> {
    assert!(matches!(conn, Connection::Postgres(_)));
    assert_eq!(MIGRATIONS.status(conn)?.pending_count(), 0);
    assert_eq!(projects(conn), 0);
    record(text(conn, "SELECT current_database()"));
    Ok(())
}

#[terrace::test(migrations = MIGRATIONS, url_env = "TERRACE_TEST_UNSET_SERVER_URL")]
fn attribute_any_backend_without_a_url_is_sqlite(conn: &mut Connection) {
    assert!(matches!(conn, Connection::Sqlite(_)));
    assert_eq!(projects(conn), 0);
}

#[terrace::test(migrations = MIGRATIONS, url_env = "TERRACE_TEST_UNSET_SERVER_URL")]
#[should_panic(expected = "TERRACE_TEST_UNSET_SERVER_URL is not set: ")]
fn attribute_without_a_server_url_fails_naming_the_variable(_client: &mut postgres::Client) {}

/// Records where its database is, then fails.
pub(crate) fn fail(location: String) -> ! {
    record(location);
    panic!("the test body failed");
}

#[terrace::test(migrations = MIGRATIONS)]
#[should_panic(expected = "the test body failed")]
fn attribute_sqlite_panics(conn: &mut rusqlite::Connection) {
    fail(conn.path().unwrap().to_owned());
}

#[terrace::test(migrations = MIGRATIONS, url_env = "TERRACE_TEST_POSTGRES_URL")]
#[should_panic(expected = "the test body failed")]
#[cfg_attr(
    not(terrace_test_postgres),
    ignore = "TERRACE_TEST_POSTGRES_URL was not set when the tests were built"
)]
fn attribute_postgres_panics(client: &mut postgres::Client) {
    // In a transaction, holding a lock on the table, when the body panics.
    let mut transaction = client.transaction().unwrap();
    transaction.execute("LOCK TABLE projects", &[]).unwrap();
    fail(
        transaction
            .query_one("SELECT current_database()::text", &[])
            .unwrap()
            .get(0),
    );
}

#[terrace::test(migrations = MIGRATIONS, url_env = "TERRACE_TEST_MYSQL_URL")]
#[should_panic(expected = "the test body failed")]
#[cfg_attr(
    not(terrace_test_mysql),
    ignore = "TERRACE_TEST_MYSQL_URL was not set when the tests were built"
)]
fn attribute_mysql_panics(conn: &mut mysql::Conn) {
    use mysql::prelude::Queryable;
    conn.query_drop("START TRANSACTION").unwrap();
    conn.query_drop("SELECT * FROM projects FOR UPDATE")
        .unwrap();
    fail(conn.query_first("SELECT DATABASE()").unwrap().unwrap());
}

matrix!(
    the_attribute_removes_the_database_afterwards,
    attribute_afterwards
);
fn attribute_afterwards(kind: Kind) {
    match kind {
        Kind::Sqlite => attribute_sqlite(),
        Kind::Postgres => attribute_postgres(),
        Kind::Mysql => attribute_mysql(),
    }
    let place = recorded();
    assert!(place.contains("terrace_testdb_"), "{place}");
    assert!(!exists(kind, &place), "{place} is still there");
    if kind == Kind::Postgres {
        attribute_any_backend().unwrap();
        let place = recorded();
        assert!(!exists(kind, &place), "{place} is still there");
    }
}

matrix!(
    the_attribute_removes_the_database_after_a_panic,
    attribute_after_panic
);
fn attribute_after_panic(kind: Kind) {
    let outcome = catch_unwind(match kind {
        Kind::Sqlite => attribute_sqlite_panics,
        Kind::Postgres => attribute_postgres_panics,
        Kind::Mysql => attribute_mysql_panics,
    });
    assert!(outcome.is_err());
    let place = recorded();
    assert!(place.contains("terrace_testdb_"), "{place}");
    assert!(!exists(kind, &place), "{place} is still there");
}

// Leftovers of killed test processes.

/// The id of a process that has ended.
fn dead_pid() -> u32 {
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let pid = child.id();
    child.wait().unwrap();
    assert!(!Path::new(&format!("/proc/{pid}")).exists());
    pid
}

matrix!(leftovers_of_dead_processes_are_swept, sweep);
fn sweep(kind: Kind) {
    // This host's part of the names, from a database of this process.
    let db = builder(kind).create(&MIGRATIONS).unwrap();
    let mine = format!("_{}_", std::process::id());
    let name = location(&db);
    let name = Path::new(&name)
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .find(|part| part.starts_with("terrace_testdb_"))
        .unwrap();
    let host = &name[..name.find(&mine).unwrap()];
    let dead = format!("{host}_{}_0", dead_pid());
    let live = format!("{host}{mine}4000000000");
    let other_host = format!("terrace_testdb_0badbeef_{}_0", dead_pid());
    let create = |name: &str| match kind {
        Kind::Sqlite => std::fs::create_dir(std::env::temp_dir().join(name)).unwrap(),
        Kind::Postgres => admin(kind)
            .postgres()
            .batch_execute(&format!("CREATE DATABASE \"{name}\""))
            .unwrap(),
        Kind::Mysql => mysql::prelude::Queryable::query_drop(
            admin(kind).mysql(),
            format!("CREATE DATABASE `{name}`"),
        )
        .unwrap(),
    };
    let present = |name: &str| match kind {
        Kind::Sqlite => std::env::temp_dir().join(name).exists(),
        _ => server_has(kind, name),
    };
    let remove = |name: &str| match kind {
        Kind::Sqlite => std::fs::remove_dir_all(std::env::temp_dir().join(name)).unwrap(),
        Kind::Postgres => admin(kind)
            .postgres()
            .batch_execute(&format!("DROP DATABASE \"{name}\""))
            .unwrap(),
        Kind::Mysql => mysql::prelude::Queryable::query_drop(
            admin(kind).mysql(),
            format!("DROP DATABASE `{name}`"),
        )
        .unwrap(),
    };
    for name in [&dead, &live, &other_host] {
        create(name);
    }
    let swept = builder(kind).sweep().unwrap();
    // Another test's first database may have swept it already.
    assert!(!present(&dead), "{dead} is still there");
    assert!(
        swept
            .iter()
            .all(|n| n != &live && n != &other_host && n != &name),
        "{swept:?}"
    );
    assert!(present(&live) && present(&other_host) && present(&name));
    remove(&live);
    remove(&other_host);
}
