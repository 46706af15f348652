//! Opening a database from a URL, for the CLI and for applications that configure
//! their database with one.
//!
//! `sqlite:PATH`, `sqlite://PATH` or a bare path open SQLite; `postgres://…` (or
//! `postgresql://`) and `mysql://…` (or `mariadb://`) open the servers when their
//! backend is compiled in. A password in a URL is never shown: [`DatabaseUrl`]'s
//! `Display` and every error hide it.

use crate::backend::{Backend, Database};
use crate::error::Error;
use std::borrow::Cow;
use std::fmt;
use std::ops::Range;
use std::path::PathBuf;
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

/// A parsed database URL. Its `Display` hides any password.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl {
    raw: String,
    scheme: Scheme,
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
        f.write_str(&redact(&self.raw))
    }
}

/// Parameter names whose values are secrets, in a query string or a `key=value` list.
const SECRET_KEYS: &[&str] = &["password", "passwd", "pwd", "pass", "sslpassword"];

/// The text with every password replaced by `***`: the one in
/// `scheme://user:password@host`, and the value of a `password=` parameter.
///
/// ```
/// use terrace::connection::redact;
/// assert_eq!(redact("postgres://app:s3cret@db:5432/app"), "postgres://app:***@db:5432/app");
/// assert_eq!(redact("mysql://db/app?password=s3cret&ssl=1"), "mysql://db/app?password=***&ssl=1");
/// ```
pub fn redact(text: &str) -> Cow<'_, str> {
    let secrets = secret_ranges(text);
    if secrets.is_empty() {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    for secret in secrets {
        out.push_str(&text[copied..secret.start]);
        out.push_str("***");
        copied = secret.end;
    }
    out.push_str(&text[copied..]);
    Cow::Owned(out)
}

/// Where the secrets in a text are, in order and without overlap: the password of
/// `scheme://user:password@host` (even an empty one) and the non-empty value of each
/// `password=`-like parameter.
fn secret_ranges(text: &str) -> Vec<Range<usize>> {
    let mut ranges = Vec::new();
    if let Some(start) = text.find("://").map(|i| i + 3) {
        // The last `@` ends the credentials; a password may itself hold `/`, `?` or `@`
        // unescaped, so hide too much rather than too little.
        if let Some(at) = text[start..].rfind('@').map(|i| start + i)
            && let Some(colon) = text[start..at].find(':').map(|i| start + i)
        {
            ranges.push(colon + 1..at);
        }
    }
    let lower = text.to_ascii_lowercase();
    for key in SECRET_KEYS {
        let pattern = format!("{key}=");
        for (at, _) in lower.match_indices(&pattern) {
            let starts_parameter =
                at == 0 || matches!(lower.as_bytes()[at - 1], b'?' | b'&' | b';' | b' ' | b'\t');
            if !starts_parameter {
                continue;
            }
            let value = at + pattern.len();
            let end = lower[value..]
                .find(['&', ';', ' ', '\t', '#'])
                .map_or(lower.len(), |i| value + i);
            if end > value {
                ranges.push(value..end);
            }
        }
    }
    ranges.sort_unstable_by_key(|r| (r.start, r.end));
    let mut disjoint: Vec<Range<usize>> = Vec::with_capacity(ranges.len());
    for range in ranges {
        match disjoint.last_mut() {
            Some(last) if range.start < last.end => last.end = last.end.max(range.end),
            _ => disjoint.push(range),
        }
    }
    disjoint
}

/// Splits `scheme:rest` when the text starts with a URL scheme (two or more
/// characters, so a Windows drive letter is not taken for one).
fn split_scheme(url: &str) -> Option<(&str, &str)> {
    let (scheme, rest) = url.split_once(':')?;
    let mut chars = scheme.chars();
    let valid = scheme.len() >= 2
        && chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    valid.then_some((scheme, rest))
}

