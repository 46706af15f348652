//! Fleets: one list of migrations run against many databases (a database per tenant)
//! as one job.
//!
//! Targets come as an iterator ([`targets_file`], [`glob`], [`databases`], [`schemas`] or any
//! iterator of [`Entry`]), pulled one at a time by a pool of worker threads, so memory
//! stays flat in the number of targets. Each target gets its own connection and the
//! migration lock of its own database, exactly as a single `run` would; one target's
//! failure is recorded as its [`Outcome`] and the others go on (unless
//! [`Options::fail_fast`]). Every finished target is reported to the caller, who can
//! append it to a [`ReportLog`]; [`ReportLog::done`] reads such a log back so that a
//! resumed job skips the targets already done with the same migrations.
//!
//! ```no_run
//! use terrace::fleet::{self, Command, Options, ReportLog};
//! # fn main() -> Result<(), terrace::Error> {
//! let migrations = terrace::Migrations::from_dir("migrations")?;
//! let fingerprint = fleet::fingerprint(&migrations);
//! let mut log = ReportLog::append("fleet-report.jsonl".as_ref())?;
//! let summary = fleet::run(
//!     &migrations,
//!     Command::Migrate,
//!     fleet::glob("tenants/*.db")?,
//!     &Options::default(),
//!     &mut |event| {
//!         if let fleet::FleetEvent::Finished(report) = event {
//!             let _ = log.write(Command::Migrate, &fingerprint, report);
//!         }
//!     },
//! );
//! assert_eq!(summary.failed, 0);
//! # Ok(())
//! # }
//! ```

mod report;
mod targets;

pub use report::ReportLog;
pub use targets::{Entry, databases, glob, schemas, targets_file};

use crate::connection::{LeaseKeeper, redact};
use crate::{Access, ConnectOptions, Connection, DatabaseUrl, LockMode, Migrations, Target};
use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, mpsc};
use std::time::{Duration, Instant};

/// What a fleet job does to each target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    /// Apply the pending migrations ([`Migrations::run`]).
    Migrate,
    /// Read each target's status ([`Migrations::status`]); changes nothing.
    Status,
    /// Validate each target's history ([`Migrations::validate`]); changes nothing.
    Validate,
}

impl Command {
    /// The command's name, as the report records it.
    pub fn as_str(self) -> &'static str {
        match self {
            Command::Migrate => "migrate",
            Command::Status => "status",
            Command::Validate => "validate",
        }
    }

    fn access(self) -> Access {
        match self {
            Command::Migrate => Access::ReadWrite,
            Command::Status | Command::Validate => Access::ReadOnly,
        }
    }
}

/// What happened to one target.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outcome {
    /// Nothing was pending (and, for `validate`, nothing was wrong).
    UpToDate,
    /// `migrate` applied this many migrations.
    Applied {
        /// How many.
        count: usize,
    },
    /// `status` or `validate`: this many migrations are pending, nothing is wrong.
    Pending {
        /// How many.
        count: usize,
    },
    /// The target failed: a bad URL, a connection refused, a problem found, a migration
    /// that failed. The text is the error with its causes, any password hidden.
    Failed {
        /// The error.
        error: String,
    },
    /// A resumed job found the target already done with the same migrations.
    Skipped,
}

impl Outcome {
    /// The outcome's name, as the report records it: `up_to_date`, `applied`,
    /// `pending`, `failed`, `skipped`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Outcome::UpToDate => "up_to_date",
            Outcome::Applied { .. } => "applied",
            Outcome::Pending { .. } => "pending",
            Outcome::Failed { .. } => "failed",
            Outcome::Skipped => "skipped",
        }
    }

    /// Whether the target failed.
    pub fn is_failed(&self) -> bool {
        matches!(self, Outcome::Failed { .. })
    }
}

/// One finished target.
#[derive(Debug, Clone)]
pub struct TargetReport {
    /// The target's URL (or the text of a line that is no URL), any password hidden.
    pub target: String,
    /// The line of the targets file it came from, if it came from one.
    pub line: Option<usize>,
    /// What happened.
    pub outcome: Outcome,
    /// How long it took.
    pub elapsed: Duration,
}

/// What a job tells its caller as it goes.
#[derive(Debug)]
#[non_exhaustive]
pub enum FleetEvent<'a> {
    /// A worker started on a target (its URL, any password hidden).
    Started {
        /// The target.
        target: &'a str,
    },
    /// A target finished.
    Finished(&'a TargetReport),
}

