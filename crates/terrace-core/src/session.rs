//! A backend borrowed for one command, holding the lock and the open transaction. A
//! command that succeeds ends it with [`Session::close`], which commits and releases
//! the lock and reports either failing; one that fails ends it with
//! [`Session::abort`], which rolls back and releases the lock, logging what fails.
//! Dropping it without either — a panic, a cancelled future — asks the backend to
//! [`abandon`](Backend::abandon) the command.

use crate::backend::{Backend, BackendResult, LockTimedOut, ReadOnlyReplica};
use crate::error::Error;
use crate::history::TableName;
use crate::report::Event;
use std::time::{Duration, Instant};

pub(crate) struct Session<'a> {
    backend: &'a mut (dyn Backend + 'a),
    /// The table whose lock is held, if one is.
    locked: Option<TableName>,
    /// How long taking the lock (or, on SQLite, beginning) may wait.
    timeout: Duration,
    in_transaction: bool,
}

impl<'a> Session<'a> {
    /// A session for read-only commands: no lock, no transaction.
    pub(crate) fn reading(backend: &'a mut (dyn Backend + 'a)) -> Self {
        Session {
            backend,
            locked: None,
            timeout: Duration::ZERO,
            in_transaction: false,
        }
    }

    /// Takes the migration lock, then begins a write transaction — in that order, so
    /// the history is only ever read under the lock. If either is found held by
    /// another run, `observer` hears of it at once ([`Event::WaitingForLock`]), and
    /// again once both are taken ([`Event::LockAcquired`]).
    pub(crate) async fn writing<O>(
        backend: &'a mut (dyn Backend + 'a),
        table: &TableName,
        timeout: Duration,
        observer: &mut O,
    ) -> Result<Self, Error>
    where
        O: FnMut(&Event<'_>) + ?Sized,
    {
        let began = Instant::now();
        let mut waited = false;
        let mut waiting = || {
            if !std::mem::replace(&mut waited, true) {
                tracing::info!(
                    table = %table,
                    timeout_ms = u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX),
                    "waiting for the migration lock, held by another run"
                );
                observer(&Event::WaitingForLock {
                    table: table.as_str(),
                    timeout,
                });
            }
        };
        // First a try, so that a lock held by another run is told of before waiting.
        let locked = match backend.try_lock(table, timeout).await {
            Ok(true) => Ok(()),
            Ok(false) if timeout.is_zero() => Err(LockTimedOut.into()),
            Ok(false) => {
                waiting();
                backend.lock(table, timeout).await
            }
            Err(e) => Err(e),
        };
        lock_error(locked, table, timeout, "taking the migration lock")?;
        let mut session = Session {
            backend,
            locked: Some(table.clone()),
            timeout,
            in_transaction: false,
        };
        let begun = match session.backend.try_begin().await {
            Ok(true) => Ok(()),
            Ok(false) => {
                if !timeout.is_zero() {
                    waiting();
                }
                session.backend.begin().await
            }
            Err(e) => Err(e),
        };
        if let Err(e) = lock_error(begun, table, timeout, "beginning a transaction") {
            session.abort().await;
            return Err(e);
        }
        session.in_transaction = true;
        if waited {
            let waited = began.elapsed();
            tracing::info!(
                table = %table,
                waited_ms = u64::try_from(waited.as_millis()).unwrap_or(u64::MAX),
                "took the migration lock"
            );
            observer(&Event::LockAcquired { waited });
        } else {
            tracing::debug!(table = %table, "took the migration lock");
        }
        Ok(session)
    }

    pub(crate) fn backend(&mut self) -> &mut (dyn Backend + 'a) {
        self.backend
    }

    pub(crate) fn in_transaction(&self) -> bool {
        self.in_transaction
    }

    /// Between steps: renews a lease that is due, and fails if another run took it.
    pub(crate) async fn keep_lock(&mut self) -> Result<(), Error> {
        match &self.locked {
            Some(table) if !self.in_transaction => self.backend.keep_lock().await.map_err(|e| {
                Error::database(format!("renewing the migration lease on table {table}"), e)
            }),
            _ => Ok(()),
        }
    }

    pub(crate) async fn begin(&mut self) -> Result<(), Error> {
        let begun = self.backend.begin().await;
        match &self.locked {
            Some(table) => lock_error(begun, table, self.timeout, "beginning a transaction")?,
            None => begun.map_err(|e| Error::database("beginning a transaction", e))?,
        }
        self.in_transaction = true;
        Ok(())
    }

    /// Notes that the transaction was ended by someone else (a migration that ran
    /// `COMMIT` itself), so that nothing tries to commit or roll it back.
    pub(crate) fn forget_transaction(&mut self) {
        self.in_transaction = false;
    }

    pub(crate) async fn commit(&mut self) -> Result<(), Error> {
        if self.in_transaction {
            self.backend
                .commit()
                .await
                .map_err(|e| Error::database("committing", e))?;
            self.in_transaction = false;
        }
        Ok(())
    }

    /// Ends a command with `result`: on success commits what is open and releases the
    /// lock ([`close`](Session::close)); on failure rolls back and releases the lock
    /// ([`abort`](Session::abort)) and returns the failure.
    pub(crate) async fn end<T>(mut self, result: Result<T, Error>) -> Result<T, Error> {
        match result {
            Ok(value) => {
                self.close().await?;
                Ok(value)
            }
            Err(failure) => {
                self.abort().await;
                Err(failure)
            }
        }
    }

    /// Ends a command that succeeded: commits what is open, then releases the lock.
    /// A lock that cannot be released, or was no longer held, is an error: the
    /// command's work is committed, but the run was not protected throughout.
    pub(crate) async fn close(&mut self) -> Result<(), Error> {
        if let Err(e) = self.commit().await {
            self.abort().await;
            return Err(e);
        }
        if let Some(table) = self.locked.take() {
            self.backend.unlock(&table).await.map_err(|e| {
                Error::database(
                    format!(
                        "releasing the migration lock on table {table} (what the command did is committed)"
                    ),
                    e,
                )
            })?;
        }
        Ok(())
    }

    /// Ends a command that failed: rolls back what is open and releases the lock,
    /// logging what fails — the command's own failure is what its caller needs.
    pub(crate) async fn abort(&mut self) {
        if std::mem::take(&mut self.in_transaction)
            && let Err(err) = self.backend.rollback().await
        {
            tracing::warn!(error = %err, "rolling back failed");
        }
        if let Some(table) = self.locked.take()
            && let Err(err) = self.backend.unlock(&table).await
        {
            tracing::warn!(error = %err, "releasing the migration lock failed");
        }
    }
}

/// A backend's result for taking the lock: not obtaining it in time is
/// [`Error::LockTimeout`] on every backend, anything else a database error.
fn lock_error(
    result: BackendResult<()>,
    table: &TableName,
    timeout: Duration,
    action: &str,
) -> Result<(), Error> {
    result.map_err(|e| {
        if e.is::<LockTimedOut>() {
            Error::LockTimeout {
                table: table.to_string(),
                waited: timeout,
            }
        } else if let Some(replica) = e.downcast_ref::<ReadOnlyReplica>() {
            Error::ReadOnlyReplica {
                reason: replica.reason.clone(),
            }
        } else {
            Error::database(action, e)
        }
    })
}

impl Drop for Session<'_> {
    fn drop(&mut self) {
        if self.in_transaction || self.locked.is_some() {
            self.backend
                .abandon(self.locked.take().as_ref(), self.in_transaction);
        }
    }
}
