//! Reading another tool's tracking table, read-only, on any compiled-in backend: every
//! column is selected as text (or hexadecimal, for bytes), so the tools' modules see
//! the same rows on SQLite, PostgreSQL and MySQL.

use terrace::Connection;
use terrace::format::Dialect;

/// A column to read.
#[derive(Debug, Clone, Copy)]
pub enum Column {
    /// Read as text.
    Text(&'static str),
    /// Bytes, read as hexadecimal text.
    Hex(&'static str),
}

/// One row of the foreign table, every cell as text (`None` for NULL).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Row(pub Vec<Option<String>>);

impl Row {
    /// The cell's text, or `""` for NULL.
    pub fn text(&self, column: usize) -> &str {
        self.get(column).unwrap_or("")
    }

    /// The cell's text, `None` for NULL.
    pub fn get(&self, column: usize) -> Option<&str> {
        self.0.get(column).and_then(Option::as_deref)
    }
}

/// The rows of a foreign table, in the order asked for.
pub type Rows = Vec<Row>;

/// A migration the foreign table records as applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    /// Its id in the tool (see [`SourceMigration::id`](super::SourceMigration::id)).
    pub id: String,
    /// The checksum the tool recorded, in the form of
    /// [`SourceMigration::checksum`](super::SourceMigration::checksum).
    pub checksum: Option<String>,
}

/// The applied migrations of a table that holds one row per applied migration, its id
/// in the first column.
pub fn every_row(rows: &Rows) -> Vec<Applied> {
    rows.iter()
        .map(|row| Applied {
            id: row.text(0).trim().to_owned(),
            checksum: None,
        })
        .collect()
}

/// A boolean as the backends write it as text: `1`, `t`, `true`.
pub fn flag(text: &str) -> bool {
    matches!(
        text.trim().to_ascii_lowercase().as_str(),
        "1" | "t" | "true" | "y" | "yes"
    )
}

/// The dialect of an open connection.
pub fn dialect(conn: &Connection) -> Dialect {
    match conn {
        #[cfg(feature = "postgres")]
        Connection::Postgres(_) => Dialect::Postgres,
        #[cfg(feature = "mysql")]
        Connection::Mysql(_) => Dialect::Mysql,
        _ => Dialect::Sqlite,
    }
}

/// The query reading `columns` of `table`, ordered by `order`.
pub fn select(dialect: Dialect, table: &str, columns: &[Column], order: &str) -> String {
    let text = if dialect == Dialect::Mysql {
        "CHAR"
    } else {
        "TEXT"
    };
    let cells: Vec<String> = columns
        .iter()
        .map(|column| match (column, dialect) {
            (Column::Text(name), _) => format!("CAST({name} AS {text})"),
            (Column::Hex(name), Dialect::Postgres) => format!("encode({name}, 'hex')"),
            (Column::Hex(name), _) => format!("hex({name})"),
        })
        .collect();
    format!("SELECT {} FROM {table} ORDER BY {order}", cells.join(", "))
}

/// Runs a query whose every column is text, and returns its rows.
pub fn query(conn: &mut Connection, sql: &str) -> Result<Rows, terrace::BoxError> {
    match conn {
        Connection::Sqlite(conn) => {
            let mut statement = conn.prepare(sql)?;
            let width = statement.column_count();
            let rows = statement.query_map([], |row| {
                (0..width)
                    .map(|i| row.get::<_, Option<String>>(i))
                    .collect::<Result<Vec<_>, _>>()
                    .map(Row)
            })?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        }
        #[cfg(feature = "postgres")]
        Connection::Postgres(client) => {
            let rows = client.query(sql, &[])?;
            let mut read = Vec::with_capacity(rows.len());
            for row in rows {
                let cells = (0..row.len())
                    .map(|i| row.try_get::<_, Option<String>>(i))
                    .collect::<Result<Vec<_>, _>>()?;
                read.push(Row(cells));
            }
            Ok(read)
        }
        #[cfg(feature = "mysql")]
        Connection::Mysql(conn) => {
            use mysql::prelude::Queryable;
            let rows: Vec<mysql::Row> = conn.query(sql)?;
            Ok(rows
                .into_iter()
                .map(|row| {
                    Row(row
                        .unwrap()
                        .into_iter()
                        .map(|value| match value {
                            mysql::Value::NULL => None,
                            mysql::Value::Bytes(bytes) => {
                                Some(String::from_utf8_lossy(&bytes).into_owned())
                            }
                            mysql::Value::Int(n) => Some(n.to_string()),
                            mysql::Value::UInt(n) => Some(n.to_string()),
                            other => Some(other.as_sql(true).trim_matches('\'').to_owned()),
                        })
                        .collect())
                })
                .collect())
        }
        #[allow(unreachable_patterns)]
        _ => Err("this backend cannot be read by `terrace import`".into()),
    }
}
