//! Where test databases live: naming, creating and dropping them, and sweeping the
//! leftovers of test processes that were killed.
//!
//! A name is `terrace_testdb_<host>_<pid>_<n>`: a server database, or a folder in the
//! system's temporary folder holding a SQLite file. `<host>` is a short hash of this
//! machine's identity, so a sweep only ever drops what this host's dead processes made,
//! never another machine's live databases on a shared server.

use super::admin::with_admin;
use super::{Target, TestDb, TestDbError, render};
use crate::connection::{
    ConnectOptions, Connection, DatabaseUrl, Scheme, redact, replace_database as with_database,
};
use crate::error::BoxError;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};

/// The start of every test database's name (and SQLite folder's).
const PREFIX: &str = "terrace_testdb_";

/// Where a test database lives.
pub(super) enum Place {
    /// A SQLite file in a folder of its own.
    Sqlite { dir: PathBuf, file: PathBuf },
    /// A scratch database on a server.
    Server {
        scheme: Scheme,
        /// The URL the database was created from, used again to drop it.
        server_url: String,
        name: String,
    },
}

pub(super) fn open_url(url: &str) -> Result<Connection, BoxError> {
    Ok(Connection::open(
        &DatabaseUrl::parse(url)?,
        &ConnectOptions::default(),
    )?)
}

/// A short hash of this machine's identity (its machine id and host name): the same
/// in every process on it, different on another host sharing a server.
fn host_id() -> &'static str {
    static HOST: OnceLock<String> = OnceLock::new();
    HOST.get_or_init(|| {
        let read = |path: &str| std::fs::read_to_string(path).unwrap_or_default();
        let identity = format!(
            "{}\n{}",
            read("/etc/machine-id"),
            read("/proc/sys/kernel/hostname")
        );
        // FNV-1a: unlike std's hasher, the same in every Rust release.
        let mut hash: u32 = 0x811c_9dc5;
        for byte in identity.bytes() {
            hash ^= u32::from(byte);
            hash = hash.wrapping_mul(0x0100_0193);
        }
        format!("{hash:08x}")
    })
}

/// The next name for a test database of this process.
fn next_name() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!(
        "{PREFIX}{}_{}_{}",
        host_id(),
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// Which names are test databases of this host (`host`) whose process no longer runs.
/// Names of other hosts, or not of this form, are never stale here.
fn stale<'a>(names: &'a [String], host: &str, running: impl Fn(u32) -> bool) -> Vec<&'a str> {
    names
        .iter()
        .filter(|name| {
            name.strip_prefix(PREFIX)
                .and_then(|rest| rest.strip_prefix(host))
                .and_then(|rest| rest.strip_prefix('_'))
                .and_then(|rest| {
                    let (pid, n) = rest.split_once('_')?;
                    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
                    if digits(pid) && digits(n) {
                        pid.parse::<u32>().ok()
                    } else {
                        None
                    }
                })
                .is_some_and(|pid| !running(pid))
        })
        .map(String::as_str)
        .collect()
}

/// Whether a process runs on this host, or `None` where that cannot be told.
fn process_table() -> Option<impl Fn(u32) -> bool> {
    let proc = Path::new("/proc");
    proc.join("self")
        .exists()
        .then_some(move |pid: u32| proc.join(pid.to_string()).exists())
}

/// Sweeps a place the first time this process makes a test database there. A failing
/// sweep only warns: the leftovers stay for a later run.
pub(super) fn sweep_once(target: &Target) {
    static SWEPT: Mutex<Vec<String>> = Mutex::new(Vec::new());
    let key = match target {
        Target::Sqlite => String::new(),
        Target::Server(_, url) => url.clone(),
    };
    {
        let mut swept = SWEPT
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if swept.contains(&key) {
            return;
        }
        swept.push(key);
    }
    if let Err(error) = sweep(target) {
        eprintln!(
            "warning: leftover test databases were not removed: {}",
            render(&error)
        );
    }
}

/// Drops the leftovers of this host's dead test processes where `target` is: on its
/// server, or in the temporary folder.
pub(super) fn sweep(target: &Target) -> Result<Vec<String>, TestDbError> {
    match target {
        Target::Sqlite => sweep_sqlite(),
        Target::Server(scheme, url) => sweep_server(*scheme, url),
    }
}

pub(super) fn create_sqlite() -> Result<TestDb, TestDbError> {
    let temp = std::env::temp_dir();
    loop {
        let dir = temp.join(next_name());
        match std::fs::create_dir(&dir) {
            Ok(()) => {
                let file = dir.join("test.db");
                return Ok(TestDb {
                    url: format!("sqlite:{}", file.display()),
                    place: Some(Place::Sqlite { dir, file }),
                });
            }
            // A folder a dead process with this process's id left: take the next name.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => {
                return Err(TestDbError::Failed {
                    action: "create a folder for a test database in",
                    target: temp.display().to_string(),
                    source: Box::new(e),
                });
            }
        }
    }
}

