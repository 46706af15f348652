//! Terrace on sqlx: `MIGRATIONS.run_async(&mut conn)` with the folder embedded by
//! `terrace::embed_migrations!`, on one sqlx `SqliteConnection`, in a current-thread
//! tokio runtime built before the clock starts — the same set-up as `bench-sqlx`, so
//! that the two compare the migrators alone.

#[path = "../../../../common/harness.rs"]
mod harness;

use harness::Workload;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use sqlx::{ConnectOptions as _, Connection as _};
use terrace::Migrations;

static M100: Migrations = terrace::embed_migrations!("../../generated/terrace/100");
static M1000: Migrations = terrace::embed_migrations!("../../generated/terrace/1000");
static M10000: Migrations = terrace::embed_migrations!("../../generated/terrace/10000");

fn check(e: impl std::fmt::Display) -> ! {
    harness::fail("terrace_sqlx", e)
}

async fn connect(options: &SqliteConnectOptions) -> SqliteConnection {
    options.connect().await.unwrap_or_else(|e| check(e))
}

fn main() {
    let args = harness::args();
    let migrations: &Migrations = match args.n {
        100 => &M100,
        1000 => &M1000,
        _ => &M10000,
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
                migrations
                    .run_async(&mut conn)
                    .await
                    .unwrap_or_else(|e| check(e));
                conn.close().await.unwrap_or_else(|e| check(e));
            })
        }),
        Workload::Noop => harness::report_noop(|| {
            runtime.block_on(async {
                let mut conn = connect(&options).await;
                migrations
                    .run_async(&mut conn)
                    .await
                    .unwrap_or_else(|e| check(e));
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
            migrations
                .run_async(&mut conn)
                .await
                .unwrap_or_else(|e| check(e));
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
