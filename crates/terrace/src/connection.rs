//! Opening a database from a URL, for the CLI and for applications that configure
//! their database with one.
//!
//! `sqlite:PATH`, `sqlite://PATH` or a bare path open SQLite; `postgres://…` (or
//! `postgresql://`) and `mysql://…` (or `mariadb://`) open the servers when their
//! backend is compiled in. A password in a URL is never shown: [`DatabaseUrl`]'s
//! `Display` and every error hide it.

use crate::backend::Database;
use crate::error::Error;
use std::borrow::Cow;
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

mod keeper;
#[cfg(any(feature = "postgres", feature = "mysql"))]
mod tls;

pub use keeper::LeaseKeeper;

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
    /// The URL as written, with its scheme in lower case.
    raw: String,
    scheme: Scheme,
    /// The file and parameters of a SQLite URL.
    sqlite: Option<SqliteTarget>,
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

/// A server URL with its database replaced by `database`, parameters kept.
pub(crate) fn replace_database(url: &str, database: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let authority = base.find("://").map_or(0, |i| i + 3);
    // The host follows the credentials, whose password may hold a `/`.
    let host = base[authority..]
        .rfind('@')
        .map_or(authority, |at| authority + at + 1);
    let path = base[host..]
        .find('/')
        .map_or(base.len(), |slash| host + slash);
    let query = query.map_or_else(String::new, |q| format!("?{q}"));
    format!("{}/{database}{query}", &base[..path])
}

/// Parameter names whose values are secrets, in a query string or a `key=value` list.
const SECRET_KEYS: &[&str] = &["password", "passwd", "pwd", "pass", "sslpassword"];

/// The text with every password replaced by `***`: the one in
/// `scheme://user:password@host` (or `scheme:user:password@host`), and the value of a
/// `password=` parameter (`password = 'quoted'` too).
///
/// ```
/// use terrace::connection::redact;
/// assert_eq!(redact("postgres://app:s3cret@db:5432/app"), "postgres://app:***@db:5432/app");
/// assert_eq!(redact("mysql://db/app?password=s3cret&ssl=1"), "mysql://db/app?password=***&ssl=1");
/// assert_eq!(redact("host=db password = 's3 cret'"), "host=db password = '***'");
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

/// The text with every password hidden: each password found in `sources` (what a user
/// typed: a URL, the arguments, a settings file) wherever it appears in `text`, then
/// those [`redact`] finds in `text` itself. For messages that may quote user input in
/// pieces, such as a driver's or a parser's.
///
/// ```
/// use terrace::connection::redact_using;
/// let typed = "postgres://app:s3cret@db/app";
/// assert_eq!(redact_using("password s3cret refused", &[typed]), "password *** refused");
/// ```
pub fn redact_using(text: &str, sources: &[&str]) -> String {
    let mut text = text.to_owned();
    for source in sources {
        for secret in secret_ranges(source) {
            let secret = &source[secret];
            if !secret.is_empty() {
                text = text.replace(secret, "***");
            }
        }
    }
    redact(&text).into_owned()
}

/// Where the secrets in a text are, in order and without overlap, found line by line:
/// the password of `scheme://user:password@host` (even an empty one) or of
/// `scheme:user:password@host`, and the non-empty value of each `password=`-like
/// parameter.
fn secret_ranges(text: &str) -> Vec<Range<usize>> {
    let mut ranges = Vec::new();
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let content = line.trim_end_matches(['\n', '\r']);
        ranges.extend(
            line_secrets(content)
                .into_iter()
                .map(|r| offset + r.start..offset + r.end),
        );
        offset += line.len();
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

fn is_scheme_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.')
}

