//! The copy `terrace test` rehearses on: a SQLite file written with SQLite's online
//! backup API, a PostgreSQL database created with the original as its template (or,
//! while other sessions are connected to the original, copied table by table:
//! `table_copy.rs`), or a MySQL database holding a copy of each of the original's
//! tables, views, triggers and routines.
//! Removed by [`Scratch::remove`], or when dropped on an early return, unless kept.

#[cfg(feature = "mysql")]
use super::table_copy::backquote;
#[cfg(feature = "postgres")]
use super::table_copy::quote;
use crate::connect::Location;
use crate::failure::Failure;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};
#[cfg(any(feature = "postgres", feature = "mysql"))]
use terrace::BoxError;
use terrace::DatabaseUrl;
// Only the server copies open connections of their own.
#[cfg(any(feature = "postgres", feature = "mysql"))]
use {crate::connect::Access, terrace::Connection};

/// A copy of the configured database.
pub(super) struct Scratch {
    url: DatabaseUrl,
    place: Place,
    keep: bool,
    removed: bool,
    how: How,
}

/// How the copy was made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum How {
    /// SQLite's online backup API.
    Backup,
    /// `CREATE DATABASE … TEMPLATE`.
    #[cfg_attr(
        not(feature = "postgres"),
        allow(dead_code, reason = "made on PostgreSQL only")
    )]
    Template,
    /// The schema, then each table's rows; with why a template copy was not made,
    /// where one was tried.
    #[cfg_attr(
        not(any(feature = "postgres", feature = "mysql")),
        allow(dead_code, reason = "made on the servers only")
    )]
    Tables { instead_of_template: Option<String> },
}

impl How {
    /// For the JSON document: `backup`, `template`, `tables`.
    pub(super) fn name(&self) -> &'static str {
        match self {
            How::Backup => "backup",
            How::Template => "template",
            How::Tables { .. } => "tables",
        }
    }

    /// For the text: `copied with the backup API`, `copied by template`, `copied table
    /// by table`.
    pub(super) fn describe(&self) -> &'static str {
        match self {
            How::Backup => "copied with SQLite's backup API",
            How::Template => "copied by template",
            How::Tables { .. } => "copied table by table",
        }
    }
}

enum Place {
    /// A SQLite file.
    File(PathBuf),
    /// A database on a PostgreSQL server, dropped over `admin` (the server's
    /// maintenance database).
    #[cfg(feature = "postgres")]
    Server { admin: DatabaseUrl, name: String },
    /// A MySQL database (schema) on the same server as the original, dropped over
    /// `admin` (the original's URL).
    #[cfg(feature = "mysql")]
    Schema { admin: DatabaseUrl, name: String },
}

impl fmt::Display for Scratch {
    /// Where the copy is: its file, or its URL with any password hidden.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.place {
            Place::File(path) => path.display().fmt(f),
            #[cfg(feature = "postgres")]
            Place::Server { .. } => self.url.fmt(f),
            #[cfg(feature = "mysql")]
            Place::Schema { .. } => self.url.fmt(f),
        }
    }
}

impl Scratch {
    /// Copies the database `database` names, whose tracking table is `tracking`.
    /// Refuses a SQLite file that does not exist, and other databases than SQLite,
    /// PostgreSQL and MySQL.
    pub(super) fn make(database: &Location, tracking: &str, keep: bool) -> anyhow::Result<Scratch> {
        if let Some(original) = database.url().sqlite_path() {
            return Self::sqlite(database, &original, keep);
        }
        #[cfg(feature = "postgres")]
        if database.url().scheme() == terrace::Scheme::Postgres {
            return Self::postgres(database, tracking, keep);
        }
        let _ = tracking;
        #[cfg(feature = "mysql")]
        if database.url().scheme() == terrace::Scheme::Mysql {
            return Self::mysql(database, keep);
        }
        Err(Failure::refused(format!(
            "terrace test rehearses on a copy of a SQLite, PostgreSQL or MySQL database only; {database} is none of them"
        ))
        .named("test_backend")
        .hint("run `terrace schema diff --migrations` to check the migrations on a scratch database")
        .into())
    }

    /// The copy's URL.
    pub(super) fn url(&self) -> &DatabaseUrl {
        &self.url
    }

    /// How the copy was made.
    pub(super) fn how(&self) -> &How {
        &self.how
    }

