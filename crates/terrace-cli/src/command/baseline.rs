//! `terrace baseline V`: adopts an existing database by recording migrations 1 to V as
//! applied without running them. The library refuses if the history is not empty.

use crate::cli::BaselineArgs;
use crate::config::Config;
use crate::connect::Access;
use crate::output::{Output, plural};
use serde::Serialize;
use std::process::ExitCode;

#[derive(Serialize)]
struct BaselineDoc<'a> {
    baselined: Vec<MigrationDoc<'a>>,
}

#[derive(Serialize)]
struct MigrationDoc<'a> {
    version: u64,
    name: &'a str,
}

/// Runs `baseline`.
pub fn run(args: &BaselineArgs, config: &Config, out: &Output) -> anyhow::Result<ExitCode> {
    let database = config.location()?;
    let migrations = config.migrations()?;
    crate::banner::announce(config, &database, out);
    out.warn(migrations.warnings());
    let mut conn = database.open(Access::ReadWrite)?;
    let report = migrations.baseline_with(&mut conn, args.version, &mut |event| {
        out.lock_wait(&database, event);
    })?;
    if out.is_json() {
        out.json(&BaselineDoc {
            baselined: report
                .steps
                .iter()
                .map(|s| MigrationDoc {
                    version: s.version,
                    name: &s.name,
                })
                .collect(),
        })?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut text: String = report
        .steps
        .iter()
        .map(|s| format!("recorded {} {}\n", s.version, s.name))
        .collect();
    let n = report.count();
    text.push_str(&format!(
        "recorded {n} migration{} as applied without running {}",
        plural(n),
        if n == 1 { "it" } else { "them" }
    ));
    out.print(&text)?;
    Ok(ExitCode::SUCCESS)
}
