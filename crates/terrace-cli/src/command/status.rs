//! `terrace status [--check]`: every migration with its state, the counts, and every
//! problem. Writes nothing. `--check` exits with 1 when anything is pending or wrong.
//! `--allow-newer` accepts applied migrations newer than every file of the folder: shown
//! as `newer (unknown here)` and named in a warning rather than a problem.

use crate::cli::StatusArgs;
use crate::config::Config;
use crate::connect::Access;
use crate::output::{Cell, Output, Style, plural};
use serde::Serialize;
use std::process::ExitCode;
use terrace::{AppliedStatus, Problem, RowState, Status, Warning};

#[derive(Serialize)]
struct StatusDoc<'a> {
    applied_count: usize,
    pending_count: usize,
    up_to_date: bool,
    applied: Vec<AppliedDoc<'a>>,
    pending: Vec<PendingDoc<'a>>,
    dirty: Vec<DirtyDoc<'a>>,
    problems: Vec<String>,
    newer_applied: Vec<crate::output::NewerDoc<'a>>,
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
    let (migrations, opened) = if database.is_sqlite() {
        // A SQLite file is opened, its schema and the history read, on another core
        // while the folder is read. Nothing is reported from there: its outcome is
        // looked at only after the folder's, in the order a sequential run reports
        // them. A server is not contacted before the folder has been read.
        std::thread::scope(|scope| {
            let opening = std::thread::Builder::new().spawn_scoped(scope, || {
                if database.is_missing_file() {
                    return None;
                }
                Some(database.open(Access::ReadOnly).map(|mut conn| {
                    // A table name that is not valid is left to the folder's turn.
                    let history = config
                        .table_only()
                        .ok()
                        .map(|list| list.read_history(&mut conn));
                    (conn, history)
                }))
            });
            let migrations = config.migrations_allowing(&args.newer);
            let opened = match opening {
                Ok(handle) => handle
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
                Err(_) => None,
            };
            (migrations, opened)
        })
    } else {
        (config.migrations_allowing(&args.newer), None)
    };
    let migrations = migrations?;
    crate::banner::record(config, &database);
    out.warn(migrations.warnings());
    let (mut conn, history) = match opened {
        Some(opened) => opened?,
        None => (database.open_read_only(out)?, None),
    };
    let status = match history {
        Some(history) => migrations.status_of(history?),
        None => migrations.status(&mut conn)?,
    };
    out.warn(&status.warnings);
    let failed = args.check && !status.is_up_to_date();
    if out.is_json() {
        out.json(&document(&status))?;
    } else {
        out.print(&text(status, out))?;
    }
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
        newer_applied: crate::output::newer_docs(&status.warnings),
    }
}

/// How an applied row is shown: its state, or what the problems and warnings say about
/// it.
fn label(
    applied: &AppliedStatus,
    problems: &[Problem],
    warnings: &[Warning],
) -> (&'static str, Style) {
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
            Problem::NewerApplied { version: v, .. } if *v == version => {
                return ("newer (unknown here)", Style::Bad);
            }
            _ => {}
        }
    }
    let allowed_newer = warnings
        .iter()
        .any(|w| matches!(w, Warning::NewerApplied { version: v, .. } if *v == version));
    if allowed_newer {
        return ("newer (unknown here)", Style::Warn);
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

/// The status as text. It takes the status, so that the table's cells take its
/// strings rather than copies of them.
fn text(status: Status, out: &Output) -> String {
    let dirty = status.dirty().count();
    let up_to_date = status.is_up_to_date();
    let (applied, pending) = (status.applied_count() - dirty, status.pending_count());
    let Status {
        applied: applied_rows,
        pending: pending_rows,
        problems,
        warnings,
    } = status;
    let mut rows: Vec<(u64, Vec<Cell>)> =
        Vec::with_capacity(applied_rows.len() + pending_rows.len());
    rows.extend(applied_rows.into_iter().map(|a| {
        let (state, style) = label(&a, &problems, &warnings);
        let row = vec![
            Cell::plain(a.row.version.to_string()),
            Cell::plain(a.row.name),
            Cell::plain(a.row.applied_at.unwrap_or_default()),
            Cell::styled(state, style),
        ];
        (a.row.version, row)
    }));
    rows.extend(pending_rows.into_iter().map(|p| {
        let row = vec![
            Cell::plain(p.version.to_string()),
            Cell::plain(p.name),
            Cell::plain(""),
            match &p.problem {
                None => Cell::styled("pending", Style::Warn),
                Some(problem) => Cell::styled(format!("pending: {}", detail(problem)), Style::Bad),
            },
        ];
        (p.version, row)
    }));
    // The history and the pending list are each in version order; only a pending
    // migration older than an applied one needs a sort.
    if !rows.is_sorted_by_key(|(version, _)| *version) {
        rows.sort_by_key(|(version, _)| *version);
    }
    let rows: Vec<Vec<Cell>> = rows.into_iter().map(|(_, row)| row).collect();

    let mut text = if rows.is_empty() {
        "no migrations, and none recorded".to_owned()
    } else {
        out.table(&["VERSION", "NAME", "APPLIED AT", "STATE"], &rows)
    };
    text.push_str(&format!("\n\n{applied} applied, {pending} pending"));
    if dirty > 0 {
        text.push_str(&format!(", {dirty} dirty"));
    }
    if up_to_date {
        text.push_str(&format!(": {}", out.paint(Style::Good, "up to date")));
    }
    let count = problems.len();
    if count > 0 {
        text.push_str(&format!(
            "\n\n{}",
            out.paint(Style::Bad, &format!("{count} problem{}:", plural(count)))
        ));
        for problem in &problems {
            text.push_str(&format!("\n  - {problem}"));
        }
    }
    text
}
