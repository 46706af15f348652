//! Terrace, the library: `MIGRATIONS.run(&mut conn)` on a `rusqlite::Connection`, with
//! the folder embedded by `terrace::embed_migrations!`. Shared by `bench-terrace` in
//! this crate and in `peers/sync` (the same program on the peers' SQLite); each binary
//! embeds the folders itself, since the paths are relative to its own crate, and
//! includes `floor.rs` for its `info` report.
//!
//! Variants: none (the SQLite default, per-run: one transaction, a savepoint per
//! migration) and `--per-migration` (`TransactionMode::PerMigration`).

use crate::harness::{self, Workload};
use rusqlite::Connection;
use terrace::{Migrations, TransactionMode};

fn check(e: impl std::fmt::Display) -> ! {
    harness::fail("terrace", e)
}

/// Runs the workload the command line asks for, with the list embedded for each N
/// (100, 1,000 and 10,000) by the binary including this file.
pub fn main(m100: &Migrations, m1000: &Migrations, m10000: &Migrations) {
    let args = harness::args();
    let base: &Migrations = match args.n {
        100 => m100,
        1000 => m1000,
        _ => m10000,
    };
    // Built before the clock starts, as an application holds its list in a static.
    let migrations = match args.variant.as_deref() {
        None => base.clone(),
        Some("per-migration") => base
            .clone()
            .with_transaction_mode(TransactionMode::PerMigration),
        Some(other) => harness::fail("variant", format!("unknown variant --{other}")),
    };
    match args.workload {
        Workload::Apply => harness::report_apply(|| {
            let mut conn = Connection::open(&args.db).unwrap_or_else(|e| check(e));
            let report = migrations.run(&mut conn).unwrap_or_else(|e| check(e));
            if report.count() != args.n {
                check(format!("applied {} of {}", report.count(), args.n));
            }
            drop(conn);
        }),
        Workload::Noop => harness::report_noop(|| {
            let mut conn = Connection::open(&args.db).unwrap_or_else(|e| check(e));
            let report = migrations.run(&mut conn).unwrap_or_else(|e| check(e));
            if report.count() != 0 {
                check(format!("applied {} on a migrated database", report.count()));
            }
            conn.query_row(harness::FIRST_QUERY, [], |row| row.get(0))
                .unwrap_or_else(|e| check(e))
        }),
        Workload::Info => {
            let mut conn = Connection::open(&args.db).unwrap_or_else(|e| check(e));
            migrations.run(&mut conn).unwrap_or_else(|e| check(e));
            crate::floor::info(&conn);
        }
    }
}
