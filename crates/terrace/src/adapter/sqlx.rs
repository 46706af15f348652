//! sqlx's connections and pools, each database behind its own feature: `sqlx-sqlite`
//! (`SqliteConnection`, `Pool<Sqlite>`), `sqlx-postgres` (`PgConnection`,
//! `Pool<Postgres>`) and `sqlx-mysql` (`MySqlConnection`, `Pool<MySql>`).
//!
//! Migration SQL and transaction control run unprepared (`sqlx::raw_sql`, the simple
//! query protocol, several statements at once); Terrace's own statements with their
//! parameters bound. A pool gives one connection for the whole command: the lock and
//! every statement run on it, and it returns to the pool when the command ends.

use crate::backend::{AsyncDatabase, sealed::Sealed};
use crate::error::Error;
use ::sqlx::error::DatabaseError;
use ::sqlx::{AssertSqlSafe, Row};
use std::time::Duration;
use terrace_core::adapter::{Adapter, Cell, Kind, Param, Rows};
use terrace_core::backend::{BackendResult, BoxFuture};
use terrace_core::{BoxError, SqlBackend};
use terrace_format::Dialect;

/// A database error from sqlx: its text is the server's message with its code
/// (the SQLSTATE, or SQLite's result code), which sqlx's own `Display` leaves out; its
/// source is the database's error, for programs that downcast it.
#[derive(Debug)]
struct ServerError {
    text: String,
    code: Option<String>,
    error: ::sqlx::Error,
}

impl std::fmt::Display for ServerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

impl std::error::Error for ServerError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        // sqlx's error only says "error returned from database" around it: skip it.
        std::error::Error::source(&self.error)
    }
}

/// sqlx's error, with the database's message and code as its text when it is the
/// database's.
fn server_error(error: ::sqlx::Error) -> BoxError {
    let Some(db) = error.as_database_error() else {
        return Box::new(error);
    };
    let code = db.code().map(|code| code.into_owned());
    let text = describe(db, code.as_deref());
    Box::new(ServerError { text, code, error })
}

/// The text of a database's error, as each database's own tools print it.
fn describe(db: &dyn DatabaseError, code: Option<&str>) -> String {
    #[cfg(feature = "sqlx-postgres")]
    if let Some(pg) = db.try_downcast_ref::<::sqlx::postgres::PgDatabaseError>() {
        let severity = format!("{:?}", pg.severity()).to_uppercase();
        let mut text = format!("{severity}: {} (SQLSTATE {})", pg.message(), pg.code());
        if let Some(detail) = pg.detail() {
            text.push_str(&format!("; detail: {detail}"));
        }
        if let Some(hint) = pg.hint() {
            text.push_str(&format!("; hint: {hint}"));
        }
        return text;
    }
    #[cfg(feature = "sqlx-mysql")]
    if let Some(my) = db.try_downcast_ref::<::sqlx::mysql::MySqlDatabaseError>() {
        return match my.code() {
            Some(state) => format!("ERROR {} ({state}): {}", my.number(), my.message()),
            None => format!("ERROR {}: {}", my.number(), my.message()),
        };
    }
    #[cfg(feature = "sqlx-sqlite")]
    if db
        .try_downcast_ref::<::sqlx::sqlite::SqliteError>()
        .is_some()
    {
        return match code {
            Some(code) => format!("{} (SQLite result code {code})", db.message()),
            None => db.message().to_owned(),
        };
    }
    match code {
        Some(code) => format!("{} (code {code})", db.message()),
        None => db.message().to_owned(),
    }
}

/// The database's code of an error, if it is a database's: the SQLSTATE on PostgreSQL
/// and MySQL, the (extended) result code on SQLite.
fn code(error: &BoxError) -> Option<String> {
    if let Some(server) = error.downcast_ref::<ServerError>() {
        return server.code.clone();
    }
    error
        .downcast_ref::<::sqlx::Error>()?
        .as_database_error()?
        .code()
        .map(|code| code.into_owned())
}

/// The connection a command runs on: the caller's, or one taken from a pool for the
/// command.
enum Held<'c, DB: ::sqlx::Database> {
    Borrowed(&'c mut DB::Connection),
    Pooled(::sqlx::pool::PoolConnection<DB>),
}

