//! What is particular to the async adapters — sqlx on SQLite, PostgreSQL and MySQL,
//! and tokio-postgres: observers, the drivers' error text, concurrent runs, pools,
//! abandoned commands, and the lock and history they share with the blocking drivers.
//! Each test runs on every async driver, `<test>::<driver>`. That they run every
//! command as the blocking drivers do is proven by the shared scenarios
//! (`scenarios.rs`).

use crate::backends::{Kind, TestDb};
use sqlx::{Connection as _, MySql, Pool, Postgres, Sqlite};
use terrace::{Error, Migration, Migrations, Target};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Driver {
    SqlxSqlite,
    SqlxPostgres,
    SqlxMysql,
    TokioPostgres,
}

impl Driver {
    fn kind(self) -> Kind {
        match self {
            Driver::SqlxSqlite => Kind::Sqlite,
            Driver::SqlxPostgres | Driver::TokioPostgres => Kind::Postgres,
            Driver::SqlxMysql => Kind::Mysql,
        }
    }
}

/// A connection of one of the async drivers.
enum Conn {
    Sqlite(sqlx::SqliteConnection),
    Pg(sqlx::PgConnection),
    My(sqlx::MySqlConnection),
    Tokio(tokio_postgres::Client),
}

/// Runs `$body` with `$c` bound to the driver's connection (or pool).
macro_rules! on {
    ($conn:expr, |$c:ident| $body:expr) => {
        match $conn {
            Conn::Sqlite($c) => $body,
            Conn::Pg($c) => $body,
            Conn::My($c) => $body,
            Conn::Tokio($c) => $body,
        }
    };
}

/// A pool of one of sqlx's databases.
#[derive(Clone)]
enum AnyPool {
    Sqlite(Pool<Sqlite>),
    Pg(Pool<Postgres>),
    My(Pool<MySql>),
}

macro_rules! on_pool {
    ($pool:expr, |$p:ident| $body:expr) => {
        match $pool {
            AnyPool::Sqlite($p) => $body,
            AnyPool::Pg($p) => $body,
            AnyPool::My($p) => $body,
        }
    };
}

fn sqlite_options(db: &TestDb) -> sqlx::sqlite::SqliteConnectOptions {
    sqlx::sqlite::SqliteConnectOptions::new()
        .filename(&db.url)
        .create_if_missing(true)
}

async fn connect(driver: Driver, db: &TestDb) -> Conn {
    match driver {
        Driver::SqlxSqlite => Conn::Sqlite(
            sqlx::SqliteConnection::connect_with(&sqlite_options(db))
                .await
                .unwrap(),
        ),
        Driver::SqlxPostgres => Conn::Pg(sqlx::PgConnection::connect(&db.url).await.unwrap()),
        Driver::SqlxMysql => Conn::My(sqlx::MySqlConnection::connect(&db.url).await.unwrap()),
        Driver::TokioPostgres => {
            let (client, connection) = tokio_postgres::connect(&db.url, tokio_postgres::NoTls)
                .await
                .unwrap();
            tokio::spawn(async move {
                if let Err(e) = connection.await {
                    panic!("the tokio-postgres connection failed: {e}");
                }
            });
            Conn::Tokio(client)
        }
    }
}

async fn pool(driver: Driver, db: &TestDb, size: u32) -> AnyPool {
    match driver {
        Driver::SqlxSqlite => AnyPool::Sqlite(
            sqlx::pool::PoolOptions::new()
                .max_connections(size)
                .connect_with(sqlite_options(db))
                .await
                .unwrap(),
        ),
        Driver::SqlxPostgres => AnyPool::Pg(
            sqlx::pool::PoolOptions::new()
                .max_connections(size)
                .connect(&db.url)
                .await
                .unwrap(),
        ),
        Driver::SqlxMysql => AnyPool::My(
            sqlx::pool::PoolOptions::new()
                .max_connections(size)
                .connect(&db.url)
                .await
                .unwrap(),
        ),
        Driver::TokioPostgres => unreachable!("tokio-postgres has no pool of its own"),
    }
}

