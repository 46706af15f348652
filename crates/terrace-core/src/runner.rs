//! The runner: lock, read the history, validate, plan, apply, report.
//!
//! It makes no decisions of its own — validation and planning are pure functions in
//! [`validate`](crate::validate) and [`plan`](crate::plan) — and knows nothing of any
//! particular database: it speaks to a [`Backend`].

use crate::backend::Backend;
use crate::error::Error;
use crate::executor::{Executor, row};
use crate::history::{ExtraColumn, HistoryRow, RowState, TableName, TableShape, classify};
use crate::migrations::{Migrations, TransactionMode};
use crate::plan::{Direction, Plan, Target, plan_down, plan_up};
use crate::repair::{RepairWrite, plan_repair};
use crate::report::{
    AppliedStatus, Event, PendingMigration, RepairReport, Report, ResetReport, Status, StepReport,
};
use crate::session::Session;
use crate::validate::{
    Problem, Warning, blocks_baseline, check_history, concerns_applied, index_by_version,
    newer_applied, newer_applied_warnings, unknown_checksum_warnings, unreadable_pending,
};
use std::time::{Duration, Instant};

/// The tracking table as found.
#[derive(Debug)]
struct History {
    exists: bool,
    /// Columns an older table lacks.
    missing: Vec<ExtraColumn>,
    rows: Vec<HistoryRow>,
}

/// A tracking table read as [`Migrations::status`] reads it, ahead of the comparison
/// with a list: see [`Migrations::read_history`].
#[derive(Debug)]
pub struct HistorySnapshot(History);

/// Reads the tracking table without changing anything; refuses another tool's table.
async fn read_history(backend: &mut dyn Backend, table: &TableName) -> Result<History, Error> {
    let columns = backend
        .history_columns(table)
        .await
        .map_err(|e| Error::database(format!("inspecting table {table}"), e))?;
    match classify(columns.as_deref()) {
        TableShape::Absent => Ok(History {
            exists: false,
            missing: Vec::new(),
            rows: Vec::new(),
        }),
        TableShape::Terrace { missing } => {
            let present: Vec<ExtraColumn> = ExtraColumn::ALL
                .into_iter()
                .filter(|c| !missing.contains(c))
                .collect();
            let rows = backend
                .read_history(table, &present)
                .await
                .map_err(|e| Error::database(format!("reading table {table}"), e))?;
            Ok(History {
                exists: true,
                missing,
                rows,
            })
        }
        TableShape::Foreign { tool, columns } => Err(Error::ForeignTable {
            table: table.to_string(),
            tool,
            columns,
        }),
        TableShape::Unknown { columns } => Err(Error::UnknownTable {
            table: table.to_string(),
            columns,
        }),
    }
}

/// Creates the tracking table, or adds the columns an older one lacks.
async fn ensure_history(
    backend: &mut dyn Backend,
    table: &TableName,
    history: &History,
) -> Result<(), Error> {
    if !history.exists {
        return backend
            .create_history(table)
            .await
            .map_err(|e| Error::database(format!("creating table {table}"), e));
    }
    backend
        .upgrade_history(table)
        .await
        .map_err(|e| Error::database(format!("upgrading table {table}"), e))?;
    for &column in &history.missing {
        backend
            .add_history_column(table, column)
            .await
            .map_err(|e| {
                Error::database(
                    format!("adding column {} to table {table}", column.name()),
                    e,
                )
            })?;
        tracing::info!(table = %table, column = column.name(), "upgraded the tracking table");
    }
    Ok(())
}

impl Migrations {
    /// Every problem: the migrations' own, and theirs against the history.
    fn problems(&self, history: &History) -> Vec<Problem> {
        let mut problems = self.source_problems();
        if !history.rows.is_empty() {
            // An empty folder is fine for a new project, but not for a database that
            // has applied migrations: the folder is most likely the wrong one.
            problems.extend(self.warnings().iter().filter_map(|warning| match warning {
                Warning::NoMigrations { dir } => Some(Problem::NoMigrations {
                    dir: dir.clone(),
                    applied: history.rows.len(),
                }),
                _ => None,
            }));
        }
        problems.extend(check_history(&self.list, &history.rows, self.newer_applied));
        problems
    }

