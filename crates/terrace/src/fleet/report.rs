//! The report of a fleet job: an append-only log, one JSON object a line per finished
//! target, flushed as each is written, so that a job killed at any moment leaves every
//! finished target on record (at worst a last line cut short, which reads as not done).

use super::{Command, Outcome, TargetReport};
use crate::Error;
use std::collections::HashSet;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

/// A report file opened for appending.
#[derive(Debug)]
pub struct ReportLog {
    file: std::fs::File,
    path: PathBuf,
}

impl ReportLog {
    /// Opens `path` for appending, creating it if needed: a resumed job adds to the
    /// report it resumes.
    pub fn append(path: &Path) -> Result<Self, Error> {
        Self::open(path, false)
    }

    /// Creates `path` empty (replacing an earlier job's report), for appending.
    pub fn create(path: &Path) -> Result<Self, Error> {
        Self::open(path, true)
    }

    fn open(path: &Path, truncate: bool) -> Result<Self, Error> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .write(true)
            .append(!truncate)
            .truncate(truncate)
            .open(path)
            .map_err(|source| Error::FleetFile {
                action: "write the report",
                path: path.to_owned(),
                source,
            })?;
        Ok(ReportLog {
            file,
            path: path.to_owned(),
        })
    }

    /// Appends one finished target as a line: `command`, `target` (any password
    /// hidden), `line`, `outcome`, `applied`, `pending`, `error`, `elapsed_ms` and the
    /// migrations' `fingerprint`, written in one call and flushed.
    pub fn write(
        &mut self,
        command: Command,
        fingerprint: &str,
        report: &TargetReport,
    ) -> Result<(), Error> {
        let mut line =
            serde_json::to_string(&line_of(command, fingerprint, report)).unwrap_or_default();
        line.push('\n');
        self.file
            .write_all(line.as_bytes())
            .and_then(|()| self.file.flush())
            .map_err(|source| Error::FleetFile {
                action: "write the report",
                path: self.path.clone(),
                source,
            })
    }

    /// The targets a report records as done by `command` with migrations of this
    /// `fingerprint`: any outcome but `failed` (a `skipped` one was done before). Lines
    /// that are not such records (one cut short by a kill) are ignored. A target that
    /// failed after it was done is still done: its migrations were applied.
    pub fn done(
        path: &Path,
        command: Command,
        fingerprint: &str,
    ) -> Result<HashSet<String>, Error> {
        let file = std::fs::File::open(path).map_err(|source| Error::FleetFile {
            action: "read the report",
            path: path.to_owned(),
            source,
        })?;
        let mut done = HashSet::new();
        for line in std::io::BufReader::new(file).lines() {
            let line = line.map_err(|source| Error::FleetFile {
                action: "read the report",
                path: path.to_owned(),
                source,
            })?;
            let Ok(record) = serde_json::from_str::<serde_json::Value>(&line) else {
                continue;
            };
            let field = |name: &str| record.get(name).and_then(serde_json::Value::as_str);
            if field("command") == Some(command.as_str())
                && field("fingerprint") == Some(fingerprint)
                && field("outcome").is_some_and(|o| o != "failed")
                && let Some(target) = field("target")
            {
                done.insert(target.to_owned());
            }
        }
        Ok(done)
    }
}

/// The JSON object of one report line.
fn line_of(command: Command, fingerprint: &str, report: &TargetReport) -> serde_json::Value {
    let (applied, pending, error) = match &report.outcome {
        Outcome::Applied { count } => (*count, 0, None),
        Outcome::Pending { count } => (0, *count, None),
        Outcome::Failed { error } => (0, 0, Some(error.as_str())),
        _ => (0, 0, None),
    };
    serde_json::json!({
        "command": command.as_str(),
        "target": report.target,
        "line": report.line,
        "outcome": report.outcome.as_str(),
        "applied": applied,
        "pending": pending,
        "error": error,
        "elapsed_ms": u64::try_from(report.elapsed.as_millis()).unwrap_or(u64::MAX),
        "fingerprint": fingerprint,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn report(target: &str, outcome: Outcome) -> TargetReport {
        TargetReport {
            target: target.to_owned(),
            line: None,
            outcome,
            elapsed: Duration::ZERO,
        }
    }

    #[test]
    fn done_targets_are_those_not_failed_with_the_same_migrations() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("report.jsonl");
        let mut log = ReportLog::append(&path).unwrap();
        let m = Command::Migrate;
        log.write(m, "f1", &report("a", Outcome::Applied { count: 2 }))
            .unwrap();
        log.write(m, "f1", &report("b", Outcome::UpToDate)).unwrap();
        log.write(m, "f1", &report("c", Outcome::Failed { error: "x".into() }))
            .unwrap();
        log.write(m, "f1", &report("d", Outcome::Skipped)).unwrap();
        log.write(m, "f0", &report("e", Outcome::Applied { count: 1 }))
            .unwrap();
        log.write(Command::Status, "f1", &report("f", Outcome::UpToDate))
            .unwrap();
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap()
            .write_all(b"{\"command\":\"migrate\",\"target\":\"g\",\"outc")
            .unwrap();
        let mut done: Vec<_> = ReportLog::done(&path, m, "f1")
            .unwrap()
            .into_iter()
            .collect();
        done.sort();
        assert_eq!(done, ["a", "b", "d"]);
    }
}