/// Two reversible migrations.
fn two(db: &TestDb) {
    db.write(
        "0001_create_projects.sql",
        "-- migrate:up\nCREATE TABLE projects (id INTEGER PRIMARY KEY, name VARCHAR(100));\n\
         -- migrate:down\nDROP TABLE projects;",
    );
    db.write(
        "0002_create_tasks.sql",
        "-- migrate:up\nCREATE TABLE tasks (id INTEGER PRIMARY KEY);\n\
         INSERT INTO tasks VALUES (1);\n-- migrate:down\nDROP TABLE tasks;",
    );
}

/// The async pairs agree with the blocking ones: `run_to_async` stops at its target,
/// `run_with_async` and `rollback_with_async` report each step to the observer.
async fn targets_and_observers(driver: Driver, db: &TestDb) {
    two(db);
    let list = db.migrations();
    let mut conn = connect(driver, db).await;

    let report = on!(&mut conn, |c| list.run_to_async(c, Target::Steps(1)).await).unwrap();
    assert_eq!(report.versions(), [1]);
    assert_eq!(off(|| db.versions()), [1]);

    let mut started = Vec::new();
    let mut observer = |event: &terrace::Event<'_>| {
        if let terrace::Event::Started { version, .. } = event {
            started.push(*version);
        }
    };
    let report = on!(&mut conn, |c| list
        .run_with_async(c, Target::Latest, &mut observer)
        .await)
    .unwrap();
    assert_eq!(report.versions(), [2]);
    let report = on!(&mut conn, |c| list
        .rollback_with_async(c, Target::Version(0), &mut observer)
        .await)
    .unwrap();
    assert_eq!(report.versions(), [2, 1]);
    assert_eq!(started, [2, 2, 1]);
    assert_eq!(off(|| db.versions()), Vec::<u64>::new());
}

/// A failing migration fails the run with the server's own message and code, as each
/// driver reports it (what it leaves applied, the same on every adapter, is in the
/// shared scenarios).
async fn failing_migration(driver: Driver, db: &TestDb) {
    db.write(
        "0001_broken.sql",
        "-- migrate:up\nINSERT INTO no_such_table VALUES (1);",
    );
    let list = db.migrations();
    let mut conn = connect(driver, db).await;

    let err = on!(&mut conn, |c| list.run_async(c).await).unwrap_err();
    let Error::MigrationFailed {
        version, source, ..
    } = &err
    else {
        panic!("expected MigrationFailed, got {err:?}");
    };
    assert_eq!(*version, 1);
    let text = source.to_string();
    assert!(text.contains("no_such_table"), "{text}");
    let code = match driver {
        // undefined_table
        Driver::SqlxPostgres | Driver::TokioPostgres => "SQLSTATE 42P01",
        // ER_NO_SUCH_TABLE
        Driver::SqlxMysql => "ERROR 1146 (42S02)",
        // SQLITE_ERROR
        Driver::SqlxSqlite => "SQLite result code 1",
    };
    assert!(text.contains(code), "{code} not in {text}");
}

/// Migrations that log their own execution, the first one slow enough that both
/// runs have started before it commits.
fn racing(db: &TestDb) -> u64 {
    let pause = match db.kind {
        Kind::Sqlite => {
            "CREATE TABLE pause AS WITH RECURSIVE n(i) AS \
             (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 300000) SELECT count(*) AS c FROM n;"
        }
        Kind::Postgres => "SELECT pg_sleep(0.3);",
        Kind::Mysql => "DO SLEEP(0.3);",
    };
    db.write(
        "0001_create_runs.sql",
        &format!(
            "-- migrate:up\nCREATE TABLE runs (version INTEGER NOT NULL);\n{pause}\nINSERT INTO runs VALUES (1);"
        ),
    );
    for v in 2..=5 {
        db.write(
            &format!("{v:04}_create_t{v}.sql"),
            &format!(
                "-- migrate:up\nCREATE TABLE t{v} (id INTEGER);\nINSERT INTO runs VALUES ({v});"
            ),
        );
    }
    5
}

