//! What commands return: reports of what ran, status, repairs, events for progress.

use crate::history::{HistoryRow, RowState};
use crate::plan::Direction;
use crate::validate::{Problem, Warning};
use std::fmt;
use std::time::Duration;

/// A progress event, sent while a run or rollback proceeds.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Event<'a> {
    /// A migration is about to run.
    Started {
        /// Its version.
        version: u64,
        /// Its name.
        name: &'a str,
        /// Up or down.
        direction: Direction,
        /// Its place in the plan, from 1.
        step: usize,
        /// How many steps the plan has.
        of: usize,
    },
    /// A migration completed. If `committed`, it and its history row are committed;
    /// otherwise they commit with the run's transaction, announced by
    /// [`Event::Committed`] (a process killed before then leaves no trace of it).
    Finished {
        /// Its version.
        version: u64,
        /// Its name.
        name: &'a str,
        /// Up or down.
        direction: Direction,
        /// How long it ran.
        duration: Duration,
        /// Whether it is committed already.
        committed: bool,
        /// Whether it ran nothing: a rollback of a migration whose down is a no-op
        /// ([`Body::Noop`](crate::Body::Noop)), which only removed its history row.
        noop: bool,
    },
    /// The run's transaction committed, and with it these migrations, which were
    /// announced as finished but not yet committed.
    Committed {
        /// Their versions, in the order they ran.
        versions: &'a [u64],
    },
    /// A planned migration was found already done by a concurrent runner.
    Skipped {
        /// Its version.
        version: u64,
        /// Its name.
        name: &'a str,
        /// Up or down.
        direction: Direction,
    },
    /// Another run holds the migration lock: this one waits for it, at most `timeout`.
    /// Sent once, as soon as the first try to take the lock fails (on SQLite: to take
    /// the lock file, or the database's write lock), before any waiting; followed by
    /// [`Event::LockAcquired`], or by the command's [`Error::LockTimeout`].
    ///
    /// [`Error::LockTimeout`]: crate::Error::LockTimeout
    WaitingForLock {
        /// The tracking table whose lock is held.
        table: &'a str,
        /// How long the command waits at most: the lock timeout.
        timeout: Duration,
    },
    /// The lock this command waited for ([`Event::WaitingForLock`]) is taken. Not sent
    /// when the lock was free at the first try.
    LockAcquired {
        /// How long the command waited for it.
        waited: Duration,
    },
    /// A statement of a SQL migration is about to run. Sent for every statement, with
    /// text borrowed from the migration: listening costs no copy.
    Statement {
        /// The migration's version.
        version: u64,
        /// The statement's first line: in the migration's file, for a migration read
        /// from one, otherwise in the direction's SQL.
        line: usize,
        /// The statement, as sent to the database.
        sql: &'a str,
    },
}

/// One migration a run or rollback completed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepReport {
    /// Its version.
    pub version: u64,
    /// Its name.
    pub name: String,
    /// How long it ran.
    pub duration: Duration,
    /// Whether it ran nothing: a rollback of a migration whose down is a no-op
    /// ([`Body::Noop`](crate::Body::Noop)), which only removed its history row.
    pub noop: bool,
}

/// What a run or rollback did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// Up for a run, down for a rollback.
    pub direction: Direction,
    /// The migrations completed, in order.
    pub steps: Vec<StepReport>,
    /// The whole command's duration.
    pub total: Duration,
    /// What the command found worth a warning without stopping: applied migrations
    /// newer than every migration of the list, where the list allows them
    /// ([`Warning::NewerApplied`]), and history rows whose checksum is from no known
    /// algorithm ([`Warning::UnknownChecksum`]).
    pub warnings: Vec<Warning>,
}

/// The version and name of each [`Warning::NewerApplied`] among `warnings`.
fn newer_applied(warnings: &[Warning]) -> impl Iterator<Item = (u64, &str)> {
    warnings.iter().filter_map(|warning| match warning {
        Warning::NewerApplied { version, name, .. } => Some((*version, name.as_str())),
        _ => None,
    })
}

impl Report {
    /// The applied migrations newer than every migration of the list, as version and
    /// name (from their history rows), oldest first: left alone, as the list allows
    /// ([`NewerApplied::Warn`](crate::NewerApplied::Warn)).
    pub fn newer_applied(&self) -> impl Iterator<Item = (u64, &str)> {
        newer_applied(&self.warnings)
    }

    /// How many migrations were applied (or rolled back).
    pub fn count(&self) -> usize {
        self.steps.len()
    }

