//! A tokio application on sqlx that brings its SQLite database up to date at start-up,
//! through its own pool, before it uses it.
//!
//! ```text
//! cargo run -p sqlx-app -- PATH
//! ```
//!
//! opens (creating it if needed) the SQLite file at PATH with an sqlx pool, applies the
//! pending migrations of `migrations/` (embedded in the binary), then has a few tasks
//! add notes through the same pool at once, and prints the notes and the migration
//! status.

use sqlx::sqlite::{SqliteConnectOptions, SqlitePool, SqlitePoolOptions};
use std::error::Error;
use std::process::ExitCode;
use terrace::Migrations;

/// The application's migrations, read from the folder when the application is compiled.
static MIGRATIONS: Migrations = terrace::embed_migrations!("migrations");

/// How many tasks add a note on each start.
const WRITERS: usize = 3;

#[tokio::main]
async fn main() -> ExitCode {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: sqlx-app PATH (a SQLite file, created if missing)");
        return ExitCode::from(2);
    };
    match start(&path).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("sqlx-app: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn start(path: &str) -> Result<(), Box<dyn Error>> {
    let options = SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true);
    let mut pool = SqlitePoolOptions::new()
        .max_connections(4)
        .connect_with(options)
        .await?;
    migrate(&mut pool).await?;
    serve(&pool).await?;
    let status = MIGRATIONS.status_async(&mut pool).await?;
    println!(
        "applied {}, pending {}",
        status.applied_count(),
        status.pending_count()
    );
    pool.close().await;
    Ok(())
}

/// Start-up: the pending migrations, on a connection of the application's own pool.
async fn migrate(pool: &mut SqlitePool) -> Result<(), terrace::Error> {
    let report = MIGRATIONS.run_async(pool).await?;
    if report.count() == 0 {
        println!("up to date, no migration ran");
    } else {
        println!("applied migrations {:?}", report.versions());
    }
    Ok(())
}

/// The application's own work on the migrated schema: tasks sharing the pool each add
/// a note, then the notes are read back.
async fn serve(pool: &SqlitePool) -> Result<(), Box<dyn Error>> {
    let mut writers = tokio::task::JoinSet::new();
    for writer in 0..WRITERS {
        let pool = pool.clone();
        writers.spawn(async move {
            sqlx::query("INSERT INTO notes (body, author) VALUES (?, ?)")
                .bind("written at start-up")
                .bind(format!("task {writer}"))
                .execute(&pool)
                .await
        });
    }
    while let Some(done) = writers.join_next().await {
        done??;
    }
    let notes: Vec<(i64, String, String)> =
        sqlx::query_as("SELECT id, body, author FROM notes ORDER BY id")
            .fetch_all(pool)
            .await?;
    let last = notes.last().map_or_else(String::new, |(id, body, author)| {
        format!("#{id} {body} ({author})")
    });
    println!("{} notes, the last: {last}", notes.len());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each writer adds one note to a new, migrated database.
    #[terrace::test(migrations = MIGRATIONS)]
    async fn every_writer_adds_a_note(pool: SqlitePool) -> Result<(), Box<dyn Error>> {
        serve(&pool).await?;
        let authors: Vec<String> = sqlx::query_scalar("SELECT author FROM notes ORDER BY author")
            .fetch_all(&pool)
            .await?;
        assert_eq!(authors, ["task 0", "task 1", "task 2"]);
        Ok(())
    }

    /// The next test's database is a new one: no notes.
    #[terrace::test(migrations = MIGRATIONS)]
    async fn a_new_database_has_no_notes(conn: &mut sqlx::SqliteConnection) {
        let count: i64 = sqlx::query_scalar("SELECT count(*) FROM notes")
            .fetch_one(conn)
            .await
            .expect("the notes table is migrated");
        assert_eq!(count, 0);
    }
}
