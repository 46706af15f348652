//! `terrace squash --to V`: the baseline migration that would replace migrations 1 to
//! V, holding the schema they build (applied to a scratch database and dumped with
//! `terrace schema dump`'s renderer).
//!
//! Only `--dry-run` is available: the migration format has no way yet to mark a file
//! as standing for versions 1 to V, so a database that applied them would no longer
//! validate against the squashed folder (docs/migration-files.md, "Squashing").
//! Without `--dry-run` the command refuses, changing nothing.

use crate::cli::SquashArgs;
use crate::config::Config;
use crate::connect::Access;
use crate::failure::Failure;
use crate::output::{Output, plural};
use crate::schema::render;
use serde::Serialize;
use std::process::ExitCode;
use terrace::testing::TestDb;

#[derive(Serialize)]
struct SquashDoc<'a> {
    dry_run: bool,
    write: &'a str,
    sql: &'a str,
    remove: Vec<String>,
}

/// Runs `squash`.
pub fn run(args: &SquashArgs, config: &Config, out: &Output) -> anyhow::Result<ExitCode> {
    let to = args.to;
    let database = config.location()?;
    let migrations = config.migrations()?;
    crate::banner::announce(config, &database, out);
    out.warn(migrations.warnings());
    if !args.dry_run {
        return Err(Failure::refused(format!(
            "cannot squash to {to}: only --dry-run is supported"
        ))
        .named("squash_unsupported")
        .hint(
            "a database that applied migrations 1 to VERSION would not validate against a \
             folder where they became one file; `terrace squash --to VERSION --dry-run` shows \
             the baseline that would be written and the files it would replace",
        )
        .into());
    }
    let squashed: Vec<terrace::Migration> = migrations
        .list()
        .iter()
        .filter(|m| m.version() <= to)
        .cloned()
        .collect();
    let Some(last) = squashed.iter().find(|m| m.version() == to) else {
        return Err(Failure::refused(format!(
            "cannot squash to {to}: {} holds no migration {to}",
            config.dir.display()
        ))
        .into());
    };
    if squashed.len() < 2 {
        return Err(Failure::refused(format!(
            "cannot squash to {to}: it is the first migration, there is nothing to squash into it"
        ))
        .into());
    }
    let file = baseline_file_name(last, to);

    let mut conn = database.open(Access::ReadOnly)?;
    migrations.validate(&mut conn)?;
    let status = migrations.status(&mut conn)?;
    drop(conn);
    let applied = |version: u64| {
        status
            .applied
            .iter()
            .any(|a| a.row.version == version && a.row.state == terrace::RowState::Applied)
    };
    if let Some(missing) = squashed.iter().find(|m| !applied(m.version())) {
        return Err(Failure::refused(format!(
            "cannot squash to {to}: the database has not applied migration {} ({})",
            missing.version(),
            missing.name()
        ))
        .named("squash_not_applied")
        .hint(format!(
            "every database must have applied migrations 1 to {to} before they are squashed: \
             migrate it (`terrace migrate --to {to}`) first"
        ))
        .into());
    }

    let table = migrations.table().as_str().to_owned();
    let partial = terrace::Migrations::from_vec(squashed.clone()).with_table(&table)?;
    let raw = &config.database()?.url;
    let scratch = TestDb::builder()
        .backend(database.url().scheme())
        .server_url(raw)
        .create(&partial)
        .map_err(|e| {
            Failure::refused(format!(
                "cannot build the schema of migrations 1 to {to} on a scratch database"
            ))
            .named("scratch_database")
            .caused_by(e)
        })?;
    let mut conn = scratch.open::<terrace::Connection>()?;
    let schema = crate::command::schema::read(&mut conn, &table)?;
    drop(conn);
    scratch.close()?;
    let text = format!(
        "-- The schema migrations 1 to {to} built, written by `terrace squash --to {to}`.\n\
         -- migrate:up\n{}",
        render::sql(&schema)
    );
    let remove: Vec<String> = squashed
        .iter()
        .filter_map(|m| m.path())
        .filter_map(|p| p.file_name())
        .map(|n| n.to_string_lossy().into_owned())
        .collect();

    if out.is_json() {
        out.json(&SquashDoc {
            dry_run: true,
            write: &file,
            sql: &text,
            remove,
        })?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut report = format!(
        "would write {file} in {}:\n{}\n",
        config.dir.display(),
        text.trim_end()
    );
    report.push_str(&format!(
        "would remove {} file{}:\n",
        remove.len(),
        plural(remove.len())
    ));
    for name in &remove {
        report.push_str(&format!("  {name}\n"));
    }
    let sum = terrace::format::sum::sum_path(&config.dir);
    if sum.exists() {
        report.push_str(&format!("would rewrite {}\n", sum.display()));
    }
    report.push_str("nothing changed (dry run)");
    out.print(&report)?;
    Ok(ExitCode::SUCCESS)
}

/// The baseline's file name: migration V's number as its file writes it, then
/// `squashed_1_to_V`.
fn baseline_file_name(last: &terrace::Migration, to: u64) -> String {
    let number = last
        .path()
        .and_then(|p| p.file_name())
        .and_then(|n| n.to_str())
        .and_then(|n| n.split_once('_'))
        .map_or_else(|| format!("{to:04}"), |(number, _)| number.to_owned());
    format!("{number}_squashed_1_to_{to}.sql")
}
