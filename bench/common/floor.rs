//! The floor: raw rusqlite doing the least honest work a migration tool must do.
//!
//! * `floor` (apply): create the history table if missing, read the history, then one
//!   transaction per migration executing its SQL plus one history-row insert.
//! * `floor --run` (apply): the same, but one transaction for the whole run and a
//!   SAVEPOINT/RELEASE per migration.
//! * no-op (either variant): open, one SELECT of the whole history, compare every row
//!   with the checksums known ahead (computed before the clock starts, as an embedded
//!   list can carry them), then the first query.
//!
//! SQLite's defaults are kept: journal_mode=delete, synchronous=FULL.
//!
//! Included with `#[path]` by `bench-floor` (the bench crate's rusqlite) and by the
//! peer crate's `bench-floor` (the peers' rusqlite), next to `harness.rs`; the other
//! rusqlite-based peers use only [`info`].

#![allow(dead_code)]

use crate::harness::{self, Workload};
use rusqlite::{Connection, params};

struct Migration {
    version: i64,
    sql: String,
    checksum: String,
}

fn migrations(n: usize) -> Vec<Migration> {
    (1..=n)
        .map(|i| {
            let sql = harness::up_sql(i);
            Migration {
                version: i as i64,
                checksum: harness::sha256_hex(&sql),
                sql,
            }
        })
        .collect()
}

fn check(e: rusqlite::Error) -> ! {
    harness::fail("sqlite", e)
}

/// Reads the history and compares it with the known list; returns how many are applied.
fn verify(conn: &Connection, list: &[Migration]) -> usize {
    let mut stmt = conn
        .prepare("SELECT version, checksum FROM history ORDER BY version")
        .unwrap_or_else(|e| check(e));
    let mut rows = stmt.query([]).unwrap_or_else(|e| check(e));
    let mut applied = 0;
    while let Some(row) = rows.next().unwrap_or_else(|e| check(e)) {
        let version: i64 = row.get(0).unwrap_or_else(|e| check(e));
        let checksum: String = row.get(1).unwrap_or_else(|e| check(e));
        match list.get(applied) {
            Some(m) if m.version == version && m.checksum == checksum => applied += 1,
            _ => harness::fail("verify", format!("history row {version} does not match")),
        }
    }
    applied
}

fn apply(conn: &mut Connection, list: &[Migration], one_transaction: bool) {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS history (version INTEGER PRIMARY KEY, checksum TEXT)",
    )
    .unwrap_or_else(|e| check(e));
    let applied = verify(conn, list);
    let pending = &list[applied..];
    if one_transaction {
        let tx = conn.transaction().unwrap_or_else(|e| check(e));
        {
            let mut insert = tx
                .prepare("INSERT INTO history (version, checksum) VALUES (?1, ?2)")
                .unwrap_or_else(|e| check(e));
            for m in pending {
                tx.execute_batch("SAVEPOINT migration")
                    .unwrap_or_else(|e| check(e));
                tx.execute_batch(&m.sql).unwrap_or_else(|e| check(e));
                insert
                    .execute(params![m.version, m.checksum])
                    .unwrap_or_else(|e| check(e));
                tx.execute_batch("RELEASE migration")
                    .unwrap_or_else(|e| check(e));
            }
        }
        tx.commit().unwrap_or_else(|e| check(e));
    } else {
        for m in pending {
            let tx = conn.transaction().unwrap_or_else(|e| check(e));
            tx.execute_batch(&m.sql).unwrap_or_else(|e| check(e));
            tx.prepare_cached("INSERT INTO history (version, checksum) VALUES (?1, ?2)")
                .and_then(|mut insert| insert.execute(params![m.version, m.checksum]))
                .unwrap_or_else(|e| check(e));
            tx.commit().unwrap_or_else(|e| check(e));
        }
    }
}

fn first_query(conn: &Connection) -> i64 {
    conn.query_row(harness::FIRST_QUERY, [], |row| row.get(0))
        .unwrap_or_else(|e| check(e))
}

pub fn main() {
    let args = harness::args();
    let one_transaction = match args.variant.as_deref() {
        None => false,
        Some("run") => true,
        Some(other) => harness::fail("variant", format!("unknown variant --{other}")),
    };
    let list = migrations(args.n);
    match args.workload {
        Workload::Apply => harness::report_apply(|| {
            let mut conn = Connection::open(&args.db).unwrap_or_else(|e| check(e));
            apply(&mut conn, &list, one_transaction);
            drop(conn);
        }),
        Workload::Noop => harness::report_noop(|| {
            let conn = Connection::open(&args.db).unwrap_or_else(|e| check(e));
            if verify(&conn, &list) != list.len() {
                harness::fail("noop", "the database is not fully migrated");
            }
            first_query(&conn)
        }),
        Workload::Info => {
            let mut conn = Connection::open(&args.db).unwrap_or_else(|e| check(e));
            apply(&mut conn, &list, one_transaction);
            info(&conn);
        }
    }
}

/// Prints the `info` line for a rusqlite connection (shared with the rusqlite-based peers).
pub fn info(conn: &Connection) {
    let version: String = conn
        .query_row("SELECT sqlite_version()", [], |r| r.get(0))
        .unwrap_or_else(|e| check(e));
    let journal: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap_or_else(|e| check(e));
    let sync: i64 = conn
        .query_row("PRAGMA synchronous", [], |r| r.get(0))
        .unwrap_or_else(|e| check(e));
    harness::report_info(&version, &journal, sync);
}
