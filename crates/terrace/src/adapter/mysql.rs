//! `mysql::Conn`, behind the `mysql` feature, for MySQL and MariaDB.
//!
//! The client is blocking: each verb does its work when called. Migration SQL runs
//! through the text protocol (several statements at once); Terrace's own statements
//! as prepared statements (the driver caches them per connection).

use crate::backend::{Database, sealed::Sealed};
use crate::error::Error;
use mysql::prelude::Queryable;
use mysql::{Conn, Params, Value};
use std::any::Any;
use std::time::Duration;
use terrace_core::backend::{BackendResult, BoxFuture};
use terrace_core::{Adapter, BoxError, Cell, Kind, Param, Rows, SqlBackend, ready};
use terrace_format::Dialect;

/// A `mysql::Conn`, borrowed for one command.
struct Mysql<'c> {
    conn: &'c mut Conn,
}

/// The server's own message as the error's text, without the driver's wrapping; any
/// other driver error (a lost connection) as a plain phrase, since the driver's
/// `Display` names its variant (`IoError { server disconnected }`).
fn server_error(e: mysql::Error) -> BoxError {
    match e {
        mysql::Error::MySqlError(server) => Box::new(server),
        other => crate::connection::plain_mysql_error(&other),
    }
}

/// The parameters as the driver binds them.
fn bind(params: &[Param<'_>]) -> Params {
    if params.is_empty() {
        return Params::Empty;
    }
    Params::Positional(
        params
            .iter()
            .map(|param| match *param {
                Param::Int(value) => value.map_or(Value::NULL, Value::Int),
                Param::Text(value) => {
                    value.map_or(Value::NULL, |text| Value::Bytes(text.as_bytes().to_vec()))
                }
            })
            .collect(),
    )
}

/// A column read as `kind` asks, from either protocol's values.
fn cell(value: Value, kind: Kind) -> BackendResult<Cell> {
    Ok(match (kind, value) {
        (_, Value::NULL) => Cell::Null,
        (Kind::Int, Value::Int(i)) => Cell::Int(i),
        (Kind::Int, Value::UInt(u)) => Cell::Int(i64::try_from(u)?),
        (Kind::Int, Value::Bytes(bytes)) => Cell::Int(std::str::from_utf8(&bytes)?.parse()?),
        (Kind::Text, Value::Bytes(bytes)) => Cell::Text(match String::from_utf8(bytes) {
            Ok(text) => text,
            Err(err) => String::from_utf8_lossy(err.as_bytes()).into_owned(),
        }),
        (Kind::Text, Value::Int(i)) => Cell::Text(i.to_string()),
        (Kind::Text, Value::UInt(u)) => Cell::Text(u.to_string()),
        (_, other) => {
            return Err(format!("unexpected value {other:?} for a {kind:?} column").into());
        }
    })
}

impl Mysql<'_> {
    fn query_now(
        &mut self,
        sql: &str,
        params: &[Param<'_>],
        kinds: &[Kind],
    ) -> BackendResult<Rows> {
        let result = self
            .conn
            .exec_iter(sql, bind(params))
            .map_err(server_error)?;
        let mut out = Vec::new();
        for row in result {
            let row = row.map_err(server_error)?;
            let values = row.unwrap();
            if values.len() != kinds.len() {
                return Err(format!(
                    "the query returned {} columns where {} were expected",
                    values.len(),
                    kinds.len()
                )
                .into());
            }
            out.push(
                values
                    .into_iter()
                    .zip(kinds)
                    .map(|(value, kind)| cell(value, *kind))
                    .collect::<BackendResult<Vec<Cell>>>()?,
            );
        }
        Ok(out)
    }
}

impl Adapter for Mysql<'_> {
    fn dialect(&self) -> Dialect {
        Dialect::Mysql
    }

    fn blocking(&self) -> bool {
        true
    }

    fn batch<'a>(&'a mut self, sql: &'a str) -> BoxFuture<'a, BackendResult<()>> {
        ready(self.conn.query_drop(sql).map_err(server_error))
    }

    fn execute<'a>(
        &'a mut self,
        sql: &'a str,
        params: &'a [Param<'a>],
    ) -> BoxFuture<'a, BackendResult<()>> {
        ready(self.conn.exec_drop(sql, bind(params)).map_err(server_error))
    }

    fn query<'a>(
        &'a mut self,
        sql: &'a str,
        params: &'a [Param<'a>],
        kinds: &'a [Kind],
    ) -> BoxFuture<'a, BackendResult<Rows>> {
        ready(self.query_now(sql, params, kinds))
    }

    fn sleep(&mut self, duration: Duration) -> BoxFuture<'_, ()> {
        std::thread::sleep(duration);
        ready(())
    }

    fn sqlstate(&self, error: &BoxError) -> Option<String> {
        error
            .downcast_ref::<mysql::MySqlError>()
            .map(|server| server.state.clone())
    }

    fn connection(&mut self) -> Option<&mut dyn Any> {
        Some(&mut *self.conn)
    }
}

impl Sealed for Conn {}

impl Database for Conn {
    fn backend(&mut self) -> Result<Box<dyn terrace_core::Backend + '_>, Error> {
        Ok(Box::new(SqlBackend::new(Mysql { conn: self })))
    }
}
