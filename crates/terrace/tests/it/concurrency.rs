//! Runners racing on one database apply each migration exactly once.

use crate::backends::{Kind, TestDb, backend_test};
use std::process::Command;
use std::sync::Barrier;
use terrace::{Migrations, TransactionMode};

const MIGRATIONS: u64 = 12;
const RUNNERS: usize = 8;

/// Migrations that each create a table and log their own execution, so a second
/// execution would either fail (the table exists) or leave two log rows.
///
/// The first one also pauses for half a second, so that every runner started with it
/// has read the history before the first one can commit: without a lock, they would
/// all find every migration pending (the race is certain, not left to timing).
fn racing_folder(db: &TestDb) {
    racing_folder_with(db, |_| false);
}

/// The racing folder, with the versions `alone` picks run outside a transaction.
fn racing_folder_with(db: &TestDb, alone: impl Fn(u64) -> bool) {
    let pause = match db.kind {
        Kind::Sqlite => {
            "CREATE TABLE pause AS WITH RECURSIVE n(i) AS \
             (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 500000) SELECT count(*) AS c FROM n;"
        }
        Kind::Postgres => "SELECT pg_sleep(0.5);",
        Kind::Mysql => "DO SLEEP(0.5);",
    };
    db.write(
        "0001_create_runs.sql",
        &format!(
            "-- migrate:up\nCREATE TABLE runs (version INTEGER NOT NULL);\n{pause}\nINSERT INTO runs VALUES (1);"
        ),
    );
    let scratch = &db.scratch;
    for v in 2..=MIGRATIONS {
        let marker = if alone(v) {
            "-- migrate:up transaction:false"
        } else {
            "-- migrate:up"
        };
        scratch.write(
            &format!("{v:04}_create_table_{v}.sql"),
            &format!("{marker}\nCREATE TABLE t{v} (id INTEGER);\nINSERT INTO runs VALUES ({v});"),
        );
    }
}

/// Every third migration outside a transaction.
fn some_alone(v: u64) -> bool {
    v.is_multiple_of(3)
}

fn assert_each_applied_once(db: &TestDb) {
    assert_eq!(db.count("SELECT count(*) FROM runs"), MIGRATIONS as i64);
    assert_eq!(
        db.count("SELECT count(DISTINCT version) FROM runs"),
        MIGRATIONS as i64
    );
    assert_eq!(db.versions(), (1..=MIGRATIONS).collect::<Vec<_>>());
}

fn race_threads(db: &TestDb, mode: Option<TransactionMode>) {
    racing_folder(db);
    race_threads_on_folder(db, mode);
}

fn race_threads_on_folder(db: &TestDb, mode: Option<TransactionMode>) {
    let mut migrations = db.migrations();
    if let Some(mode) = mode {
        migrations = migrations.with_transaction_mode(mode);
    }
    race(db, |_| migrations.clone(), &format!("{mode:?}"));
}

/// Starts `RUNNERS` threads together, runner `i` running `runner(i)`, and checks that
/// every migration was applied once, by one of them.
fn race(db: &TestDb, runner: impl Fn(usize) -> Migrations + Sync, what: &str) {
    let start = Barrier::new(RUNNERS);
    let applied: Vec<usize> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..RUNNERS)
            .map(|i| {
                let (start, runner) = (&start, &runner);
                s.spawn(move || {
                    let migrations = runner(i);
                    let mut conn = db.connect();
                    start.wait();
                    migrations.run(&mut conn).map(|r| r.count())
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .expect("runner thread")
                    .expect("every runner succeeds")
            })
            .collect()
    });
    assert_eq!(
        applied.iter().sum::<usize>(),
        MIGRATIONS as usize,
        "{what}: {applied:?}"
    );
    assert_each_applied_once(db);
}

backend_test!(eight_threads_racing_apply_each_migration_once, |db| {
    race_threads(db, None);
});

backend_test!(eight_threads_racing_in_one_transaction_per_run, |db| {
    race_threads(db, Some(TransactionMode::PerRun));
});

backend_test!(
    eight_threads_racing_with_migrations_outside_transactions,
    |db| {
        racing_folder_with(db, some_alone);
        race_threads_on_folder(db, None);
    }
);

