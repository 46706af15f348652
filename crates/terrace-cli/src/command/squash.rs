//! `terrace squash --to V`: replaces migrations 1 to V by one baseline migration
//! holding the schema they build (applied to a scratch database and dumped with
//! `terrace schema dump`'s renderer). The baseline lists the migrations it stands for in
//! `-- terrace:squashed` lines above its up marker, so that a database that applied
//! them is recognised (docs/migration-files.md, "Squashing"). `--dry-run` only prints.

use crate::cli::SquashArgs;
use crate::config::Config;
use crate::connect::Access;
use crate::failure::Failure;
use crate::output::{Output, plural};
use crate::schema::render;
use serde::Serialize;
use std::process::ExitCode;

#[derive(Serialize)]
struct SquashDoc<'a> {
    dry_run: bool,
    write: &'a str,
    sql: &'a str,
    remove: &'a [String],
    sum: Option<String>,
}

/// Runs `squash`.
pub fn run(args: &SquashArgs, config: &Config, out: &Output) -> anyhow::Result<ExitCode> {
    let to = args.to;
    let database = config.location()?;
    let migrations = config.migrations()?;
    crate::banner::announce(config, &database, out);
    out.warn(migrations.warnings());
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
    if let Some(baseline) = squashed.iter().find(|m| !m.squashed().is_empty()) {
        return Err(Failure::refused(format!(
            "cannot squash to {to}: migration {} ({}) is already a squashed baseline",
            baseline.version(),
            baseline.name()
        ))
        .hint("squashing over an earlier squash is not supported")
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

    let partial =
        terrace::Migrations::from_vec(squashed.clone()).with_table(migrations.table().as_str())?;
    let schema = crate::command::schema::built(
        config,
        &database,
        &partial,
        Failure::refused(format!(
            "cannot build the schema of migrations 1 to {to} on a scratch database"
        )),
    )?;
    let mut text = format!(
        "-- The schema migrations 1 to {to} built, written by `terrace squash --to {to}`.\n\
         -- A database that applied them is recognised by these lines; keep them.\n"
    );
    for m in &squashed {
        text.push_str(&format!(
            "{} {} {} {}\n",
            terrace::format::SQUASHED_PREFIX,
            m.version(),
            m.name(),
            m.checksum()
        ));
    }
    text.push_str("-- migrate:up\n");
    text.push_str(&render::sql(&schema));
    let paths: Vec<&std::path::Path> = squashed.iter().filter_map(|m| m.path()).collect();
    let remove: Vec<String> = paths
        .iter()
        .filter_map(|p| p.file_name())
        .map(|n| n.to_string_lossy().into_owned())
        .collect();
    let has_sum = terrace::format::sum::sum_path(&config.dir).exists();
    let sum = if args.dry_run {
        has_sum.then(|| terrace::format::sum::sum_path(&config.dir))
    } else {
        write(&config.dir.join(&file), &text, &paths)?;
        crate::command::sum::rewrite_if_present(&config.dir)?
    };

    if out.is_json() {
        out.json(&SquashDoc {
            dry_run: args.dry_run,
            write: &file,
            sql: &text,
            remove: &remove,
            sum: sum.map(|p| p.display().to_string()),
        })?;
        return Ok(ExitCode::SUCCESS);
    }
    let (wrote, removed, rewrote) = if args.dry_run {
        ("would write", "would remove", "would rewrite")
    } else {
        ("wrote", "removed", "rewrote")
    };
    let mut report = format!(
        "{wrote} {file} in {}:\n{}\n{removed} {} file{}:\n",
        config.dir.display(),
        text.trim_end(),
        remove.len(),
        plural(remove.len())
    );
    for name in &remove {
        report.push_str(&format!("  {name}\n"));
    }
    if let Some(sum) = sum {
        report.push_str(&format!("{rewrote} {}\n", sum.display()));
    }
    if args.dry_run {
        report.push_str("nothing changed (dry run)");
    }
    out.print(report.trim_end())?;
    Ok(ExitCode::SUCCESS)
}

/// Writes the baseline (refusing to overwrite a file), then removes the files it
/// replaces.
fn write(
    baseline: &std::path::Path,
    text: &str,
    replaced: &[&std::path::Path],
) -> anyhow::Result<()> {
    use std::io::Write as _;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(baseline)
        .and_then(|mut file| file.write_all(text.as_bytes()).map(|()| file))
        .map_err(|e| {
            anyhow::Error::new(e).context(format!("cannot write {}", baseline.display()))
        })?;
    file.flush()?;
    for path in replaced {
        std::fs::remove_file(path).map_err(|e| {
            anyhow::Error::new(e).context(format!("cannot remove {}", path.display()))
        })?;
    }
    Ok(())
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
