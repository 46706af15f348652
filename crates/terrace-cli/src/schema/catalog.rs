//! Reading a live database's schema from its catalog, one module per backend:
//! `sqlite_schema` and the `pragma_*` functions, `pg_catalog`, MySQL's
//! `information_schema`. Every query only reads, and every cell is read as text
//! through the connection's own driver (the same path as `terrace import`).

mod mysql;
mod postgres;
mod sqlite;

use super::model::Schema;
use crate::import::foreign::{self, Rows};
use terrace::Connection;
use terrace::format::Dialect;

/// Runs one catalog query, every column read as text.
pub type Query<'a> = dyn FnMut(&str) -> Result<Rows, terrace::BoxError> + 'a;

/// The schema of the database `conn` is open on, without the table named `excluded`
/// (Terrace's tracking table) and its lease table, normalised.
pub fn read(conn: &mut Connection, excluded: &str) -> Result<Schema, terrace::BoxError> {
    let dialect = foreign::dialect(conn);
    let mut query = |sql: &str| foreign::query(conn, sql);
    let mut schema = match dialect {
        Dialect::Postgres => postgres::read(&mut query, excluded)?,
        Dialect::Mysql => mysql::read(&mut query, excluded)?,
        _ => sqlite::read(&mut query, excluded)?,
    };
    schema.normalise();
    Ok(schema)
}

/// Whether a table is Terrace's: the tracking table `excluded`, or its lease table
/// (`<table>_lock`), which a run under the lease lock creates beside it.
fn is_terrace_table(name: &str, excluded: &str) -> bool {
    name == excluded || name.strip_suffix("_lock") == Some(excluded)
}

/// A string literal for a catalog query.
fn literal(text: &str) -> String {
    super::render::literal(text)
}

/// A list the catalog query packed into one cell, split at the unit separator.
fn unpack(cell: Option<&str>) -> Vec<String> {
    match cell {
        Some(text) if !text.is_empty() => text.split('\u{1f}').map(str::to_owned).collect(),
        _ => Vec::new(),
    }
}
