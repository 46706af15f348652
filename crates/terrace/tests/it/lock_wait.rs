//! A run that finds the migration lock held says so through its events, once, as soon
//! as its first try fails: then either the lock comes free (and it says how long it
//! waited) or the lock timeout ends the run.

use crate::backends::{Kind, TestDb, backend_test};
use std::sync::mpsc;
use std::time::Duration;
use terrace::{Error, Event, Target};

/// What a runner saw, as plain data a test can compare.
#[derive(Debug, Clone, PartialEq)]
enum Seen {
    Waiting { table: String, timeout: Duration },
    Acquired,
    Started(u64),
}

fn seen(event: &Event<'_>) -> Option<Seen> {
    match event {
        Event::WaitingForLock { table, timeout } => Some(Seen::Waiting {
            table: (*table).to_owned(),
            timeout: *timeout,
        }),
        Event::LockAcquired { .. } => Some(Seen::Acquired),
        Event::Started { version, .. } => Some(Seen::Started(*version)),
        _ => None,
    }
}

fn two_migrations(db: &TestDb) {
    db.write(
        "0001_create_items.sql",
        "-- migrate:up\nCREATE TABLE items (id INTEGER);",
    );
    db.write(
        "0002_fill_items.sql",
        "-- migrate:up\nINSERT INTO items VALUES (1);",
    );
}

/// Runs the migrations in a thread that holds the lock from its first migration's
/// start until `release` receives something, and returns once the lock is held.
fn holder(db: &TestDb, release: mpsc::Receiver<()>) -> std::thread::JoinHandle<()> {
    let migrations = db.migrations();
    let mut conn = db.connect();
    let (held, holding) = mpsc::channel();
    let thread = std::thread::spawn(move || {
        let mut first = true;
        migrations
            .run_with(&mut conn, Target::Latest, &mut |event| {
                if matches!(event, Event::Started { .. }) && std::mem::take(&mut first) {
                    held.send(()).unwrap();
                    release.recv().unwrap();
                }
            })
            .unwrap();
    });
    holding
        .recv_timeout(Duration::from_secs(30))
        .expect("the holder took the lock");
    thread
}

backend_test!(
    a_run_waiting_for_the_lock_says_so_then_says_when_it_got_it,
    |db| {
        two_migrations(db);
        let (release, released) = mpsc::channel();
        let holder = holder(db, released);

        let migrations = db.migrations().with_lock_timeout(Duration::from_secs(20));
        let mut conn = db.connect();
        let mut events = Vec::new();
        let mut waited = None;
        let report = migrations
            .run_with(&mut conn, Target::Latest, &mut |event| {
                if let Event::LockAcquired { waited: w } = event {
                    waited = Some(*w);
                }
                if let Some(seen) = seen(event) {
                    if matches!(seen, Seen::Waiting { .. }) {
                        // Only now that the wait was announced does the holder finish.
                        release.send(()).unwrap();
                    }
                    events.push(seen);
                }
            })
            .unwrap();
        holder.join().unwrap();
        assert_eq!(report.count(), 0, "the holder applied everything");
        assert_eq!(
            events,
            [
                Seen::Waiting {
                    table: "schema_migrations".to_owned(),
                    timeout: Duration::from_secs(20),
                },
                Seen::Acquired,
            ]
        );
        assert!(
            waited.is_some_and(|w| w < Duration::from_secs(20)),
            "{waited:?}"
        );
    }
);

backend_test!(a_run_waiting_for_the_lock_says_so_then_times_out, |db| {
    two_migrations(db);
    let (release, released) = mpsc::channel();
    let holder = holder(db, released);

    let migrations = db.migrations().with_lock_timeout(Duration::from_secs(1));
    let mut conn = db.connect();
    let mut events = Vec::new();
    let err = migrations
        .run_with(&mut conn, Target::Latest, &mut |event| {
            events.extend(seen(event));
        })
        .unwrap_err();
    release.send(()).unwrap();
    holder.join().unwrap();
    assert!(matches!(err, Error::LockTimeout { .. }), "{err}");
    assert_eq!(
        events,
        [Seen::Waiting {
            table: "schema_migrations".to_owned(),
            timeout: Duration::from_secs(1),
        }]
    );
});

