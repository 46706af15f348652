//! The decisions of a Terrace migration run, with no database driver: the migration
//! model, validation, planning, the repair policy, the tracking table's policy and
//! the run itself, which speaks to a database only through the [`Backend`] trait.
//!
//! **This is an implementation crate of Terrace.** Applications depend on the
//! `terrace` crate, which re-exports what they need and adds the adapters for each
//! driver (rusqlite, postgres, mysql, sqlx, tokio-postgres, diesel). What is public
//! here beyond those re-exports — [`Backend`], [`Adapter`], [`SqlBackend`], the
//! tracking table's policy in [`history`] — is public for those adapters only, and
//! may change in any release.
//!
//! A run is a future over a `&mut dyn Backend`, which a blocking adapter completes
//! in one poll ([`block_on`]) and an async one awaits, so that the orchestration is
//! written once for both.

pub mod adapter;
pub mod backend;
pub mod error;
mod executor;
pub mod history;
pub mod migration;
pub mod migrations;
pub mod plan;
mod repair;
pub mod report;
mod runner;
pub mod schema;
mod session;
pub mod sql_backend;
pub mod validate;

pub use adapter::{Adapter, Cell, CellRef, Kind, Param, RowVisit, Rows};
pub use backend::{Backend, BoxFuture, LockTimedOut, NewRow, RowKey, ready};
pub use error::{BoxError, Error};
pub use history::{HistoryRow, RowState, TableName};
pub use migration::{Body, CodeFn, CodeResult, Migration};
pub use migrations::{LockMode, Migrations, NewerApplied, TransactionMode};
pub use plan::{Direction, Plan, Step, Target};
pub use report::{
    AppliedStatus, Event, PendingMigration, RepairChange, RepairReport, Report, ResetReport,
    Status, StepReport,
};
pub use runner::HistorySnapshot;
pub use schema::{CodeConnection, Db};
pub use sql_backend::SqlBackend;
pub use validate::{Problem, Warning};

/// The migration file format: names, sections, checksums, statement splitting.
pub use terrace_format as format;

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

/// Runs a future to completion on this thread: the blocking front of a run.
///
/// Over a blocking backend every verb's future is already complete, so a run finishes
/// in its first poll; should a future not be ready, the thread sleeps until it is
/// woken.
pub fn block_on<F: Future>(future: F) -> F::Output {
    struct Unpark(std::thread::Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
        fn wake_by_ref(self: &Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut context = Context::from_waker(&waker);
    let mut future = pin!(future);
    loop {
        match future.as_mut().poll(&mut context) {
            Poll::Ready(output) => return output,
            Poll::Pending => std::thread::park(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn send<T: Send>(_: T) {}

    /// A run over any backend is a `Send` future, so that an async application can
    /// run it on a multi-threaded runtime.
    #[test]
    fn runs_are_send_futures() {
        static LIST: Migrations = Migrations::new(&[]);
        fn all(backend: &mut dyn Backend) {
            send(LIST.run(backend));
        }
        fn run_to(backend: &mut dyn Backend) {
            send(LIST.run_to(backend, Target::Steps(1)));
        }
        fn rollback(backend: &mut dyn Backend) {
            send(LIST.rollback(backend, Target::Version(0)));
        }
        fn status(backend: &mut dyn Backend) {
            send(LIST.status(backend));
        }
        fn repair(backend: &mut dyn Backend) {
            send(LIST.repair(backend));
        }
        fn baseline(backend: &mut dyn Backend) {
            send(LIST.baseline(backend, 1));
        }
        fn reset(backend: &mut dyn Backend) {
            send(LIST.reset_history(backend));
        }
        fn plan(backend: &mut dyn Backend) {
            send(LIST.plan(backend, Target::Latest));
        }
        let _ = (all, run_to, rollback, status, repair, baseline, reset, plan);
    }
}
