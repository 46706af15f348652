//! Opening a database from a URL, for the CLI and for applications that configure
//! their database with one.
//!
//! `sqlite:PATH`, `sqlite://PATH` or a bare path open SQLite; `postgres://…` (or
//! `postgresql://`) and `mysql://…` (or `mariadb://`) open the servers when their
//! backend is compiled in. A password in a URL is never shown: [`DatabaseUrl`]'s
//! `Display` and every error hide it.

use crate::backend::{Backend, Database};
use crate::error::Error;
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The kind of database a URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// A SQLite file.
    Sqlite,
    /// A PostgreSQL server.
    Postgres,
    /// A MySQL or MariaDB server.
    Mysql,
}

impl Scheme {
    /// The backends compiled into this build.
    pub fn compiled_in() -> Vec<&'static str> {
        let mut schemes = Vec::new();
        if cfg!(feature = "sqlite") {
            schemes.push("sqlite:");
        }
        if cfg!(feature = "postgres") {
            schemes.push("postgres://");
        }
        if cfg!(feature = "mysql") {
            schemes.push("mysql://");
        }
        schemes
    }

    fn feature(self) -> &'static str {
        match self {
            Scheme::Sqlite => "sqlite",
            Scheme::Postgres => "postgres",
            Scheme::Mysql => "mysql",
        }
    }
}

/// A parsed database URL. Its `Display` hides the password.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl {
    raw: String,
    scheme: Scheme,
    /// Where the password is in `raw`, if there is one.
    password: Option<Range<usize>>,
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("DatabaseUrl")
            .field(&self.to_string())
            .finish()
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.password {
            Some(range) => write!(
                f,
                "{}***{}",
                &self.raw[..range.start],
                &self.raw[range.end..]
            ),
            None => f.write_str(&self.raw),
        }
    }
}

/// Where the password of `scheme://user:password@host/…` is.
fn password_range(url: &str) -> Option<Range<usize>> {
    let authority_start = url.find("://")? + 3;
    let rest = &url[authority_start..];
    let authority_len = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..authority_len];
    let at = authority.rfind('@')?;
    let colon = authority[..at].find(':')?;
    Some(authority_start + colon + 1..authority_start + at)
}

impl DatabaseUrl {
    /// Parses a URL. A scheme no compiled-in backend handles is an error naming the
    /// supported ones.
    pub fn parse(url: &str) -> Result<Self, Error> {
        let scheme = match url.split_once("://") {
            Some(("postgres" | "postgresql", _)) => Scheme::Postgres,
            Some(("mysql" | "mariadb", _)) => Scheme::Mysql,
            Some(("sqlite", _)) => Scheme::Sqlite,
            Some((other, _)) => {
                return Err(Error::UnsupportedUrl {
                    url: Self::hide(url),
                    reason: format!("unknown scheme '{other}://'"),
                    supported: Scheme::compiled_in(),
                });
            }
            None if url.is_empty() => {
                return Err(Error::UnsupportedUrl {
                    url: String::new(),
                    reason: "the database URL is empty".to_owned(),
                    supported: Scheme::compiled_in(),
                });
            }
            None => Scheme::Sqlite,
        };
        let parsed = DatabaseUrl {
            password: password_range(url),
            raw: url.to_owned(),
            scheme,
        };
        if !Scheme::compiled_in()
            .iter()
            .any(|s| s.starts_with(scheme.feature()))
        {
            return Err(Error::UnsupportedUrl {
                url: parsed.to_string(),
                reason: format!(
                    "this build has no {} backend (enable terrace's '{}' feature)",
                    scheme.feature(),
                    scheme.feature()
                ),
                supported: Scheme::compiled_in(),
            });
        }
        Ok(parsed)
    }

    fn hide(url: &str) -> String {
        match password_range(url) {
            Some(range) => format!("{}***{}", &url[..range.start], &url[range.end..]),
            None => url.to_owned(),
        }
    }

    /// The kind of database.
    pub fn scheme(&self) -> Scheme {
        self.scheme
    }

    /// The file of a SQLite URL.
    pub fn sqlite_path(&self) -> Option<PathBuf> {
        if self.scheme != Scheme::Sqlite {
            return None;
        }
        let path = self
            .raw
            .strip_prefix("sqlite://")
            .or_else(|| self.raw.strip_prefix("sqlite:"))
            .unwrap_or(&self.raw);
        Some(PathBuf::from(path))
    }

    /// The URL with the password in it, for the driver.
    fn expose(&self) -> &str {
        &self.raw
    }

    /// Removes the password from a driver's message, in case the driver quoted the URL.
    fn scrub(&self, message: String) -> String {
        match &self.password {
            Some(range) if !range.is_empty() => message.replace(&self.raw[range.clone()], "***"),
            _ => message,
        }
    }
}

/// How to open a connection.
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    /// How long to keep retrying a server that refuses connections (still starting).
    pub wait: Duration,
    /// Whether a SQLite file that does not exist may be created. Read-only commands
    /// leave it off, so that they never create a file.
    pub create: bool,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        ConnectOptions {
            wait: Duration::ZERO,
            create: true,
        }
    }
}

/// An open connection to any compiled-in backend.
#[non_exhaustive]
pub enum Connection {
    /// SQLite.
    #[cfg(feature = "sqlite")]
    Sqlite(rusqlite::Connection),
    /// PostgreSQL.
    #[cfg(feature = "postgres")]
    Postgres(postgres::Client),
    /// MySQL or MariaDB.
    #[cfg(feature = "mysql")]
    Mysql(mysql::Conn),
}

