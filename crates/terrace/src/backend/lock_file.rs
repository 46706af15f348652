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

use std::fs::{File, OpenOptions, TryLockError};
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// A held lock file; dropping it releases the lock.
#[derive(Debug)]
pub(crate) struct LockFile {
    _file: File,
}

/// The lock file's path for a database file.
pub(crate) fn path_for(database: &Path) -> PathBuf {
    let mut name = database.as_os_str().to_owned();
    name.push("-terrace.lock");
    PathBuf::from(name)
}

impl LockFile {
    /// Takes the lock on `path`, waiting at most `timeout` for another holder, and
    /// calling `waiting` once when the first try finds it held. Fails with
    /// [`io::ErrorKind::TimedOut`] when it stays held that long.
    pub(crate) fn acquire(
        path: &Path,
        timeout: Duration,
        waiting: &mut dyn FnMut(),
    ) -> io::Result<LockFile> {
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)?;
        let deadline = Instant::now() + timeout;
        let mut pause = Duration::from_millis(2);
        let mut first = true;
        loop {
            match file.try_lock() {
                Ok(()) => return Ok(LockFile { _file: file }),
                Err(TryLockError::WouldBlock) => {}
                Err(TryLockError::Error(err)) => return Err(err),
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!(
                        "the migration lock ({}) is held by another run; waited {:.1} s",
                        path.display(),
                        timeout.as_secs_f64()
                    ),
                ));
            }
            if std::mem::take(&mut first) {
                waiting();
            }
            std::thread::sleep(pause.min(deadline - now));
            pause = (pause * 2).min(Duration::from_millis(50));
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

        let mut notices = 0;
        let first = LockFile::acquire(&path, Duration::ZERO, &mut || notices += 1).expect("free");
        assert_eq!(notices, 0, "a free lock is not waited for");
        let began = Instant::now();
        let err = LockFile::acquire(&path, Duration::from_millis(100), &mut || notices += 1)
            .expect_err("held");
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
        assert_eq!(notices, 1, "the wait is announced once");
        assert!(began.elapsed() >= Duration::from_millis(100));
        assert!(err.to_string().contains("held by another run"), "{err}");

        drop(first);
        LockFile::acquire(&path, Duration::ZERO, &mut || {}).expect("released on drop");
        std::fs::remove_dir_all(&dir).expect("cleaned up");
    }
}
