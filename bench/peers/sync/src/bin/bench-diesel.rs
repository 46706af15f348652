//! diesel_migrations: `conn.run_pending_migrations(MIGRATIONS)` on a
//! `diesel::SqliteConnection`, with the folder embedded by
//! `diesel_migrations::embed_migrations!`.

#[path = "../../../../common/harness.rs"]
mod harness;

use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use diesel::sqlite::SqliteConnection;
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};
use harness::Workload;

const D100: EmbeddedMigrations = embed_migrations!("../../generated/diesel/100");
const D1000: EmbeddedMigrations = embed_migrations!("../../generated/diesel/1000");
const D10000: EmbeddedMigrations = embed_migrations!("../../generated/diesel/10000");

fn check(e: impl std::fmt::Display) -> ! {
    harness::fail("diesel", e)
}

fn main() {
    let args = harness::args();
    // A constant, copied into each call as `run_pending_migrations(MIGRATIONS)` does.
    let migrations = || match args.n {
        100 => D100,
        1000 => D1000,
        _ => D10000,
    };
    let url = args
        .db
        .to_str()
        .unwrap_or_else(|| check("the path is not UTF-8"))
        .to_owned();
    match args.workload {
        Workload::Apply => harness::report_apply(|| {
            let mut conn = SqliteConnection::establish(&url).unwrap_or_else(|e| check(e));
            let done = conn
                .run_pending_migrations(migrations())
                .unwrap_or_else(|e| check(e));
            if done.len() != args.n {
                check(format!("applied {} of {}", done.len(), args.n));
            }
            drop(conn);
        }),
        Workload::Noop => harness::report_noop(|| {
            let mut conn = SqliteConnection::establish(&url).unwrap_or_else(|e| check(e));
            let done = conn
                .run_pending_migrations(migrations())
                .unwrap_or_else(|e| check(e));
            if !done.is_empty() {
                check("applied migrations on a migrated database");
            }
            diesel::select(sql::<BigInt>("(SELECT count(*) FROM t1)"))
                .get_result::<i64>(&mut conn)
                .unwrap_or_else(|e| check(e))
        }),
        Workload::Info => {
            let mut conn = SqliteConnection::establish(&url).unwrap_or_else(|e| check(e));
            conn.run_pending_migrations(migrations())
                .unwrap_or_else(|e| check(e));
            let version = diesel::select(sql::<Text>("sqlite_version()"))
                .get_result::<String>(&mut conn)
                .unwrap_or_else(|e| check(e));
            let journal = diesel::select(sql::<Text>(
                "(SELECT journal_mode FROM pragma_journal_mode)",
            ))
            .get_result::<String>(&mut conn)
            .unwrap_or_else(|e| check(e));
            let sync = diesel::select(sql::<BigInt>(
                "(SELECT synchronous FROM pragma_synchronous)",
            ))
            .get_result::<i64>(&mut conn)
            .unwrap_or_else(|e| check(e));
            harness::report_info(&version, &journal, sync);
        }
    }
}
