//! `terrace fleet migrate|status|validate`: one migrations folder, many databases.
//! Gathers the targets and the options, hands them to [`terrace::fleet::run`], shows
//! progress as targets finish (a line each when stderr is not a terminal, one line kept
//! up to date when it is) and ends with a summary table, or one JSON document. The
//! report file, when asked for, gets a line per finished target as it finishes.

use crate::cli::{FleetArgs, FleetCommand, FleetTargets};
use crate::config::Config;
use crate::failure::Failure;
use crate::output::{Cell, Output, Style, plural};
use serde::Serialize;
use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::time::{Duration, Instant};
use terrace::fleet::{self, Command, Entry, FleetEvent, Options, Outcome, ReportLog, Summary};

/// The JSON document of a fleet command.
#[derive(Serialize)]
struct FleetDoc<'a> {
    command: &'static str,
    fingerprint: &'a str,
    targets: usize,
    up_to_date: usize,
    applied: usize,
    migrations_applied: usize,
    pending: usize,
    failed: usize,
    skipped: usize,
    stopped: bool,
    report: Option<String>,
    failures: &'a [FailureDoc],
}

/// One failed target.
#[derive(Serialize)]
struct FailureDoc {
    target: String,
    line: Option<usize>,
    error: String,
}

/// Runs `fleet migrate`, `fleet status` or `fleet validate`.
pub fn run(args: &FleetArgs, config: &Config, out: &Output) -> anyhow::Result<ExitCode> {
    let (command, targets) = match &args.command {
        FleetCommand::Migrate(targets) => (Command::Migrate, targets),
        FleetCommand::Status(targets) => (Command::Status, targets),
        FleetCommand::Validate(targets) => (Command::Validate, targets),
    };
    let migrations = config.migrations()?;
    out.warn(migrations.warnings());
    // Broken migrations stop the job before any target is opened.
    let problems = migrations.source_problems();
    if !problems.is_empty() {
        return Err(terrace::Error::Invalid { problems }.into());
    }
    let fingerprint = fleet::fingerprint(&migrations);
    let options = Options {
        jobs: targets
            .jobs
            .map_or_else(fleet::default_jobs, |n| n as usize),
        fail_fast: targets.fail_fast,
        canary: targets.canary,
        wait: config.wait,
        done: match &targets.resume {
            Some(path) => ReportLog::done(path, command, &fingerprint)?,
            None => Default::default(),
        },
    };
    let mut log = match (&targets.report, &targets.resume) {
        (Some(path), _) => Some((ReportLog::create(path)?, path)),
        (None, Some(path)) => Some((ReportLog::append(path)?, path)),
        (None, None) => None,
    };
    let mut progress = Progress::new(out);
    let (source, total) = sources(targets, config, progress.draws_a_bar())?;
    progress.total = total;
    let mut failures = Vec::new();
    let mut write_error = None;
    let summary = fleet::run(&migrations, command, source, &options, &mut |event| {
        if let FleetEvent::Finished(report) = &event {
            if let Some((log, _)) = &mut log
                && let Err(err) = log.write(command, &fingerprint, report)
            {
                write_error.get_or_insert(err);
            }
            if let Outcome::Failed { error } = &report.outcome {
                failures.push(FailureDoc {
                    target: report.target.clone(),
                    line: report.line,
                    error: error.clone(),
                });
            }
        }
        progress.show(&event);
    });
    progress.finish();
    if let Some(err) = write_error {
        return Err(err.into());
    }
    let report_path = log.map(|(_, path)| path.display().to_string());
    if out.is_json() {
        out.json(&FleetDoc {
            command: command.as_str(),
            fingerprint: &fingerprint,
            targets: summary.total(),
            up_to_date: summary.up_to_date,
            applied: summary.applied,
            migrations_applied: summary.migrations_applied,
            pending: summary.pending,
            failed: summary.failed,
            skipped: summary.skipped,
            stopped: summary.stopped,
            report: report_path,
            failures: &failures,
        })?;
    } else {
        print_summary(out, command, &summary, &failures, report_path.as_deref())?;
    }
    Ok(if summary.failed > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// The targets the arguments name, as one iterator, and how many there are if
/// `count` asks (a first pass over the file or folder, streamed too).
fn sources(
    targets: &FleetTargets,
    config: &Config,
    count: bool,
) -> anyhow::Result<(Box<dyn Iterator<Item = Entry> + Send>, Option<usize>)> {
    if let Some(path) = &targets.targets {
        let total = count.then(|| fleet::targets_file(path).map(Iterator::count));
        return Ok((
            Box::new(fleet::targets_file(path)?),
            total.and_then(Result::ok),
        ));
    }
    if let Some(pattern) = &targets.glob {
        let total = count.then(|| fleet::glob(pattern).map(Iterator::count));
        return Ok((Box::new(fleet::glob(pattern)?), total.and_then(Result::ok)));
    }
    let server = config.database.as_ref().ok_or_else(|| {
        Failure::usage(
            "--databases and --schemas need the server's URL: --database postgres://… or mysql://…",
        )
    })?;
    let databases = match (&targets.databases, &targets.schemas) {
        (_, Some(pattern)) => fleet::schemas(&server.url, pattern, config.wait)?,
        (pattern, None) => {
            fleet::databases(&server.url, pattern.as_deref().unwrap_or("%"), config.wait)?
        }
    };
    let total = databases.len();
    Ok((Box::new(databases.into_iter()), Some(total)))
}

/// Progress on stderr (text output, not `-q`): on a terminal, one line of counts kept
/// up to date, failures printed above it; otherwise a plain line per finished target.
struct Progress {
    enabled: bool,
    terminal: bool,
    started: Instant,
    /// How many targets there are, when known (counted only for the terminal's bar).
    total: Option<usize>,
    /// When the bar was last drawn: it is redrawn at most ten times a second.
    drawn: Option<Instant>,
    running: usize,
    finished: usize,
    failed: usize,
}

impl Progress {
    fn new(out: &Output) -> Self {
        Progress {
            enabled: !out.is_json() && !out.is_quiet(),
            terminal: std::io::stderr().is_terminal(),
            started: Instant::now(),
            total: None,
            drawn: None,
            running: 0,
            finished: 0,
            failed: 0,
        }
    }

    /// Whether the bar is drawn (and so worth knowing the number of targets for).
    fn draws_a_bar(&self) -> bool {
        self.enabled && self.terminal
    }

    fn show(&mut self, event: &FleetEvent<'_>) {
        let line = match event {
            FleetEvent::Started { .. } => {
                self.running += 1;
                None
            }
            FleetEvent::Finished(report) => {
                if report.outcome != Outcome::Skipped {
                    self.running = self.running.saturating_sub(1);
                }
                self.finished += 1;
                self.failed += usize::from(report.outcome.is_failed());
                let at = report
                    .line
                    .map_or_else(String::new, |line| format!(" (line {line})"));
                let what = match &report.outcome {
                    Outcome::UpToDate => "up to date".to_owned(),
                    Outcome::Applied { count } => format!("applied {count}"),
                    Outcome::Pending { count } => format!("{count} pending"),
                    Outcome::Failed { error } => format!("failed: {error}"),
                    _ => "skipped (done before)".to_owned(),
                };
                let shown_always = self.terminal && report.outcome.is_failed();
                (!self.terminal || shown_always).then(|| format!("{}{at}: {what}", report.target))
            }
            _ => None,
        };
        if !self.enabled {
            return;
        }
        if self.terminal && line.is_none() {
            let now = Instant::now();
            if self
                .drawn
                .is_some_and(|at| now.duration_since(at) < Duration::from_millis(100))
            {
                return;
            }
            self.drawn = Some(now);
        }
        let mut stderr = std::io::stderr().lock();
        if self.terminal {
            let _ = write!(stderr, "\r\x1b[K");
        }
        if let Some(line) = line {
            let _ = writeln!(stderr, "{line}");
        }
        if self.terminal {
            let line = crate::progress::fleet_line(
                self.finished,
                self.total,
                self.failed,
                self.running,
                self.started.elapsed(),
            );
            let _ = write!(stderr, "{line}");
        }
        let _ = stderr.flush();
    }

    fn finish(&self) {
        if self.enabled && self.terminal {
            let _ = write!(std::io::stderr().lock(), "\r\x1b[K");
        }
    }
}

/// The summary table, then the failed targets.
fn print_summary(
    out: &Output,
    command: Command,
    summary: &Summary,
    failures: &[FailureDoc],
    report: Option<&str>,
) -> std::io::Result<()> {
    let mut rows = Vec::new();
    let mut row = |name: &str, count: usize, detail: String, style: Style| {
        if count > 0 {
            rows.push(vec![
                Cell::styled(name, style),
                Cell::plain(count.to_string()),
                Cell::plain(detail),
            ]);
        }
    };
    row("up to date", summary.up_to_date, String::new(), Style::Good);
    let n = summary.migrations_applied;
    row(
        "applied",
        summary.applied,
        format!("{n} migration{} in all", plural(n)),
        Style::Good,
    );
    row(
        "pending",
        summary.pending,
        "migrations to apply".to_owned(),
        Style::Warn,
    );
    row(
        "skipped",
        summary.skipped,
        "done before (--resume)".to_owned(),
        Style::Dim,
    );
    row("failed", summary.failed, String::new(), Style::Bad);
    let total = summary.total();
    out.print(&format!(
        "fleet {}: {total} target{}",
        command.as_str(),
        plural(total)
    ))?;
    if !rows.is_empty() {
        out.print(&out.table(&["outcome", "targets", ""], &rows))?;
    }
    if !failures.is_empty() {
        let rows: Vec<Vec<Cell>> = failures
            .iter()
            .map(|f| {
                vec![
                    Cell::styled(f.target.clone(), Style::Bad),
                    Cell::plain(f.line.map_or_else(String::new, |l| l.to_string())),
                    Cell::plain(f.error.clone()),
                ]
            })
            .collect();
        out.print(&out.table(&["failed target", "line", "error"], &rows))?;
    }
    if summary.stopped {
        out.print("stopped: targets were left unrun after a failure (--fail-fast or --canary)")?;
    }
    if let Some(report) = report {
        out.print(&format!("report: {report}"))?;
    }
    Ok(())
}
