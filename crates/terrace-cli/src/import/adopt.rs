//! Adopting a tool's history: its table read (never written), its applied migrations
//! matched to the imported ones, and Terrace's history written by `baseline` for the
//! versions they became. The matching is pure ([`plan`]); it refuses, with every
//! problem, an applied migration the folder lacks, one whose file was edited since
//! (where the tool records a checksum Terrace can compute), and a pending migration
//! before an applied one, which Terrace's ordered history cannot hold.

use super::foreign::{self, Applied, Column};
use super::source::{SourceMigration, Tool, shown};
use super::{dbmate, diesel, flyway, golang_migrate, goose, refinery, sqlx};
use crate::failure::Failure;
use terrace::Connection;

/// Refuses a Terrace tracking table that is the tool's own table.
pub fn check_tables(tool: Tool, foreign: &str, terrace: &str) -> Result<(), Failure> {
    let bare = |name: &str| {
        name.rsplit('.')
            .next()
            .unwrap_or(name)
            .trim_matches(['"', '`'])
            .to_ascii_lowercase()
    };
    if bare(foreign) != bare(terrace) {
        return Ok(());
    }
    Err(Failure::usage(format!(
        "Terrace's tracking table {terrace} is {}'s table too; Terrace cannot adopt a history into the table it reads it from",
        tool.name()
    ))
    .named("import_table_clash")
    .hint("choose another name for Terrace's table with --table (or `table` in terrace.toml), for example terrace_migrations, and use it from now on"))
}

/// Refuses a table name that is not a plain, optionally schema-qualified, identifier.
pub fn check_name(table: &str) -> Result<(), Failure> {
    let plain = |part: &str| {
        !part.is_empty()
            && part
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$')
    };
    if table.split('.').count() <= 2 && table.split('.').all(plain) {
        Ok(())
    } else {
        Err(Failure::usage(format!(
            "--from-table '{table}' is not a table name (letters, digits and '_', optionally schema.table)"
        )))
    }
}

/// Reads the migrations the tool's table records as applied.
pub fn read(
    tool: Tool,
    conn: &mut Connection,
    table: &str,
    sources: &[SourceMigration],
) -> Result<Vec<Applied>, Failure> {
    let (columns, order): (&[Column], &str) = match tool {
        Tool::Sqlx => (sqlx::COLUMNS, sqlx::ORDER),
        Tool::Refinery => (refinery::COLUMNS, refinery::ORDER),
        Tool::Diesel => (diesel::COLUMNS, diesel::ORDER),
        Tool::Dbmate => (dbmate::COLUMNS, dbmate::ORDER),
        Tool::Goose => (goose::COLUMNS, goose::ORDER),
        Tool::GolangMigrate => (golang_migrate::COLUMNS, golang_migrate::ORDER),
        Tool::Flyway => (flyway::COLUMNS, flyway::ORDER),
    };
    let sql = foreign::select(foreign::dialect(conn), table, columns, order);
    let rows = foreign::query(conn, &sql).map_err(|err| {
        Failure::refused(format!("cannot read {}'s table {table}", tool.name()))
            .named("import_refused")
            .hint(format!(
                "is this the database {} migrated? Name its table with --from-table if it is not {}",
                tool.name(),
                tool.default_table()
            ))
            .caused_by(err)
    })?;
    match tool {
        Tool::Sqlx => sqlx::applied(&rows, table),
        // One row per applied migration.
        Tool::Refinery | Tool::Diesel | Tool::Dbmate => Ok(foreign::every_row(&rows)),
        Tool::Goose => goose::applied(&rows, table),
        Tool::GolangMigrate => golang_migrate::applied(&rows, table, sources),
        Tool::Flyway => flyway::applied(&rows, table, sources),
    }
}

/// How many of the imported migrations (1 to the result) the history says are
/// applied; every problem at once otherwise.
pub fn plan(
    tool: Tool,
    table: &str,
    sources: &[SourceMigration],
    applied: &[Applied],
) -> Result<u64, Failure> {
    let mut problems = Vec::new();
    let mut done = vec![false; sources.len()];
    for record in applied {
        let Some(index) = sources.iter().position(|s| s.id == record.id) else {
            problems.push(format!(
                "version {} is applied according to {table}, but no file in the source folder has it",
                record.id
            ));
            continue;
        };
        done[index] = true;
        let source = &sources[index];
        if let (Some(recorded), Some(now)) = (&record.checksum, &source.checksum)
            && recorded != now
        {
            problems.push(format!(
                "{}: edited since {} applied it (checksum in {table}: {recorded}, of the file: {now})",
                shown(&source.file),
                tool.name()
            ));
        }
    }
    let last = done.iter().rposition(|d| *d).map_or(0, |i| i + 1);
    for (source, _) in sources.iter().zip(&done).take(last).filter(|(_, d)| !**d) {
        problems.push(format!(
            "{} (version {}) is not applied, but a later migration is; Terrace applies migrations in order",
            shown(&source.file),
            source.id
        ));
    }
    if problems.is_empty() {
        return Ok(last as u64);
    }
    let mut message = format!("cannot adopt {}'s history from {table}:", tool.name());
    for problem in problems {
        message.push_str("\n  ");
        message.push_str(&problem);
    }
    Err(Failure::refused(message)
        .named("import_refused")
        .hint(format!(
            "bring the database and the folder into agreement with {} first (restore edited files, apply or remove the migrations named), then import again",
            tool.name()
        )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn source(id: &str, checksum: Option<&str>) -> SourceMigration {
        let mut m =
            SourceMigration::new(id, "x", PathBuf::from(format!("{id}_x.sql")), "SELECT 1;");
        m.checksum = checksum.map(str::to_owned);
        m
    }

    fn applied(id: &str, checksum: Option<&str>) -> Applied {
        Applied {
            id: id.to_owned(),
            checksum: checksum.map(str::to_owned),
        }
    }

    #[test]
    fn a_prefix_of_the_folder_is_adopted() {
        let sources = [source("1", None), source("5", None), source("9", None)];
        let plan = |applied: &[Applied]| plan(Tool::Goose, "t", &sources, applied);
        assert_eq!(plan(&[]).unwrap(), 0);
        assert_eq!(plan(&[applied("1", None), applied("5", None)]).unwrap(), 2);
        let err = plan(&[applied("1", None), applied("9", None)])
            .unwrap_err()
            .to_string();
        assert!(err.contains("5_x.sql (version 5) is not applied"), "{err}");
        let err = plan(&[applied("7", None)]).unwrap_err().to_string();
        assert!(
            err.contains("version 7 is applied according to t, but no file"),
            "{err}"
        );
    }

    #[test]
    fn edited_files_are_reported() {
        let sources = [source("1", Some("aa"))];
        let err = plan(Tool::Sqlx, "t", &sources, &[applied("1", Some("bb"))])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("1_x.sql: edited since sqlx applied it"),
            "{err}"
        );
        assert_eq!(
            plan(Tool::Sqlx, "t", &sources, &[applied("1", Some("aa"))]).unwrap(),
            1
        );
    }

    #[test]
    fn the_same_table_is_refused() {
        assert!(check_tables(Tool::Dbmate, "schema_migrations", "schema_migrations").is_err());
        assert!(
            check_tables(
                Tool::Dbmate,
                "schema_migrations",
                "public.Schema_Migrations"
            )
            .is_err()
        );
        assert!(check_tables(Tool::Dbmate, "schema_migrations", "terrace_migrations").is_ok());
    }
}
