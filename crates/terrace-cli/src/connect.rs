//! Which database the configuration names, opened through the library's
//! [`terrace::Connection`].
//!
//! The library parses URLs, hides passwords and opens every compiled-in backend; this
//! module only resolves a relative SQLite path against the folder of the
//! `terrace.toml` that named it, and turns the library's refusals into messages with
//! hints.

use crate::config::DatabaseSetting;
use crate::failure::Failure;
use crate::output::Output;
use std::path::Path;
use std::time::Duration;
use terrace::connection::{LeaseKeeper, redact};
use terrace::{ConnectOptions, Connection, DatabaseUrl};

pub use terrace::Access;

/// A database this build can open.
#[derive(Debug, Clone)]
pub struct Location {
    url: DatabaseUrl,
    wait: Duration,
    /// Whether a pooler may share the server's connections between transactions (the
    /// lease lock was asked for): then nothing is set on a session, since it would stay
    /// on the pooled server connection for its next client.
    pooled: bool,
}

/// Where the database a setting names is; a usage error for a URL this build cannot
/// open. Commands call it before anything else, so a bad URL is reported first.
pub fn locate(setting: &DatabaseSetting, wait: Duration) -> Result<Location, Failure> {
    let url = DatabaseUrl::parse(&setting.url).map_err(|e| Failure::usage(e.to_string()))?;
    Ok(Location {
        url: url.relative_to(&setting.base),
        wait,
        pooled: false,
    })
}

impl std::fmt::Display for Location {
    /// The URL, with any password hidden.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.url.fmt(f)
    }
}

impl Location {
    /// Marks the server as possibly behind a pooler in transaction mode (see
    /// [`Location::open`]).
    pub fn pooled(mut self, pooled: bool) -> Self {
        self.pooled = pooled;
        self
    }

    /// The URL; its `Display` hides any password.
    pub fn url(&self) -> &DatabaseUrl {
        &self.url
    }

    /// Whether the URL names a SQLite database (a local file, or one in memory).
    pub fn is_sqlite(&self) -> bool {
        self.url.sqlite_path().is_some()
    }

    /// Whether the URL names a SQLite file that does not exist yet.
    pub fn is_missing_file(&self) -> bool {
        self.url
            .sqlite_path()
            .is_some_and(|path| path != Path::new(":memory:") && !path.exists())
    }

    /// Opens the database for a command that only reads (`status`, `validate`,
    /// `history`, dry runs). A SQLite file that does not exist yet reads as the new,
    /// empty database it would be: an in-memory one, so that nothing is created, with
    /// a note saying so.
    pub fn open_read_only(&self, out: &Output) -> anyhow::Result<Connection> {
        if !self.is_missing_file() {
            return self.open(Access::ReadOnly);
        }
        let path = self.url.sqlite_path().unwrap_or_default();
        out.note(&format!(
            "database file {} does not exist yet; nothing applied (`terrace migrate` creates it)",
            redact(&path.to_string_lossy())
        ));
        let empty = DatabaseUrl::parse("sqlite::memory:")?;
        let options = ConnectOptions {
            wait: Duration::ZERO,
            access: Access::ReadOnly,
        };
        Ok(Connection::open(&empty, &options)?)
    }

    /// Renews, from a second connection, the lease `migrations` takes while a command
    /// that runs migrations lasts, so that one migration may run longer than the lease
    /// (see [`terrace::connection::LeaseKeeper`]); `None` where no lease is taken.
    pub fn keep_lease(&self, migrations: &mut terrace::Migrations) -> Option<LeaseKeeper> {
        // Called once the command's own connection is open: the server is up.
        let options = ConnectOptions {
            wait: Duration::ZERO,
            access: Access::ReadWrite,
        };
        LeaseKeeper::start(&self.url, &options, migrations)
    }

    /// Opens the database for `access`, waiting up to `--wait` for a server that is
    /// still starting.
    pub fn open(&self, access: Access) -> anyhow::Result<Connection> {
        // Behind a pooler in transaction mode, a read-only session setting would stay
        // on the server connection for the pool's next client (a later migrate among
        // them) and guard nothing here, where each statement may reach another server
        // connection: a reading command's statements only read, and are tested so.
        let access = if self.pooled && access == Access::ReadOnly && !self.is_sqlite() {
            Access::ReadWrite
        } else {
            access
        };
        let options = ConnectOptions {
            wait: self.wait,
            access,
        };
        Connection::open(&self.url, &options).map_err(|err| {
            let cause = std::error::Error::source(&err).map(ToString::to_string);
            if self.url.sqlite_path().is_some() {
                // A missing file or folder, a directory, a read-only URL: the library's
                // own sentence says it all.
                let failure =
                    Failure::refused(cause.unwrap_or_else(|| err.to_string())).named("connect");
                return if access == Access::Create || !self.is_missing_file() {
                    failure.into()
                } else {
                    failure
                        .hint("check --database (or DATABASE_URL, or `database` in terrace.toml); `terrace migrate` creates the file")
                        .into()
                };
            }
            // A refused certificate or missing TLS: waiting or other credentials
            // cannot help, the URL's TLS parameters can.
            let tls = cause
                .as_deref()
                .is_some_and(|c| c.contains("certificate") || c.contains(" TLS"));
            let failure = Failure::refused(err.to_string())
                .named("connect")
                .hint(if tls {
                "the URL's sslmode and sslrootcert (ssl-mode and ssl-ca for MySQL) say whether and how the server's certificate is checked"
            } else {
                "check the host, port, database name and credentials; --wait SECONDS retries a server that is still starting"
            });
            match cause {
                Some(cause) => failure.caused_by(cause).into(),
                None => failure.into(),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Origin;
    use std::path::PathBuf;

    fn setting(url: &str, base: &str) -> DatabaseSetting {
        DatabaseSetting {
            url: url.to_owned(),
            origin: Origin::Flag,
            base: PathBuf::from(base),
        }
    }

    fn path(url: &str, base: &str) -> PathBuf {
        locate(&setting(url, base), Duration::ZERO)
            .unwrap()
            .url
            .sqlite_path()
            .unwrap()
    }

    #[test]
    fn relative_paths_from_a_config_file_are_relative_to_it() {
        assert_eq!(
            path("sqlite:data/app.db", "/project"),
            Path::new("/project/data/app.db")
        );
        assert_eq!(path("data/app.db", ""), Path::new("data/app.db"));
        assert_eq!(path("/abs/app.db", "/project"), Path::new("/abs/app.db"));
        assert_eq!(path("sqlite::memory:", "/project"), Path::new(":memory:"));
        let url = locate(
            &setting("sqlite:data/app.db?mode=rw", "/project"),
            Duration::ZERO,
        )
        .unwrap()
        .url;
        assert_eq!(url.to_string(), "sqlite:/project/data/app.db?mode=rw");
        assert_eq!(
            url.sqlite_path().unwrap(),
            Path::new("/project/data/app.db")
        );
    }

    #[test]
    fn unknown_schemes_are_usage_errors_without_the_password() {
        let err = locate(&setting("redis://u:secret@localhost", ""), Duration::ZERO).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("unknown scheme 'redis:'"), "{text}");
        assert!(!text.contains("secret"));
        assert!(locate(&setting("", ""), Duration::ZERO).is_err());
    }
}
