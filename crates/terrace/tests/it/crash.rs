//! A process killed at any instant leaves each migration either applied and recorded,
//! or neither.

use crate::concurrency::spawn_runner;
use crate::support::{Scratch, recorded_versions, schema, table_exists};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const MIGRATIONS: u64 = 400;

fn many_migrations(scratch: &Scratch) {
    for v in 1..=MIGRATIONS {
        scratch.write(
            &format!("{v:04}_create_table_{v}.sql"),
            &format!(
                "-- migrate:up\nCREATE TABLE t{v} (id INTEGER, pad TEXT);\nINSERT INTO t{v} VALUES ({v}, hex(randomblob(2000)));"
            ),
        );
    }
}

/// Every recorded version has its table, and every table its recorded version.
fn assert_consistent(scratch: &Scratch) -> usize {
    let conn = scratch.open();
    let recorded = if table_exists(&conn, "schema_migrations") {
        recorded_versions(&conn)
    } else {
        vec![]
    };
    for v in 1..=MIGRATIONS {
        assert_eq!(
            recorded.contains(&v),
            table_exists(&conn, &format!("t{v}")),
            "migration {v}: history and schema disagree"
        );
    }
    recorded.len()
}

fn pseudo_random_millis(seed: u64) -> u64 {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(7) as u64;
    (nanos ^ seed.wrapping_mul(0x9e37_79b9_7f4a_7c15)) % 60 + 2
}

#[test]
fn killed_runners_leave_each_migration_all_or_nothing() {
    for mode in ["per-migration", "per-run"] {
        let mut scratch = Scratch::new();
        many_migrations(&scratch);
        let empty_schema = schema(&scratch.open());
        let mut kills = 0;
        for round in 0..16 {
            let mut child = spawn_runner(&scratch, mode);
            std::thread::sleep(Duration::from_millis(pseudo_random_millis(round)));
            if child.try_wait().unwrap().is_none() {
                child.kill().unwrap(); // SIGKILL
                kills += 1;
            }
            child.wait().unwrap();
            let applied = assert_consistent(&scratch);
            if mode == "per-run" {
                assert!(
                    applied == 0 || applied == MIGRATIONS as usize,
                    "per-run applies all or nothing: {applied}"
                );
                if applied == 0 {
                    assert_eq!(
                        schema(&scratch.open()),
                        empty_schema,
                        "a killed per-run leaves the file as before"
                    );
                }
            }
            if applied == MIGRATIONS as usize && round < 15 {
                // Finished before the kill: start again on a fresh file.
                scratch = Scratch::new();
                many_migrations(&scratch);
            }
        }
        eprintln!("crash test, {mode}: {kills} of 16 runners killed mid-run");
        assert!(
            kills >= 3,
            "{mode}: only {kills} runners were killed mid-run; the test proves too little"
        );
        let out = spawn_runner(&scratch, mode).wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(assert_consistent(&scratch), MIGRATIONS as usize);
    }
}
