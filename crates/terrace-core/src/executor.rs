//! The executor: runs a plan's steps on a locked session, in the chosen transaction
//! mode, writing the history as it goes. It decides nothing about which steps to run;
//! the plan does.

use crate::backend::{Backend, NewRow};
use crate::error::Error;
use crate::history::{RowState, TableName};
use crate::migration::{Body, Migration};
use crate::migrations::{Migrations, TransactionMode};
use crate::plan::{Direction, Plan, Step};
use crate::report::{Event, StepReport};
use crate::session::Session;
use crate::validate::Problem;
use std::time::{Duration, Instant};
use terrace_format::split_statements;

/// Runs one direction's body, statement by statement.
async fn run_body<O: FnMut(&Event<'_>) + ?Sized>(
    backend: &mut dyn Backend,
    step: &Step<'_>,
    dirty_on_failure: bool,
    observer: &mut O,
) -> Result<(), Error> {
    let migration = step.migration;
    // The failing statement: its first line, its line and its number of how many.
    let failed =
        |statement: Option<(String, usize, (usize, usize))>, source| Error::MigrationFailed {
            version: migration.version(),
            name: migration.name().to_owned(),
            direction: step.direction,
            line: statement.as_ref().map(|s| s.1),
            position: statement.as_ref().map(|s| s.2),
            statement: statement.map(|s| crate::error::excerpt(&s.0)),
            file: migration.path().map(ToOwned::to_owned),
            dirty: dirty_on_failure,
            applied: Vec::new(),
            source,
        };
    match step.body() {
        Body::Sql(sql) => {
            let statements = split_statements(sql, backend.dialect());
            let count = statements.len();
            let file_line = migration.file_line(step.direction);
            // A line of the file, for a migration read from one.
            let line = |statement: &terrace_format::Statement<'_>| {
                file_line.map_or(statement.line, |start| start + statement.line - 1)
            };
            for (index, statement) in statements.iter().enumerate() {
                tracing::trace!(
                    version = migration.version(),
                    line = line(statement),
                    sql = statement.text,
                    "running a statement"
                );
                observer(&Event::Statement {
                    version: migration.version(),
                    line: line(statement),
                    sql: statement.text,
                });
                backend.execute(statement.text).await.map_err(|e| {
                    let first_line = statement.first_line().to_owned();
                    failed(Some((first_line, line(statement), (index + 1, count))), e)
                })?;
            }
        }
        Body::Code(code) => backend.run_code(code).await.map_err(|e| failed(None, e))?,
        Body::Noop => return Ok(()),
    }
    backend.check_migration().await.map_err(|e| failed(None, e))
}

/// The history row of a migration, as the list has it now.
pub(crate) fn row<'a>(
    migrations: &'a Migrations,
    migration: &'a Migration,
    checksum: &'a str,
    execution_ms: Option<i64>,
    state: RowState,
) -> NewRow<'a> {
    NewRow {
        version: migration.version(),
        name: migration.name(),
        checksum,
        execution_ms,
        state,
        cumulative_checksum: migrations.cumulative_checksum(migration.version()),
    }
}

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

/// Executes a plan's steps on a locked session whose history table exists.
pub(crate) struct Executor<'r, O: ?Sized> {
    migrations: &'r Migrations,
    mode: TransactionMode,
    observer: &'r mut O,
    steps: Vec<StepReport>,
    /// In one transaction per run, the history writes of the steps done so far, made
    /// just before the transaction commits: the rows commit with their migrations all
    /// the same, and the inserts run back to back instead of each being prepared anew
    /// after the schema change its migration made.
    deferred: Vec<(Step<'r>, i64)>,
    /// In one transaction per run, the versions finished since the last commit, for
    /// [`Event::Committed`].
    uncommitted: Vec<u64>,
    /// The step being run (from 1) and the plan's length, for progress events.
    position: (usize, usize),
}

