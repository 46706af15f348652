//! Where a fleet's targets come from: a file of URLs, a glob of SQLite files, the
//! databases of a server whose names match a pattern. Each is an iterator that reads
//! its source as it is pulled.

use crate::Error;
use crate::connection::replace_database as with_database;
use std::io::BufRead;
use std::path::{Path, PathBuf};

/// One target as its source gave it: a URL not yet parsed (a bad one becomes that
/// target's failure, not the job's).
#[derive(Debug, Clone)]
pub struct Entry {
    /// The URL or SQLite path, as written.
    pub text: String,
    /// Its line in the targets file (counted from 1), if it came from one.
    pub line: Option<usize>,
    /// The folder a relative SQLite path is taken relative to (the targets file's);
    /// empty for the current folder.
    pub base: PathBuf,
    /// The PostgreSQL schema the target is, in the database of the URL (see
    /// [`schemas`]): its migrations run with the `search_path` set to it, tracked in
    /// the table of that name in it.
    pub schema: Option<String>,
}

impl Entry {
    /// A target given directly, relative SQLite paths taken from the current folder.
    pub fn new(text: impl Into<String>) -> Self {
        Entry {
            text: text.into(),
            line: None,
            base: PathBuf::new(),
            schema: None,
        }
    }

    /// How reports name the target: the URL with any password hidden, and its schema.
    pub fn shown(&self) -> String {
        let url = crate::connection::redact(&self.text);
        match &self.schema {
            Some(schema) => format!("{url} (schema {schema})"),
            None => url.into_owned(),
        }
    }
}

/// The targets listed in a file, one URL a line; blank lines and lines starting with
/// `#` are skipped. Relative SQLite paths are relative to the file's folder. A line
/// that cannot be read (not UTF-8) ends the list, as the next read of the file would
/// fail the same way.
pub fn targets_file(path: &Path) -> Result<impl Iterator<Item = Entry> + Send + use<>, Error> {
    let file = std::fs::File::open(path).map_err(|source| Error::FleetFile {
        action: "read the targets file",
        path: path.to_owned(),
        source,
    })?;
    let base = path.parent().map(Path::to_owned).unwrap_or_default();
    let lines = std::io::BufReader::new(file).lines();
    Ok(lines
        .map_while(Result::ok)
        .enumerate()
        .filter_map(move |(index, line)| {
            let text = line.trim();
            (!text.is_empty() && !text.starts_with('#')).then(|| Entry {
                text: text.to_owned(),
                line: Some(index + 1),
                base: base.clone(),
                schema: None,
            })
        }))
}

/// The SQLite files matching `pattern`: a folder, then a file name pattern where `*`
/// matches any characters and `?` one (`tenants/*.db`). Only the last part may hold
/// wildcards. The files come in the order the folder lists them.
pub fn glob(pattern: &str) -> Result<impl Iterator<Item = Entry> + Send + use<>, Error> {
    let path = Path::new(pattern);
    let folder = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if folder.to_string_lossy().contains(['*', '?']) {
        return Err(Error::FleetFile {
            action: "read the glob's folder",
            path: folder.to_owned(),
            source: std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "only the file name may hold wildcards",
            ),
        });
    }
    let name_pattern = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let entries = std::fs::read_dir(folder).map_err(|source| Error::FleetFile {
        action: "read the glob's folder",
        path: folder.to_owned(),
        source,
    })?;
    let folder = folder.to_owned();
    Ok(entries.filter_map(Result::ok).filter_map(move |entry| {
        let name = entry.file_name().to_string_lossy().into_owned();
        let is_file = entry.file_type().is_ok_and(|t| t.is_file());
        (is_file && wildcard_match(&name_pattern, &name)).then(|| Entry {
            text: format!("sqlite:{}", folder.join(&name).display()),
            line: None,
            base: PathBuf::new(),
            schema: None,
        })
    }))
}