    /// What the history holds that is worth a warning: the applied migrations newer
    /// than every migration of the list, where the list allows them (none where it
    /// refuses them: they are problems), and the rows whose checksum is from no known
    /// algorithm.
    fn history_warnings(&self, history: &History) -> Vec<Warning> {
        let mut warnings = newer_applied_warnings(&self.list, &history.rows, self.newer_applied);
        warnings.extend(unknown_checksum_warnings(&history.rows));
        for warning in &warnings {
            tracing::warn!(table = %self.table, "{warning}");
        }
        warnings
    }

    /// The problems that stop a run or a rollback: for a rollback, not those about
    /// migrations that are not applied (see [`concerns_applied`]).
    fn blocking(&self, history: &History, direction: Direction) -> Vec<Problem> {
        let mut problems = self.problems(history);
        if direction == Direction::Down {
            // Newer applied migrations stop every rollback, whatever the setting, as
            // `plan_down` says: it would start with them.
            problems.retain(|problem| {
                concerns_applied(problem, &history.rows)
                    && !matches!(problem, Problem::NewerApplied { .. })
            });
        }
        problems
    }
}

fn invalid(problems: Vec<Problem>) -> Result<(), Error> {
    if problems.is_empty() {
        Ok(())
    } else {
        Err(Error::Invalid { problems })
    }
}

impl Migrations {
    /// Applies every pending migration.
    ///
    /// Validates the migrations and the history first — duplicate versions, gaps, bad
    /// names, missing or edited applied migrations, dirty rows — and changes nothing if
    /// any problem is found.
    pub async fn run(&self, backend: &mut dyn Backend) -> Result<Report, Error> {
        self.run_with(backend, Target::Latest, &mut |_| {}).await
    }

    /// Applies pending migrations up to `target`.
    pub async fn run_to(&self, backend: &mut dyn Backend, target: Target) -> Result<Report, Error> {
        self.run_with(backend, target, &mut |_| {}).await
    }

    /// [`run_to`](Migrations::run_to), calling `observer` as each step starts and
    /// finishes.
    pub async fn run_with<O: FnMut(&Event<'_>) + ?Sized>(
        &self,
        backend: &mut dyn Backend,
        target: Target,
        observer: &mut O,
    ) -> Result<Report, Error> {
        let began = Instant::now();
        if target == Target::Latest && self.proven_up_to_date(backend).await {
            return Ok(Report {
                direction: Direction::Up,
                steps: Vec::new(),
                total: began.elapsed(),
                warnings: Vec::new(),
            });
        }
        self.migrate(backend, Direction::Up, target, observer, began)
            .await
    }

    /// The shared body of a run and a rollback: lock, read the history, validate, plan
    /// in `direction`, then execute the plan.
    async fn migrate<O: FnMut(&Event<'_>) + ?Sized>(
        &self,
        backend: &mut dyn Backend,
        direction: Direction,
        target: Target,
        observer: &mut O,
        began: Instant,
    ) -> Result<Report, Error> {
        self.configure_lock(backend);
        let mut session =
            Session::writing(backend, &self.table, self.lock_timeout, observer).await?;
        let mut executor = self.executor(session.backend(), observer);
        let mut warnings = Vec::new();
        let result = async {
            let history = read_history(session.backend(), &self.table).await?;
            invalid(self.blocking(&history, direction))?;
            warnings = self.history_warnings(&history);
            let plan = match direction {
                Direction::Up => plan_up(&self.list, &history.rows, target)?,
                Direction::Down => plan_down(&self.list, &history.rows, target)?,
            };
            if !plan.is_empty() {
                ensure_history(session.backend(), &self.table, &history).await?;
                executor
                    .execute(&mut session, &plan)
                    .await
                    .map_err(|e| e.with_applied(executor.steps()))?;
            }
            Ok(())
        }
        .await;
        session.end(result).await?;
        Ok(Report {
            direction,
            steps: executor.into_steps(),
            total: began.elapsed(),
            warnings,
        })
    }