impl DatabaseUrl {
    /// Parses a URL: `sqlite:PATH`, `sqlite://PATH` or a bare path; `postgres://…`
    /// (or `postgresql://`); `mysql://…` (or `mariadb://`). A scheme no compiled-in
    /// backend handles is an error naming the supported ones.
    pub fn parse(url: &str) -> Result<Self, Error> {
        let url = url.trim();
        let unsupported = |reason: String| Error::UnsupportedUrl {
            url: redact(url).into_owned(),
            reason,
            supported: Scheme::compiled_in(),
        };
        let scheme = match split_scheme(url) {
            None => Scheme::Sqlite,
            Some((scheme, rest)) => match scheme.to_ascii_lowercase().as_str() {
                "sqlite" | "sqlite3" => {
                    if rest.trim_start_matches('/').is_empty() {
                        return Err(unsupported("the URL names no file".to_owned()));
                    }
                    Scheme::Sqlite
                }
                "postgres" | "postgresql" => Scheme::Postgres,
                "mysql" | "mariadb" => Scheme::Mysql,
                other => return Err(unsupported(format!("unknown scheme '{other}:'"))),
            },
        };
        if url.is_empty() {
            return Err(unsupported("the database URL is empty".to_owned()));
        }
        if !Scheme::compiled_in()
            .iter()
            .any(|s| s.starts_with(scheme.feature()))
        {
            return Err(unsupported(format!(
                "this build has no {} backend (enable terrace's '{}' feature)",
                scheme.feature(),
                scheme.feature()
            )));
        }
        Ok(DatabaseUrl {
            raw: url.to_owned(),
            scheme,
        })
    }

    /// The kind of database.
    pub fn scheme(&self) -> Scheme {
        self.scheme
    }

    /// The file of a SQLite URL (`:memory:` for an in-memory database).
    pub fn sqlite_path(&self) -> Option<PathBuf> {
        if self.scheme != Scheme::Sqlite {
            return None;
        }
        let path = match split_scheme(&self.raw) {
            Some((_, rest)) => rest.strip_prefix("//").unwrap_or(rest),
            None => &self.raw,
        };
        Some(PathBuf::from(path))
    }

    /// The URL with the password in it, for the driver.
    #[cfg(any(feature = "postgres", feature = "mysql"))]
    fn expose(&self) -> &str {
        &self.raw
    }

    /// Removes the passwords from a driver's message, in case the driver quoted them.
    fn scrub(&self, mut message: String) -> String {
        for secret in secret_ranges(&self.raw) {
            let secret = &self.raw[secret];
            if !secret.is_empty() {
                message = message.replace(secret, "***");
            }
        }
        redact(&message).into_owned()
    }
}

/// What a command needs from the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Reading only (status, validate, dry runs). A SQLite file must exist and is
    /// opened read-only; a server session is set to read-only transactions. Either way
    /// not a byte can change.
    ReadOnly,
    /// Changing an existing database; a SQLite file must exist.
    ReadWrite,
    /// Migrating: a SQLite file is created if it does not exist.
    Create,
}

/// How to open a connection.
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    /// How long to keep retrying a server that refuses connections (still starting).
    pub wait: Duration,
    /// What the connection will be used for.
    pub access: Access,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        ConnectOptions {
            wait: Duration::ZERO,
            access: Access::Create,
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
                open_sqlite(&path, options.access).map(Connection::Sqlite)
            }
            #[cfg(feature = "postgres")]
            Scheme::Postgres => {
                let retry = |e: postgres::Error| {
                    if e.as_db_error().is_some() {
                        Retry::Never(
                            e.as_db_error()
                                .map_or_else(|| e.to_string(), |db| db.message().to_owned()),
                        )
                    } else {
                        Retry::Now(chain(&e))
                    }
                };
                let mut client =
                    postgres::Client::connect(url.expose(), postgres::NoTls).map_err(retry)?;
                if options.access == Access::ReadOnly {
                    client
                        .batch_execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
                        .map_err(retry)?;
                }
                Ok(Connection::Postgres(client))
            }
            #[cfg(feature = "mysql")]
            Scheme::Mysql => {
                use mysql::prelude::Queryable;
                let url = url.expose().replacen("mariadb://", "mysql://", 1);
                let opts = mysql::Opts::from_url(&url).map_err(|e| Retry::Never(e.to_string()))?;
                let retry = |e: mysql::Error| match e {
                    mysql::Error::MySqlError(server) => Retry::Never(server.to_string()),
                    other => Retry::Now(chain(&other)),
                };
                let mut conn = mysql::Conn::new(opts).map_err(retry)?;
                if options.access == Access::ReadOnly {
                    conn.query_drop("SET SESSION TRANSACTION READ ONLY")
                        .map_err(retry)?;
                }
                Ok(Connection::Mysql(conn))
            }
            #[allow(unreachable_patterns)]
            other => Err(Retry::Never(format!(
                "no {} backend in this build",
                other.feature()
            ))),
        }
    }
}

