//! `terrace::fleet`: SQLite files migrated as one job through the library: outcomes,
//! events, the done set of a resumed job, and targets pulled only as workers need them.

use std::sync::atomic::{AtomicUsize, Ordering};
use terrace::fleet::{self, Command, Entry, FleetEvent, Options, Outcome};
use terrace::{Migration, Migrations};

fn migrations() -> Migrations {
    Migrations::from_vec(vec![
        Migration::sql(1, "create_t", "CREATE TABLE t (id INTEGER);"),
        Migration::sql(2, "add_u", "ALTER TABLE t ADD COLUMN u TEXT;"),
    ])
}

/// `count` existing SQLite files, as targets.
fn tenants(dir: &std::path::Path, count: usize) -> Vec<Entry> {
    (0..count)
        .map(|n| {
            let path = dir.join(format!("t{n}.db"));
            rusqlite::Connection::open(&path).unwrap();
            Entry::new(format!("sqlite:{}", path.display()))
        })
        .collect()
}

#[test]
fn every_target_gets_an_outcome_and_one_failure_stops_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut targets = tenants(dir.path(), 8);
    targets.insert(3, Entry::new("redis://u:secret@cache/0"));
    let done = targets[0].text.clone();
    let options = Options {
        jobs: 3,
        done: [done.clone()].into(),
        ..Options::default()
    };
    let (mut started, mut finished) = (0, Vec::new());
    let summary = fleet::run(
        &migrations(),
        Command::Migrate,
        targets.into_iter(),
        &options,
        &mut |event| match event {
            FleetEvent::Started { .. } => started += 1,
            FleetEvent::Finished(report) => finished.push(report.clone()),
            _ => {}
        },
    );
    assert_eq!(
        (
            summary.applied,
            summary.failed,
            summary.skipped,
            summary.migrations_applied
        ),
        (7, 1, 1, 14)
    );
    assert!(!summary.stopped);
    assert_eq!(started, 8, "a skipped target is not started");
    assert_eq!(finished.len(), 9);
    let failed = finished.iter().find(|r| r.outcome.is_failed()).unwrap();
    assert_eq!(failed.target, "redis://u:***@cache/0");
    let Outcome::Failed { error } = &failed.outcome else {
        unreachable!()
    };
    assert!(error.contains("unknown scheme"), "{error}");
    assert!(!error.contains("secret"));
    let skipped = finished.iter().find(|r| r.target == done).unwrap();
    assert_eq!(skipped.outcome, Outcome::Skipped);

    // Read-only commands see what the job left: up to date, except the skipped file.
    let status = fleet::run(
        &migrations(),
        Command::Status,
        tenants(dir.path(), 8).into_iter(),
        &Options::default(),
        &mut |_| {},
    );
    assert_eq!((status.up_to_date, status.pending), (7, 1));
}

#[test]
fn fail_fast_and_a_failed_canary_leave_the_rest_of_the_targets_unread() {
    let dir = tempfile::tempdir().unwrap();
    let mut targets = tenants(dir.path(), 10);
    targets.insert(2, Entry::new("not-a-scheme://x"));
    for (fail_fast, canary) in [(true, 0), (false, 4)] {
        let pulled = AtomicUsize::new(0);
        let counted = targets.clone().into_iter().inspect(|_| {
            pulled.fetch_add(1, Ordering::SeqCst);
        });
        let options = Options {
            jobs: 1,
            fail_fast,
            canary,
            ..Options::default()
        };
        let summary = fleet::run(
            &migrations(),
            Command::Migrate,
            counted,
            &options,
            &mut |_| {},
        );
        assert!(summary.stopped);
        assert_eq!(summary.failed, 1);
        // One worker: the failure is the third target; the fourth is pulled at most
        // (to learn that targets were left), never the rest.
        assert!(pulled.load(Ordering::SeqCst) <= 4, "{fail_fast} {canary}");
    }
}
