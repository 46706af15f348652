//! A backend borrowed for one command, holding the lock and the open transaction as
//! RAII state. A command that succeeds ends it with [`Session::close`], which commits
//! and releases the lock and reports either failing; dropping it instead — on `?`, on
//! panic — rolls back an open transaction and releases the lock, logging what fails.

use crate::backend::{Backend, BackendResult, LockTimedOut};
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
    pub(crate) fn writing(
        backend: &'a mut (dyn Backend + 'a),
        table: &TableName,
        timeout: Duration,
        observer: &mut dyn FnMut(&Event<'_>),
    ) -> Result<Self, Error> {
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
        let locked = backend.lock_reporting(table, timeout, &mut waiting);
        lock_error(locked, table, timeout, "taking the migration lock")?;
        let mut session = Session {
            backend,
            locked: Some(table.clone()),
            timeout,
            in_transaction: false,
        };
        let begun = session.backend.begin_reporting(&mut waiting);
        lock_error(begun, table, timeout, "beginning a transaction")?;
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

    pub(crate) fn begin(&mut self) -> Result<(), Error> {
        let begun = self.backend.begin();
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

    pub(crate) fn commit(&mut self) -> Result<(), Error> {
        if self.in_transaction {
            self.backend
                .commit()
                .map_err(|e| Error::database("committing", e))?;
            self.in_transaction = false;
        }
        Ok(())
    }

    /// Ends a command that succeeded: commits what is open, then releases the lock.
    /// A lock that cannot be released, or was no longer held, is an error: the
    /// command's work is committed, but the run was not protected throughout.
    pub(crate) fn close(mut self) -> Result<(), Error> {
        self.commit()?;
        if let Some(table) = self.locked.take() {
            self.backend.unlock(&table).map_err(|e| {
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
        } else {
            Error::database(action, e)
        }
    })
}

impl Drop for Session<'_> {
    fn drop(&mut self) {
        if self.in_transaction
            && let Err(err) = self.backend.rollback()
        {
            tracing::warn!(error = %err, "rolling back failed");
        }
        if let Some(table) = self.locked.take()
            && let Err(err) = self.backend.unlock(&table)
        {
            tracing::warn!(error = %err, "releasing the migration lock failed");
        }
    }
}