    /// Deletes the copy, unless kept.
    pub(super) fn remove(mut self) -> anyhow::Result<()> {
        self.removed = true;
        if self.keep {
            return Ok(());
        }
        match &self.place {
            Place::File(path) => {
                for suffix in ["", "-journal", "-wal", "-shm", "-terrace.lock"] {
                    let mut name = path.clone().into_os_string();
                    name.push(suffix);
                    let _ = std::fs::remove_file(name);
                }
                Ok(())
            }
            #[cfg(feature = "postgres")]
            Place::Server { admin, name } => {
                let mut conn = open(admin, Access::ReadWrite)?;
                let Connection::Postgres(client) = &mut conn else {
                    return Ok(());
                };
                client
                    .batch_execute(&format!(
                        "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                        quote(name)
                    ))
                    .map_err(|e| drop_failed(name, e))
            }
            #[cfg(feature = "mysql")]
            Place::Schema { admin, name } => {
                let mut conn = open(admin, Access::ReadWrite)?;
                let Connection::Mysql(conn) = &mut conn else {
                    return Ok(());
                };
                mysql::prelude::Queryable::query_drop(
                    conn,
                    format!("DROP DATABASE IF EXISTS {}", backquote(name)),
                )
                .map_err(|e| drop_failed(name, e))
            }
        }
    }

    fn sqlite(database: &Location, original: &Path, keep: bool) -> anyhow::Result<Scratch> {
        if database.is_missing_file() || original == Path::new(":memory:") {
            return Err(Failure::refused(format!(
                "database file {} does not exist: there is nothing to copy",
                original.display()
            ))
            .named("test_missing")
            .hint("`terrace migrate` creates it; `terrace schema diff --migrations` checks an empty database's migrations")
            .into());
        }
        let path = copy_path(original, keep);
        let scratch = Scratch {
            url: DatabaseUrl::parse(&format!("sqlite:{}", path.display()))?,
            place: Place::File(path.clone()),
            keep,
            removed: false,
            how: How::Backup,
        };
        backup(original, &path)?;
        Ok(scratch)
    }

    /// `CREATE DATABASE copy TEMPLATE original`, over a connection to the server's
    /// `postgres` database. PostgreSQL copies a database only while no session is
    /// connected to it, Terrace's own included: while others are (counted first, or
    /// making `CREATE DATABASE` fail), the copy is made table by table instead.
    #[cfg(feature = "postgres")]
    fn postgres(database: &Location, tracking: &str, keep: bool) -> anyhow::Result<Scratch> {
        let mut conn = database.open(Access::ReadOnly)?;
        let Connection::Postgres(client) = &mut conn else {
            return Err(Failure::refused("not a PostgreSQL connection").into());
        };
        let row = client.query_one(
            "SELECT current_database()::text, (SELECT count(*) FROM pg_stat_activity \
             WHERE datname = current_database() AND pid <> pg_backend_pid()), \
             pg_encoding_to_char(d.encoding)::text, d.datcollate::text, d.datctype::text \
             FROM pg_database d WHERE d.datname = current_database()",
            &[],
        )?;
        let original: String = row.get(0);
        let others: i64 = row.get(1);
        let (encoding, collate, ctype): (String, String, String) =
            (row.get(2), row.get(3), row.get(4));
        drop(conn);
        let server = |name: &str| {
            database
                .url()
                .with_database(name)
                .ok_or_else(|| Failure::refused("not a server URL"))
        };
        let admin = server("postgres")?;
        let name = copy_name(&original, 63);
        let mut conn = open(&admin, Access::ReadWrite)?;
        let Connection::Postgres(client) = &mut conn else {
            return Err(Failure::refused("not a PostgreSQL connection").into());
        };
        let copy_failed = |e: BoxError| {
            Failure::refused(format!("cannot copy database {original} to {name}"))
                .named("test_copy")
                .caused_by(e)
        };
        let why_not_template = if others > 0 {
            Some(format!(
                "{others} other session{} connected to {original}",
                crate::output::plural(usize::try_from(others).unwrap_or(usize::MAX))
            ))
        } else {
            match client.batch_execute(&format!(
                "CREATE DATABASE {} TEMPLATE {}",
                quote(&name),
                quote(&original)
            )) {
                Ok(()) => None,
                Err(e) if e.code() == Some(&postgres::error::SqlState::OBJECT_IN_USE) => Some(
                    e.as_db_error()
                        .map_or_else(|| e.to_string(), |db| db.message().to_owned()),
                ),
                Err(e) => return Err(copy_failed(e.into()).into()),
            }
        };
        if why_not_template.is_some() {
            client
                .batch_execute(&format!(
                    "CREATE DATABASE {} TEMPLATE template0 ENCODING {} LC_COLLATE {} LC_CTYPE {}",
                    quote(&name),
                    crate::schema::render::literal(&encoding),
                    crate::schema::render::literal(&collate),
                    crate::schema::render::literal(&ctype),
                ))
                .map_err(|e| copy_failed(e.into()))?;
        }
        drop(conn);
        // From here on, the copy exists: an error drops it.
        let scratch = Scratch {
            url: server(&name)?,
            place: Place::Server {
                admin,
                name: name.clone(),
            },
            keep,
            removed: false,
            how: match why_not_template {
                None => How::Template,
                Some(why) => How::Tables {
                    instead_of_template: Some(why),
                },
            },
        };
        if scratch.how != How::Template {
            let mut source = database.open(Access::ReadOnly)?;
            let mut target = open(&scratch.url, Access::ReadWrite)?;
            super::table_copy::postgres(&mut source, &mut target, tracking).map_err(copy_failed)?;
        }
        Ok(scratch)
    }

