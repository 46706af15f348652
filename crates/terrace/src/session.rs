//! A backend borrowed for one command, holding the lock and the open transaction as
//! RAII state: dropping it — on success, on `?`, on panic — rolls back an open
//! transaction and releases the lock.

use crate::backend::Backend;
use crate::error::Error;
use crate::history::TableName;
use std::time::Duration;

pub(crate) struct Session<'a> {
    backend: &'a mut (dyn Backend + 'a),
    /// The table whose lock is held, if one is.
    locked: Option<TableName>,
    in_transaction: bool,
}

impl<'a> Session<'a> {
    /// A session for read-only commands: no lock, no transaction.
    pub(crate) fn reading(backend: &'a mut (dyn Backend + 'a)) -> Self {
        Session {
            backend,
            locked: None,
            in_transaction: false,
        }
    }

    /// Takes the migration lock, then begins a write transaction — in that order, so
    /// the history is only ever read under the lock.
    pub(crate) fn writing(
        backend: &'a mut (dyn Backend + 'a),
        table: &TableName,
        timeout: Duration,
    ) -> Result<Self, Error> {
        backend
            .lock(table, timeout)
            .map_err(|e| Error::database("taking the migration lock", e))?;
        let mut session = Session {
            backend,
            locked: Some(table.clone()),
            in_transaction: false,
        };
        session.begin()?;
        Ok(session)
    }

    pub(crate) fn backend(&mut self) -> &mut (dyn Backend + 'a) {
        self.backend
    }

    pub(crate) fn in_transaction(&self) -> bool {
        self.in_transaction
    }

    pub(crate) fn begin(&mut self) -> Result<(), Error> {
        self.backend
            .begin()
            .map_err(|e| Error::database("beginning a transaction", e))?;
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
