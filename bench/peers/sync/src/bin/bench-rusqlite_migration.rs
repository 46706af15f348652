//! rusqlite_migration: `Migrations::from_slice(&[M::up(...), ...]).to_latest(&mut conn)`,
//! its documented usage, with the `M::up` list generated into a source file.

#[path = "../../../../common/floor.rs"]
mod floor;
#[path = "../../../../common/harness.rs"]
mod harness;

use harness::Workload;
use rusqlite::Connection;
use rusqlite_migration::{M, Migrations};

const L100: &[M<'static>] = include!("../../../../generated/rusqlite_migration/100.rs");
const L1000: &[M<'static>] = include!("../../../../generated/rusqlite_migration/1000.rs");
const L10000: &[M<'static>] = include!("../../../../generated/rusqlite_migration/10000.rs");

fn check(e: impl std::fmt::Display) -> ! {
    harness::fail("rusqlite_migration", e)
}

fn main() {
    let args = harness::args();
    let list = match args.n {
        100 => L100,
        1000 => L1000,
        _ => L10000,
    };
    let migrations = Migrations::from_slice(list);
    match args.workload {
        Workload::Apply => harness::report_apply(|| {
            let mut conn = Connection::open(&args.db).unwrap_or_else(|e| check(e));
            migrations.to_latest(&mut conn).unwrap_or_else(|e| check(e));
            drop(conn);
        }),
        Workload::Noop => harness::report_noop(|| {
            let mut conn = Connection::open(&args.db).unwrap_or_else(|e| check(e));
            migrations.to_latest(&mut conn).unwrap_or_else(|e| check(e));
            conn.query_row(harness::FIRST_QUERY, [], |row| row.get(0))
                .unwrap_or_else(|e| check(e))
        }),
        Workload::Info => {
            let mut conn = Connection::open(&args.db).unwrap_or_else(|e| check(e));
            migrations.to_latest(&mut conn).unwrap_or_else(|e| check(e));
            floor::info(&conn);
        }
    }
}
