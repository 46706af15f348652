//! `terrace validate`: every check that runs before a migration — the files, the
//! versions, and (with a database) the history — without applying anything. Exits with
//! 1 when anything is wrong. With no database configured, checks the files alone.

use crate::config::Config;
use crate::output::{Output, Style, plural};
use serde::Serialize;
use std::process::ExitCode;

#[derive(Serialize)]
struct ValidateDoc {
    valid: bool,
    database_checked: bool,
    migrations: usize,
    problems: Vec<String>,
}

/// Runs `validate`.
pub fn run(config: &Config, out: &Output) -> anyhow::Result<ExitCode> {
    let database = match config.database {
        Some(_) => Some(config.location()?),
        None => None,
    };
    let migrations = config.migrations()?;
    if let Some(database) = &database {
        crate::banner::record(config, database);
    }
    out.warn(migrations.warnings());
    let database_checked = database.is_some();
    let problems = if let Some(database) = &database {
        let mut conn = database.open_read_only(out)?;
        match migrations.validate(&mut conn) {
            Ok(()) => Vec::new(),
            Err(terrace::Error::Invalid { problems }) => problems,
            Err(other) => return Err(other.into()),
        }
    } else {
        migrations.source_problems()
    };
    let count = migrations.list().len();

    if out.is_json() {
        out.json(&ValidateDoc {
            valid: problems.is_empty(),
            database_checked,
            migrations: count,
            problems: problems.iter().map(ToString::to_string).collect(),
        })?;
    } else if problems.is_empty() {
        let against = if database_checked {
            "checked against the history"
        } else {
            "files only: no database configured"
        };
        out.print(&format!(
            "{}: {count} migration{} in {}, {against}: no problems",
            out.paint(Style::Good, "valid"),
            plural(count),
            config.dir.display()
        ))?;
    } else {
        return Err(terrace::Error::Invalid { problems }.into());
    }
    Ok(if problems.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
