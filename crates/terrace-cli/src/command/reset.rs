//! `terrace reset --yes`: drops the tracking table so every migration counts as pending
//! again; the schema itself is left as it is. For development databases: it refuses
//! without `--yes`, and always where `terrace.toml` says `protected = true`.

use crate::cli::ResetArgs;
use crate::config::{Config, FILE_NAME};
use crate::connect::Access;
use crate::failure::Failure;
use crate::output::{Output, plural};
use serde::Serialize;
use std::process::ExitCode;

#[derive(Serialize)]
struct ResetDoc<'a> {
    table: &'a str,
    dropped: bool,
    rows: usize,
}

/// Runs `reset`.
pub fn run(args: &ResetArgs, config: &Config, out: &Output) -> anyhow::Result<ExitCode> {
    if config.protected {
        let file = config
            .file
            .as_ref()
            .map_or_else(|| FILE_NAME.to_owned(), |f| f.display().to_string());
        return Err(Failure::refused(format!(
            "refusing to reset: {file} marks this database as protected"
        ))
        .hint("reset is for development databases; `terrace rollback` undoes migrations one by one")
        .into());
    }
    if !args.yes {
        return Err(Failure::usage(
            "reset drops the migration history, so every migration counts as pending again; nothing was changed",
        )
        .hint("run `terrace reset --yes` to confirm")
        .into());
    }
    let database = config.location()?;
    let tracking = config.table_only()?;
    let mut conn = database.open(Access::ReadWrite)?;
    let report = tracking.reset_history(&mut conn)?;
    let table = tracking.table().as_str();
    if out.is_json() {
        out.json(&ResetDoc {
            table,
            dropped: report.dropped,
            rows: report.rows,
        })?;
    } else if report.dropped {
        out.print(&format!(
            "dropped table {table} ({} row{}); the schema itself was not changed",
            report.rows,
            plural(report.rows)
        ))?;
    } else {
        out.print(&format!("there is no table {table}: nothing to drop"))?;
    }
    Ok(ExitCode::SUCCESS)
}
