//! `terrace schema dump` and `terrace schema diff`: the schema read from the catalog
//! (`crate::schema`), printed as SQL or JSON, or compared with another database's or
//! with the one the migrations build on a scratch database. Both only read the
//! configured database.

use crate::cli::{DiffArgs, DumpArgs};
use crate::config::{Config, DatabaseSetting, Origin};
use crate::connect::Location;
use crate::failure::Failure;
use crate::output::{Output, Style, plural};
use crate::schema::diff::Difference;
use crate::schema::model::Schema;
use crate::schema::{catalog, diff, render};
use serde::Serialize;
use std::process::ExitCode;
use std::time::Duration;
use terrace::testing::TestDb;

/// Runs `schema dump`.
pub fn dump(args: &DumpArgs, config: &Config, out: &Output) -> anyhow::Result<ExitCode> {
    let database = config.location()?;
    crate::banner::record(config, &database);
    let table = config.table_only()?;
    let mut conn = database.open_read_only(out)?;
    let schema = read(&mut conn, table.table().as_str())?;
    let text = if out.is_json() {
        format!("{}\n", serde_json::to_string_pretty(&schema)?)
    } else {
        render::sql(&schema)
    };
    match &args.out {
        Some(path) => {
            std::fs::write(path, &text).map_err(|e| {
                anyhow::Error::new(e).context(format!("cannot write {}", path.display()))
            })?;
            out.note(&format!("wrote the schema to {}", path.display()));
        }
        None if out.is_json() => out.json(&schema)?,
        None => out.print_result(text.trim_end())?,
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(Serialize)]
struct DiffDoc<'a> {
    identical: bool,
    compared_with: &'a str,
    differences: &'a [Difference],
}

/// Runs `schema diff`.
pub fn diff(args: &DiffArgs, config: &Config, out: &Output) -> anyhow::Result<ExitCode> {
    let database = config.location()?;
    let other = match &args.to {
        Some(url) => Some(crate::connect::locate(
            &DatabaseSetting {
                url: url.clone(),
                origin: Origin::Flag,
                base: std::path::PathBuf::new(),
            },
            Duration::ZERO,
        )?),
        None => None,
    };
    crate::banner::record(config, &database);
    let migrations = match other {
        Some(_) => config.table_only()?,
        None => config.migrations()?,
    };
    let table = migrations.table().as_str().to_owned();
    let mut conn = database.open_read_only(out)?;
    let live = read(&mut conn, &table)?;
    drop(conn);
    let (theirs, compared_with) = match &other {
        Some(other) => {
            let mut conn = other.open(terrace::Access::ReadOnly)?;
            (read(&mut conn, &table)?, other.to_string())
        }
        None => {
            let schema = built(
                config,
                &database,
                &migrations,
                Failure::refused("cannot build the migrations' schema on a scratch database").hint(
                    "the migrations must run on an empty database: fix the one named \
                         above (the scratch database is dropped)",
                ),
            )?;
            (schema, "migrations".to_owned())
        }
    };
    let differences = diff::diff(&live, &theirs);
    let other_name = if other.is_some() {
        "the other database"
    } else {
        "the migrations"
    };
    if out.is_json() {
        out.json(&DiffDoc {
            identical: differences.is_empty(),
            compared_with: &compared_with,
            differences: &differences,
        })?;
    } else if differences.is_empty() {
        out.print(&format!(
            "{}: the database's schema matches {other_name}",
            out.paint(Style::Good, "no differences")
        ))?;
    } else {
        out.print_result(&format!(
            "{} difference{} between the database and {other_name}:",
            differences.len(),
            plural(differences.len())
        ))?;
        for difference in &differences {
            out.print_result(&line(out, difference, other_name))?;
        }
    }
    Ok(if args.check && !differences.is_empty() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// One difference as a line of text.
fn line(out: &Output, difference: &Difference, other_name: &str) -> String {
    let what = format!("{} {}", difference.kind, difference.name);
    match difference.change {
        "extra" => format!(
            "  {} {what}: only in the database",
            out.paint(Style::Bad, "extra  ")
        ),
        "missing" => format!(
            "  {} {what}: only in {other_name}",
            out.paint(Style::Bad, "missing")
        ),
        _ => {
            let details: Vec<String> = difference
                .details
                .iter()
                .map(|d| {
                    let value = |v: &Option<String>| v.clone().unwrap_or_else(|| "(none)".into());
                    format!(
                        "{} {} in the database, {} in {other_name}",
                        d.attribute,
                        value(&d.this),
                        value(&d.other)
                    )
                })
                .collect();
            format!(
                "  {} {what}: {}",
                out.paint(Style::Warn, "changed"),
                details.join("; ")
            )
        }
    }
}

/// The schema `migrations` build on a scratch database of the configured database's
/// kind (a temporary SQLite file, or a new database on the same server), dropped
/// afterwards; their tracking table left out. A failure to build it is `failure`,
/// caused by the error.
pub(crate) fn built(
    config: &Config,
    database: &Location,
    migrations: &terrace::Migrations,
    failure: Failure,
) -> anyhow::Result<Schema> {
    let raw = &config.database()?.url;
    let scratch = TestDb::builder()
        .backend(database.url().scheme())
        .server_url(raw)
        .create(migrations)
        .map_err(|e| failure.named("scratch_database").caused_by(e))?;
    let mut conn = scratch.open::<terrace::Connection>()?;
    let schema = read(&mut conn, migrations.table().as_str())?;
    drop(conn);
    scratch.close()?;
    Ok(schema)
}

/// The schema of an open database, the tracking table left out.
pub(crate) fn read(conn: &mut terrace::Connection, table: &str) -> anyhow::Result<Schema> {
    catalog::read(conn, table).map_err(|e| {
        Failure::refused("cannot read the schema")
            .named("schema_read")
            .caused_by(e)
            .into()
    })
}