fn assert_each_applied_once(db: &TestDb, total: u64, counts: &[usize]) {
    off(|| assert_applied_once(db, total, counts));
}

fn assert_applied_once(db: &TestDb, total: u64, counts: &[usize]) {
    assert_eq!(counts.iter().sum::<usize>(), total as usize, "{counts:?}");
    assert_eq!(db.count("SELECT count(*) FROM runs"), total as i64);
    assert_eq!(
        db.count("SELECT count(DISTINCT version) FROM runs"),
        total as i64
    );
    assert_eq!(off(|| db.versions()), (1..=total).collect::<Vec<_>>());
}

/// Two runs at once on two connections: the lock lets exactly one apply each
/// migration.
async fn concurrent_runs(driver: Driver, db: &TestDb) {
    let total = racing(db);
    let list = db.migrations();
    let (mut a, mut b) = (connect(driver, db).await, connect(driver, db).await);
    let (ra, rb) = tokio::join!(async { on!(&mut a, |c| list.run_async(c).await) }, async {
        on!(&mut b, |c| list.run_async(c).await)
    },);
    assert_each_applied_once(db, total, &[ra.unwrap().count(), rb.unwrap().count()]);
}

/// A pool lends one connection for a whole command; two commands at once on one pool
/// take two connections and still apply each migration once.
async fn pool_runs(driver: Driver, db: &TestDb) {
    let total = racing(db);
    let list = db.migrations();
    let pool = pool(driver, db, 2).await;
    let (mut a, mut b) = (pool.clone(), pool.clone());
    let (ra, rb) = tokio::join!(
        async { on_pool!(&mut a, |p| list.run_async(p).await) },
        async { on_pool!(&mut b, |p| list.run_async(p).await) },
    );
    assert_each_applied_once(db, total, &[ra.unwrap().count(), rb.unwrap().count()]);

    let mut pool = pool;
    let status = on_pool!(&mut pool, |p| list.status_async(p).await).unwrap();
    assert!(status.is_up_to_date());
    assert_eq!(
        on_pool!(&mut pool, |p| list.run_async(p).await)
            .unwrap()
            .count(),
        0
    );
}

/// The blocking `Connection` and the async adapter agree on one database: what one
/// applies, the other finds applied.
async fn agrees_with_the_blocking_connection(driver: Driver, db: &TestDb) {
    two(db);
    let list = db.migrations();
    let mut conn = connect(driver, db).await;

    let report = on!(&mut conn, |c| list.run_async(c).await).unwrap();
    assert_eq!(report.versions(), [1, 2]);
    let mut blocking = off(|| db.connect());
    off(|| {
        assert_eq!(list.run(&mut blocking).unwrap().count(), 0);
        assert!(list.status(&mut blocking).unwrap().is_up_to_date());
    });

    db.write(
        "0003_create_notes.sql",
        "-- migrate:up\nCREATE TABLE notes (id INTEGER);\n-- migrate:down\nDROP TABLE notes;",
    );
    let list = db.migrations();
    off(|| assert_eq!(list.run(&mut blocking).unwrap().versions(), [3]));
    let status = on!(&mut conn, |c| list.status_async(c).await).unwrap();
    assert_eq!((status.applied_count(), status.pending_count()), (3, 0));
    assert_eq!(
        on!(&mut conn, |c| list.run_async(c).await).unwrap().count(),
        0
    );
    off(move || drop(blocking));
}

/// A blocking run of `list` on `db`, paused with the migration lock held as its first
/// migration starts, until [`release`](LockHolder::release).
struct LockHolder {
    release: std::sync::mpsc::Sender<()>,
    thread: std::thread::JoinHandle<terrace::Connection>,
}

