//! A lease renewed from a second connection, so that one migration may run longer
//! than the lease.
//!
//! A run renews its lease itself only between steps: while a statement runs, its
//! connection is busy. [`LeaseKeeper`] opens a connection of its own to the same
//! database and extends the lease every third of its length for as long as the run
//! holds it. The run tells it the token of the lease it took (each lease taken has a
//! token of its own), and it only ever extends a lease under that token: before the
//! run has taken the lease, after it has released it, or once another run has taken
//! an expired one over, it renews nothing. If the process dies, so does the keeper,
//! and the lease expires as it would have.

use super::{Access, ConnectOptions, Connection, DatabaseUrl, Scheme};
use crate::Migrations;
use crate::backend::Database;
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::thread::JoinHandle;
use std::time::Duration;
use terrace_core::sql_backend::LeaseSlot;
use terrace_core::{LockMode, TableName, block_on};

/// Renews the lease of a run from a connection of its own until dropped. Dropping it
/// stops the renewals, after a connection attempt or a renewal under way ends.
///
/// ```no_run
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use terrace::connection::LeaseKeeper;
/// use terrace::{ConnectOptions, Connection, DatabaseUrl, LockMode, Migrations};
///
/// let url = DatabaseUrl::parse("postgres://app@db-pool:6432/app")?;
/// let mut migrations = Migrations::from_dir("migrations")?.with_lock(LockMode::Lease);
/// let options = ConnectOptions::default();
/// let keeper = LeaseKeeper::start(&url, &options, &mut migrations);
/// migrations.run(&mut Connection::open(&url, &options)?)?;
/// drop(keeper);
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct LeaseKeeper {
    stop: Option<Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl LeaseKeeper {
    /// Starts renewing the lease that a run of `migrations` takes on the database `url`
    /// names, and has `migrations` tell the keeper each lease it takes.
    ///
    /// `None` where no lease is taken: SQLite, the session lock, and PostgreSQL
    /// unless [`LockMode::Lease`] is set. Under [`LockMode::Auto`] on MySQL the keeper
    /// asks the server first and ends at once unless it is a Galera node. The keeper's
    /// connection is opened in its thread, so a run never waits for it; if it cannot
    /// be opened, the run renews its lease between steps only, as without a keeper,
    /// and the reason is logged.
    pub fn start(
        url: &DatabaseUrl,
        options: &ConnectOptions,
        migrations: &mut Migrations,
    ) -> Option<LeaseKeeper> {
        let (mode, length) = migrations.lock();
        let wanted = match (url.scheme(), mode) {
            (Scheme::Sqlite, _) | (_, LockMode::Session) => false,
            (_, LockMode::Lease) | (Scheme::Mysql, LockMode::Auto) => true,
            _ => false,
        };
        if !wanted {
            return None;
        }
        let slot = LeaseSlot::default();
        migrations.set_lease_slot(slot.clone());
        let table = migrations.table().clone();
        let url = url.clone();
        let options = ConnectOptions {
            wait: options.wait,
            access: Access::ReadWrite,
        };
        let (stop, stopped) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("terrace-lease".to_owned())
            .spawn(move || {
                let keep = Keep {
                    table,
                    slot,
                    mode,
                    length,
                };
                keep.run(&url, &options, &stopped);
            });
        match thread {
            Ok(thread) => Some(LeaseKeeper {
                stop: Some(stop),
                thread: Some(thread),
            }),
            Err(e) => {
                tracing::warn!(error = %e, "could not start the thread that renews the lease");
                None
            }
        }
    }
}

impl Drop for LeaseKeeper {
    fn drop(&mut self) {
        // Dropping the sender wakes the thread at once.
        self.stop.take();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// What the keeper's thread renews.
struct Keep {
    table: TableName,
    slot: LeaseSlot,
    mode: LockMode,
    length: Duration,
}

impl Keep {
    fn run(&self, url: &DatabaseUrl, options: &ConnectOptions, stopped: &mpsc::Receiver<()>) {
        let mut conn = match Connection::open(url, options) {
            Ok(conn) => conn,
            Err(e) => {
                tracing::warn!(
                    error = %crate::error_line(&e),
                    "could not open a second connection to renew the lease; it is renewed \
                     between steps only"
                );
                return;
            }
        };
        let mut backend = match conn.backend() {
            Ok(backend) => backend,
            Err(e) => {
                tracing::warn!(error = %crate::error_line(&e), "cannot renew the lease");
                return;
            }
        };
        backend.configure_lock(self.mode, self.length);
        match block_on(backend.leases()) {
            Ok(true) => {}
            // The session lock, or a replica the run itself refuses.
            Ok(false) | Err(_) => return,
        }
        let period = self.length / 3;
        loop {
            match stopped.recv_timeout(period) {
                Err(RecvTimeoutError::Timeout) => {}
                Ok(()) | Err(RecvTimeoutError::Disconnected) => return,
            }
            let Some(owner) = self.slot.holder() else {
                continue;
            };
            match block_on(backend.renew_lease_of(&self.table, &owner, self.length)) {
                Ok(held) => tracing::debug!(held, "renewed the lease from a second connection"),
                Err(e) => tracing::warn!(error = %e, "could not renew the lease"),
            }
        }
    }
}