/// An error and its causes, as one line: a driver's own text is often only "error
/// connecting to server", with the reason in its source.
#[cfg(any(feature = "postgres", feature = "mysql"))]
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// Whether a failed connection attempt is worth repeating.
enum Retry {
    /// The server may not be up yet.
    #[cfg_attr(
        not(any(feature = "postgres", feature = "mysql")),
        expect(dead_code, reason = "only servers are retried")
    )]
    Now(String),
    /// Retrying cannot help (bad credentials, a missing file, a malformed URL).
    Never(String),
}

#[cfg(feature = "sqlite")]
fn open_sqlite(path: &std::path::Path, access: Access) -> Result<rusqlite::Connection, Retry> {
    use rusqlite::OpenFlags;
    let shown = redact(&path.to_string_lossy()).into_owned();
    if path.as_os_str().is_empty() {
        return Err(Retry::Never("the URL names no SQLite file".to_owned()));
    }
    if path != std::path::Path::new(":memory:") {
        match access {
            Access::ReadOnly | Access::ReadWrite if !path.exists() => {
                return Err(Retry::Never(format!(
                    "the database file {shown} does not exist"
                )));
            }
            Access::Create => {
                if let Some(folder) = path.parent().filter(|p| !p.as_os_str().is_empty())
                    && !folder.is_dir()
                {
                    return Err(Retry::Never(format!(
                        "cannot create the database file {shown}: the folder {} does not exist",
                        redact(&folder.to_string_lossy())
                    )));
                }
            }
            _ => {}
        }
    }
    let flags = OpenFlags::SQLITE_OPEN_NO_MUTEX
        | match access {
            Access::ReadOnly => OpenFlags::SQLITE_OPEN_READ_ONLY,
            Access::ReadWrite => OpenFlags::SQLITE_OPEN_READ_WRITE,
            Access::Create => OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE,
        };
    let conn = rusqlite::Connection::open_with_flags(path, flags)
        .map_err(|e| Retry::Never(e.to_string()))?;
    conn.busy_timeout(Duration::from_secs(10))
        .map_err(|e| Retry::Never(e.to_string()))?;
    match access {
        Access::ReadOnly => recover_for_reading(path, conn, &shown),
        Access::ReadWrite | Access::Create => Ok(conn),
    }
}