impl LockHolder {
    fn start(db: &TestDb, list: Migrations) -> LockHolder {
        use std::sync::mpsc;
        let (release, released) = mpsc::channel::<()>();
        let (held, holding) = mpsc::channel::<()>();
        let mut blocking = off(|| db.connect());
        let thread = std::thread::spawn(move || {
            let mut first = true;
            list.run_with(&mut blocking, Target::Latest, &mut |event| {
                if matches!(event, terrace::Event::Started { .. }) && std::mem::take(&mut first) {
                    held.send(()).unwrap();
                    released.recv().unwrap();
                }
            })
            .unwrap();
            blocking
        });
        holding
            .recv_timeout(std::time::Duration::from_secs(30))
            .expect("the blocking run took the lock");
        LockHolder { release, thread }
    }

    /// Lets the blocking run finish, and closes its connection.
    fn release(self) {
        self.release.send(()).unwrap();
        let blocking = self.thread.join().unwrap();
        off(move || drop(blocking));
    }
}

/// A blocking run and an async one on the same database take the same migration lock
/// (the same lock file on SQLite, advisory key on PostgreSQL, `GET_LOCK` name on
/// MySQL): while the blocking run holds it, the async run waits and gives up after its
/// lock timeout, changing nothing; once it is released, the async run finds every
/// migration applied.
async fn one_lock_for_blocking_and_async_runs(driver: Driver, db: &TestDb) {
    two(db);
    let list = db.migrations();
    let holder = LockHolder::start(db, db.migrations());

    let waiting = list
        .clone()
        .with_lock_timeout(std::time::Duration::from_millis(1500));
    let mut conn = connect(driver, db).await;
    let err = on!(&mut conn, |c| waiting.run_async(c).await).unwrap_err();
    assert!(matches!(err, Error::LockTimeout { .. }), "{err}");

    holder.release();
    let report = on!(&mut conn, |c| list.run_async(c).await).unwrap();
    assert_eq!(report.count(), 0, "the blocking run applied both");
}

/// The quick start-up check on every async driver: a database holding every migration
/// is proven up to date by one read, without waiting for the lock another run holds;
/// an edited migration is not hidden by it (the run waits for the lock to look).
async fn up_to_date_without_the_lock(driver: Driver, db: &TestDb) {
    two(db);
    let list = db.migrations();
    let mut conn = connect(driver, db).await;
    on!(&mut conn, |c| list.run_async(c).await).unwrap();

    // Another run holds the lock, applying a third migration.
    let mut longer = list.list().to_vec();
    longer.push(Migration::sql(
        3,
        "create_notes",
        "CREATE TABLE notes (id INTEGER);",
    ));
    let holder = LockHolder::start(db, Migrations::from_vec(longer));

    let quick = list
        .clone()
        .with_lock_timeout(std::time::Duration::from_millis(300));
    let result = on!(&mut conn, |c| quick.run_async(c).await);
    if driver == Driver::SqlxMysql {
        // MySQL marks a migration started, committed, before it runs: the check sees
        // a row the list lacks, proves nothing, and the full run waits for the lock.
        let err = result.unwrap_err();
        assert!(matches!(err, Error::LockTimeout { .. }), "{err}");
    } else {
        assert_eq!(result.unwrap().count(), 0);
        assert!(on!(&mut conn, |c| quick.status_async(c).await).is_ok());
    }

    // An edited applied migration: the check proves nothing, the run waits.
    db.write(
        "0002_create_tasks.sql",
        "-- migrate:up\nCREATE TABLE tasks (id BIGINT PRIMARY KEY);\n\
         -- migrate:down\nDROP TABLE tasks;",
    );
    let edited = db
        .migrations()
        .with_lock_timeout(std::time::Duration::from_millis(300));
    let err = on!(&mut conn, |c| edited.run_async(c).await).unwrap_err();
    assert!(matches!(err, Error::LockTimeout { .. }), "{err}");
    holder.release();
}

/// Runs blocking test helpers (whose PostgreSQL driver starts a runtime of its own)
/// on a thread of their own, away from the test's runtime.
fn off<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|scope| scope.spawn(f).join().unwrap())
}