impl<'r, O: FnMut(&Event<'_>) + ?Sized> Executor<'r, O> {
    pub(crate) fn new(
        migrations: &'r Migrations,
        mode: TransactionMode,
        observer: &'r mut O,
    ) -> Self {
        Executor {
            migrations,
            mode,
            observer,
            steps: Vec::new(),
            deferred: Vec::new(),
            uncommitted: Vec::new(),
            position: (0, 0),
        }
    }

    fn table(&self) -> &'r TableName {
        &self.migrations.table
    }

    /// The steps completed so far.
    pub(crate) fn into_steps(self) -> Vec<StepReport> {
        self.steps
    }

    /// The steps completed so far, still held.
    pub(crate) fn steps(&self) -> &[StepReport] {
        &self.steps
    }

    fn record_error(&self, step: &Step<'_>, e: crate::error::BoxError) -> Error {
        Error::database(
            format!(
                "recording migration {} ({}) in table {}",
                step.migration.version(),
                step.migration.name(),
                self.table()
            ),
            e,
        )
    }

    /// Whether a concurrent runner already did this step (checked whenever a
    /// transaction begins after planning). Only a finished step counts as done: a row
    /// another run left started or reverting is a dirty state, and stops the run.
    async fn already_done(
        &mut self,
        backend: &mut dyn Backend,
        step: &Step<'_>,
    ) -> Result<bool, Error> {
        let (version, name) = (step.migration.version(), step.migration.name());
        let state = backend
            .row_state(self.table(), version)
            .await
            .map_err(|e| Error::database(format!("reading table {}", self.table()), e))?;
        let done = match (step.direction, state) {
            (Direction::Up, Some(RowState::Applied)) | (Direction::Down, None) => true,
            (Direction::Up, None) | (Direction::Down, Some(RowState::Applied)) => false,
            (_, Some(state)) => {
                return Err(Error::Invalid {
                    problems: vec![Problem::Dirty {
                        version,
                        name: name.to_owned(),
                        state,
                    }],
                });
            }
        };
        if done {
            (self.observer)(&Event::Skipped {
                version: step.migration.version(),
                name: step.migration.name(),
                direction: step.direction,
            });
        }
        Ok(done)
    }

    /// Runs a step and records it, inside the session's transaction, and returns how
    /// long it ran. In one transaction per run its history is written at commit.
    async fn apply(
        &mut self,
        backend: &mut dyn Backend,
        step: &Step<'r>,
    ) -> Result<Duration, Error> {
        let started = self.start(step);
        let outcome = run_body(backend, step, false, self.observer).await;
        // A body that ran COMMIT or ROLLBACK itself left the rest of its work, and its
        // history row, outside the transaction: say so, whether or not it then failed.
        let open = backend.transaction_open().await.map_err(|e| {
            Error::database("checking that the migration's transaction is still open", e)
        });
        if !open.as_ref().is_ok_and(|open| *open) {
            return Err(match (open, outcome) {
                (Ok(_), outcome) => Error::TransactionEnded {
                    version: step.migration.version(),
                    name: step.migration.name().to_owned(),
                    direction: step.direction,
                    source: outcome.err().map(Box::new),
                    earlier: Vec::new(),
                },
                (Err(_), Err(failure)) => failure,
                (Err(check), Ok(())) => check,
            });
        }
        outcome?;
        let duration = started.elapsed();
        match self.mode {
            TransactionMode::PerRun => self.deferred.push((*step, millis(duration))),
            TransactionMode::PerMigration => self.write(backend, step, millis(duration)).await?,
        }
        Ok(duration)
    }

    /// Writes a completed step's history: its row for an up, no row for a down.
    async fn write(
        &mut self,
        backend: &mut dyn Backend,
        step: &Step<'_>,
        execution_ms: i64,
    ) -> Result<(), Error> {
        let checksum = step.migration.checksum();
        let written = match step.direction {
            Direction::Up => {
                let row = row(
                    self.migrations,
                    step.migration,
                    &checksum,
                    Some(execution_ms),
                    RowState::Applied,
                );
                backend.insert_row(self.table(), &row).await
            }
            Direction::Down => {
                backend
                    .delete_row(self.table(), step.migration.version())
                    .await
            }
        };
        written.map_err(|e| self.record_error(step, e))
    }

    /// Writes the deferred history, then commits.
    async fn commit(&mut self, session: &mut Session<'_>) -> Result<(), Error> {
        self.flush(session.backend()).await?;
        session.commit().await?;
        let versions = std::mem::take(&mut self.uncommitted);
        if !versions.is_empty() {
            (self.observer)(&Event::Committed {
                versions: &versions,
            });
        }
        Ok(())
    }

    /// Writes the deferred history rows, inside the open transaction.
    async fn flush(&mut self, backend: &mut dyn Backend) -> Result<(), Error> {
        let deferred = std::mem::take(&mut self.deferred);
        let (ups, downs): (Vec<_>, Vec<_>) = deferred
            .into_iter()
            .partition(|(step, _)| step.direction == Direction::Up);
        for (step, execution_ms) in downs {
            self.write(backend, &step, execution_ms).await?;
        }
        if !ups.is_empty() {
            let checksums: Vec<_> = ups
                .iter()
                .map(|(step, _)| step.migration.checksum())
                .collect();
            let rows: Vec<NewRow<'_>> = ups
                .iter()
                .zip(&checksums)
                .map(|((step, ms), checksum)| {
                    row(
                        self.migrations,
                        step.migration,
                        checksum,
                        Some(*ms),
                        RowState::Applied,
                    )
                })
                .collect();
            backend
                .insert_rows(self.table(), &rows)
                .await
                .map_err(|e| {
                    Error::database(
                        format!(
                            "recording {} migrations in table {}",
                            rows.len(),
                            self.table()
                        ),
                        e,
                    )
                })?;
        }
        Ok(())
    }

    /// Runs a step outside any transaction: marked started (or reverting) first, in a
    /// transaction of its own, so an interruption leaves an explicit dirty row.
    async fn apply_alone(
        &mut self,
        session: &mut Session<'_>,
        step: &Step<'_>,
    ) -> Result<(), Error> {
        self.commit(session).await?;
        session.keep_lock().await?;
        session.begin().await?;
        if self.already_done(session.backend(), step).await? {
            return session.commit().await;
        }
        let checksum = step.migration.checksum();
        let state = match step.direction {
            Direction::Up => RowState::Started,
            Direction::Down => RowState::Reverting,
        };
        let marker = row(self.migrations, step.migration, &checksum, None, state);
        let marked = match step.direction {
            Direction::Up => session.backend().insert_row(self.table(), &marker).await,
            Direction::Down => session.backend().update_row(self.table(), &marker).await,
        };
        marked.map_err(|e| self.record_error(step, e))?;
        session.commit().await?;

        let started = self.start(step);
        run_body(session.backend(), step, true, self.observer).await?;
        let duration = started.elapsed();

        // The body ran completely: a failure from here on leaves nothing to undo, only
        // the history to bring in line, and says so.
        let table = self.table();
        let not_recorded = |e: Error| {
            let source: crate::error::BoxError = match e {
                Error::Database { source, .. } => source,
                Error::LockTimeout { .. } => Box::new(crate::backend::LockTimedOut),
                other => return other,
            };
            Error::NotRecorded {
                version: step.migration.version(),
                name: step.migration.name().to_owned(),
                direction: step.direction,
                table: table.to_string(),
                source,
            }
        };
        session.begin().await.map_err(not_recorded)?;
        let recorded = match step.direction {
            Direction::Up => {
                let applied = row(
                    self.migrations,
                    step.migration,
                    &checksum,
                    Some(millis(duration)),
                    RowState::Applied,
                );
                session.backend().update_row(self.table(), &applied).await
            }
            Direction::Down => {
                session
                    .backend()
                    .delete_row(self.table(), step.migration.version())
                    .await
            }
        };
        recorded.map_err(|e| not_recorded(self.record_error(step, e)))?;
        session.commit().await.map_err(not_recorded)?;
        self.finish(step, duration, true);
        Ok(())
    }

    fn start(&mut self, step: &Step<'_>) -> Instant {
        (self.observer)(&Event::Started {
            version: step.migration.version(),
            name: step.migration.name(),
            direction: step.direction,
            step: self.position.0,
            of: self.position.1,
        });
        Instant::now()
    }

    fn finish(&mut self, step: &Step<'_>, duration: Duration, committed: bool) {
        let (version, name) = (step.migration.version(), step.migration.name());
        tracing::info!(
            version,
            name,
            direction = step.direction.as_str(),
            ms = millis(duration),
            "migration complete"
        );
        let noop = step.is_noop();
        (self.observer)(&Event::Finished {
            version,
            name,
            direction: step.direction,
            duration,
            committed,
            noop,
        });
        self.steps.push(StepReport {
            version,
            name: name.to_owned(),
            duration,
            noop,
        });
    }

    /// Runs every step. The session holds the lock and an open transaction, in which
    /// the history was read and the plan made.
    pub(crate) async fn execute(
        &mut self,
        session: &mut Session<'_>,
        plan: &Plan<'r>,
    ) -> Result<(), Error> {
        let transactional_ddl = session.backend().transactional_ddl();
        if self.mode == TransactionMode::PerMigration {
            session.commit().await?;
        }
        // Once the planning transaction has ended, a concurrent runner may have done
        // any step (SQLite holds no lock between transactions): check each one again.
        let mut in_planning_transaction = session.in_transaction();
        for (index, step) in plan.steps.iter().enumerate() {
            self.position = (index + 1, plan.steps.len());
            if !transactional_ddl || !step.is_transactional() {
                in_planning_transaction = false;
                self.apply_alone(session, step).await?;
                continue;
            }
            if !session.in_transaction() {
                session.keep_lock().await?;
                session.begin().await?;
            }
            if !in_planning_transaction && self.already_done(session.backend(), step).await? {
                self.commit(session).await?;
                continue;
            }
            match self.mode {
                TransactionMode::PerMigration => {
                    let duration = match self.apply(session.backend(), step).await {
                        Ok(duration) => duration,
                        Err(failure) => {
                            if matches!(failure, Error::TransactionEnded { .. }) {
                                session.forget_transaction();
                            }
                            return Err(failure);
                        }
                    };
                    session.commit().await?;
                    self.finish(step, duration, true);
                    in_planning_transaction = false;
                }
                TransactionMode::PerRun => self.apply_in_savepoint(session, step).await?,
            }
        }
        self.commit(session).await
    }

    /// Applies a step inside the run's transaction; on failure undoes only this step,
    /// commits the ones before it, and returns the failure.
    async fn apply_in_savepoint(
        &mut self,
        session: &mut Session<'_>,
        step: &Step<'r>,
    ) -> Result<(), Error> {
        const SAVEPOINT: &str = "terrace_step";
        let backend = session.backend();
        if matches!(step.body(), Body::Code(_)) {
            // Code can end the transaction (validation keeps transaction control out
            // of SQL): the rows of the migrations before it go in first, so that they
            // share the fate of those migrations' work whatever the code does.
            self.flush(backend).await?;
        }
        backend
            .savepoint(SAVEPOINT)
            .await
            .map_err(|e| Error::database("setting a savepoint", e))?;
        match self.apply(backend, step).await {
            Ok(duration) => {
                backend
                    .release(SAVEPOINT)
                    .await
                    .map_err(|e| Error::database("releasing a savepoint", e))?;
                self.finish(step, duration, false);
                self.uncommitted.push(step.migration.version());
                Ok(())
            }
            Err(Error::TransactionEnded {
                version,
                name,
                direction,
                source,
                ..
            }) => {
                // Whether the migrations before it in this transaction were committed
                // or rolled back with it cannot be told: nothing more is written
                // outside a transaction, and the error names them.
                session.forget_transaction();
                self.deferred.clear();
                Err(Error::TransactionEnded {
                    version,
                    name,
                    direction,
                    source,
                    earlier: std::mem::take(&mut self.uncommitted),
                })
            }
            Err(failure) => {
                // The failure is what the caller needs to know; a later error in
                // cleaning up after it is logged, never put in its place.
                if let Err(e) = backend.rollback_to(SAVEPOINT).await {
                    tracing::error!(error = %e, "rolling back to a savepoint failed");
                    return Err(failure);
                }
                if let Err(e) = self.commit(session).await {
                    tracing::error!(error = %e, "committing the migrations before the failure failed");
                    // Those migrations are not applied after all.
                    self.steps.clear();
                }
                Err(failure)
            }
        }
    }
}
