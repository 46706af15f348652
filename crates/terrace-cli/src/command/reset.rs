//! `terrace reset --yes`: drops the tracking table so every migration counts as pending
//! again; the schema itself is left as it is, so the output points to `baseline` to
//! adopt it. For development databases: it refuses without `--yes`, and always where
//! `terrace.toml` says `protected = true`.

use crate::cli::ResetArgs;
use crate::config::Config;
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
    config.refuse_if_protected("reset")?;
    if !args.yes {
        return Err(Failure::usage(
            "reset drops the migration history, so every migration counts as pending again; nothing was changed",
        )
        .hint("run `terrace reset --yes` to confirm")
        .into());
    }
    let database = config.location()?;
    let tracking = config.table_only()?;
    crate::banner::announce(config, &database, out);
    let mut conn = database.open(Access::ReadWrite)?;
    // The newest recorded version, read first so that the output can say which
    // `baseline` adopts the schema again; a history that cannot be read only loses that.
    let latest = tracking
        .status(&mut conn)
        .ok()
        .and_then(|status| status.applied.iter().map(|a| a.row.version).max());
    let report =
        tracking.reset_history_with(&mut conn, &mut |event| out.lock_wait(&database, event))?;
    let table = tracking.table().as_str();
    if out.is_json() {
        out.json(&ResetDoc {
            table,
            dropped: report.dropped,
            rows: report.rows,
        })?;
    } else if report.dropped {
        out.print(&format!(
            "dropped table {table} ({} row{}): the migration history is gone, the schema \
             itself was not changed",
            report.rows,
            plural(report.rows)
        ))?;
        out.print(&adopt_hint(latest))?;
    } else {
        out.print(&format!("there is no table {table}: nothing to drop"))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// How to adopt the schema the reset left behind: `baseline` with the newest version the
/// history held, when it could be read.
fn adopt_hint(latest: Option<u64>) -> String {
    match latest {
        Some(version) => format!(
            "to adopt the existing schema, run `terrace baseline {version}` (the last version it has)"
        ),
        None => "to adopt the existing schema, run `terrace baseline VERSION` with the last \
                 version it has"
            .to_owned(),
    }
}