/// A read-only connection to a SQLite file that it can read, once SQLite has rolled
/// back what a process that stopped in the middle of a write transaction left in the
/// file's journal.
///
/// A read-only connection cannot undo that transaction, and every read fails with
/// "attempt to write a readonly database" while the journal is there. SQLite's own
/// recovery restores the file as it was before the transaction — what any connection
/// with write access does on its first read — so the file is opened once with write
/// access (never created) and read, then opened read-only again. Where even that is
/// refused (a read-only file or folder), the error says what happened and what to run.
#[cfg(feature = "sqlite")]
fn recover_for_reading(
    path: &std::path::Path,
    conn: rusqlite::Connection,
    shown: &str,
) -> Result<rusqlite::Connection, Retry> {
    use rusqlite::OpenFlags;
    use rusqlite::ffi::{SQLITE_READONLY_RECOVERY, SQLITE_READONLY_ROLLBACK};
    let needs_recovery = |e: &rusqlite::Error| {
        matches!(e, rusqlite::Error::SqliteFailure(failure, _)
            if matches!(failure.extended_code, SQLITE_READONLY_ROLLBACK | SQLITE_READONLY_RECOVERY))
    };
    let read = |conn: &rusqlite::Connection| {
        conn.query_row("SELECT count(*) FROM sqlite_master", [], |_| Ok(()))
    };
    match read(&conn) {
        Ok(()) => return Ok(conn),
        Err(e) if needs_recovery(&e) => {}
        Err(e) => return Err(Retry::Never(e.to_string())),
    }
    drop(conn);
    let recovered = rusqlite::Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .and_then(|writer| {
        writer.busy_timeout(Duration::from_secs(10))?;
        read(&writer)
    });
    if let Err(e) = recovered {
        return Err(Retry::Never(format!(
            "the database file {shown} holds an unfinished transaction (a hot journal, \
             {shown}-journal, or write-ahead log): a process stopped in the middle of \
             writing it, and SQLite must roll it back before the file can be read, which \
             needs write access to the file and its folder ({e}); open it once as a user \
             who can write both (any SQLite connection with write access rolls it back, \
             for example `sqlite3 {shown} 'PRAGMA quick_check'`), then try again"
        )));
    }
    tracing::warn!(
        database = %shown,
        "rolled back the transaction a stopped process left unfinished in the database"
    );
    let conn = rusqlite::Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| Retry::Never(e.to_string()))?;
    conn.busy_timeout(Duration::from_secs(10))
        .map_err(|e| Retry::Never(e.to_string()))?;
    read(&conn).map_err(|e| Retry::Never(e.to_string()))?;
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
    use std::path::Path;

    #[test]
    fn passwords_are_hidden() {
        assert_eq!(
            redact("postgres://app:s3cret@db.internal:5432/app"),
            "postgres://app:***@db.internal:5432/app"
        );
        assert_eq!(
            redact("postgres://app:p@ss/w?rd@db/app"),
            "postgres://app:***@db/app"
        );
        assert_eq!(redact("mysql://:secret@host/db"), "mysql://:***@host/db");
        assert_eq!(
            redact("postgres://host/app?sslmode=require&password=hunter2&x=1"),
            "postgres://host/app?sslmode=require&password=***&x=1"
        );
        assert_eq!(
            redact("host=db user=app Password=hunter2 dbname=app"),
            "host=db user=app Password=*** dbname=app"
        );
        assert_eq!(redact("postgres://app@host/db"), "postgres://app@host/db");
        assert_eq!(redact("sqlite:data/app.db"), "sqlite:data/app.db");
        assert_eq!(redact("compass=north"), "compass=north");
    }

    #[test]
    fn driver_messages_are_scrubbed() {
        let url = DatabaseUrl {
            raw: "postgres://app:hunter2@db/app?password=other".to_owned(),
            scheme: Scheme::Postgres,
        };
        assert_eq!(
            url.scrub("could not use hunter2 or other".to_owned()),
            "could not use *** or ***"
        );
    }

    #[test]
    fn sqlite_urls_and_bare_paths() {
        let path = |url: &str| DatabaseUrl::parse(url).unwrap().sqlite_path().unwrap();
        assert_eq!(path("sqlite:app.db"), Path::new("app.db"));
        assert_eq!(path("sqlite://app.db"), Path::new("app.db"));
        assert_eq!(path("sqlite:///var/app.db"), Path::new("/var/app.db"));
        assert_eq!(path("sqlite:/var/app.db"), Path::new("/var/app.db"));
        assert_eq!(path("SQLite:data/app.db"), Path::new("data/app.db"));
        assert_eq!(path("data/app.db"), Path::new("data/app.db"));
        assert_eq!(path("C:\\data\\app.db"), Path::new("C:\\data\\app.db"));
        assert_eq!(path("sqlite::memory:"), Path::new(":memory:"));
    }

    #[test]
    fn bad_urls_are_refused_without_their_passwords() {
        for url in [
            "oracle://scott:tiger@db/orcl",
            "redis://u:tiger@h",
            "sqlite:",
            "",
        ] {
            let err = DatabaseUrl::parse(url).unwrap_err();
            let text = err.to_string();
            assert!(
                text.contains("sqlite:") && !text.contains("tiger"),
                "{text}"
            );
        }
    }
}
