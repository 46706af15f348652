//! `terrace renumber [FILE…] [--dry-run]`: gives migrations that share a version (two
//! branches that each added one) the next free versions, renaming their files.
//!
//! Which files move is decided by `terrace::format::renumber` (pure): the FILEs named,
//! or, without any, what the configured database has not applied and what collides.
//! The database is opened read-only, only to read its history. The renames are
//! checked before the first one and undone on a failure; `terrace.sum`, when the
//! folder has one, is rewritten afterwards.

use crate::cli::RenumberArgs;
use crate::config::Config;
use crate::failure::Failure;
use crate::output::{Output, plural};
use anyhow::Context;
use serde::Serialize;
use std::path::Path;
use std::process::ExitCode;
use terrace::format::numbering::list_numbered;
use terrace::format::renumber::{self, Move};

#[derive(Serialize)]
struct RenumberDoc<'a> {
    dry_run: bool,
    database_checked: bool,
    moves: Vec<MoveDoc<'a>>,
    /// The sum file rewritten, if the folder has one (never on a dry run).
    sum: Option<&'a Path>,
}

#[derive(Serialize)]
struct MoveDoc<'a> {
    from: &'a str,
    to: &'a str,
    from_version: u64,
    to_version: u64,
}

/// Runs `renumber`.
pub fn run(args: &RenumberArgs, config: &Config, out: &Output) -> anyhow::Result<ExitCode> {
    let dir = config.shown_dir();
    let files = list_numbered(dir)
        .with_context(|| format!("cannot read the migrations folder {}", dir.display()))?;
    let named = args
        .files
        .iter()
        .map(|file| in_folder(dir, file))
        .collect::<Result<Vec<String>, Failure>>()?;
    let applied = match config.database {
        Some(_) => Some(applied(config, out)?),
        None => None,
    };
    let planned = if named.is_empty() {
        renumber::plan_sequential(&files, applied.as_deref())
    } else {
        renumber::plan_named(&files, &named, applied.as_deref().unwrap_or_default())
    };
    let moves = planned.map_err(|problem| Failure::refused(problem.to_string()))?;
    let mut sum = None;
    if !args.dry_run {
        renumber::apply(dir, &moves)
            .map_err(|problem| Failure::refused(format!("in {}: {problem}", dir.display())))?;
        sum = crate::command::sum::rewrite_if_present(dir)?;
    }

    if out.is_json() {
        out.json(&RenumberDoc {
            dry_run: args.dry_run,
            database_checked: applied.is_some(),
            moves: moves
                .iter()
                .map(|m| MoveDoc {
                    from: &m.from,
                    to: &m.to,
                    from_version: m.from_version,
                    to_version: m.to_version,
                })
                .collect(),
            sum: sum.as_deref(),
        })?;
    } else {
        out.print(&text(&moves, args.dry_run, sum.as_deref()))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// What the database has applied: each history row's version and name.
fn applied(config: &Config, out: &Output) -> anyhow::Result<Vec<(u64, String)>> {
    let database = config.location()?;
    let tracking = config.table_only()?;
    crate::banner::record(config, &database);
    let mut conn = database.open_read_only(out)?;
    let status = tracking.status(&mut conn)?;
    Ok(status
        .applied
        .into_iter()
        .map(|a| (a.row.version, a.row.name))
        .collect())
}

/// The file name of a FILE argument, which must be in the migrations folder: a bare
/// file name is taken as one of the folder's.
fn in_folder(dir: &Path, file: &Path) -> Result<String, Failure> {
    let name = file
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| Failure::usage(format!("{} is not a migration file", file.display())))?;
    let parent = file.parent().filter(|p| !p.as_os_str().is_empty());
    if let Some(parent) = parent {
        let same = match (parent.canonicalize(), dir.canonicalize()) {
            (Ok(parent), Ok(dir)) => parent == dir,
            _ => false,
        };
        if !same {
            return Err(Failure::usage(format!(
                "{} is not in the migrations folder {}",
                file.display(),
                dir.display()
            )));
        }
    }
    Ok(name.to_owned())
}

fn text(moves: &[Move], dry_run: bool, sum: Option<&Path>) -> String {
    if moves.is_empty() {
        return "nothing to renumber: every migration has a version of its own, without gaps"
            .to_owned();
    }
    let n = moves.len();
    let mut text = if dry_run {
        format!("would renumber {n} migration{}:", plural(n))
    } else {
        format!("renumbered {n} migration{}:", plural(n))
    };
    for m in moves {
        text.push_str(&format!("\n  {} → {}", m.from, m.to));
    }
    if dry_run {
        text.push_str("\n(dry run: nothing was renamed)");
    }
    if let Some(sum) = sum {
        text.push_str(&format!("\nrewrote {}", sum.display()));
    }
    text
}
