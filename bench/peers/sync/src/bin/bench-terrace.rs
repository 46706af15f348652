//! The same program as bench/src/bin/bench-terrace.rs, built on the peers' rusqlite
//! and SQLite: Terrace compared with them on one SQLite build.
//!
//! Terrace, the library: `MIGRATIONS.run(&mut conn)` on a `rusqlite::Connection`, with
//! the folder embedded by `terrace::embed_migrations!`.
//!
//! Variants: none (the SQLite default, per-run: one transaction, a savepoint per
//! migration) and `--per-migration` (`TransactionMode::PerMigration`).

#[path = "../../../../common/harness.rs"]
mod harness;

use harness::Workload;
use rusqlite::Connection;
use terrace::{Migrations, TransactionMode};

static M100: Migrations = terrace::embed_migrations!("../../generated/terrace/100");
static M1000: Migrations = terrace::embed_migrations!("../../generated/terrace/1000");
static M10000: Migrations = terrace::embed_migrations!("../../generated/terrace/10000");

fn check(e: impl std::fmt::Display) -> ! {
    harness::fail("terrace", e)
}

fn main() {
    let args = harness::args();
    let base: &Migrations = match args.n {
        100 => &M100,
        1000 => &M1000,
        _ => &M10000,
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
    }
}