fn sweep_sqlite() -> Result<Vec<String>, TestDbError> {
    let Some(running) = process_table() else {
        return Ok(Vec::new());
    };
    let temp = std::env::temp_dir();
    let failed = |source: std::io::Error, path: &Path| TestDbError::Failed {
        action: "remove leftover test databases in",
        target: path.display().to_string(),
        source: Box::new(source),
    };
    let names: Vec<String> = std::fs::read_dir(&temp)
        .map_err(|e| failed(e, &temp))?
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .collect();
    let mut removed = Vec::new();
    for name in stale(&names, host_id(), running) {
        let dir = temp.join(name);
        match std::fs::remove_dir_all(&dir) {
            Ok(()) => removed.push(name.to_owned()),
            // Another process swept it first.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(failed(e, &dir)),
        }
    }
    Ok(removed)
}

/// What a server was asked to do, and failed.
fn server_failure(action: &'static str, what: &str, url: &str, source: BoxError) -> TestDbError {
    TestDbError::Failed {
        action,
        target: format!("{what} on {}", redact(url)),
        source,
    }
}

pub(super) fn create_server(scheme: Scheme, server_url: String) -> Result<TestDb, TestDbError> {
    let connect_failed = |e| server_failure("connect to", "the server", &server_url, e);
    with_admin(scheme, &server_url, connect_failed, |admin| {
        loop {
            let name = next_name();
            match admin.create(&name) {
                Ok(true) => return Ok(name),
                // Left by a dead process with this process's id: take the next name.
                Ok(false) => {}
                Err(e) => {
                    return Err(server_failure(
                        "create the scratch database",
                        &name,
                        &server_url,
                        e,
                    ));
                }
            }
        }
    })
    .map(|name| TestDb {
        url: with_database(&server_url, &name),
        place: Some(Place::Server {
            scheme,
            server_url,
            name,
        }),
    })
}

fn sweep_server(scheme: Scheme, url: &str) -> Result<Vec<String>, TestDbError> {
    let Some(running) = process_table() else {
        return Ok(Vec::new());
    };
    let failed = |e| server_failure("remove leftover test databases", "the server", url, e);
    with_admin(scheme, url, failed, |admin| {
        let names = admin.names().map_err(failed)?;
        let mut dropped = Vec::new();
        for name in stale(&names, host_id(), running) {
            admin.drop_database(name).map_err(failed)?;
            dropped.push(name.to_owned());
        }
        Ok(dropped)
    })
}

pub(super) fn remove(place: Place) -> Result<(), TestDbError> {
    match place {
        Place::Sqlite { dir, .. } => {
            std::fs::remove_dir_all(&dir).map_err(|e| TestDbError::Failed {
                action: "remove the test database folder",
                target: dir.display().to_string(),
                source: Box::new(e),
            })
        }
        Place::Server {
            scheme,
            server_url,
            name,
        } => {
            let failed = |e| server_failure("drop the scratch database", &name, &server_url, e);
            with_admin(scheme, &server_url, failed, |admin| {
                admin.drop_database(&name).map_err(failed)
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn only_this_hosts_databases_of_dead_processes_are_stale() {
        let list = names(&[
            "terrace_testdb_0000abcd_100_0",  // this host, dead
            "terrace_testdb_0000abcd_200_3",  // this host, running
            "terrace_testdb_0badbeef_100_0",  // another host
            "terrace_testdb_0000abcd_x_0",    // not a pid
            "terrace_testdb_0000abcd_100",    // no counter
            "terrace_testdb_0000abcd_100_0a", // not a counter
            "terrace_test_0000abcd_100_0",    // the integration tests' own naming
            "app_production",
        ]);
        assert_eq!(
            stale(&list, "0000abcd", |pid| pid == 200),
            ["terrace_testdb_0000abcd_100_0"]
        );
    }

    #[test]
    fn the_scratch_database_replaces_the_servers_own() {
        for (url, expected) in [
            ("postgres://u@h:5432/test", "postgres://u@h:5432/scratch"),
            ("postgres://u@h", "postgres://u@h/scratch"),
            (
                "postgres://u:p/w@h/test?sslmode=require",
                "postgres://u:p/w@h/scratch?sslmode=require",
            ),
            (
                "mysql://root@127.0.0.1:3306/",
                "mysql://root@127.0.0.1:3306/scratch",
            ),
            (
                "mariadb://h/app?ssl-mode=DISABLED",
                "mariadb://h/scratch?ssl-mode=DISABLED",
            ),
        ] {
            assert_eq!(with_database(url, "scratch"), expected, "{url}");
        }
    }
}
