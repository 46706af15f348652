//! Runners racing on one file apply each migration exactly once.

use crate::support::{Scratch, recorded_versions};
use std::process::Command;
use terrace::TransactionMode;

const MIGRATIONS: u64 = 20;
const RUNNERS: usize = 8;

/// Migrations that each create a table and log their own execution, so a second
/// execution would either fail (the table exists) or leave two log rows.
fn racing_folder(scratch: &Scratch) {
    scratch.write(
        "0001_create_runs.sql",
        "-- migrate:up\nCREATE TABLE runs (version INTEGER NOT NULL);\nINSERT INTO runs VALUES (1);",
    );
    for v in 2..=MIGRATIONS {
        scratch.write(
            &format!("{v:04}_create_table_{v}.sql"),
            &format!(
                "-- migrate:up\nCREATE TABLE t{v} (id INTEGER);\nINSERT INTO runs VALUES ({v});"
            ),
        );
    }
}

fn assert_each_applied_once(scratch: &Scratch) {
    let conn = scratch.open();
    let (rows, distinct): (i64, i64) = conn
        .query_row(
            "SELECT count(*), count(DISTINCT version) FROM runs",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!((rows, distinct), (MIGRATIONS as i64, MIGRATIONS as i64));
    assert_eq!(
        recorded_versions(&conn),
        (1..=MIGRATIONS).collect::<Vec<_>>()
    );
}

#[test]
fn threads_racing_in_either_mode_apply_each_migration_once() {
    for mode in [TransactionMode::PerRun, TransactionMode::PerMigration] {
        let scratch = Scratch::new();
        racing_folder(&scratch);
        let migrations = scratch.migrations().with_transaction_mode(mode);
        let applied: Vec<usize> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..RUNNERS)
                .map(|_| {
                    s.spawn(|| {
                        let mut conn = scratch.open();
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
            "{mode:?}: {applied:?}"
        );
        assert_each_applied_once(&scratch);
    }
}

/// Run by the processes the tests below start; does nothing in a normal test run.
#[test]
#[ignore = "a child process of other tests"]
fn child_runner() {
    let Some(db) = std::env::var_os("TERRACE_CHILD_DB") else {
        return;
    };
    let dir = std::env::var_os("TERRACE_CHILD_DIR").expect("TERRACE_CHILD_DIR");
    let mut migrations = terrace::Migrations::from_dir(dir).unwrap();
    if std::env::var("TERRACE_CHILD_MODE").as_deref() == Ok("per-migration") {
        migrations = migrations.with_transaction_mode(TransactionMode::PerMigration);
    }
    let mut conn = rusqlite::Connection::open(db).unwrap();
    let report = migrations.run(&mut conn).unwrap();
    println!("\nTERRACE_APPLIED={}", report.count());
}

/// Starts this test binary as a migration runner on `scratch`.
pub fn spawn_runner(scratch: &Scratch, mode: &str) -> std::process::Child {
    Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "concurrency::child_runner",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("TERRACE_CHILD_DB", scratch.db_path())
        .env("TERRACE_CHILD_DIR", scratch.migrations_dir())
        .env("TERRACE_CHILD_MODE", mode)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap()
}

#[test]
fn processes_racing_apply_each_migration_once() {
    for mode in ["per-run", "per-migration"] {
        let scratch = Scratch::new();
        racing_folder(&scratch);
        let children: Vec<_> = (0..RUNNERS).map(|_| spawn_runner(&scratch, mode)).collect();
        let mut total = 0;
        for child in children {
            let out = child.wait_with_output().unwrap();
            let stdout = String::from_utf8_lossy(&out.stdout);
            assert!(
                out.status.success(),
                "{mode}: a runner failed:\n{stdout}\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
            let applied: usize = stdout
                .lines()
                .find_map(|l| l.strip_prefix("TERRACE_APPLIED="))
                .and_then(|n| n.trim().parse().ok())
                .unwrap_or_else(|| panic!("no report in:\n{stdout}"));
            total += applied;
        }
        assert_eq!(total, MIGRATIONS as usize, "{mode}");
        assert_each_applied_once(&scratch);
    }
}