/// The secrets of one line, possibly overlapping.
fn line_secrets(line: &str) -> Vec<Range<usize>> {
    let mut ranges = Vec::new();
    // `scheme://user:password@host`: the last `@` before the next URL (or the line's
    // end) ends the credentials; a password may itself hold `/`, `?` or `@` unescaped,
    // so hide too much rather than too little.
    let starts: Vec<usize> = line.match_indices("://").map(|(i, _)| i + 3).collect();
    for (n, &start) in starts.iter().enumerate() {
        let end = starts.get(n + 1).map_or(line.len(), |next| next - 3);
        if let Some(at) = line[start..end].rfind('@').map(|i| start + i)
            && let Some(colon) = line[start..at].find(':').map(|i| start + i)
        {
            ranges.push(colon + 1..at);
        }
    }
    // `scheme:user:password@host`, without the slashes: within one word.
    for (colon, _) in line.match_indices(':') {
        let scheme_start = line[..colon]
            .char_indices()
            .rev()
            .find(|&(_, c)| !is_scheme_char(c))
            .map_or(0, |(i, c)| i + c.len_utf8());
        let scheme = &line[scheme_start..colon];
        let rest = &line[colon + 1..];
        if scheme.len() < 2
            || !scheme.starts_with(|c: char| c.is_ascii_alphabetic())
            || rest.starts_with("//")
        {
            continue;
        }
        let word = rest
            .find(|c: char| c.is_whitespace() || matches!(c, '\'' | '"' | '`'))
            .map_or(rest, |end| &rest[..end]);
        if let Some(at) = word.rfind('@')
            && let Some(inner) = word[..at].find(':')
        {
            ranges.push(colon + 1 + inner + 1..colon + 1 + at);
        }
    }
    // `user:password@host` in any word, whatever comes before it (a mistyped scheme
    // such as `postgres//` or `p:`): the text between the last `:` and the last `@`.
    let mut word_start = 0;
    for word in line.split(|c: char| c.is_whitespace() || matches!(c, '\'' | '"' | '`')) {
        if let Some(at) = word.rfind('@')
            && let Some(colon) = word[..at].rfind(':')
            && colon + 1 < at
            && !word[colon + 1..].starts_with("//")
        {
            ranges.push(word_start + colon + 1..word_start + at);
        }
        word_start += word.len() + 1;
    }
    // `password=value`, `password = 'quoted value'`.
    let lower = line.to_ascii_lowercase();
    for key in SECRET_KEYS {
        for (at, _) in lower.match_indices(key) {
            let starts_key = lower[..at]
                .chars()
                .next_back()
                .is_none_or(|c| !c.is_ascii_alphanumeric());
            let after_key = lower[at + key.len()..].trim_start_matches([' ', '\t']);
            let Some(after_equals) = after_key.strip_prefix('=') else {
                continue;
            };
            if !starts_key {
                continue;
            }
            let value = after_equals.trim_start_matches([' ', '\t']);
            let value_start = line.len() - value.len();
            let range = match value.chars().next() {
                Some(quote @ ('\'' | '"')) => {
                    let inner = &value[1..];
                    let mut end = inner.len();
                    let mut escaped = false;
                    for (i, c) in inner.char_indices() {
                        match c {
                            _ if escaped => escaped = false,
                            '\\' => escaped = true,
                            c if c == quote => {
                                end = i;
                                break;
                            }
                            _ => {}
                        }
                    }
                    value_start + 1..value_start + 1 + end
                }
                _ => {
                    let end = value
                        .find(|c: char| {
                            c.is_whitespace() || matches!(c, '&' | ';' | '#' | '\'' | '"' | '`')
                        })
                        .unwrap_or(value.len());
                    value_start..value_start + end
                }
            };
            if !range.is_empty() {
                ranges.push(range);
            }
        }
    }
    ranges
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
    /// Parses a URL: `sqlite:PATH`, `sqlite://PATH` or a bare path, with optional
    /// `?mode=ro|rw|rwc|memory&cache=shared|private`; `postgres://…` (or
    /// `postgresql://`); `mysql://…` (or `mariadb://`). Schemes are case-insensitive. A
    /// scheme no compiled-in backend handles, a server URL without `//`, a `key=value`
    /// connection string and an unknown SQLite parameter are errors (naming the
    /// supported forms, never showing a password).
    pub fn parse(url: &str) -> Result<Self, Error> {
        let parsed = Self::parse_any(url)?;
        let scheme = parsed.scheme;
        if !Scheme::compiled_in()
            .iter()
            .any(|s| s.starts_with(scheme.feature()))
        {
            return Err(Error::UnsupportedUrl {
                url: redact(url.trim()).into_owned(),
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

    /// Parses a URL as [`parse`](DatabaseUrl::parse) does, also one of a backend this
    /// build has no blocking driver for (whose scratch databases `terrace::testing`
    /// makes through the driver the build has).
    pub(crate) fn parse_any(url: &str) -> Result<Self, Error> {
        let url = url.trim();
        let unsupported = |reason: String| Error::UnsupportedUrl {
            url: redact(url).into_owned(),
            reason,
            supported: Scheme::compiled_in(),
        };
        if url.is_empty() {
            return Err(unsupported("the database URL is empty".to_owned()));
        }
        let (scheme, raw, sqlite) = match split_scheme(url) {
            None => {
                if looks_like_key_value(url, true) {
                    return Err(unsupported(KEY_VALUE.to_owned()));
                }
                if looks_like_server_url(url) {
                    return Err(unsupported(SERVER_URL.to_owned()));
                }
                let target = SqliteTarget::parse(url).map_err(unsupported)?;
                (Scheme::Sqlite, url.to_owned(), Some(target))
            }
            Some((scheme, rest)) => {
                let lower = scheme.to_ascii_lowercase();
                let raw = format!("{lower}:{rest}");
                match lower.as_str() {
                    "sqlite" | "sqlite3" => {
                        let path = rest.strip_prefix("//").unwrap_or(rest);
                        if looks_like_key_value(path, false) {
                            return Err(unsupported(KEY_VALUE.to_owned()));
                        }
                        let target = SqliteTarget::parse(path).map_err(unsupported)?;
                        (Scheme::Sqlite, raw, Some(target))
                    }
                    "postgres" | "postgresql" | "mysql" | "mariadb" => {
                        let (scheme, form) = if lower.starts_with("postgres") {
                            (Scheme::Postgres, "postgres://USER@HOST/DB")
                        } else {
                            (Scheme::Mysql, "mysql://USER@HOST/DB")
                        };
                        if !rest.starts_with("//") {
                            return Err(unsupported(format!(
                                "'{lower}:' must be followed by '//': {form}"
                            )));
                        }
                        // The TLS parameters are checked now, so that a wrong one is
                        // refused before anything is opened.
                        #[cfg(any(feature = "postgres", feature = "mysql"))]
                        match scheme {
                            Scheme::Postgres => tls::Settings::postgres(&raw),
                            _ => tls::Settings::mysql(&raw),
                        }
                        .map_err(unsupported)?;
                        (scheme, raw, None)
                    }
                    other => return Err(unsupported(format!("unknown scheme '{other}:'"))),
                }
            }
        };
        Ok(DatabaseUrl {
            raw,
            scheme,
            sqlite,
        })
    }

    /// The same server URL naming the database `database` instead, its credentials and
    /// parameters kept: another database on the same server (a scratch copy, the
    /// server's maintenance database). `None` for a SQLite URL.
    pub fn with_database(&self, database: &str) -> Option<DatabaseUrl> {
        self.sqlite.is_none().then(|| DatabaseUrl {
            raw: replace_database(&self.raw, database),
            scheme: self.scheme,
            sqlite: None,
        })
    }

    /// The kind of database.
    pub fn scheme(&self) -> Scheme {
        self.scheme
    }

    /// The file of a SQLite URL, without its parameters (`:memory:` for an in-memory
    /// database).
    pub fn sqlite_path(&self) -> Option<PathBuf> {
        let target = self.sqlite.as_ref()?;
        Some(if target.mode == Some(SqliteMode::Memory) {
            PathBuf::from(MEMORY)
        } else {
            target.path.clone()
        })
    }

    /// The same URL with a relative SQLite file taken relative to `base` (a
    /// configuration file's folder); any other URL as it is.
    pub fn relative_to(&self, base: &Path) -> DatabaseUrl {
        let Some(target) = &self.sqlite else {
            return self.clone();
        };
        let path = &target.path;
        if path.is_absolute()
            || path == Path::new(MEMORY)
            || target.mode == Some(SqliteMode::Memory)
            || base.as_os_str().is_empty()
        {
            return self.clone();
        }
        let path = base.join(path);
        let query = target
            .query
            .as_deref()
            .map_or_else(String::new, |q| format!("?{q}"));
        DatabaseUrl {
            raw: format!("sqlite:{}{query}", path.display()),
            scheme: Scheme::Sqlite,
            sqlite: Some(SqliteTarget {
                path,
                ..target.clone()
            }),
        }
    }

    /// The URL with the password in it, for the driver.
    #[cfg(any(feature = "postgres", feature = "mysql"))]
    fn expose(&self) -> &str {
        &self.raw
    }

    /// Removes the passwords from a driver's message, in case the driver quoted them.
    fn scrub(&self, message: String) -> String {
        redact_using(&message, &[&self.raw])
    }
}

/// The in-memory SQLite database's name.
const MEMORY: &str = ":memory:";

/// Why a `key=value` string is refused.
const KEY_VALUE: &str = "this looks like a key=value connection string, not a URL or a file \
                         path; write postgres://USER@HOST/DB, \
                         mysql://USER@HOST/DB or sqlite:PATH";

/// Why a path that looks like a mistyped server URL is refused.
const SERVER_URL: &str = "this looks like a server URL with a password (USER:PASSWORD@HOST), \
                          not a file path; write postgres://USER:PASSWORD@HOST/DB or \
                          mysql://USER:PASSWORD@HOST/DB";

/// Whether a bare path is more likely a server URL typed wrong (`postgres//…`,
/// `p:user:pw@host`): a part between slashes holding `:` and then `@`, or a server
/// scheme followed by `//` without its colon.
fn looks_like_server_url(path: &str) -> bool {
    let before_query = path.split('?').next().unwrap_or(path);
    let credentials = before_query.split(['/', '\\']).any(|part| {
        part.find(':')
            .is_some_and(|colon| part[colon..].contains('@'))
    });
    let lower = before_query.to_ascii_lowercase();
    let scheme_without_colon = ["postgres//", "postgresql//", "mysql//", "mariadb//"]
        .iter()
        .any(|prefix| lower.starts_with(prefix));
    credentials || scheme_without_colon
}

/// Whether a path is more likely a `key=value` connection string: a `=` and white
/// space before any `?`, or (for a bare path, with no scheme) a leading `word=`.
fn looks_like_key_value(path: &str, bare: bool) -> bool {
    let before_query = path.split('?').next().unwrap_or(path);
    if before_query.contains('=') && before_query.contains(char::is_whitespace) {
        return true;
    }
    let key_len = before_query
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(before_query.len());
    bare && key_len > 0 && before_query[key_len..].trim_start().starts_with('=')
}

/// How a SQLite URL's `mode` parameter opens the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SqliteMode {
    /// `ro`: read-only; a command that writes is refused.
    ReadOnly,
    /// `rw`: the file must exist.
    ReadWrite,
    /// `rwc`: the file is created by commands that migrate (the default).
    Create,
    /// `memory`: a private in-memory database, whatever the path.
    Memory,
}

/// The file of a SQLite URL and its parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
struct SqliteTarget {
    path: PathBuf,
    /// The query string as written, without its `?`.
    query: Option<String>,
    mode: Option<SqliteMode>,
    /// `cache=shared` (true) or `cache=private` (false).
    shared_cache: Option<bool>,
}

/// The parameters a SQLite URL accepts, for messages.
const SQLITE_PARAMETERS: &str = "mode=ro|rw|rwc|memory and cache=shared|private";

impl SqliteTarget {
    /// Splits `PATH?key=value&…` (the part after `sqlite:` or `sqlite://`), refusing an
    /// unknown, repeated or valueless parameter.
    fn parse(text: &str) -> Result<Self, String> {
        let (path, query) = match text.split_once('?') {
            Some((path, query)) => (path, Some(query)),
            None => (text, None),
        };
        let mut target = SqliteTarget {
            path: PathBuf::from(path),
            query: query.map(str::to_owned),
            mode: None,
            shared_cache: None,
        };
        for parameter in query.unwrap_or_default().split('&') {
            if parameter.is_empty() {
                continue;
            }
            let (key, value) = parameter.split_once('=').unwrap_or((parameter, ""));
            let key = key.to_ascii_lowercase();
            if value.is_empty() {
                return Err(format!("the SQLite parameter '{key}' has no value"));
            }
            let bad_value = |values: &str| {
                format!("'{value}' is not a value of the SQLite parameter '{key}': use {values}")
            };
            let repeated = match key.as_str() {
                "mode" => {
                    let mode = match value.to_ascii_lowercase().as_str() {
                        "ro" => SqliteMode::ReadOnly,
                        "rw" => SqliteMode::ReadWrite,
                        "rwc" => SqliteMode::Create,
                        "memory" => SqliteMode::Memory,
                        _ => return Err(bad_value("ro, rw, rwc or memory")),
                    };
                    target.mode.replace(mode).is_some()
                }
                "cache" => {
                    let shared = match value.to_ascii_lowercase().as_str() {
                        "shared" => true,
                        "private" => false,
                        _ => return Err(bad_value("shared or private")),
                    };
                    target.shared_cache.replace(shared).is_some()
                }
                _ => {
                    return Err(format!(
                        "unknown SQLite parameter '{key}': the parameters are {SQLITE_PARAMETERS}"
                    ));
                }
            };
            if repeated {
                return Err(format!("the SQLite parameter '{key}' is given twice"));
            }
        }
        if path.trim_start_matches('/').is_empty() && target.mode != Some(SqliteMode::Memory) {
            return Err("the URL names no file".to_owned());
        }
        Ok(target)
    }
}

/// What a command needs from the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Reading only (status, validate, dry runs). A SQLite file must exist and is
    /// opened read-only; a server session is set to read-only transactions. Either way
    /// not a byte can change. Behind a pooler that shares server connections between
    /// transactions (PgBouncer's transaction pooling), open with
    /// [`ReadWrite`](Access::ReadWrite) instead: the session setting would stay on the
    /// pooled server connection for its next client.
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

/// A driver's error as plain text, with any password removed (see [`DatabaseUrl::scrub`]).
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
        // A wait too long to add to the clock is a wait without end.
        let deadline = Instant::now().checked_add(options.wait);
        loop {
            match Self::open_once(url, options) {
                Ok(conn) => return Ok(conn),
                Err(Retry::Now(message)) if deadline.is_none_or(|d| Instant::now() < d) => {
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

    #[cfg_attr(
        not(any(feature = "sqlite", feature = "postgres", feature = "mysql")),
        allow(unused_variables, reason = "no blocking backend to open")
    )]
    fn open_once(url: &DatabaseUrl, options: &ConnectOptions) -> Result<Self, Retry> {
        // Only SQLite reads the options.
        let _ = options;
        match url.scheme() {
            #[cfg(feature = "sqlite")]
            Scheme::Sqlite => open_sqlite(url, options.access).map(Connection::Sqlite),
            #[cfg(feature = "postgres")]
            Scheme::Postgres => {
                let retry = |e: postgres::Error| {
                    if e.as_db_error().is_some() {
                        Retry::Never(
                            e.as_db_error()
                                .map_or_else(|| e.to_string(), |db| db.message().to_owned()),
                        )
                    } else {
                        Retry::Now(unreachable_reason(&e))
                    }
                };
                let settings = tls::Settings::postgres(url.expose()).map_err(Retry::Never)?;
                let mut client = connect_postgres(&settings).map_err(|e| match e {
                    Ok(e) => tls_refusal(&e, &settings)
                        .or_else(|| postgres_tls_missing(&e, &settings))
                        .map_or_else(|| retry(e), Retry::Never),
                    Err(reason) => Retry::Never(reason),
                })?;
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
                let settings = tls::Settings::mysql(&url).map_err(Retry::Never)?;
                let opts = mysql::Opts::from_url(&settings.driver_url)
                    .map_err(|e| Retry::Never(e.to_string()))?;
                let retry = |e: mysql::Error| match e {
                    mysql::Error::MySqlError(server) => Retry::Never(server.to_string()),
                    // The driver's errors give their causes only through the
                    // deprecated `cause`: look into the ones that wrap I/O directly.
                    other => match match &other {
                        mysql::Error::IoError(io) => tls_refusal(io, &settings),
                        mysql::Error::CodecError(codec) => tls_refusal(codec, &settings),
                        other => tls_refusal(other, &settings),
                    } {
                        Some(refusal) => Retry::Never(refusal),
                        None if settings.mode >= tls::Mode::Require
                            && matches!(
                                other,
                                mysql::Error::DriverError(mysql::DriverError::TlsNotSupported)
                            ) =>
                        {
                            Retry::Never(format!(
                                "the server does not support TLS, which the URL asks for ({})",
                                settings.describe()
                            ))
                        }
                        None => Retry::Now(mysql_reason(&other)),
                    },
                };
                let mut conn = connect_mysql(opts, &settings).map_err(|e| match e {
                    Ok(e) => retry(e),
                    Err(message) => Retry::Never(message),
                })?;
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

/// A PostgreSQL connection with the TLS the settings ask for.
#[cfg(feature = "postgres")]
fn connect_postgres(
    settings: &tls::Settings,
) -> Result<postgres::Client, Result<postgres::Error, String>> {
    use postgres::config::{Host, SslMode};
    let mut config: postgres::Config = settings.driver_url.parse().map_err(Ok)?;
    config.ssl_mode(match settings.mode {
        tls::Mode::Disable => SslMode::Disable,
        tls::Mode::Prefer => SslMode::Prefer,
        tls::Mode::Require | tls::Mode::VerifyCa | tls::Mode::VerifyFull => SslMode::Require,
    });
    // The driver never encrypts a Unix socket, and has no host name to check there.
    let sockets_only = !config.get_hosts().is_empty()
        && config
            .get_hosts()
            .iter()
            .all(|host| !matches!(host, Host::Tcp(_)));
    if settings.mode == tls::Mode::Disable || sockets_only {
        config.ssl_mode(SslMode::Disable);
        return config.connect(postgres::NoTls).map_err(Ok);
    }
    #[cfg(feature = "tls")]
    {
        let client_config = tls::postgres_config(settings).map_err(Err)?;
        let connector =
            postgres_rustls::MakeTlsConnector::new(tokio_rustls::TlsConnector::from(client_config));
        config.connect(connector).map_err(Ok)
    }
    #[cfg(not(feature = "tls"))]
    {
        // Without TLS, `prefer` falls back to an unencrypted connection; `require` and
        // the verify modes fail, with the reason `postgres_tls_missing` gives.
        config.connect(postgres::NoTls).map_err(Ok)
    }
}

/// Why the server's certificate or the TLS handshake was refused, in plain words.
#[cfg(any(feature = "postgres", feature = "mysql"))]
#[cfg_attr(
    not(feature = "tls"),
    expect(unused_variables, reason = "no TLS in this build")
)]
fn tls_refusal(
    error: &(dyn std::error::Error + 'static),
    settings: &tls::Settings,
) -> Option<String> {
    #[cfg(feature = "tls")]
    if let Some(refused) = tls::find_rustls_error(error) {
        return Some(tls::refusal(refused, settings));
    }
    None
}

/// A PostgreSQL connection that asked for TLS the server or this build cannot give.
#[cfg(feature = "postgres")]
fn postgres_tls_missing(error: &postgres::Error, settings: &tls::Settings) -> Option<String> {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    if text.contains("server does not support TLS") {
        Some(format!(
            "the server does not support TLS, which the URL asks for ({})",
            settings.describe()
        ))
    } else if text.contains("no TLS implementation configured") {
        Some(format!(
            "this build has no TLS support (enable terrace's 'tls' feature), which the \
             URL asks for ({})",
            settings.describe()
        ))
    } else {
        None
    }
}

/// A MySQL connection with the TLS the settings ask for: with `PREFERRED`, again
/// without TLS when the server has none. Errors are the driver's, or a reason.
#[cfg(feature = "mysql")]
fn connect_mysql(
    opts: mysql::Opts,
    settings: &tls::Settings,
) -> Result<mysql::Conn, Result<mysql::Error, String>> {
    // On the same machine the driver moves to the server's Unix socket, which it never
    // encrypts: a URL that asks for TLS keeps the TLS connection, and with `PREFERRED`
    // no TLS handshake is made only to be left for the socket.
    let host = opts.get_ip_or_hostname();
    let loopback = host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    let to_socket = loopback && opts.get_prefer_socket() && opts.get_socket().is_none();
    let mut builder = mysql::OptsBuilder::from_opts(opts);
    if settings.mode >= tls::Mode::Require && !settings.prefer_socket_given {
        builder = builder.prefer_socket(false);
    }
    let ssl_opts = if settings.mode == tls::Mode::Prefer && to_socket {
        None
    } else {
        tls::mysql_ssl_opts(settings).map_err(Err)?
    };
    let tried = ssl_opts.is_some();
    match mysql::Conn::new(builder.clone().ssl_opts(ssl_opts)) {
        Err(mysql::Error::DriverError(mysql::DriverError::TlsNotSupported))
            if tried && settings.mode == tls::Mode::Prefer =>
        {
            mysql::Conn::new(builder.ssl_opts(None::<mysql::SslOpts>)).map_err(Ok)
        }
        other => other.map_err(Ok),
    }
}

/// Why a server could not be reached, as a plain phrase: the operating system's reason
/// ("connection refused") when the driver's error holds one, since the driver's own
/// text around it ("error connecting to server") only repeats that connecting failed;
/// otherwise the error and its causes, as one line.
#[cfg(feature = "postgres")]
fn unreachable_reason(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        if let Some(io) = cause.downcast_ref::<std::io::Error>() {
            return io_reason(&io.to_string());
        }
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// A MySQL driver error as a plain phrase. The driver's `Display` wraps every message
/// in its variant's name (`DriverError { Could not connect to address … }`), which
/// means nothing to a user.
#[cfg(feature = "mysql")]
fn mysql_reason(error: &mysql::Error) -> String {
    match error {
        mysql::Error::IoError(io) => io_reason(&io.to_string()),
        mysql::Error::DriverError(mysql::DriverError::CouldNotConnect(Some((_, reason, _)))) => {
            io_reason(reason)
        }
        mysql::Error::DriverError(driver) => lower_first(&driver.to_string()),
        mysql::Error::MySqlError(server) => server.to_string(),
        mysql::Error::UrlError(url) => url.to_string(),
        other => {
            // Any other variant, `Name { message }`: the message alone.
            let text = other.to_string();
            let inner = text
                .split_once(" { ")
                .filter(|(name, _)| name.chars().all(char::is_alphanumeric))
                .and_then(|(_, rest)| rest.strip_suffix(" }"));
            lower_first(inner.unwrap_or(&text))
        }
    }
}

/// A MySQL driver error that is not the server's, as an error whose text is
/// [`mysql_reason`]'s.
#[cfg(feature = "mysql")]
pub(crate) fn plain_mysql_error(error: &mysql::Error) -> crate::error::BoxError {
    Box::new(Scrubbed(mysql_reason(error)))
}

/// An operating system error's text without its number, in the lower case of the rest
/// of the message: "Connection refused (os error 111)" becomes "connection refused".
#[cfg(any(feature = "postgres", feature = "mysql"))]
fn io_reason(text: &str) -> String {
    let text = match text.rfind(" (os error ") {
        Some(at) if text.ends_with(')') => &text[..at],
        _ => text,
    };
    lower_first(text)
}

/// The text with its first letter in lower case, unless it opens with an acronym
/// ("TLS handshake failed" stays).
#[cfg(any(feature = "postgres", feature = "mysql"))]
fn lower_first(text: &str) -> String {
    let mut chars = text.chars();
    match (chars.next(), chars.next()) {
        (Some(first), Some(second)) if first.is_uppercase() && !second.is_uppercase() => first
            .to_lowercase()
            .chain(text[first.len_utf8()..].chars())
            .collect(),
        _ => text.to_owned(),
    }
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
fn open_sqlite(url: &DatabaseUrl, access: Access) -> Result<rusqlite::Connection, Retry> {
    use rusqlite::OpenFlags;
    let Some(target) = &url.sqlite else {
        return Err(Retry::Never("the URL names no SQLite file".to_owned()));
    };
    let path = url.sqlite_path().unwrap_or_default();
    let shown = redact(&path.to_string_lossy()).into_owned();
    if path.as_os_str().is_empty() {
        return Err(Retry::Never("the URL names no SQLite file".to_owned()));
    }
    // The URL's `mode` narrows what the command may do, never widens it: a reading
    // command opens read-only whatever the mode says.
    let access = match (target.mode, access) {
        (Some(SqliteMode::ReadOnly), Access::ReadWrite | Access::Create) => {
            return Err(Retry::Never(
                "the URL opens the database read-only (mode=ro), and this command writes to it"
                    .to_owned(),
            ));
        }
        (Some(SqliteMode::ReadWrite), Access::Create) => Access::ReadWrite,
        (_, access) => access,
    };
    if path != Path::new(MEMORY) {
        if path.is_dir() {
            return Err(Retry::Never(format!(
                "{shown} is a directory, not a SQLite database file"
            )));
        }
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
    let mut flags = OpenFlags::SQLITE_OPEN_NO_MUTEX
        | match access {
            Access::ReadOnly => OpenFlags::SQLITE_OPEN_READ_ONLY,
            Access::ReadWrite => OpenFlags::SQLITE_OPEN_READ_WRITE,
            Access::Create => OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE,
        };
    match target.shared_cache {
        Some(true) => flags |= OpenFlags::SQLITE_OPEN_SHARED_CACHE,
        Some(false) => flags |= OpenFlags::SQLITE_OPEN_PRIVATE_CACHE,
        None => {}
    }
    // SQLite's own messages ("file is not a database") do not name the file.
    let cannot_open =
        |e: rusqlite::Error| Retry::Never(format!("cannot open the database file {shown}: {e}"));
    let conn = rusqlite::Connection::open_with_flags(&path, flags).map_err(cannot_open)?;
    conn.busy_timeout(Duration::from_secs(10))
        .map_err(cannot_open)?;
    match access {
        Access::ReadOnly => recover_for_reading(&path, conn, &shown),
        Access::ReadWrite | Access::Create => {
            // SQLite reads the file only at its first statement: read it now, so that
            // a file that is not a database is refused by name, before anything runs.
            read_schema(&conn).map_err(cannot_open)?;
            Ok(conn)
        }
    }
}

/// Reads the schema, as any first statement does, which checks the file is a database.
#[cfg(feature = "sqlite")]
fn read_schema(conn: &rusqlite::Connection) -> rusqlite::Result<()> {
    conn.query_row("SELECT count(*) FROM sqlite_master", [], |_| Ok(()))
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
    let read = read_schema;
    let cannot_open =
        |e: rusqlite::Error| Retry::Never(format!("cannot open the database file {shown}: {e}"));
    match read(&conn) {
        Ok(()) => return Ok(conn),
        Err(e) if needs_recovery(&e) => {}
        Err(e) => return Err(cannot_open(e)),
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
    .map_err(cannot_open)?;
    conn.busy_timeout(Duration::from_secs(10))
        .map_err(cannot_open)?;
    read(&conn).map_err(cannot_open)?;
    Ok(conn)
}

impl crate::backend::sealed::Sealed for Connection {}

impl Database for Connection {
    fn backend(&mut self) -> Result<Box<dyn terrace_core::Backend + '_>, Error> {
        match self {
            #[cfg(feature = "sqlite")]
            Connection::Sqlite(conn) => conn.backend(),
            #[cfg(feature = "postgres")]
            Connection::Postgres(client) => client.backend(),
            #[cfg(feature = "mysql")]
            Connection::Mysql(conn) => conn.backend(),
            // Built with only the adapters of other drivers, a `Connection` has no variant.
            #[cfg(not(any(feature = "sqlite", feature = "postgres", feature = "mysql")))]
            none => match *none {},
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
        assert_eq!(
            redact("error: unexpected argument 'postgres:app:hunter2@db/app' found"),
            "error: unexpected argument 'postgres:app:***@db/app' found"
        );
        assert_eq!(
            redact("host = db password = 'hunter 2' dbname = app"),
            "host = db password = '***' dbname = app"
        );
        assert_eq!(
            redact("2 | password = \"hunter\\\"2\"\n3 | db_password=x"),
            "2 | password = \"***\"\n3 | db_password=***"
        );
        assert_eq!(
            redact("'postgres://a:one@h/x' or 'mysql://b:two@h/y'"),
            "'postgres://a:***@h/x' or 'mysql://b:***@h/y'"
        );
        assert_eq!(redact("at 12:30:45 user@host"), "at 12:30:45 user@host");
        assert_eq!(
            redact("postgres://app@host:5432/db"),
            "postgres://app@host:5432/db"
        );
        assert_eq!(
            redact("password_file=x passwords=y"),
            "password_file=x passwords=y"
        );
    }

    #[test]
    fn driver_messages_are_scrubbed() {
        let url = DatabaseUrl {
            raw: "postgres://app:hunter2@db/app?password=other".to_owned(),
            scheme: Scheme::Postgres,
            sqlite: None,
        };
        assert_eq!(
            url.scrub("could not use hunter2 or other".to_owned()),
            "could not use *** or ***"
        );
    }

    #[test]
    #[cfg(feature = "mysql")]
    fn mysql_errors_lose_the_driver_wrapping() {
        let refused = mysql::Error::DriverError(mysql::DriverError::CouldNotConnect(Some((
            "127.0.0.1:1".to_owned(),
            "Connection refused (os error 111)".to_owned(),
            std::io::ErrorKind::ConnectionRefused,
        ))));
        assert_eq!(mysql_reason(&refused), "connection refused");
        let timeout = mysql::Error::DriverError(mysql::DriverError::ConnectTimeout);
        assert_eq!(
            mysql_reason(&timeout),
            "could not connect: connection timeout"
        );
        let io = mysql::Error::IoError(std::io::Error::from(std::io::ErrorKind::UnexpectedEof));
        assert!(
            !mysql_reason(&io).contains("IoError"),
            "{}",
            mysql_reason(&io)
        );
        assert_eq!(io_reason("TLS handshake failed"), "TLS handshake failed");
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