backend_test!(
    eight_threads_racing_per_migration_with_migrations_outside_transactions,
    |db| {
        racing_folder_with(db, some_alone);
        race_threads_on_folder(db, Some(TransactionMode::PerMigration));
    }
);

backend_test!(eight_processes_racing_apply_each_migration_once, |db| {
    racing_folder(db);
    race_processes(db);
});

backend_test!(
    eight_processes_racing_with_migrations_outside_transactions,
    |db| {
        racing_folder_with(db, some_alone);
        race_processes(db);
    }
);

fn race_processes(db: &TestDb) {
    let children: Vec<_> = (0..RUNNERS).map(|_| spawn_runner(db, None)).collect();
    let mut total = 0;
    for child in children {
        let out = child.wait_with_output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "a runner failed:\n{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let applied: usize = stdout
            .lines()
            .find_map(|l| l.strip_prefix("TERRACE_APPLIED="))
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or_else(|| panic!("no report in:\n{stdout}"));
        total += applied;
    }
    assert_eq!(total, MIGRATIONS as usize);
    assert_each_applied_once(db);
}

/// Run by the processes the tests start; does nothing in a normal test run.
#[test]
#[ignore = "a child process of other tests"]
fn child_runner() {
    let Some(url) = std::env::var_os("TERRACE_CHILD_URL") else {
        return;
    };
    let dir = std::env::var_os("TERRACE_CHILD_DIR").expect("TERRACE_CHILD_DIR");
    let mut migrations = terrace::Migrations::from_dir(dir).unwrap();
    match std::env::var("TERRACE_CHILD_MODE").as_deref() {
        Ok("per-migration") => {
            migrations = migrations.with_transaction_mode(TransactionMode::PerMigration)
        }
        Ok("per-run") => migrations = migrations.with_transaction_mode(TransactionMode::PerRun),
        _ => {}
    }
    let url = terrace::DatabaseUrl::parse(&url.to_string_lossy()).unwrap();
    let mut conn = terrace::Connection::open(&url, &terrace::ConnectOptions::default()).unwrap();
    let report = migrations.run(&mut conn).unwrap();
    println!("\nTERRACE_APPLIED={}", report.count());
}

/// Starts this test binary as a migration runner on `db`.
pub fn spawn_runner(db: &TestDb, mode: Option<&str>) -> std::process::Child {
    Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "concurrency::child_runner",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("TERRACE_CHILD_URL", &db.url)
        .env("TERRACE_CHILD_DIR", db.scratch.migrations_dir())
        .env("TERRACE_CHILD_MODE", mode.unwrap_or("default"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap()
}

#[test]
#[cfg_attr(
    not(terrace_test_mysql),
    ignore = "TERRACE_TEST_MYSQL_URL was not set when the tests were built"
)]
fn mysql_lock_names_are_per_database() {
    let db = TestDb::new(Kind::Mysql);
    racing_folder(&db);
    // Another database on the same server, mid-migration under the same table name.
    let mut other = db.connect();
    let terrace::Connection::Mysql(conn) = &mut other else {
        unreachable!("a MySQL connection")
    };
    let held: Option<i64> = mysql::prelude::Queryable::query_first(
        conn,
        "SELECT GET_LOCK('terrace:some_other_database.schema_migrations', 5)",
    )
    .unwrap();
    assert_eq!(held, Some(1));
    let migrations = db
        .migrations()
        .with_lock_timeout(std::time::Duration::from_secs(1));
    assert_eq!(
        migrations.run(&mut db.connect()).unwrap().count(),
        MIGRATIONS as usize
    );
}

#[test]
#[cfg_attr(
    not(terrace_test_postgres),
    ignore = "TERRACE_TEST_POSTGRES_URL was not set when the tests were built"
)]
fn postgres_runners_naming_the_table_either_way_share_one_lock() {
    use crate::backends::Kind;
    let db = TestDb::new(Kind::Postgres);
    racing_folder(&db);
    let spellings = ["schema_migrations", "public.schema_migrations"];
    race(
        &db,
        |i| {
            db.migrations()
                .with_table(spellings[i % 2])
                .unwrap()
                .with_transaction_mode(TransactionMode::PerMigration)
        },
        "both spellings",
    );
}
