//! refinery: `migrations::runner().run(&mut conn)` on a `rusqlite::Connection`, with the
//! folder embedded by `refinery::embed_migrations!` (default runner settings: one
//! transaction per migration, divergent and missing migrations abort).

#[path = "../../../../common/floor.rs"]
mod floor;
#[path = "../../../../common/harness.rs"]
mod harness;

use harness::Workload;
use rusqlite::Connection;

use refinery_embedded::{r100, r1000, r10000};

fn check(e: impl std::fmt::Display) -> ! {
    harness::fail("refinery", e)
}

fn main() {
    let args = harness::args();
    // The runner is built inside the call, as `migrations::runner().run(..)` is used.
    let runner = match args.n {
        100 => r100::migrations::runner,
        1000 => r1000::migrations::runner,
        _ => r10000::migrations::runner,
    };
    match args.workload {
        Workload::Apply => harness::report_apply(|| {
            let mut conn = Connection::open(&args.db).unwrap_or_else(|e| check(e));
            let report = runner().run(&mut conn).unwrap_or_else(|e| check(e));
            if report.applied_migrations().len() != args.n {
                check("not every migration was applied");
            }
            drop(conn);
        }),
        Workload::Noop => harness::report_noop(|| {
            let mut conn = Connection::open(&args.db).unwrap_or_else(|e| check(e));
            let report = runner().run(&mut conn).unwrap_or_else(|e| check(e));
            if !report.applied_migrations().is_empty() {
                check("applied migrations on a migrated database");
            }
            conn.query_row(harness::FIRST_QUERY, [], |row| row.get(0))
                .unwrap_or_else(|e| check(e))
        }),
        Workload::Info => {
            let mut conn = Connection::open(&args.db).unwrap_or_else(|e| check(e));
            runner().run(&mut conn).unwrap_or_else(|e| check(e));
            floor::info(&conn);
        }
    }
}
