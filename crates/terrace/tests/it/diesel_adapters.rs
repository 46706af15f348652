//! An application's own diesel connection as the database: `SqliteConnection`,
//! `PgConnection` and `MysqlConnection` hand code migrations their own connection,
//! race as Terrace's own connections do, and share one history with them. That they
//! run every command as the other drivers do is proven by the shared scenarios
//! (`scenarios.rs`).

use crate::backends::{Kind, TestDb};
use crate::scenarios::three;
use diesel::RunQueryDsl;
use std::sync::Barrier;
use terrace::Migrations;

/// A diesel connection type the tests run on, with the scratch database it opens.
trait DieselConn: terrace::Database + diesel::Connection + Send + 'static {
    /// The scratch database kind the connection opens.
    const KIND: Kind;
    /// A code migration that reaches this connection type through
    /// `Db::connection` and writes a row with diesel.
    const CODE: terrace::CodeFn;
}

/// A code migration inserting a project with diesel's own API, on connection `$conn`.
macro_rules! diesel_code_migration {
    ($name:ident, $conn:ty, $text:literal) => {
        #[terrace::migration]
        fn $name(db: &mut terrace::Db<'_>) -> terrace::CodeResult {
            // The helpers and the driver's connection see the same transaction.
            db.execute("INSERT INTO projects (id, name) VALUES (1, 'through the helper')")?;
            let conn = db.connection::<$conn>().ok_or(concat!(
                "the code migration was not given a ",
                stringify!($conn)
            ))?;
            let seen: Vec<Count> = diesel::sql_query(concat!(
                "SELECT CAST(count(*) AS ",
                $text,
                ") AS n FROM projects"
            ))
            .load(conn)?;
            diesel::sql_query("INSERT INTO projects (id, name) VALUES (2, 'through diesel')")
                .execute(conn)?;
            if seen.first().map(|c| c.n.as_str()) != Some("1") {
                return Err("diesel did not see the helper's row in the same transaction".into());
            }
            Ok(())
        }
    };
}

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::Text)]
    n: String,
}

diesel_code_migration!(insert_with_sqlite, diesel::SqliteConnection, "TEXT");
diesel_code_migration!(insert_with_postgres, diesel::PgConnection, "TEXT");
diesel_code_migration!(insert_with_mysql, diesel::MysqlConnection, "CHAR");

impl DieselConn for diesel::SqliteConnection {
    const KIND: Kind = Kind::Sqlite;
    const CODE: terrace::CodeFn = insert_with_sqlite;
}

impl DieselConn for diesel::PgConnection {
    const KIND: Kind = Kind::Postgres;
    const CODE: terrace::CodeFn = insert_with_postgres;
}

impl DieselConn for diesel::MysqlConnection {
    const KIND: Kind = Kind::Mysql;
    const CODE: terrace::CodeFn = insert_with_mysql;
}

fn connect<C: DieselConn>(db: &TestDb) -> C {
    C::establish(&db.url).unwrap_or_else(|e| panic!("diesel cannot open {}: {e}", db.url))
}

fn a_code_migration_reaches_the_diesel_connection<C: DieselConn>() {
    let db = TestDb::new(C::KIND);
    let migrations = Migrations::from_vec(vec![
        terrace::Migration::sql(
            1,
            "create_projects",
            "CREATE TABLE projects (id INTEGER PRIMARY KEY, name VARCHAR(100));",
        ),
        terrace::Migration::code(2, "insert_projects", C::CODE),
    ]);
    let mut conn = connect::<C>(&db);
    assert_eq!(migrations.run(&mut conn).unwrap().versions(), [1, 2]);
    assert_eq!(
        db.strings("SELECT name FROM projects ORDER BY id"),
        ["through the helper", "through diesel"]
    );
}

/// Migrations whose first one pauses, each logging its own execution.
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
            &format!("{v:04}_create_table_{v}.sql"),
            &format!(
                "-- migrate:up\nCREATE TABLE t{v} (id INTEGER);\nINSERT INTO runs VALUES ({v});"
            ),
        );
    }
    5
}

fn two_runs_apply_each_migration_once<C: DieselConn>() {
    let db = TestDb::new(C::KIND);
    let total = racing(&db);
    let migrations = db.migrations();
    let barrier = Barrier::new(2);
    let applied: Vec<usize> = std::thread::scope(|s| {
        let runners: Vec<_> = (0..2)
            .map(|_| {
                s.spawn(|| {
                    let mut conn = connect::<C>(&db);
                    barrier.wait();
                    migrations.run(&mut conn).map(|r| r.count())
                })
            })
            .collect();
        runners
            .into_iter()
            .map(|r| r.join().unwrap().unwrap())
            .collect()
    });
    assert_eq!(applied.iter().sum::<usize>() as u64, total, "{applied:?}");
    assert_eq!(db.count("SELECT count(*) FROM runs"), total as i64);
    assert_eq!(
        db.count("SELECT count(DISTINCT version) FROM runs"),
        total as i64
    );
    assert_eq!(db.versions(), (1..=total).collect::<Vec<_>>());
}

fn terraces_own_connection_shares_the_history<C: DieselConn>() {
    let db = TestDb::new(C::KIND);
    three(&db);
    let migrations = db.migrations();
    assert_eq!(migrations.run(&mut connect::<C>(&db)).unwrap().count(), 3);
    let mut own = db.connect();
    migrations.validate(&mut own).unwrap();
    assert_eq!(migrations.run(&mut own).unwrap().count(), 0);
    let status = migrations.status(&mut own).unwrap();
    assert_eq!((status.applied_count(), status.pending_count()), (3, 0));

    // And the other way: rows Terrace's connection writes, diesel's reads.
    db.write(
        "0004_create_notes.sql",
        "-- migrate:up\nCREATE TABLE notes (id INTEGER);",
    );
    let migrations = db.migrations();
    assert_eq!(migrations.run(&mut own).unwrap().versions(), [4]);
    let status = migrations.status(&mut connect::<C>(&db)).unwrap();
    assert_eq!((status.applied_count(), status.pending_count()), (4, 0));
}

/// Defines `name::sqlite`, `name::postgres` and `name::mysql`, each running the generic
/// test on its diesel connection.
macro_rules! diesel_test {
    ($name:ident) => {
        mod $name {
            #[test]
            fn sqlite() {
                super::$name::<diesel::SqliteConnection>();
            }

            #[test]
            #[cfg_attr(
                not(terrace_test_postgres),
                ignore = "TERRACE_TEST_POSTGRES_URL was not set when the tests were built"
            )]
            fn postgres() {
                super::$name::<diesel::PgConnection>();
            }

            #[test]
            #[cfg_attr(
                not(terrace_test_mysql),
                ignore = "TERRACE_TEST_MYSQL_URL was not set when the tests were built"
            )]
            fn mysql() {
                super::$name::<diesel::MysqlConnection>();
            }
        }
    };
}

diesel_test!(a_code_migration_reaches_the_diesel_connection);
diesel_test!(two_runs_apply_each_migration_once);
diesel_test!(terraces_own_connection_shares_the_history);