    /// The versions completed, in order.
    pub fn versions(&self) -> Vec<u64> {
        self.steps.iter().map(|s| s.version).collect()
    }
}

/// An applied migration as `status` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppliedStatus {
    /// The history row.
    pub row: HistoryRow,
    /// False when the migration changed since it was applied, no longer exists, or is
    /// newer than every migration of the list (so that nothing can be compared).
    /// True when no checksum was recorded (rows adopted from the origin's table).
    pub checksum_ok: bool,
}

/// A migration not yet applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingMigration {
    /// Its version.
    pub version: u64,
    /// Its name.
    pub name: String,
    /// What keeps it from running, for a file that could not be read as a migration
    /// (such as a draft whose up section is still empty); `None` for one that is ready.
    pub problem: Option<Problem>,
}

/// The state of a database against the migrations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    /// Every history row, oldest first.
    pub applied: Vec<AppliedStatus>,
    /// Migrations not applied, in version order.
    pub pending: Vec<PendingMigration>,
    /// Every validation problem.
    pub problems: Vec<Problem>,
    /// What does not stop a command but is worth a warning: applied migrations newer
    /// than every migration of the list, where the list allows them
    /// ([`Warning::NewerApplied`]; where it does not, each is a
    /// [`Problem::NewerApplied`]), and history rows whose checksum is from no known
    /// algorithm ([`Warning::UnknownChecksum`]).
    pub warnings: Vec<Warning>,
}

impl Status {
    /// The applied migrations newer than every migration of the list, as version and
    /// name (from their history rows), oldest first, where the list allows them
    /// ([`NewerApplied::Warn`](crate::NewerApplied::Warn)).
    pub fn newer_applied(&self) -> impl Iterator<Item = (u64, &str)> {
        newer_applied(&self.warnings)
    }

    /// How many migrations the history records.
    pub fn applied_count(&self) -> usize {
        self.applied.len()
    }

    /// How many migrations are pending.
    pub fn pending_count(&self) -> usize {
        self.pending.len()
    }

    /// The history rows left dirty by an interrupted migration.
    pub fn dirty(&self) -> impl Iterator<Item = &HistoryRow> {
        self.applied
            .iter()
            .map(|a| &a.row)
            .filter(|r| r.state != RowState::Applied)
    }

    /// Whether the database is fully migrated with nothing wrong.
    pub fn is_up_to_date(&self) -> bool {
        self.pending.is_empty() && self.problems.is_empty()
    }
}

/// One change `repair` made.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RepairChange {
    /// The recorded checksum was replaced by the migration's current one.
    Checksum {
        /// The migration's version.
        version: u64,
        /// Its name.
        name: String,
        /// The checksum recorded before (`None` for adopted rows).
        old: Option<String>,
        /// The checksum recorded now.
        new: String,
    },
    /// The recorded name was replaced by the migration's current one.
    Name {
        /// The migration's version.
        version: u64,
        /// The name recorded before.
        old: String,
        /// The name recorded now.
        new: String,
    },
    /// An interrupted run's row was removed: the migration counts as not applied.
    ClearedStarted {
        /// The migration's version.
        version: u64,
        /// Its name.
        name: String,
    },
    /// An interrupted rollback's row was restored: the migration counts as applied.
    RestoredApplied {
        /// The migration's version.
        version: u64,
        /// Its name.
        name: String,
    },
}

impl fmt::Display for RepairChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RepairChange::Checksum {
                version,
                name,
                old: None,
                ..
            } => {
                write!(
                    f,
                    "migration {version} ({name}): recorded its checksum (none was recorded)"
                )
            }
            RepairChange::Checksum { version, name, .. } => {
                write!(
                    f,
                    "migration {version} ({name}): accepted its current checksum"
                )
            }
            RepairChange::Name { version, old, new } => {
                write!(f, "migration {version}: renamed from '{old}' to '{new}'")
            }
            RepairChange::ClearedStarted { version, name } => write!(
                f,
                "migration {version} ({name}): cleared the interrupted run; it is pending again"
            ),
            RepairChange::RestoredApplied { version, name } => write!(
                f,
                "migration {version} ({name}): cleared the interrupted rollback; it counts as applied"
            ),
        }
    }
}

/// What `repair` changed, and what it could not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepairReport {
    /// Every change made, in version order.
    pub changes: Vec<RepairChange>,
    /// Problems repair does not fix (a missing migration, a gap), still to be dealt with.
    pub remaining: Vec<Problem>,
}

/// What `reset_history` dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResetReport {
    /// Whether there was a tracking table to drop.
    pub dropped: bool,
    /// How many rows it held.
    pub rows: usize,
}