backend_test!(a_free_lock_sends_no_lock_event, |db| {
    two_migrations(db);
    let mut events = Vec::new();
    db.migrations()
        .run_with(&mut db.connect(), Target::Latest, &mut |event| {
            events.extend(seen(event));
        })
        .unwrap();
    assert_eq!(events, [Seen::Started(1), Seen::Started(2)]);
});

#[test]
fn on_sqlite_a_writer_holding_the_write_lock_is_announced_too() {
    // No other run holds the lock file: another connection's write transaction is
    // what the run waits for, in BEGIN IMMEDIATE.
    let db = TestDb::new(Kind::Sqlite);
    two_migrations(&db);
    db.execute("CREATE TABLE app (id INTEGER)");
    let writer = rusqlite::Connection::open(db.scratch.db_path()).unwrap();
    writer
        .execute_batch("BEGIN IMMEDIATE; INSERT INTO app VALUES (1);")
        .unwrap();
    let (release, released) = mpsc::channel::<()>();
    let commit = std::thread::spawn(move || {
        released.recv().unwrap();
        writer.execute_batch("COMMIT").unwrap();
    });

    let mut events = Vec::new();
    let report = db
        .migrations()
        .with_lock_timeout(Duration::from_secs(20))
        .run_with(&mut db.connect(), Target::Latest, &mut |event| {
            if let Some(seen) = seen(event) {
                if matches!(seen, Seen::Waiting { .. }) {
                    release.send(()).unwrap();
                }
                events.push(seen);
            }
        })
        .unwrap();
    commit.join().unwrap();
    assert_eq!(report.count(), 2);
    assert_eq!(
        events,
        [
            Seen::Waiting {
                table: "schema_migrations".to_owned(),
                timeout: Duration::from_secs(20),
            },
            Seen::Acquired,
            Seen::Started(1),
            Seen::Started(2),
        ]
    );
}

/// What `command` sends while another run holds the lock on `db` for the whole lock
/// timeout, and its error. The other run applies a new migration, `version`.
fn seen_while_held(
    db: &TestDb,
    version: u64,
    command: impl FnOnce(
        &terrace::Migrations,
        &mut terrace::Connection,
        &mut dyn FnMut(&Event<'_>),
    ) -> Result<(), Error>,
) -> (Vec<Seen>, Error) {
    db.write(
        &format!("{version:04}_more_{version}.sql"),
        &format!("-- migrate:up\nCREATE TABLE more_{version} (id INTEGER);"),
    );
    let (release, released) = mpsc::channel();
    let holder = holder(db, released);
    let migrations = db
        .migrations()
        .with_lock_timeout(Duration::from_millis(300));
    let mut events = Vec::new();
    let err = command(&migrations, &mut db.connect(), &mut |event| {
        events.extend(seen(event))
    })
    .unwrap_err();
    release.send(()).unwrap();
    holder.join().unwrap();
    (events, err)
}

backend_test!(baseline_repair_and_reset_announce_the_wait_too, |db| {
    two_migrations(db);
    let waiting = [Seen::Waiting {
        table: "schema_migrations".to_owned(),
        timeout: Duration::from_millis(300),
    }];
    let (events, err) = seen_while_held(db, 3, |m, conn, observer| {
        m.baseline_with(conn, 1, observer).map(drop)
    });
    assert!(matches!(err, Error::LockTimeout { .. }), "{err}");
    assert_eq!(events, waiting, "baseline");
    let (events, _) = seen_while_held(db, 4, |m, conn, observer| {
        m.repair_with(conn, observer).map(drop)
    });
    assert_eq!(events, waiting, "repair");
    let (events, _) = seen_while_held(db, 5, |m, conn, observer| {
        m.reset_history_with(conn, observer).map(drop)
    });
    assert_eq!(events, waiting, "reset");
});
