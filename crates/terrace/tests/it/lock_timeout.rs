//! The lock timeout bounds a SQLite command's whole wait: for the write lock, and for
//! the readers a commit waits for in rollback-journal mode.

use crate::support::Scratch;
use rusqlite::Connection;
use std::time::{Duration, Instant};
use terrace::Migrations;

const TIMEOUT: Duration = Duration::from_secs(1);

fn folder(scratch: &Scratch) -> Migrations {
    scratch.write(
        "0001_create_items.sql",
        "-- migrate:up\nCREATE TABLE items (id INTEGER PRIMARY KEY);",
    );
    scratch.write(
        "0002_fill_items.sql",
        "-- migrate:up\nINSERT INTO items VALUES (1), (2), (3);",
    );
    scratch.migrations().with_lock_timeout(TIMEOUT)
}

fn busy_timeout(conn: &Connection) -> i64 {
    conn.pragma_query_value(None, "busy_timeout", |r| r.get(0))
        .unwrap()
}

/// A connection holding a read transaction on the file, as a long report would.
fn reader(scratch: &Scratch) -> Connection {
    let reader = scratch.open();
    reader
        .execute_batch("BEGIN; SELECT count(*) FROM sqlite_master;")
        .unwrap();
    let mode: String = reader
        .pragma_query_value(None, "journal_mode", |r| r.get(0))
        .unwrap();
    assert_eq!(
        mode, "delete",
        "rollback-journal mode, where commits wait for readers"
    );
    reader
}

#[test]
fn a_reader_holding_the_file_delays_the_commit_no_longer_than_the_lock_timeout() {
    let scratch = Scratch::new();
    let migrations = folder(&scratch);
    let mut conn = scratch.open();
    // The connection's own busy timeout is longer than the lock timeout.
    conn.busy_timeout(Duration::from_secs(8)).unwrap();
    conn.execute_batch("CREATE TABLE app (id INTEGER)").unwrap();
    let reader = reader(&scratch);

    let began = Instant::now();
    let err = migrations.run(&mut conn).unwrap_err();
    let waited = began.elapsed();
    let text = format!("{err}: {}", std::error::Error::source(&err).unwrap());
    assert!(
        waited >= TIMEOUT && waited < TIMEOUT * 3,
        "waited {waited:?} with a lock timeout of {TIMEOUT:?}: {text}"
    );
    assert!(
        text.contains("reading") && text.contains("lock timeout of 1s"),
        "{text}"
    );
    assert!(
        !crate::support::table_exists(&conn, "schema_migrations")
            || crate::support::recorded_versions(&conn).is_empty()
    );
    assert_eq!(
        busy_timeout(&conn),
        8000,
        "the connection's busy timeout is back"
    );

    drop(reader);
    assert_eq!(migrations.run(&mut conn).unwrap().count(), 2);
}

#[test]
fn a_writer_holding_the_lock_makes_the_run_give_up_after_the_lock_timeout() {
    let scratch = Scratch::new();
    let migrations = folder(&scratch);
    let mut conn = scratch.open();
    conn.busy_timeout(Duration::from_secs(8)).unwrap();
    conn.execute_batch("CREATE TABLE app (id INTEGER)").unwrap();
    let writer = scratch.open();
    writer
        .execute_batch("BEGIN IMMEDIATE; INSERT INTO app VALUES (1);")
        .unwrap();

    let began = Instant::now();
    let err = migrations.run(&mut conn).unwrap_err();
    let waited = began.elapsed();
    let text = err.to_string();
    assert!(
        waited >= TIMEOUT && waited < TIMEOUT * 3,
        "waited {waited:?} with a lock timeout of {TIMEOUT:?}: {text}"
    );
    assert!(
        matches!(err, terrace::Error::LockTimeout { .. })
            && text.contains("another connection writing to the database held its write lock"),
        "{text}"
    );
    assert_eq!(busy_timeout(&conn), 8000);
    let foreign_keys: i64 = conn
        .pragma_query_value(None, "foreign_keys", |r| r.get(0))
        .unwrap();
    assert_eq!(foreign_keys, 1, "enforcement is back on after the timeout");

    writer.execute_batch("COMMIT").unwrap();
    assert_eq!(migrations.run(&mut conn).unwrap().count(), 2);
}

#[test]
fn the_wait_for_the_write_lock_and_the_wait_for_readers_share_one_timeout() {
    // The write lock is busy for most of the timeout, then a reader holds the commit:
    // the two waits together stay within the lock timeout.
    let timeout = Duration::from_secs(2);
    let scratch = Scratch::new();
    let migrations = folder(&scratch).with_lock_timeout(timeout);
    let mut conn = scratch.open();
    conn.busy_timeout(Duration::ZERO).unwrap();
    conn.execute_batch("CREATE TABLE app (id INTEGER)").unwrap();
    let _reader = reader(&scratch);
    let writer = scratch.open();
    writer.execute_batch("BEGIN IMMEDIATE").unwrap();
    let release = std::thread::spawn(move || {
        std::thread::sleep(timeout * 7 / 10);
        writer.execute_batch("ROLLBACK").unwrap();
    });

    let began = Instant::now();
    let err = migrations.run(&mut conn).unwrap_err();
    let waited = began.elapsed();
    release.join().unwrap();
    let text = format!("{err}: {}", std::error::Error::source(&err).unwrap());
    assert!(text.contains("reading"), "{text}");
    assert!(
        waited >= timeout && waited < timeout + timeout / 2,
        "waited {waited:?} in all with a lock timeout of {timeout:?}: {text}"
    );
    assert_eq!(busy_timeout(&conn), 0);
}

#[test]
fn in_wal_mode_a_reader_does_not_hold_up_the_commit() {
    let scratch = Scratch::new();
    let migrations = folder(&scratch);
    let mut conn = scratch.open();
    let mode: String = conn
        .pragma_update_and_check(None, "journal_mode", "wal", |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    conn.execute_batch("CREATE TABLE app (id INTEGER)").unwrap();
    let reader = scratch.open();
    reader
        .execute_batch("BEGIN; SELECT count(*) FROM app;")
        .unwrap();
    let began = Instant::now();
    assert_eq!(migrations.run(&mut conn).unwrap().count(), 2);
    assert!(began.elapsed() < TIMEOUT, "{:?}", began.elapsed());
    drop(reader);
}

#[test]
fn a_lock_timeout_too_long_for_the_clock_is_taken_as_the_longest_one() {
    let scratch = Scratch::new();
    let migrations = folder(&scratch).with_lock_timeout(Duration::MAX);
    assert_eq!(migrations.run(&mut scratch.open()).unwrap().count(), 2);
    let mut conn = terrace::Connection::open(
        &terrace::DatabaseUrl::parse(&scratch.db_path().to_string_lossy()).unwrap(),
        &terrace::ConnectOptions {
            wait: Duration::MAX,
            ..terrace::ConnectOptions::default()
        },
    )
    .unwrap();
    assert!(migrations.status(&mut conn).unwrap().is_up_to_date());
}
