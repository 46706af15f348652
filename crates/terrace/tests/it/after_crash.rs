//! What an operator sees first after a crash: the read-only commands on a SQLite file
//! that a killed process left with a hot journal.

use crate::support::Scratch;
use rusqlite::OpenFlags;
use std::path::{Path, PathBuf};
use std::time::Duration;
use terrace::connection::Access;
use terrace::{ConnectOptions, Connection, DatabaseUrl, Target};

fn items(conn: &rusqlite::Connection) -> i64 {
    conn.query_row("SELECT count(*) FROM items", [], |r| r.get(0))
        .unwrap()
}

/// A copy of the scratch database as a process killed in the middle of a write
/// transaction leaves it: the file holding some of the transaction's pages, and
/// beside it the journal with the pages as they were before it.
fn crashed_copy(scratch: &Scratch, into: &Path) -> PathBuf {
    let writer = scratch.open();
    // A tiny page cache, so the transaction's pages spill into the file before it
    // commits (after the journal is synced, which makes it a valid hot journal).
    writer
        .execute_batch(
            "PRAGMA cache_size = 10;
             BEGIN;
             WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 5000)
             INSERT INTO items (body) SELECT hex(randomblob(100)) FROM n;",
        )
        .unwrap();
    let journal = PathBuf::from(format!("{}-journal", scratch.db_path().display()));
    assert!(journal.exists(), "the write transaction has a journal");
    let copy = into.join("app.db");
    std::fs::copy(scratch.db_path(), &copy).unwrap();
    std::fs::copy(&journal, into.join("app.db-journal")).unwrap();
    writer.execute_batch("ROLLBACK").unwrap();
    assert_ne!(
        std::fs::read(&copy).unwrap(),
        scratch.bytes(),
        "the copy holds pages of the unfinished transaction"
    );
    copy
}

#[test]
fn read_only_commands_recover_a_journal_left_by_a_crash() {
    let scratch = Scratch::new();
    scratch.write(
        "0001_create_items.sql",
        "-- migrate:up\nCREATE TABLE items (id INTEGER PRIMARY KEY, body TEXT);
         INSERT INTO items (body) VALUES ('one'), ('two');",
    );
    scratch.write(
        "0002_index_items.sql",
        "-- migrate:up\nCREATE INDEX items_body ON items (body);\n-- migrate:down\nDROP INDEX items_body;",
    );
    let migrations = scratch.migrations();
    migrations.run(&mut scratch.open()).unwrap();

    let crashed = tempfile::tempdir().unwrap();
    let copy = crashed_copy(&scratch, crashed.path());
    let journal = crashed.path().join("app.db-journal");

    // What a read-only connection meets: SQLite must roll the journal back first.
    let raw =
        rusqlite::Connection::open_with_flags(&copy, OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
    let err = raw
        .query_row("SELECT count(*) FROM items", [], |r| r.get::<_, i64>(0))
        .unwrap_err();
    assert!(err.to_string().contains("readonly"), "{err}");
    drop(raw);
    assert!(journal.exists(), "the journal is hot");

    let url = DatabaseUrl::parse(&format!("sqlite:{}", copy.display())).unwrap();
    let read_only = ConnectOptions {
        wait: Duration::ZERO,
        access: Access::ReadOnly,
    };
    let mut conn = Connection::open(&url, &read_only).unwrap();
    let status = migrations.status(&mut conn).unwrap();
    assert_eq!(status.applied.len(), 2);
    assert_eq!(status.pending_count(), 0);
    assert!(status.problems.is_empty(), "{:?}", status.problems);
    migrations.validate(&mut conn).unwrap();
    assert!(
        migrations
            .plan(&mut conn, Target::Latest)
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        migrations
            .plan_rollback(&mut conn, Target::Steps(1))
            .unwrap()
            .len(),
        1
    );
    drop(conn);

    // SQLite's own rollback restored the file as it was before the transaction.
    assert!(!journal.exists(), "the journal was rolled back");
    let check =
        rusqlite::Connection::open_with_flags(&copy, OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
    assert_eq!(items(&check), 2);
    let integrity: String = check
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(integrity, "ok");
}