/// A driver's error with any password removed from its text.
#[derive(Debug)]
struct Scrubbed(String);

impl fmt::Display for Scrubbed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Scrubbed {}

impl Connection {
    /// Opens the database a URL names, retrying for up to `options.wait` while a server
    /// refuses connections.
    pub fn open(url: &DatabaseUrl, options: &ConnectOptions) -> Result<Self, Error> {
        let deadline = Instant::now() + options.wait;
        loop {
            match Self::open_once(url, options) {
                Ok(conn) => return Ok(conn),
                Err(Retry::Now(message)) if Instant::now() < deadline => {
                    tracing::info!(url = %url, error = %url.scrub(message), "database not reachable yet, retrying");
                    std::thread::sleep(Duration::from_millis(250));
                }
                Err(Retry::Now(message) | Retry::Never(message)) => {
                    return Err(Error::Connect {
                        url: url.to_string(),
                        source: Box::new(Scrubbed(url.scrub(message))),
                    });
                }
            }
        }
    }

    fn open_once(url: &DatabaseUrl, options: &ConnectOptions) -> Result<Self, Retry> {
        match url.scheme() {
            #[cfg(feature = "sqlite")]
            Scheme::Sqlite => {
                let path = url.sqlite_path().unwrap_or_default();
                open_sqlite(&path, options.create).map(Connection::Sqlite)
            }
            #[cfg(feature = "postgres")]
            Scheme::Postgres => postgres::Client::connect(url.expose(), postgres::NoTls)
                .map(Connection::Postgres)
                .map_err(|e| {
                    if e.as_db_error().is_some() {
                        Retry::Never(e.to_string())
                    } else {
                        Retry::Now(e.to_string())
                    }
                }),
            #[cfg(feature = "mysql")]
            Scheme::Mysql => {
                let url = url.expose().replacen("mariadb://", "mysql://", 1);
                let opts = mysql::Opts::from_url(&url).map_err(|e| Retry::Never(e.to_string()))?;
                mysql::Conn::new(opts)
                    .map(Connection::Mysql)
                    .map_err(|e| match e {
                        mysql::Error::MySqlError(_) => Retry::Never(e.to_string()),
                        _ => Retry::Now(e.to_string()),
                    })
            }
            #[allow(unreachable_patterns)]
            other => Err(Retry::Never(format!(
                "no {} backend in this build",
                other.feature()
            ))),
        }
    }
}

/// Whether a failed connection attempt is worth repeating.
enum Retry {
    /// The server may not be up yet.
    Now(String),
    /// Retrying cannot help (bad credentials, a missing file, a malformed URL).
    Never(String),
}

#[cfg(feature = "sqlite")]
fn open_sqlite(path: &Path, create: bool) -> Result<rusqlite::Connection, Retry> {
    use rusqlite::OpenFlags;
    if path.as_os_str().is_empty() {
        return Err(Retry::Never("no SQLite file given".to_owned()));
    }
    let mut flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    if create {
        flags |= OpenFlags::SQLITE_OPEN_CREATE;
    } else if !path.exists() {
        return Err(Retry::Never(format!(
            "the database file {} does not exist",
            path.display()
        )));
    }
    let conn = rusqlite::Connection::open_with_flags(path, flags)
        .map_err(|e| Retry::Never(e.to_string()))?;
    conn.busy_timeout(Duration::from_secs(5))
        .map_err(|e| Retry::Never(e.to_string()))?;
    Ok(conn)
}

impl Database for Connection {
    fn backend(&mut self) -> Result<Box<dyn Backend + '_>, Error> {
        match self {
            #[cfg(feature = "sqlite")]
            Connection::Sqlite(conn) => conn.backend(),
            #[cfg(feature = "postgres")]
            Connection::Postgres(client) => client.backend(),
            #[cfg(feature = "mysql")]
            Connection::Mysql(conn) => conn.backend(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_hidden() {
        let url = DatabaseUrl::parse("postgres://app:s3cret@db.internal:5432/prod?sslmode=require");
        match url {
            Ok(url) => assert_eq!(
                url.to_string(),
                "postgres://app:***@db.internal:5432/prod?sslmode=require"
            ),
            Err(Error::UnsupportedUrl { url, .. }) => assert!(!url.contains("s3cret"), "{url}"),
            Err(other) => panic!("{other:?}"),
        }
        assert_eq!(password_range("mysql://root@localhost/test"), None);
        assert_eq!(password_range("mysql://root:@localhost/test"), Some(13..13));
        assert_eq!(
            DatabaseUrl::hide("mysql://u:p@ss@h/db"),
            "mysql://u:***@h/db",
            "the last @ ends the user info"
        );
    }

    #[test]
    fn schemes() {
        let sqlite = DatabaseUrl::parse("sqlite:data/app.db").unwrap();
        assert_eq!(sqlite.sqlite_path(), Some(PathBuf::from("data/app.db")));
        assert_eq!(
            DatabaseUrl::parse("data/app.db").unwrap().sqlite_path(),
            Some(PathBuf::from("data/app.db"))
        );
        assert_eq!(
            DatabaseUrl::parse("sqlite:///abs/app.db")
                .unwrap()
                .sqlite_path(),
            Some(PathBuf::from("/abs/app.db"))
        );
        let err = DatabaseUrl::parse("oracle://scott:tiger@db/orcl").unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("oracle://") && text.contains("sqlite:") && !text.contains("tiger"),
            "{text}"
        );
    }
}