    /// A new database on the same server, filled with a copy of each table, routine,
    /// view and trigger of the original (`table_copy.rs`): MySQL has no database copy
    /// of its own.
    #[cfg(feature = "mysql")]
    fn mysql(database: &Location, keep: bool) -> anyhow::Result<Scratch> {
        use mysql::prelude::Queryable;
        let admin = database.url().clone();
        let mut whole = database.open(Access::ReadWrite)?;
        // Nothing excluded: a trigger on the tracking table is copied too.
        let schema = crate::schema::catalog::read(&mut whole, "").map_err(|e| {
            Failure::refused("cannot read the schema")
                .named("schema_read")
                .caused_by(e)
        })?;
        let Connection::Mysql(conn) = &mut whole else {
            return Err(Failure::refused("not a MySQL connection").into());
        };
        let original: String = conn
            .query_first("SELECT DATABASE()")?
            .ok_or_else(|| Failure::refused("the MySQL URL names no database to copy"))?;
        let name = copy_name(&original, 64);
        let url = database
            .url()
            .with_database(&name)
            .ok_or_else(|| Failure::refused("not a server URL"))?;
        let copy_failed = |e: BoxError| {
            Failure::refused(format!("cannot copy database {original} to {name}"))
                .named("test_copy")
                .caused_by(e)
        };
        conn.query_drop(format!("CREATE DATABASE {}", backquote(&name)))
            .map_err(|e| copy_failed(e.into()))?;
        // From here on, the copy exists: an error drops it.
        let scratch = Scratch {
            url,
            place: Place::Schema {
                admin,
                name: name.clone(),
            },
            keep,
            removed: false,
            how: How::Tables {
                instead_of_template: None,
            },
        };
        super::table_copy::mysql(conn, &original, &name, &schema).map_err(copy_failed)?;
        Ok(scratch)
    }
}

/// Why the copy could not be dropped.
#[cfg(any(feature = "postgres", feature = "mysql"))]
fn drop_failed(
    name: &str,
    e: impl Into<Box<dyn std::error::Error + Send + Sync>>,
) -> anyhow::Error {
    Failure::refused(format!("cannot drop the copy {name}"))
        .named("test_copy")
        .caused_by(e)
        .into()
}

impl Drop for Scratch {
    /// Removes the copy after an error cut the rehearsal short.
    fn drop(&mut self) {
        if self.removed {
            return;
        }
        let place = std::mem::replace(&mut self.place, Place::File(PathBuf::new()));
        let _ = Scratch {
            url: self.url.clone(),
            place,
            keep: self.keep,
            removed: true,
            how: self.how.clone(),
        }
        .remove();
    }
}

#[cfg(any(feature = "postgres", feature = "mysql"))]
fn open(url: &DatabaseUrl, access: Access) -> anyhow::Result<Connection> {
    Ok(Connection::open(
        url,
        &terrace::ConnectOptions {
            wait: std::time::Duration::ZERO,
            access,
        },
    )?)
}

/// Copies the SQLite database at `from` into a new file at `to` with the online
/// backup API, which reads a consistent snapshot even while others write.
fn backup(from: &Path, to: &Path) -> anyhow::Result<()> {
    let refuse = |e: rusqlite::Error| -> anyhow::Error {
        Failure::refused(format!(
            "cannot copy {} to {}",
            from.display(),
            to.display()
        ))
        .named("test_copy")
        .caused_by(e)
        .into()
    };
    let source = rusqlite::Connection::open_with_flags(
        from,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_URI,
    )
    .map_err(refuse)?;
    source
        .backup(
            rusqlite::MAIN_DB,
            to,
            None::<fn(rusqlite::backup::Progress)>,
        )
        .map_err(refuse)
}

/// A unique suffix: the process and the time.
fn stamp() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!("{}_{}", std::process::id(), nanos % 1_000_000_000)
}

/// Where a SQLite copy goes: the temporary folder, or beside the original when kept.
fn copy_path(original: &Path, keep: bool) -> PathBuf {
    let file = original
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "database".to_owned());
    let name = format!("{file}.test-{}", stamp());
    if keep {
        original.with_file_name(name)
    } else {
        std::env::temp_dir().join(name)
    }
}

/// A server copy's name: the original's with `_test_` and the stamp, within the
/// server's longest name (`limit` bytes).
#[cfg(any(feature = "postgres", feature = "mysql"))]
fn copy_name(original: &str, limit: usize) -> String {
    let suffix = format!("_test_{}", stamp());
    let mut base = original.to_owned();
    while base.len() + suffix.len() > limit {
        base.pop();
    }
    format!("{base}{suffix}")
}