/// How a job runs.
#[derive(Debug, Clone)]
pub struct Options {
    /// How many targets run at once (each on its own connection); at least 1.
    pub jobs: usize,
    /// Stop starting targets after the first failure.
    pub fail_fast: bool,
    /// Run this many targets first, and stop there if any of them fails.
    pub canary: usize,
    /// How long to retry a server that refuses connections.
    pub wait: Duration,
    /// Targets to skip (reported as [`Outcome::Skipped`]), by their URL with any
    /// password hidden: what [`ReportLog::done`] returns.
    pub done: HashSet<String>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            jobs: default_jobs(),
            fail_fast: false,
            canary: 0,
            wait: Duration::ZERO,
            done: HashSet::new(),
        }
    }
}

/// The default number of workers: the machine's processors, at least 2 and at most 16.
pub fn default_jobs() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get().clamp(2, 16))
}

/// The counts of a finished job.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// Targets with nothing pending.
    pub up_to_date: usize,
    /// Targets where migrations were applied.
    pub applied: usize,
    /// Migrations applied over all targets.
    pub migrations_applied: usize,
    /// Targets with migrations pending (`status`, `validate`).
    pub pending: usize,
    /// Targets that failed.
    pub failed: usize,
    /// Targets skipped as already done.
    pub skipped: usize,
    /// Whether the job stopped before every target ran (`fail_fast`, or a failed
    /// canary).
    pub stopped: bool,
}

impl Summary {
    fn count(&mut self, outcome: &Outcome) {
        match outcome {
            Outcome::UpToDate => self.up_to_date += 1,
            Outcome::Applied { count } => {
                self.applied += 1;
                self.migrations_applied += count;
            }
            Outcome::Pending { .. } => self.pending += 1,
            Outcome::Failed { .. } => self.failed += 1,
            Outcome::Skipped => self.skipped += 1,
        }
    }

    /// How many targets finished, whatever their outcome.
    pub fn total(&self) -> usize {
        self.up_to_date + self.applied + self.pending + self.failed + self.skipped
    }
}

/// A fingerprint of the migrations list: the cumulative checksum of its last migration,
/// after the tracking table's name. A resumed job skips only targets done with the same
/// fingerprint.
pub fn fingerprint(migrations: &Migrations) -> String {
    let mut chain = terrace_format::checksum(&migrations.table().to_string());
    for migration in migrations.list() {
        chain = terrace_format::cumulative_checksum(
            Some(&chain),
            migration.version(),
            migration.name(),
            &migration.checksum(),
        );
    }
    chain
}