    /// The quick start-up check: whether one read of the history, without the lock,
    /// proves every migration is applied exactly as it is now.
    ///
    /// Without the lock or a transaction, every row is read in one query and must equal
    /// the list's migration at its place, applied, with the list itself valid: then the
    /// full run would find no problem and nothing to apply. Anything else — an error
    /// (such as an older table that lacks a column), a difference, a pending migration —
    /// proves nothing, and the full run follows, under the lock.
    async fn proven_up_to_date(&self, backend: &mut dyn Backend) -> bool {
        if self.list.is_empty() || !self.sources_valid() {
            return false;
        }
        // Row by row, the history must be the list exactly: the same versions in the
        // same order (the sources are valid: 1 to N), names and checksums, and every
        // row applied. That is stricter than validation (which also accepts, say, a
        // checksum of another algorithm), never looser: whatever it does not prove
        // goes to the full run.
        let order = index_by_version(&self.list);
        let mut next = 0;
        let mut equal = true;
        let mut visit = |row: crate::backend::RowKey<'_>| {
            let Some(&(version, at)) = order.get(next) else {
                equal = false;
                return false;
            };
            let migration = &self.list[at];
            next += 1;
            equal = row.version.and_then(|v| u64::try_from(v).ok()) == Some(version)
                && row.name == Some(migration.name())
                && row.checksum == Some(&*migration.checksum())
                && RowState::from_column(row.state) == RowState::Applied;
            equal
        };
        let read = backend.visit_history(&self.table, &mut visit).await;
        read.is_ok() && equal && next == order.len()
    }

    /// Rolls back applied migrations, newest first, running their down sections.
    /// Refuses before changing anything if a migration in range has no down, or if
    /// validation finds a problem; one about pending migrations only (such as a draft
    /// whose up section is still empty) does not stop a rollback, which runs none of
    /// them.
    pub async fn rollback(
        &self,
        backend: &mut dyn Backend,
        target: Target,
    ) -> Result<Report, Error> {
        self.rollback_with(backend, target, &mut |_| {}).await
    }

    /// [`rollback`](Migrations::rollback), calling `observer` as each step starts and
    /// finishes.
    pub async fn rollback_with<O: FnMut(&Event<'_>) + ?Sized>(
        &self,
        backend: &mut dyn Backend,
        target: Target,
        observer: &mut O,
    ) -> Result<Report, Error> {
        let began = Instant::now();
        self.migrate(backend, Direction::Down, target, observer, began)
            .await
    }

    fn executor<'r, O: FnMut(&Event<'_>) + ?Sized>(
        &'r self,
        backend: &mut dyn Backend,
        observer: &'r mut O,
    ) -> Executor<'r, O> {
        let mode = self.mode.unwrap_or(if backend.prefers_one_transaction() {
            TransactionMode::PerRun
        } else {
            TransactionMode::PerMigration
        });
        Executor::new(self, mode, observer)
    }

    /// The dry run: what [`run_to`](Migrations::run_to) would apply, with each
    /// migration's SQL, after the same validation. Writes nothing — not even the
    /// tracking table.
    pub async fn plan(&self, backend: &mut dyn Backend, target: Target) -> Result<Plan<'_>, Error> {
        let history = self.read_valid(backend, Direction::Up).await?;
        plan_up(&self.list, &history.rows, target)
    }

    /// The dry run of a rollback. Writes nothing.
    pub async fn plan_rollback(
        &self,
        backend: &mut dyn Backend,
        target: Target,
    ) -> Result<Plan<'_>, Error> {
        let history = self.read_valid(backend, Direction::Down).await?;
        plan_down(&self.list, &history.rows, target)
    }

    async fn read_valid(
        &self,
        backend: &mut dyn Backend,
        direction: Direction,
    ) -> Result<History, Error> {
        let history = read_history(Session::reading(backend).backend(), &self.table).await?;
        invalid(self.blocking(&history, direction))?;
        Ok(history)
    }

    /// Applied and pending migrations, and every validation problem. Writes nothing. A
    /// file that could not be read but whose name gives a version not applied (such as
    /// a draft whose up section is still empty) is pending, with its problem.
    pub async fn status(&self, backend: &mut dyn Backend) -> Result<Status, Error> {
        let history = read_history(Session::reading(backend).backend(), &self.table).await?;
        Ok(self.status_from(history))
    }

    /// Reads the tracking table as [`status`](Migrations::status) does, refusing
    /// another tool's table, without looking at the list: a list tracked in the same
    /// table, even an empty one, reads what [`status_of`](Migrations::status_of) then
    /// compares with the migrations. So a program can read the history while it is
    /// still reading its migrations. Writes nothing.
    pub async fn read_history(&self, backend: &mut dyn Backend) -> Result<HistorySnapshot, Error> {
        let history = read_history(Session::reading(backend).backend(), &self.table).await?;
        Ok(HistorySnapshot(history))
    }

    /// What [`status`](Migrations::status) reports, for a history read ahead by
    /// [`read_history`](Migrations::read_history) (of the same table).
    pub fn status_of(&self, history: HistorySnapshot) -> Status {
        self.status_from(history.0)
    }

    fn status_from(&self, history: History) -> Status {
        let problems = self.problems(&history);
        let warnings = self.history_warnings(&history);
        let first_newer = newer_applied(&self.list, &history.rows)
            .first()
            .map_or(u64::MAX, |row| row.version);
        let unverified = |version: u64| {
            version >= first_newer
                || problems.iter().any(|p| {
                    matches!(p, Problem::ChecksumMismatch { version: v, .. } | Problem::Missing { version: v, .. } | Problem::Replaced { version: v, .. } | Problem::Squash { version: v, .. } if *v == version)
                })
        };
        let mut pending = index_by_version(&self.list)
            .iter()
            .filter(|&&(version, _)| {
                history
                    .rows
                    .binary_search_by_key(&version, |r| r.version)
                    .is_err()
            })
            .map(|&(version, i)| PendingMigration {
                version,
                name: self.list[i].name().to_owned(),
                problem: None,
            })
            .collect::<Vec<_>>();
        pending.extend(unreadable_pending(&self.file_problems, &history.rows).map(
            |(version, name, problem)| PendingMigration {
                version,
                name,
                problem: Some(problem.clone()),
            },
        ));
        pending.sort_by_key(|p| p.version);
        // The rows are moved, not copied: the history is not needed any more.
        let applied = history
            .rows
            .into_iter()
            .map(|row| AppliedStatus {
                checksum_ok: !unverified(row.version),
                row,
            })
            .collect();
        Status {
            applied,
            pending,
            problems,
            warnings,
        }
    }

    /// Runs every check of [`status`](Migrations::status) and fails with all problems
    /// found. Writes nothing.
    pub async fn validate(&self, backend: &mut dyn Backend) -> Result<(), Error> {
        invalid(self.status(backend).await?.problems)
    }

    /// Adopts an existing database: records migrations 1 to `version` as applied
    /// without running them. Refuses if the history is not empty, or if validation
    /// finds a problem about migrations up to `version` (one about later migrations,
    /// such as a draft, does not stop it).
    pub async fn baseline(&self, backend: &mut dyn Backend, version: u64) -> Result<Report, Error> {
        self.baseline_with(backend, version, &mut |_| {}).await
    }

    /// [`baseline`](Migrations::baseline), telling `observer` if it has to wait for the
    /// migration lock ([`Event::WaitingForLock`], [`Event::LockAcquired`]).
    pub async fn baseline_with<O: FnMut(&Event<'_>) + ?Sized>(
        &self,
        backend: &mut dyn Backend,
        version: u64,
        observer: &mut O,
    ) -> Result<Report, Error> {
        let began = Instant::now();
        let mut problems = self.source_problems();
        problems.retain(|problem| blocks_baseline(problem, version));
        invalid(problems)?;
        self.configure_lock(backend);
        let mut session =
            Session::writing(backend, &self.table, self.lock_timeout, observer).await?;
        let result = async {
            let history = read_history(session.backend(), &self.table).await?;
            if !history.rows.is_empty() {
                return Err(Error::HistoryNotEmpty {
                    applied: history.rows.len(),
                });
            }
            let plan = plan_up(&self.list, &[], Target::Version(version))?;
            ensure_history(session.backend(), &self.table, &history).await?;
            let mut steps = Vec::with_capacity(plan.steps.len());
            for step in &plan.steps {
                let checksum = step.migration.checksum();
                let applied = row(self, step.migration, &checksum, None, RowState::Applied);
                session
                    .backend()
                    .insert_row(&self.table, &applied)
                    .await
                    .map_err(|e| {
                        Error::database(
                            format!("recording the baseline in table {}", self.table),
                            e,
                        )
                    })?;
                steps.push(StepReport {
                    version: step.migration.version(),
                    name: step.migration.name().to_owned(),
                    duration: Duration::ZERO,
                    noop: false,
                });
            }
            Ok(steps)
        }
        .await;
        let steps = session.end(result).await?;
        Ok(Report {
            direction: Direction::Up,
            steps,
            total: began.elapsed(),
            warnings: Vec::new(),
        })
    }

    /// Accepts the migrations as they are now: records current checksums and names for
    /// applied migrations, and clears the newest dirty row (an interrupted run becomes
    /// pending again; an interrupted rollback counts as applied). Says exactly what it
    /// changed. Refuses, changing nothing, a dirty row with applied migrations after it,
    /// and a version whose name and checksum both differ from the file's (another
    /// migration took its number): see [`Problem::DirtyBelowApplied`] and
    /// [`Problem::Replaced`]. A problem about pending migrations only (such as a draft
    /// whose up section is still empty) does not stop it, and is in the report's
    /// `remaining`.
    pub async fn repair(&self, backend: &mut dyn Backend) -> Result<RepairReport, Error> {
        self.repair_with(backend, &mut |_| {}).await
    }

    /// [`repair`](Migrations::repair), telling `observer` if it has to wait for the
    /// migration lock ([`Event::WaitingForLock`], [`Event::LockAcquired`]).
    pub async fn repair_with<O: FnMut(&Event<'_>) + ?Sized>(
        &self,
        backend: &mut dyn Backend,
        observer: &mut O,
    ) -> Result<RepairReport, Error> {
        self.configure_lock(backend);
        let mut session =
            Session::writing(backend, &self.table, self.lock_timeout, observer).await?;
        let result = async {
            let history = read_history(session.backend(), &self.table).await?;
            let mut problems = self.source_problems();
            problems.retain(|problem| concerns_applied(problem, &history.rows));
            invalid(problems)?;
            let plan = plan_repair(&self.list, &history.rows, |version| {
                self.cumulative_checksum(version)
            })
            .map_err(|problems| Error::RepairRefused { problems })?;
            if history.exists {
                ensure_history(session.backend(), &self.table, &history).await?;
            }
            for write in &plan.writes {
                let backend = session.backend();
                let (version, written) = match *write {
                    RepairWrite::Clear(version) => {
                        (version, backend.delete_row(&self.table, version).await)
                    }
                    RepairWrite::Record(position) => {
                        let migration = &self.list[position];
                        let checksum = migration.checksum();
                        let applied = row(self, migration, &checksum, None, RowState::Applied);
                        let written = backend.update_row(&self.table, &applied).await;
                        (migration.version(), written)
                    }
                };
                written.map_err(|e| {
                    Error::database(
                        format!("repairing migration {version} in table {}", self.table),
                        e,
                    )
                })?;
            }
            Ok(plan.changes)
        }
        .await;
        let changes = session.end(result).await?;
        let history = read_history(Session::reading(backend).backend(), &self.table).await?;
        let remaining = self.status_from(history).problems;
        Ok(RepairReport { changes, remaining })
    }

    /// Drops the tracking table, forgetting which migrations were applied (the schema
    /// itself is left as it is). For development databases only.
    pub async fn reset_history(&self, backend: &mut dyn Backend) -> Result<ResetReport, Error> {
        self.reset_history_with(backend, &mut |_| {}).await
    }

    /// [`reset_history`](Migrations::reset_history), telling `observer` if it has to
    /// wait for the migration lock ([`Event::WaitingForLock`], [`Event::LockAcquired`]).
    pub async fn reset_history_with<O: FnMut(&Event<'_>) + ?Sized>(
        &self,
        backend: &mut dyn Backend,
        observer: &mut O,
    ) -> Result<ResetReport, Error> {
        self.configure_lock(backend);
        let mut session =
            Session::writing(backend, &self.table, self.lock_timeout, observer).await?;
        let result = async {
            let history = read_history(session.backend(), &self.table).await?;
            if history.exists {
                session
                    .backend()
                    .drop_history(&self.table)
                    .await
                    .map_err(|e| Error::database(format!("dropping table {}", self.table), e))?;
            }
            Ok(ResetReport {
                dropped: history.exists,
                rows: history.rows.len(),
            })
        }
        .await;
        session.end(result).await
    }
}