/// Implements [`Adapter`] for one of sqlx's databases, on its connection (borrowed,
/// or taken from a pool), and [`AsyncDatabase`] for the connection and the pool.
macro_rules! sqlx_adapter {
    (
        $(#[$meta:meta])*
        $adapter:ident, $database:ty, $connection:ty, $dialect:expr,
        decode: $decode:ident,
        is_busy: $is_busy:expr
    ) => {
        $(#[$meta])*
        struct $adapter<'c> {
            conn: Held<'c, $database>,
            /// Set while a statement is being awaited: still set when the adapter is
            /// dropped, the command was abandoned midway (its future dropped), and
            /// the connection may still hold its lock or transaction.
            in_flight: bool,
        }

        impl $adapter<'_> {
            /// The connection, for one statement that will clear `in_flight` when it
            /// completes.
            fn start(&mut self) -> &mut $connection {
                self.in_flight = true;
                match &mut self.conn {
                    Held::Borrowed(conn) => conn,
                    Held::Pooled(conn) => conn,
                }
            }
        }

        impl Drop for $adapter<'_> {
            fn drop(&mut self) {
                if let (true, Held::Pooled(conn)) = (self.in_flight, &mut self.conn) {
                    // Not back into the pool with the lock or a transaction open.
                    tracing::warn!(
                        "a command was abandoned midway on a pooled connection: closing it"
                    );
                    conn.close_on_drop();
                }
            }
        }

        impl Adapter for $adapter<'_> {
            fn dialect(&self) -> Dialect {
                $dialect
            }

            fn blocking(&self) -> bool {
                false
            }

            fn batch<'a>(&'a mut self, sql: &'a str) -> BoxFuture<'a, BackendResult<()>> {
                Box::pin(async move {
                    let result = ::sqlx::raw_sql(AssertSqlSafe(sql))
                        .execute(self.start())
                        .await;
                    self.in_flight = false;
                    result.map(drop).map_err(server_error)
                })
            }

            fn execute<'a>(
                &'a mut self,
                sql: &'a str,
                params: &'a [Param<'a>],
            ) -> BoxFuture<'a, BackendResult<()>> {
                Box::pin(async move {
                    let mut query = ::sqlx::query::<$database>(AssertSqlSafe(sql));
                    for param in params {
                        query = match *param {
                            Param::Int(value) => query.bind(value),
                            Param::Text(value) => query.bind(value.map(str::to_owned)),
                        };
                    }
                    let result = query.execute(self.start()).await;
                    self.in_flight = false;
                    result.map(drop).map_err(server_error)
                })
            }

            fn query<'a>(
                &'a mut self,
                sql: &'a str,
                params: &'a [Param<'a>],
                kinds: &'a [Kind],
            ) -> BoxFuture<'a, BackendResult<Rows>> {
                Box::pin(async move {
                    let mut query = ::sqlx::query::<$database>(AssertSqlSafe(sql));
                    for param in params {
                        query = match *param {
                            Param::Int(value) => query.bind(value),
                            Param::Text(value) => query.bind(value.map(str::to_owned)),
                        };
                    }
                    let result = query.fetch_all(self.start()).await;
                    self.in_flight = false;
                    let rows = result.map_err(server_error)?;
                    rows.iter()
                        .map(|row| {
                            kinds
                                .iter()
                                .enumerate()
                                .map(|(index, kind)| $decode(row, index, *kind))
                                .collect::<BackendResult<Vec<Cell>>>()
                        })
                        .collect()
                })
            }

            fn sleep(&mut self, duration: Duration) -> BoxFuture<'_, ()> {
                Box::pin(async move {
                    self.in_flight = true;
                    super::sleep(duration).await;
                    self.in_flight = false;
                })
            }

            fn sqlstate(&self, error: &BoxError) -> Option<String> {
                code(error)
            }

            fn is_busy(&self, error: &BoxError) -> bool {
                let is_busy: fn(&BoxError) -> bool = $is_busy;
                is_busy(error)
            }
        }

        impl Sealed for $connection {}

        impl AsyncDatabase for $connection {
            fn backend(
                &mut self,
            ) -> BoxFuture<'_, Result<Box<dyn terrace_core::Backend + '_>, Error>> {
                Box::pin(async move {
                    let backend: Box<dyn terrace_core::Backend + '_> =
                        Box::new(SqlBackend::new($adapter {
                            conn: Held::Borrowed(self),
                            in_flight: false,
                        }));
                    Ok(backend)
                })
            }
        }

        impl Sealed for ::sqlx::Pool<$database> {}

        /// Takes one connection from the pool (waiting as the pool's acquire timeout
        /// allows) and runs the whole command on it; it returns to the pool when the
        /// command ends.
        impl AsyncDatabase for ::sqlx::Pool<$database> {
            fn backend(
                &mut self,
            ) -> BoxFuture<'_, Result<Box<dyn terrace_core::Backend + '_>, Error>> {
                Box::pin(async move {
                    let conn = self.acquire().await.map_err(|e| Error::Database {
                        action: "taking a connection from the pool".to_owned(),
                        source: server_error(e),
                    })?;
                    let backend: Box<dyn terrace_core::Backend + '_> =
                        Box::new(SqlBackend::new($adapter {
                            conn: Held::Pooled(conn),
                            in_flight: false,
                        }));
                    Ok(backend)
                })
            }
        }
    };
}