/// Runs `command` on every target, `options.jobs` at a time, telling `on_event` as
/// targets start and finish (always on the calling thread), and returns the counts.
///
/// The caller's thread hands out no work: it only receives events, so a slow
/// `on_event` (writing a report) never holds a worker.
pub fn run(
    migrations: &Migrations,
    command: Command,
    targets: impl Iterator<Item = Entry> + Send,
    options: &Options,
    on_event: &mut dyn FnMut(FleetEvent<'_>),
) -> Summary {
    let mut summary = Summary::default();
    let mut targets = targets.peekable();
    if options.canary > 0 {
        let canary = targets.by_ref().take(options.canary);
        let stop_on_failure = Options {
            fail_fast: true,
            ..options.clone()
        };
        pool(
            migrations,
            command,
            canary,
            &stop_on_failure,
            &mut summary,
            on_event,
        );
        if summary.failed > 0 {
            summary.stopped = summary.stopped || targets.peek().is_some();
            return summary;
        }
    }
    pool(
        migrations,
        command,
        targets,
        options,
        &mut summary,
        on_event,
    );
    summary
}

/// Runs the targets on `options.jobs` threads, adding their outcomes to `summary`.
fn pool(
    migrations: &Migrations,
    command: Command,
    targets: impl Iterator<Item = Entry> + Send,
    options: &Options,
    summary: &mut Summary,
    on_event: &mut dyn FnMut(FleetEvent<'_>),
) {
    enum Message {
        Started(String),
        Finished(TargetReport),
    }
    let targets = Mutex::new(targets);
    let stop = AtomicBool::new(false);
    let (send, receive) = mpsc::channel();
    std::thread::scope(|scope| {
        for _ in 0..options.jobs.max(1) {
            let send = send.clone();
            let (targets, stop) = (&targets, &stop);
            scope.spawn(move || {
                while !stop.load(Ordering::SeqCst) {
                    let next = match targets.lock() {
                        Ok(mut targets) => targets.next(),
                        Err(_) => None,
                    };
                    let Some(entry) = next else { break };
                    let shown = entry.shown();
                    let report = if options.done.contains(&shown) {
                        TargetReport {
                            target: shown,
                            line: entry.line,
                            outcome: Outcome::Skipped,
                            elapsed: Duration::ZERO,
                        }
                    } else {
                        let _ = send.send(Message::Started(shown.clone()));
                        let started = Instant::now();
                        let outcome = run_one(migrations, command, &entry, options.wait);
                        TargetReport {
                            target: shown,
                            line: entry.line,
                            outcome,
                            elapsed: started.elapsed(),
                        }
                    };
                    if options.fail_fast && report.outcome.is_failed() {
                        stop.store(true, Ordering::SeqCst);
                    }
                    if send.send(Message::Finished(report)).is_err() {
                        break;
                    }
                }
            });
        }
        drop(send);
        for message in receive {
            match message {
                Message::Started(target) => on_event(FleetEvent::Started { target: &target }),
                Message::Finished(report) => {
                    summary.count(&report.outcome);
                    on_event(FleetEvent::Finished(&report));
                }
            }
        }
    });
    if stop.load(Ordering::SeqCst) {
        summary.stopped |= targets.into_inner().is_ok_and(|mut t| t.next().is_some());
    }
}

/// Opens one target and runs `command` on it.
fn run_one(migrations: &Migrations, command: Command, entry: &Entry, wait: Duration) -> Outcome {
    let failed = |err: &dyn std::error::Error| Outcome::Failed {
        error: redact(&terrace_core::error::one_line(err)).into_owned(),
    };
    // A schema per tenant: the tracking table in that schema.
    let in_schema;
    let migrations = match &entry.schema {
        None => migrations,
        Some(schema) => {
            let table = format!("{schema}.{}", migrations.table().table());
            match migrations.clone().with_table(&table) {
                Ok(list) => {
                    in_schema = list;
                    &in_schema
                }
                Err(err) => return failed(&err),
            }
        }
    };
    let url = match DatabaseUrl::parse(&entry.text) {
        Ok(url) => url.relative_to(&entry.base),
        Err(err) => return failed(&err),
    };
    // Behind a pooler (the lease lock), a read-only session setting would stay on the
    // pooled server connection for its next client: see `Access::ReadOnly`.
    let access = match command.access() {
        Access::ReadOnly
            if migrations.lock().0 == LockMode::Lease && url.sqlite_path().is_none() =>
        {
            Access::ReadWrite
        }
        access => access,
    };
    let options = ConnectOptions { wait, access };
    let mut conn = match Connection::open(&url, &options) {
        Ok(conn) => conn,
        Err(err) => return failed(&err),
    };
    if let Some(schema) = &entry.schema
        && let Err(err) = targets::enter_schema(&mut conn, schema)
    {
        return failed(&*err);
    }
    let result = match command {
        Command::Migrate => {
            // Under a lease, it is renewed from a second connection while the run
            // lasts, as the CLI's migrate does (see `LeaseKeeper`).
            let mut kept;
            let (migrations, _keeper) = if url.sqlite_path().is_none() {
                kept = migrations.clone();
                let keep = ConnectOptions {
                    wait: Duration::ZERO,
                    access: Access::ReadWrite,
                };
                let keeper = LeaseKeeper::start(&url, &keep, &mut kept);
                (&kept, keeper)
            } else {
                (migrations, None)
            };
            migrations
                .run_to(&mut conn, Target::Latest)
                .map(|report| match report.count() {
                    0 => Outcome::UpToDate,
                    count => Outcome::Applied { count },
                })
        }
        Command::Status | Command::Validate => migrations.status(&mut conn).and_then(|status| {
            if !status.problems.is_empty() {
                return Err(crate::Error::Invalid {
                    problems: status.problems,
                });
            }
            Ok(match status.pending_count() {
                0 => Outcome::UpToDate,
                count => Outcome::Pending { count },
            })
        }),
    };
    result.unwrap_or_else(|err| failed(&err))
}
