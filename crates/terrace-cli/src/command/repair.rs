//! `terrace repair`: accepts the migrations as they are now (current checksums and
//! names) and clears interrupted runs, printing each change. Exits with 1 if problems
//! remain that repair does not fix.

use crate::config::Config;
use crate::connect::Access;
use crate::failure::Failure;
use crate::output::{Output, plural};
use serde::Serialize;
use std::process::ExitCode;
use terrace::RepairChange;

#[derive(Serialize)]
struct RepairDoc {
    changes: Vec<ChangeDoc>,
    remaining: Vec<String>,
}

#[derive(Serialize)]
struct ChangeDoc {
    kind: &'static str,
    version: Option<u64>,
    message: String,
}

/// Runs `repair`.
pub fn run(config: &Config, out: &Output) -> anyhow::Result<ExitCode> {
    let database = config.location()?;
    let migrations = config.migrations()?;
    crate::banner::announce(config, &database, out);
    out.warn(migrations.warnings());
    let mut conn = database.open(Access::ReadWrite)?;
    let report = migrations.repair_with(&mut conn, &mut |event| out.lock_wait(&database, event))?;
    let remaining: Vec<String> = report.remaining.iter().map(ToString::to_string).collect();

    if out.is_json() {
        out.json(&RepairDoc {
            changes: report
                .changes
                .iter()
                .map(|change| {
                    let (kind, version) = describe(change);
                    ChangeDoc {
                        kind,
                        version,
                        message: change.to_string(),
                    }
                })
                .collect(),
            remaining: remaining.clone(),
        })?;
        return Ok(if remaining.is_empty() {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        });
    }

    let text = if report.changes.is_empty() {
        "nothing to repair".to_owned()
    } else {
        let n = report.changes.len();
        let mut text = format!("made {n} change{}:", plural(n));
        for change in &report.changes {
            text.push_str(&format!("\n  {change}"));
        }
        text
    };
    out.print(&text)?;
    if remaining.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    let n = remaining.len();
    let mut message = format!(
        "{n} problem{} remain{} that repair does not fix:",
        plural(n),
        if n == 1 { "s" } else { "" }
    );
    for problem in &remaining {
        message.push_str(&format!("\n  - {problem}"));
    }
    Err(Failure::refused(message).into())
}

/// A stable name for the change, and the version it concerns.
fn describe(change: &RepairChange) -> (&'static str, Option<u64>) {
    match change {
        RepairChange::Checksum { version, .. } => ("checksum", Some(*version)),
        RepairChange::Name { version, .. } => ("name", Some(*version)),
        RepairChange::ClearedStarted { version, .. } => ("cleared_started", Some(*version)),
        RepairChange::RestoredApplied { version, .. } => ("restored_applied", Some(*version)),
        _ => ("other", None),
    }
}
