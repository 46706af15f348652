//! A diesel application that brings its database up to date at start-up, through the
//! connection it already has.
//!
//! ```text
//! cargo run --example diesel_app --features diesel-sqlite -- PATH
//! ```
//!
//! opens the SQLite file at PATH with diesel (creating it if needed), applies the
//! pending migrations of `diesel_app_migrations/` (embedded in the binary), adds a note
//! with diesel and prints the notes and the migration status. Built with the
//! `diesel-postgres` feature too, a `postgres://` URL opens a PostgreSQL database instead.

use diesel::prelude::*;
use std::error::Error;
use std::process::ExitCode;
use terrace::Migrations;

/// The application's migrations, read from the folder when the example is compiled.
static MIGRATIONS: Migrations = terrace::embed_migrations!("examples/diesel_app_migrations");

#[derive(QueryableByName)]
struct Note {
    #[diesel(sql_type = diesel::sql_types::Text)]
    body: String,
}

/// The application's own work, with diesel, on the migrated schema: adds a note and
/// reads them all.
macro_rules! add_note {
    ($conn:ident, $select:literal) => {{
        diesel::sql_query(
            "INSERT INTO notes (id, body, pinned) \
             SELECT COALESCE(MAX(id), 0) + 1, 'written at start-up', 1 FROM notes",
        )
        .execute(&mut $conn)?;
        diesel::sql_query($select).load::<Note>(&mut $conn)?
    }};
}

fn main() -> ExitCode {
    let Some(target) = std::env::args().nth(1) else {
        eprintln!("usage: diesel_app PATH (a SQLite file, or a postgres:// URL)");
        return ExitCode::from(2);
    };
    match open_and_use(&target) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("diesel_app: {e}");
            ExitCode::FAILURE
        }
    }
}

fn open_and_use(target: &str) -> Result<(), Box<dyn Error>> {
    #[cfg(feature = "diesel-postgres")]
    if target.starts_with("postgres://") || target.starts_with("postgresql://") {
        let mut conn = PgConnection::establish(target)?;
        migrate(&mut conn)?;
        let notes = add_note!(
            conn,
            "SELECT CAST(body AS TEXT) AS body FROM notes ORDER BY id"
        );
        return report(&mut conn, &notes);
    }
    let mut conn = SqliteConnection::establish(target)?;
    migrate(&mut conn)?;
    let notes = add_note!(conn, "SELECT body FROM notes ORDER BY id");
    report(&mut conn, &notes)
}

/// Start-up: the pending migrations, on the application's own connection.
fn migrate(conn: &mut impl terrace::Database) -> Result<(), terrace::Error> {
    let report = MIGRATIONS.run(conn)?;
    if report.count() == 0 {
        println!("up to date, no migration ran");
    } else {
        println!("applied migrations {:?}", report.versions());
    }
    Ok(())
}

/// Prints the notes and the migration status.
fn report(conn: &mut impl terrace::Database, notes: &[Note]) -> Result<(), Box<dyn Error>> {
    println!(
        "{} notes, the last: {}",
        notes.len(),
        notes.last().map_or("", |n| n.body.as_str())
    );
    let status = MIGRATIONS.status(conn)?;
    println!(
        "applied {}, pending {}",
        status.applied_count(),
        status.pending_count()
    );
    Ok(())
}
