//! Each driver's connection seen through [`terrace_core::Adapter`], from which
//! [`terrace_core::SqlBackend`] builds the backend a command runs on: the blocking
//! drivers (rusqlite, postgres, mysql; diesel's are in `diesel_adapter`) and the async
//! ones (sqlx, tokio-postgres).
//!
//! The async ones run on the application's own runtime: none of them starts one, and
//! the waits between tries of a lock use [`sleep`], which needs none.

#[cfg(feature = "mysql")]
mod mysql;
#[cfg(feature = "postgres")]
mod postgres;
#[cfg(feature = "sqlite")]
mod rusqlite;
#[cfg(any(
    feature = "sqlx-sqlite",
    feature = "sqlx-postgres",
    feature = "sqlx-mysql"
))]
mod sqlx;
#[cfg(feature = "tokio-postgres")]
mod tokio_postgres;

#[cfg(any(
    feature = "sqlx-sqlite",
    feature = "sqlx-postgres",
    feature = "sqlx-mysql",
    feature = "tokio-postgres"
))]
pub(crate) use timer::sleep;

/// A wait without a runtime's timer, for the async adapters.
#[cfg(any(
    feature = "sqlx-sqlite",
    feature = "sqlx-postgres",
    feature = "sqlx-mysql",
    feature = "tokio-postgres"
))]
mod timer {
    use std::future::Future;
    use std::pin::Pin;
    use std::sync::{Arc, Mutex, PoisonError};
    use std::task::{Context, Poll, Waker};
    use std::time::Duration;
    use terrace_core::BoxFuture;

    /// Waits `duration` without a runtime's timer: a short-lived thread sleeps and wakes
    /// the task. The waits are the pauses between tries of a busy lock, rare and short,
    /// and this keeps the adapters working on whichever runtime the application chose
    /// (tokio, async-std, smol) without a dependency on any of them.
    pub(crate) fn sleep(duration: Duration) -> BoxFuture<'static, ()> {
        Box::pin(Sleep {
            duration,
            shared: None,
        })
    }

    struct Sleep {
        duration: Duration,
        shared: Option<Arc<Mutex<Shared>>>,
    }

    struct Shared {
        done: bool,
        waker: Option<Waker>,
    }

    impl Future for Sleep {
        type Output = ();

        fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
            if self.duration.is_zero() {
                return Poll::Ready(());
            }
            if let Some(shared) = &self.shared {
                let mut shared = shared.lock().unwrap_or_else(PoisonError::into_inner);
                if shared.done {
                    return Poll::Ready(());
                }
                shared.waker = Some(cx.waker().clone());
                return Poll::Pending;
            }
            let shared = Arc::new(Mutex::new(Shared {
                done: false,
                waker: Some(cx.waker().clone()),
            }));
            let theirs = Arc::clone(&shared);
            let duration = self.duration;
            let spawned = std::thread::Builder::new()
                .name("terrace-sleep".to_owned())
                .spawn(move || {
                    std::thread::sleep(duration);
                    let waker = {
                        let mut shared = theirs.lock().unwrap_or_else(PoisonError::into_inner);
                        shared.done = true;
                        shared.waker.take()
                    };
                    if let Some(waker) = waker {
                        waker.wake();
                    }
                });
            match spawned {
                Ok(_) => {
                    self.shared = Some(shared);
                    Poll::Pending
                }
                Err(err) => {
                    // No thread to be had: wait on this one rather than not at all.
                    tracing::debug!(error = %err, "no thread for a timer; sleeping in place");
                    std::thread::sleep(duration);
                    Poll::Ready(())
                }
            }
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;
        use std::time::Instant;

        #[test]
        fn sleep_waits_its_duration_and_zero_does_not_wait() {
            let start = Instant::now();
            terrace_core::block_on(sleep(Duration::from_millis(30)));
            assert!(start.elapsed() >= Duration::from_millis(30));

            let start = Instant::now();
            terrace_core::block_on(sleep(Duration::ZERO));
            assert!(start.elapsed() < Duration::from_millis(30));
        }
    }
}
