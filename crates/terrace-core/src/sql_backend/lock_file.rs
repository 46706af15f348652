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

/// Takes the lock on `path`, waiting at most `timeout` for another holder. Fails with
/// [`io::ErrorKind::TimedOut`] when it stays held that long.
pub async fn acquire(
    path: &Path,
    timeout: Duration,
    adapter: &mut dyn Adapter,
) -> io::Result<LockFile> {
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)?;
    let deadline = Instant::now() + timeout;
    let mut pause = Duration::from_millis(2);
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
        adapter.sleep(pause.min(deadline - now)).await;
        pause = (pause * 2).min(Duration::from_millis(50));
    }
}