/// A runtime for one test. The scratch database is made and dropped outside it.
fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// Defines `$name::{sqlx_sqlite, sqlx_postgres, sqlx_mysql, tokio_postgres}`, each
/// running `$test(driver)` on a tokio runtime; a server's tests are ignored when its
/// URL was not set at build time.
macro_rules! async_test {
    ($name:ident, $test:ident) => {
        async_test!($name, $test, tokio_postgres);
    };
    ($name:ident, $test:ident, $($pg:ident)?) => {
        mod $name {
            use super::*;

            #[test]
            fn sqlx_sqlite() {
                let db = TestDb::new(Driver::SqlxSqlite.kind());
                runtime().block_on($test(Driver::SqlxSqlite, &db));
            }

            #[test]
            #[cfg_attr(
                not(terrace_test_postgres),
                ignore = "TERRACE_TEST_POSTGRES_URL was not set when the tests were built"
            )]
            fn sqlx_postgres() {
                let db = TestDb::new(Driver::SqlxPostgres.kind());
                runtime().block_on($test(Driver::SqlxPostgres, &db));
            }

            #[test]
            #[cfg_attr(
                not(terrace_test_mysql),
                ignore = "TERRACE_TEST_MYSQL_URL was not set when the tests were built"
            )]
            fn sqlx_mysql() {
                let db = TestDb::new(Driver::SqlxMysql.kind());
                runtime().block_on($test(Driver::SqlxMysql, &db));
            }

            $(
            #[test]
            #[cfg_attr(
                not(terrace_test_postgres),
                ignore = "TERRACE_TEST_POSTGRES_URL was not set when the tests were built"
            )]
            fn $pg() {
                let db = TestDb::new(Driver::TokioPostgres.kind());
                runtime().block_on($test(Driver::TokioPostgres, &db));
            }
            )?
        }
    };
}

async_test!(targets_and_observers_async, targets_and_observers);
async_test!(failing_migration_async, failing_migration);
async_test!(
    one_lock_for_blocking_and_async_runs_async,
    one_lock_for_blocking_and_async_runs
);
async_test!(concurrent_runs_async, concurrent_runs);
async_test!(
    up_to_date_without_the_lock_async,
    up_to_date_without_the_lock
);
async_test!(pool_runs_async, pool_runs,);
async_test!(
    agrees_with_the_blocking_connection_async,
    agrees_with_the_blocking_connection
);

/// A command abandoned midway on a pooled connection (its future dropped while a
/// migration ran) does not leave the migration lock held in the pool: the connection
/// is closed, not returned, and a run on another connection goes ahead.
#[test]
#[cfg_attr(
    not(terrace_test_postgres),
    ignore = "TERRACE_TEST_POSTGRES_URL was not set when the tests were built"
)]
fn an_abandoned_command_does_not_return_its_lock_to_the_pool() {
    let db = TestDb::new(Kind::Postgres);
    db.write(
        "0001_slow.sql",
        "-- migrate:up\nCREATE TABLE slow (id INTEGER);\nSELECT pg_sleep(2);",
    );
    let list = db.migrations();
    runtime().block_on(async {
        let AnyPool::Pg(mut pool) = pool(Driver::SqlxPostgres, &db, 1).await else {
            unreachable!()
        };
        let cancelled = tokio::time::timeout(
            std::time::Duration::from_millis(500),
            list.run_async(&mut pool),
        )
        .await;
        assert!(cancelled.is_err(), "the run should still have been running");

        let mut other = sqlx::PgConnection::connect(&db.url).await.unwrap();
        let started = std::time::Instant::now();
        let report = list
            .clone()
            .with_lock_timeout(std::time::Duration::from_secs(5))
            .run_async(&mut other)
            .await
            .unwrap();
        assert_eq!(report.versions(), [1]);
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
        // The pool opens a fresh connection for the next command.
        assert!(list.status_async(&mut pool).await.unwrap().is_up_to_date());
    });
}
