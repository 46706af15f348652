//! sqlx: `MIGRATOR.run(&mut conn)` with the folder embedded by `sqlx::migrate!`, on one
//! `SqliteConnection` (so the first query runs on the connection that migrated), in a
//! current-thread tokio runtime built before the clock starts.

#[path = "../../../../common/harness.rs"]
mod harness;

use harness::Workload;
use sqlx::migrate::Migrator;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use sqlx::{ConnectOptions as _, Connection as _};

static S100: Migrator = sqlx::migrate!("../../generated/sqlx/100");
static S1000: Migrator = sqlx::migrate!("../../generated/sqlx/1000");
static S10000: Migrator = sqlx::migrate!("../../generated/sqlx/10000");

fn check(e: impl std::fmt::Display) -> ! {
    harness::fail("sqlx", e)
}

async fn connect(options: &SqliteConnectOptions) -> SqliteConnection {
    options.connect().await.unwrap_or_else(|e| check(e))
}

fn main() {
    let args = harness::args();
    let migrator: &Migrator = match args.n {
        100 => &S100,
        1000 => &S1000,
        _ => &S10000,
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| check(e));
    let options = SqliteConnectOptions::new()
        .filename(&args.db)
        .create_if_missing(true);
    match args.workload {
        Workload::Apply => harness::report_apply(|| {
            runtime.block_on(async {
                let mut conn = connect(&options).await;
                migrator.run(&mut conn).await.unwrap_or_else(|e| check(e));
                conn.close().await.unwrap_or_else(|e| check(e));
            })
        }),
        Workload::Noop => harness::report_noop(|| {
            runtime.block_on(async {
                let mut conn = connect(&options).await;
                migrator.run(&mut conn).await.unwrap_or_else(|e| check(e));
                let count: i64 = sqlx::query_scalar(harness::FIRST_QUERY)
                    .fetch_one(&mut conn)
                    .await
                    .unwrap_or_else(|e| check(e));
                conn.close().await.unwrap_or_else(|e| check(e));
                count
            })
        }),
        Workload::Info => runtime.block_on(async {
            let mut conn = connect(&options).await;
            migrator.run(&mut conn).await.unwrap_or_else(|e| check(e));
            let version: String = sqlx::query_scalar("SELECT sqlite_version()")
                .fetch_one(&mut conn)
                .await
                .unwrap_or_else(|e| check(e));
            let journal: String = sqlx::query_scalar("PRAGMA journal_mode")
                .fetch_one(&mut conn)
                .await
                .unwrap_or_else(|e| check(e));
            let sync: i64 = sqlx::query_scalar("PRAGMA synchronous")
                .fetch_one(&mut conn)
                .await
                .unwrap_or_else(|e| check(e));
            harness::report_info(&version, &journal, sync);
        }),
    }
}
