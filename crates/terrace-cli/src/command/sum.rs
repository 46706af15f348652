//! `terrace sum`: writes the migrations folder's `terrace.sum` (see
//! [`terrace::format::sum`]) for the files as they are, whatever the file held before —
//! git conflict markers included. `init` creates the file; `new` and `renumber`
//! rewrite it when the folder has one.

use crate::config::Config;
use crate::output::{Output, plural};
use anyhow::Context;
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use terrace::format::sum::sum_path;

#[derive(Serialize)]
struct SumDoc<'a> {
    path: &'a Path,
    files: usize,
    total: String,
}

/// Runs `sum`.
pub fn run(config: &Config, out: &Output) -> anyhow::Result<ExitCode> {
    let (path, sum) = write(config.shown_dir())?;
    let files = sum.entries.len();
    if out.is_json() {
        out.json(&SumDoc {
            path: &path,
            files,
            total: sum.total(),
        })?;
    } else {
        out.print(&format!(
            "wrote {}: {files} migration file{}",
            path.display(),
            plural(files)
        ))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Writes `dir`'s sum file for its files as they are now.
pub fn write(dir: &Path) -> anyhow::Result<(PathBuf, terrace::format::Sum)> {
    let folder = terrace::format::read_folder(dir)
        .with_context(|| format!("cannot read the migrations folder {}", dir.display()))?;
    let path = sum_path(dir);
    let sum = terrace::format::write_sum(dir, &folder)
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok((path, sum))
}

/// Rewrites `dir`'s sum file if it has one, returning its path then.
pub fn rewrite_if_present(dir: &Path) -> anyhow::Result<Option<PathBuf>> {
    if !sum_path(dir).exists() {
        return Ok(None);
    }
    Ok(Some(write(dir)?.0))
}
