//! `terrace status [--check]`: every migration with its state, the counts, and every
//! problem. Writes nothing. `--check` exits with 1 when anything is pending or wrong.

use crate::cli::StatusArgs;
use crate::config::Config;
use crate::output::{Cell, Output, Style, plural};
use serde::Serialize;
use std::process::ExitCode;
use terrace::{AppliedStatus, Problem, RowState, Status};

#[derive(Serialize)]
struct StatusDoc<'a> {
    applied_count: usize,
    pending_count: usize,
    up_to_date: bool,
    applied: Vec<AppliedDoc<'a>>,
    pending: Vec<PendingDoc<'a>>,
    dirty: Vec<DirtyDoc<'a>>,
    problems: Vec<String>,
}

#[derive(Serialize)]
struct AppliedDoc<'a> {
    version: u64,
    name: &'a str,
    applied_at: Option<&'a str>,
    checksum_ok: bool,
    checksum: Option<&'a str>,
    execution_ms: Option<i64>,
    state: &'static str,
}

#[derive(Serialize)]
struct PendingDoc<'a> {
    version: u64,
    name: &'a str,
    /// What keeps it from running (a draft's empty up section); `null` when ready.
    problem: Option<String>,
}

#[derive(Serialize)]
struct DirtyDoc<'a> {
    version: u64,
    name: &'a str,
    state: &'static str,
}

/// Runs `status`.
pub fn run(args: &StatusArgs, config: &Config, out: &Output) -> anyhow::Result<ExitCode> {
    let database = config.location()?;
    let migrations = config.migrations()?;
    crate::banner::record(config, &database);
    out.warn(migrations.warnings());
    let mut conn = database.open_read_only(out)?;
    let status = migrations.status(&mut conn)?;
    if out.is_json() {
        out.json(&document(&status))?;
    } else {
        out.print(&text(&status, out))?;
    }
    let failed = args.check && !status.is_up_to_date();
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

fn document(status: &Status) -> StatusDoc<'_> {
    StatusDoc {
        applied_count: status.applied_count(),
        pending_count: status.pending_count(),
        up_to_date: status.is_up_to_date(),
        applied: status
            .applied
            .iter()
            .map(|a| AppliedDoc {
                version: a.row.version,
                name: &a.row.name,
                applied_at: a.row.applied_at.as_deref(),
                checksum_ok: a.checksum_ok,
                checksum: a.row.checksum.as_deref(),
                execution_ms: a.row.execution_ms,
                state: a.row.state.as_str(),
            })
            .collect(),
        pending: status
            .pending
            .iter()
            .map(|p| PendingDoc {
                version: p.version,
                name: &p.name,
                problem: p.problem.as_ref().map(ToString::to_string),
            })
            .collect(),
        dirty: status
            .dirty()
            .map(|row| DirtyDoc {
                version: row.version,
                name: &row.name,
                state: row.state.as_str(),
            })
            .collect(),
        problems: status.problems.iter().map(ToString::to_string).collect(),
    }
}

/// How an applied row is shown: its state, or what the problems say about it.
fn label(applied: &AppliedStatus, problems: &[Problem]) -> (&'static str, Style) {
    let version = applied.row.version;
    match applied.row.state {
        RowState::Started => return ("dirty (run interrupted)", Style::Bad),
        RowState::Reverting => return ("dirty (rollback interrupted)", Style::Bad),
        _ => {}
    }
    for problem in problems {
        match problem {
            Problem::Missing { version: v, .. } if *v == version => {
                return ("missing", Style::Bad);
            }
            Problem::NameMismatch { version: v, .. } if *v == version => {
                return ("renamed", Style::Bad);
            }
            _ => {}
        }
    }
    if applied.checksum_ok {
        ("applied", Style::Good)
    } else {
        ("edited", Style::Bad)
    }
}

/// What is wrong with a pending migration, without the file name its row already
/// shows.
fn detail(problem: &Problem) -> String {
    match problem {
        Problem::File { detail, .. } => detail.clone(),
        other => other.to_string(),
    }
}

fn text(status: &Status, out: &Output) -> String {
    let mut rows: Vec<(u64, Vec<Cell>)> = status
        .applied
        .iter()
        .map(|a| {
            let (state, style) = label(a, &status.problems);
            let row = vec![
                Cell::plain(a.row.version.to_string()),
                Cell::plain(a.row.name.clone()),
                Cell::plain(a.row.applied_at.clone().unwrap_or_default()),
                Cell::styled(state, style),
            ];
            (a.row.version, row)
        })
        .collect();
    rows.extend(status.pending.iter().map(|p| {
        let row = vec![
            Cell::plain(p.version.to_string()),
            Cell::plain(p.name.clone()),
            Cell::plain(""),
            match &p.problem {
                None => Cell::styled("pending", Style::Warn),
                Some(problem) => Cell::styled(format!("pending: {}", detail(problem)), Style::Bad),
            },
        ];
        (p.version, row)
    }));
    rows.sort_by_key(|(version, _)| *version);
    let rows: Vec<Vec<Cell>> = rows.into_iter().map(|(_, row)| row).collect();

    let mut text = if rows.is_empty() {
        "no migrations, and none recorded".to_owned()
    } else {
        out.table(&["VERSION", "NAME", "APPLIED AT", "STATE"], &rows)
    };
    let dirty = status.dirty().count();
    let (applied, pending) = (status.applied_count() - dirty, status.pending_count());
    text.push_str(&format!("\n\n{applied} applied, {pending} pending"));
    if dirty > 0 {
        text.push_str(&format!(", {dirty} dirty"));
    }
    if status.is_up_to_date() {
        text.push_str(&format!(": {}", out.paint(Style::Good, "up to date")));
    }
    let problems = status.problems.len();
    if problems > 0 {
        text.push_str(&format!(
            "\n\n{}",
            out.paint(
                Style::Bad,
                &format!("{problems} problem{}:", plural(problems))
            )
        ));
        for problem in &status.problems {
            text.push_str(&format!("\n  - {problem}"));
        }
    }
    text
}
