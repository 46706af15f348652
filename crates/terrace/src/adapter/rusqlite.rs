//! `rusqlite::Connection`, behind the `sqlite` feature: the embedded default.
//!
//! rusqlite is blocking: each verb does its work when called. Terrace's own
//! statements are prepared once per connection (rusqlite's statement cache) and read
//! in place; migration SQL runs through `execute_batch`.

use crate::backend::{Database, sealed::Sealed};
use crate::error::Error;
use rusqlite::types::{ToSql, ValueRef};
use rusqlite::{Connection, ErrorCode};
use std::any::Any;
use std::time::Duration;
use terrace_core::backend::{BackendResult, BoxFuture};
use terrace_core::{
    Adapter, BoxError, Cell, CellRef, Kind, Param, RowVisit, Rows, SqlBackend, ready,
};
use terrace_format::Dialect;

/// A rusqlite connection, borrowed for one command.
struct Rusqlite<'c> {
    conn: &'c mut Connection,
}

/// The parameters as rusqlite binds them.
fn bind<'p>(params: &'p [Param<'p>]) -> Vec<&'p dyn ToSql> {
    params
        .iter()
        .map(|param| match param {
            Param::Int(value) => value as &dyn ToSql,
            Param::Text(value) => value as &dyn ToSql,
        })
        .collect()
}

/// A column read as `kind` asks: SQLite's dynamic typing lets any value stand in any
/// column, so text is whatever the value reads as, and an integer must be one.
fn cell(value: ValueRef<'_>, kind: Kind) -> BackendResult<Cell> {
    Ok(match (kind, value) {
        (_, ValueRef::Null) => Cell::Null,
        (Kind::Int, ValueRef::Integer(i)) => Cell::Int(i),
        (Kind::Int, other) => {
            return Err(format!("expected an integer, found {:?}", other.data_type()).into());
        }
        (Kind::Text, ValueRef::Integer(i)) => Cell::Text(i.to_string()),
        (Kind::Text, ValueRef::Real(f)) => Cell::Text(f.to_string()),
        (Kind::Text, ValueRef::Text(t) | ValueRef::Blob(t)) => {
            // Checking first is far cheaper than the lossy conversion for the valid
            // text that every row holds.
            Cell::Text(match std::str::from_utf8(t) {
                Ok(valid) => valid.to_owned(),
                Err(_) => String::from_utf8_lossy(t).into_owned(),
            })
        }
    })
}

/// A column read in place, as `kind` asks: a value of another type, or text that is
/// not UTF-8, is [`CellRef::Other`].
fn cell_ref(value: ValueRef<'_>, kind: Kind) -> CellRef<'_> {
    match (kind, value) {
        (_, ValueRef::Null) => CellRef::Null,
        (Kind::Int, ValueRef::Integer(i)) => CellRef::Int(i),
        (Kind::Text, ValueRef::Text(t)) => {
            std::str::from_utf8(t).map_or(CellRef::Other, CellRef::Text)
        }
        _ => CellRef::Other,
    }
}

impl Rusqlite<'_> {
    fn execute_now(&mut self, sql: &str, params: &[Param<'_>]) -> BackendResult<()> {
        self.conn.prepare_cached(sql)?.execute(&*bind(params))?;
        Ok(())
    }

    fn query_now(
        &mut self,
        sql: &str,
        params: &[Param<'_>],
        kinds: &[Kind],
    ) -> BackendResult<Rows> {
        let mut stmt = self.conn.prepare_cached(sql)?;
        let mut rows = stmt.query(&*bind(params))?;
        let mut out = Vec::new();
        while let Some(row) = rows.next()? {
            let cells = kinds
                .iter()
                .enumerate()
                .map(|(index, kind)| cell(row.get_ref(index)?, *kind))
                .collect::<BackendResult<Vec<Cell>>>()?;
            out.push(cells);
        }
        Ok(out)
    }

    fn visit_now(
        &mut self,
        sql: &str,
        params: &[Param<'_>],
        kinds: &[Kind],
        visit: RowVisit<'_>,
    ) -> BackendResult<()> {
        let mut stmt = self.conn.prepare_cached(sql)?;
        let mut rows = stmt.query(&*bind(params))?;
        // The cells of a row live in a buffer on the stack where they fit.
        const ON_STACK: usize = 8;
        while let Some(row) = rows.next()? {
            let mut stack = [CellRef::Null; ON_STACK];
            let mut heap = Vec::new();
            let cells: &mut [CellRef<'_>] = if kinds.len() <= ON_STACK {
                &mut stack[..kinds.len()]
            } else {
                heap.resize(kinds.len(), CellRef::Null);
                &mut heap
            };
            for ((index, kind), cell) in kinds.iter().enumerate().zip(cells.iter_mut()) {
                *cell = cell_ref(row.get_ref(index)?, *kind);
            }
            if !visit(cells) {
                break;
            }
        }
        Ok(())
    }
}

impl Adapter for Rusqlite<'_> {
    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }

    fn blocking(&self) -> bool {
        true
    }

    fn batch<'a>(&'a mut self, sql: &'a str) -> BoxFuture<'a, BackendResult<()>> {
        ready(self.conn.execute_batch(sql).map_err(BoxError::from))
    }

    fn execute<'a>(
        &'a mut self,
        sql: &'a str,
        params: &'a [Param<'a>],
    ) -> BoxFuture<'a, BackendResult<()>> {
        ready(self.execute_now(sql, params))
    }

    fn query<'a>(
        &'a mut self,
        sql: &'a str,
        params: &'a [Param<'a>],
        kinds: &'a [Kind],
    ) -> BoxFuture<'a, BackendResult<Rows>> {
        ready(self.query_now(sql, params, kinds))
    }

    fn visit_rows<'a>(
        &'a mut self,
        sql: &'a str,
        params: &'a [Param<'a>],
        kinds: &'a [Kind],
        visit: RowVisit<'a>,
    ) -> Option<BoxFuture<'a, BackendResult<()>>> {
        Some(ready(self.visit_now(sql, params, kinds, visit)))
    }

    fn sleep(&mut self, duration: Duration) -> BoxFuture<'_, ()> {
        std::thread::sleep(duration);
        ready(())
    }

    fn is_busy(&self, error: &BoxError) -> bool {
        error
            .downcast_ref::<rusqlite::Error>()
            .and_then(rusqlite::Error::sqlite_error_code)
            == Some(ErrorCode::DatabaseBusy)
    }

    fn in_transaction(&mut self) -> Option<bool> {
        Some(!self.conn.is_autocommit())
    }

    fn connection(&mut self) -> Option<&mut dyn Any> {
        Some(&mut *self.conn)
    }
}

impl Sealed for Connection {}

impl Database for Connection {
    fn backend(&mut self) -> Result<Box<dyn terrace_core::Backend + '_>, Error> {
        Ok(Box::new(SqlBackend::new(Rusqlite { conn: self })))
    }
}
