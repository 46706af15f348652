//! A lock file beside a SQLite database, held for a whole run.
//!
//! SQLite's own write lock lasts one transaction, and a migration that runs outside a
//! transaction (`transaction:false`) or a run with a transaction per migration lets it
//! go between steps; another runner could then find a migration half-way through and
//! take it for an interrupted one. The operating system's lock on
//! `<database>-terrace.lock` (`flock` on Unix, `LockFileEx` on Windows) spans the whole
//! run, and is released when the run ends or its process dies, so a crashed runner
//! never leaves it held. The file itself is left in place, empty: deleting it could
//! let two runners lock two different files of the same name.
//!
//! Every SQLite adapter shares it, so that runs through different drivers of one
//! database exclude each other; the waits between tries go through the adapter's
//! [`sleep`](crate::Adapter::sleep).

use crate::adapter::Adapter;
use std::fs::{File, OpenOptions, TryLockError};
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// A held lock file; dropping it releases the lock.
#[derive(Debug)]
pub struct LockFile {
    _file: File,
}

/// The lock file's path for a database file.
pub fn path_for(database: &Path) -> PathBuf {
    let mut name = database.as_os_str().to_owned();
    name.push("-terrace.lock");
    PathBuf::from(name)
}

/// Tries to take the lock on `path` until a deadline, with growing pauses.
struct Attempt<'p> {
    path: &'p Path,
    file: Option<File>,
    timeout: Duration,
    deadline: Instant,
    pause: Duration,
}

/// What one try of an [`Attempt`] found.
enum Tried {
    /// The lock is taken.
    Taken(LockFile),
    /// It is held: wait this long before the next try.
    Wait(Duration),
}

impl<'p> Attempt<'p> {
    fn new(path: &'p Path, timeout: Duration) -> io::Result<Self> {
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)?;
        Ok(Attempt {
            path,
            file: Some(file),
            timeout,
            deadline: Instant::now() + timeout,
            pause: Duration::from_millis(2),
        })
    }

    fn try_once(&mut self) -> io::Result<Tried> {
        let file = self
            .file
            .take()
            .ok_or_else(|| io::Error::other("the lock file was already taken"))?;
        match file.try_lock() {
            Ok(()) => return Ok(Tried::Taken(LockFile { _file: file })),
            Err(TryLockError::WouldBlock) => self.file = Some(file),
            Err(TryLockError::Error(err)) => return Err(err),
        }
        let now = Instant::now();
        if now >= self.deadline {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!(
                    "the migration lock ({}) is held by another run; waited {:.1} s",
                    self.path.display(),
                    self.timeout.as_secs_f64()
                ),
            ));
        }
        let wait = self.pause.min(self.deadline - now);
        self.pause = (self.pause * 2).min(Duration::from_millis(50));
        Ok(Tried::Wait(wait))
    }
}

/// Takes the lock on `path`, waiting at most `timeout` for another holder. Fails with
/// [`io::ErrorKind::TimedOut`] when it stays held that long.
pub async fn acquire(
    path: &Path,
    timeout: Duration,
    adapter: &mut dyn Adapter,
) -> io::Result<LockFile> {
    let mut attempt = Attempt::new(path, timeout)?;
    loop {
        match attempt.try_once()? {
            Tried::Taken(lock) => return Ok(lock),
            Tried::Wait(wait) => adapter.sleep(wait).await,
        }
    }
}

/// [`acquire`], sleeping the thread between tries: for the tests.
#[cfg(test)]
pub fn acquire_blocking(path: &Path, timeout: Duration) -> io::Result<LockFile> {
    let mut attempt = Attempt::new(path, timeout)?;
    loop {
        match attempt.try_once()? {
            Tried::Taken(lock) => return Ok(lock),
            Tried::Wait(wait) => std::thread::sleep(wait),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_waits_then_times_out_and_gets_it_once_released() {
        let dir = std::env::temp_dir().join(format!("terrace-lock-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a scratch folder");
        let path = path_for(&dir.join("app.db"));
        assert!(path.ends_with("app.db-terrace.lock"));

        let first = acquire_blocking(&path, Duration::ZERO).expect("free");
        let began = Instant::now();
        let err = acquire_blocking(&path, Duration::from_millis(100)).expect_err("held");
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
        assert!(began.elapsed() >= Duration::from_millis(100));
        assert!(err.to_string().contains("held by another run"), "{err}");

        drop(first);
        acquire_blocking(&path, Duration::ZERO).expect("released on drop");
        std::fs::remove_dir_all(&dir).expect("cleaned up");
    }
}
