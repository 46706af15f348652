//! `terrace validate`: every check that runs before a migration — the files, the
//! versions, and (with a database) the history — without applying anything. Exits with
//! 1 when anything is wrong. With no database configured, checks the files alone. A
//! `terrace.sum` that does not match the files is a problem here (only a warning for
//! the other commands). `--allow-newer` accepts applied migrations newer than every
//! file of the folder, naming them in a warning.

use crate::cli::ValidateArgs;
use crate::config::Config;
use crate::output::{Output, Style, plural};
use serde::Serialize;
use std::process::ExitCode;
use terrace::{Problem, Warning};

#[derive(Serialize)]
struct ValidateDoc<'a> {
    valid: bool,
    database_checked: bool,
    migrations: usize,
    problems: Vec<String>,
    newer_applied: Vec<crate::output::NewerDoc<'a>>,
}

/// Runs `validate`.
pub fn run(args: &ValidateArgs, config: &Config, out: &Output) -> anyhow::Result<ExitCode> {
    let database = match config.database {
        Some(_) => Some(config.location()?),
        None => None,
    };
    let migrations = config.migrations_allowing(&args.newer)?;
    if let Some(database) = &database {
        crate::banner::record(config, database);
    }
    // The sum file's differences are problems here; the other warnings stay warnings.
    let (sum_problems, warnings): (Vec<_>, Vec<_>) = migrations
        .warnings()
        .iter()
        .cloned()
        .partition(|w| matches!(w, Warning::Sum { .. }));
    out.warn(&warnings);
    let database_checked = database.is_some();
    let (mut problems, newer) = if let Some(database) = &database {
        let mut conn = database.open_read_only(out)?;
        let status = migrations.status(&mut conn)?;
        (status.problems, status.warnings)
    } else {
        (migrations.source_problems(), Vec::new())
    };
    out.warn(&newer);
    problems.extend(
        sum_problems
            .into_iter()
            .filter_map(|warning| match warning {
                Warning::Sum { path, line, detail } => Some(Problem::File { path, line, detail }),
                _ => None,
            }),
    );
    let count = migrations.list().len();

    if out.is_json() {
        out.json(&ValidateDoc {
            valid: problems.is_empty(),
            database_checked,
            migrations: count,
            problems: problems.iter().map(ToString::to_string).collect(),
            newer_applied: crate::output::newer_docs(&newer),
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