/// Reads a column as asked, with the column's type checked (PostgreSQL, MySQL: the
/// SQL Terrace sends casts what it reads to `BIGINT` or text).
#[cfg(any(feature = "sqlx-postgres", feature = "sqlx-mysql"))]
fn decode_checked<R>(row: &R, index: usize, kind: Kind) -> BackendResult<Cell>
where
    R: Row,
    usize: ::sqlx::ColumnIndex<R>,
    for<'r> Option<i64>: ::sqlx::Decode<'r, R::Database> + ::sqlx::Type<R::Database>,
    for<'r> Option<String>: ::sqlx::Decode<'r, R::Database> + ::sqlx::Type<R::Database>,
{
    Ok(match kind {
        Kind::Int => row
            .try_get::<Option<i64>, _>(index)?
            .map_or(Cell::Null, Cell::Int),
        Kind::Text => row
            .try_get::<Option<String>, _>(index)?
            .map_or(Cell::Null, Cell::Text),
    })
}

/// Reads a column as asked, converting as SQLite does (its columns have no fixed
/// type: an expression's value is whatever it computed).
#[cfg(feature = "sqlx-sqlite")]
fn decode_sqlite(row: &::sqlx::sqlite::SqliteRow, index: usize, kind: Kind) -> BackendResult<Cell> {
    use ::sqlx::ValueRef;
    if row.try_get_raw(index)?.is_null() {
        return Ok(Cell::Null);
    }
    Ok(match kind {
        Kind::Int => Cell::Int(row.try_get_unchecked::<i64, _>(index)?),
        Kind::Text => Cell::Text(row.try_get_unchecked::<String, _>(index)?),
    })
}

#[cfg(feature = "sqlx-sqlite")]
sqlx_adapter!(
    /// sqlx's SQLite connection.
    SqliteAdapter, ::sqlx::Sqlite, ::sqlx::SqliteConnection, Dialect::Sqlite,
    decode: decode_sqlite,
    // SQLITE_BUSY, in the low byte of an extended result code.
    is_busy: |error| code(error)
        .and_then(|code| code.parse::<i32>().ok())
        .is_some_and(|code| code & 0xff == 5)
);

#[cfg(feature = "sqlx-postgres")]
sqlx_adapter!(
    /// sqlx's PostgreSQL connection.
    PgAdapter, ::sqlx::Postgres, ::sqlx::PgConnection, Dialect::Postgres,
    decode: decode_checked,
    is_busy: |_| false
);

#[cfg(feature = "sqlx-mysql")]
sqlx_adapter!(
    /// sqlx's MySQL or MariaDB connection.
    MySqlAdapter, ::sqlx::MySql, ::sqlx::MySqlConnection, Dialect::Mysql,
    decode: decode_checked,
    is_busy: |_| false
);