/// Whether `name` matches `pattern` (`*` any characters, `?` one; no escapes).
fn wildcard_match(pattern: &str, name: &str) -> bool {
    let (pattern, name): (Vec<char>, Vec<char>) =
        (pattern.chars().collect(), name.chars().collect());
    // The classic two-pointer match, backtracking only to the last `*`.
    let (mut p, mut n) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while n < name.len() {
        match pattern.get(p) {
            Some('*') => {
                star = Some((p, n));
                p += 1;
            }
            Some(&c) if c == '?' || c == name[n] => {
                p += 1;
                n += 1;
            }
            _ => match star {
                Some((sp, sn)) => {
                    p = sp + 1;
                    n = sn + 1;
                    star = Some((sp, sn + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|&c| c == '*')
}

/// The databases on the server of `url` (PostgreSQL or MySQL) whose names match the
/// SQL `LIKE` pattern, in name order, each as `url` with its database name replaced.
/// The server's own databases (`template0`, `information_schema`, ...) match only if
/// the pattern names them.
pub fn databases(url: &str, pattern: &str, wait: std::time::Duration) -> Result<Vec<Entry>, Error> {
    let names = names_on(url, wait, "listing the server's databases", |conn| {
        database_names(conn, pattern)
    })?;
    Ok(names
        .into_iter()
        .map(|name| Entry::new(with_database(url, &name)))
        .collect())
}

/// The schemas of the PostgreSQL database of `url` whose names match the SQL `LIKE`
/// pattern, in name order: a target each, in that same database.
pub fn schemas(url: &str, pattern: &str, wait: std::time::Duration) -> Result<Vec<Entry>, Error> {
    let names = names_on(url, wait, "listing the database's schemas", |conn| {
        schema_names(conn, pattern)
    })?;
    Ok(names
        .into_iter()
        .map(|name| Entry {
            schema: Some(name),
            ..Entry::new(url)
        })
        .collect())
}

/// What `list` reads on a read-only connection to `url`.
fn names_on(
    url: &str,
    wait: std::time::Duration,
    action: &str,
    list: impl FnOnce(&mut crate::Connection) -> Result<Vec<String>, crate::BoxError>,
) -> Result<Vec<String>, Error> {
    let options = crate::ConnectOptions {
        wait,
        access: crate::Access::ReadOnly,
    };
    let mut conn = crate::Connection::open(&crate::DatabaseUrl::parse(url)?, &options)?;
    list(&mut conn).map_err(|source| Error::Database {
        action: action.to_owned(),
        source,
    })
}

/// The names of the schemas matching `pattern`, in order.
fn schema_names(
    conn: &mut crate::Connection,
    pattern: &str,
) -> Result<Vec<String>, crate::BoxError> {
    // Read only by the server backends, which may not be compiled in.
    let _ = pattern;
    match conn {
        #[cfg(feature = "postgres")]
        crate::Connection::Postgres(client) => Ok(client
            .query(
                "SELECT nspname::text FROM pg_namespace WHERE nspname LIKE $1 ORDER BY nspname",
                &[&pattern],
            )?
            .iter()
            .map(|row| row.get(0))
            .collect()),
        #[allow(unreachable_patterns, reason = "depends on the backends compiled in")]
        _ => Err("a schema per tenant needs a PostgreSQL URL (on MySQL a schema is a database: use the databases instead)".into()),
    }
}

/// Sets the session's `search_path` to the target's schema.
pub(super) fn enter_schema(
    conn: &mut crate::Connection,
    schema: &str,
) -> Result<(), crate::BoxError> {
    // Read only by the server backends, which may not be compiled in.
    let _ = schema;
    match conn {
        #[cfg(feature = "postgres")]
        crate::Connection::Postgres(client) => Ok(client.batch_execute(&format!(
            "SET search_path TO \"{}\"",
            schema.replace('"', "\"\"")
        ))?),
        #[allow(unreachable_patterns, reason = "depends on the backends compiled in")]
        _ => Err("a schema per tenant needs a PostgreSQL URL".into()),
    }
}

/// The names of the databases matching `pattern`, in order.
fn database_names(
    conn: &mut crate::Connection,
    pattern: &str,
) -> Result<Vec<String>, crate::BoxError> {
    // Read only by the server backends, which may not be compiled in.
    let _ = pattern;
    match conn {
        #[cfg(feature = "postgres")]
        crate::Connection::Postgres(client) => Ok(client
            .query(
                "SELECT datname FROM pg_database WHERE datname LIKE $1 AND datallowconn \
                 ORDER BY datname",
                &[&pattern],
            )?
            .iter()
            .map(|row| row.get(0))
            .collect()),
        #[cfg(feature = "mysql")]
        crate::Connection::Mysql(conn) => {
            use mysql::prelude::Queryable;
            Ok(conn.exec(
                "SELECT schema_name FROM information_schema.schemata \
                 WHERE schema_name LIKE ? ORDER BY schema_name",
                (pattern,),
            )?)
        }
        #[allow(unreachable_patterns, reason = "depends on the backends compiled in")]
        _ => Err("listing databases needs a PostgreSQL or MySQL server URL".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_match_names() {
        assert!(wildcard_match("*.db", "tenant_1.db"));
        assert!(wildcard_match("tenant_?.db", "tenant_1.db"));
        assert!(!wildcard_match("tenant_?.db", "tenant_12.db"));
        assert!(wildcard_match("t*_*.db", "tenant_12.db"));
        assert!(!wildcard_match("*.db", "tenant.db-wal"));
        assert!(wildcard_match("*", ""));
        assert!(!wildcard_match("a", ""));
    }

    #[test]
    fn database_names_replace_the_path() {
        assert_eq!(
            with_database("postgres://u:p@h:5432/postgres?sslmode=disable", "tenant_1"),
            "postgres://u:p@h:5432/tenant_1?sslmode=disable"
        );
        assert_eq!(with_database("mysql://root@h", "t"), "mysql://root@h/t");
        assert_eq!(with_database("mysql://root@h/", "t"), "mysql://root@h/t");
    }
}
