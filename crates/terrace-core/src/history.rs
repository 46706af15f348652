//! The tracking table: its name, its rows, and what a found table is.
//!
//! [`classify`] decides from a table's columns alone whether it is Terrace's (perhaps an
//! older shape, such as the origin's three columns), belongs to another tool, or is
//! unknown. It does no I/O.

use crate::error::Error;
use std::borrow::Cow;
use std::fmt;

/// The name of the tracking table, validated: an identifier of ASCII letters, digits
/// and `_` (not starting with a digit), optionally qualified by a schema (`audit.schema_migrations`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableName(Cow<'static, str>);

impl TableName {
    /// `schema_migrations`.
    pub const DEFAULT: TableName = TableName(Cow::Borrowed("schema_migrations"));

    /// Validates a table name.
    pub fn parse(name: &str) -> Result<Self, Error> {
        let valid_part = |part: &str| {
            !part.is_empty()
                && part.len() <= 63
                && !part.as_bytes()[0].is_ascii_digit()
                && part.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        };
        let valid = match name.split_once('.') {
            Some((schema, table)) => valid_part(schema) && valid_part(table),
            None => valid_part(name),
        };
        if valid {
            Ok(TableName(Cow::Owned(name.to_owned())))
        } else {
            Err(Error::InvalidTableName {
                name: name.to_owned(),
            })
        }
    }

    /// The schema part, if the name is qualified.
    pub fn schema(&self) -> Option<&str> {
        self.0.split_once('.').map(|(schema, _)| schema)
    }

    /// The table part.
    pub fn table(&self) -> &str {
        self.0.split_once('.').map_or(&self.0, |(_, table)| table)
    }

    /// The name as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TableName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Where a history row stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowState {
    /// The migration completed.
    Applied,
    /// The migration's up started outside a transaction and never completed.
    Started,
    /// The migration's down started outside a transaction and never completed.
    Reverting,
}

impl RowState {
    /// The value stored in the `state` column.
    pub fn as_str(self) -> &'static str {
        match self {
            RowState::Applied => "applied",
            RowState::Started => "started",
            RowState::Reverting => "reverting",
        }
    }

    /// Reads a stored value; anything unknown counts as an interrupted up. For the
    /// backends.
    #[doc(hidden)]
    pub fn parse(value: &str) -> Self {
        match value {
            "applied" => RowState::Applied,
            "reverting" => RowState::Reverting,
            _ => RowState::Started,
        }
    }

    /// Reads the `state` column as every backend does: `NULL` (a hand-made row, or a
    /// table whose column allows it) counts as applied, like a row of a table without
    /// the column; any other value as [`parse`](RowState::parse) reads it. For the
    /// backends.
    #[doc(hidden)]
    pub fn from_column(value: Option<&str>) -> Self {
        value.map_or(RowState::Applied, RowState::parse)
    }
}

/// A history row's columns as a backend read them, before they are checked.
#[derive(Debug, Clone, Default)]
pub struct StoredRow {
    /// `version`.
    pub version: Option<i64>,
    /// `name`.
    pub name: Option<String>,
    /// `applied_at`, as text.
    pub applied_at: Option<String>,
    /// `checksum`.
    pub checksum: Option<String>,
    /// `execution_ms`.
    pub execution_ms: Option<i64>,
    /// `state`.
    pub state: Option<String>,
    /// `cumulative_checksum`.
    pub cumulative_checksum: Option<String>,
}

impl StoredRow {
    /// The row, read the same way on every backend: a `NULL` state counts as applied
    /// ([`RowState::from_column`]); a row without a version or a name, which no
    /// migration could have written, is an error naming it and the table.
    pub fn into_row(self, table: &TableName) -> Result<HistoryRow, String> {
        let version = stored_version(table, self.version)?;
        let Some(name) = self.name else {
            return Err(format!(
                "the row of version {version} in table {table} has no name (NULL): \
                 set it to the name of migration {version}"
            ));
        };
        Ok(HistoryRow {
            version,
            name,
            applied_at: self.applied_at,
            checksum: self.checksum,
            execution_ms: self.execution_ms,
            state: RowState::from_column(self.state.as_deref()),
            cumulative_checksum: self.cumulative_checksum,
        })
    }
}

/// A stored version, which must be present and not negative.
pub fn stored_version(table: &TableName, version: Option<i64>) -> Result<u64, String> {
    match version {
        None => Err(format!("a row of table {table} has no version (NULL)")),
        Some(v) => u64::try_from(v)
            .map_err(|_| format!("a row of table {table} has the negative version {v}")),
    }
}

/// One row of the tracking table: a migration that was applied, or one whose run
/// started and did not finish ([`state`](HistoryRow::state) says which). Only Terrace
/// makes one, so that a later column can be added to it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct HistoryRow {
    /// The migration's version.
    pub version: u64,
    /// The name it was applied under.
    pub name: String,
    /// When it was applied, as the database wrote it.
    pub applied_at: Option<String>,
    /// Its checksum when applied; `None` for rows adopted from the origin's table.
    pub checksum: Option<String>,
    /// How long it ran, in milliseconds; `None` when not measured (baseline, adopted).
    pub execution_ms: Option<i64>,
    /// Whether it completed.
    pub state: RowState,
    /// Its cumulative checksum; `None` for rows written before the column existed.
    pub cumulative_checksum: Option<String>,
}

/// A column Terrace adds to the origin's three.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExtraColumn {
    /// `checksum`: the up text's checksum.
    Checksum,
    /// `execution_ms`: how long the migration ran.
    ExecutionMs,
    /// `state`: applied, or interrupted (started / reverting).
    State,
    /// `cumulative_checksum`: this row's checksum chained with every earlier row's
    /// (see [`terrace_format::cumulative_checksum`]).
    Cumulative,
}

impl ExtraColumn {
    /// Every extra column, in the order they are added.
    pub const ALL: [ExtraColumn; 4] = [
        ExtraColumn::Checksum,
        ExtraColumn::ExecutionMs,
        ExtraColumn::State,
        ExtraColumn::Cumulative,
    ];

    /// The column's name.
    pub fn name(self) -> &'static str {
        match self {
            ExtraColumn::Checksum => "checksum",
            ExtraColumn::ExecutionMs => "execution_ms",
            ExtraColumn::State => "state",
            ExtraColumn::Cumulative => "cumulative_checksum",
        }
    }
}

/// What a table found under the tracking table's name is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TableShape {
    /// No such table.
    Absent,
    /// Terrace's table, possibly an older shape lacking some columns (the origin's
    /// three-column table lacks all of them).
    Terrace {
        /// Columns to add before the table is written.
        missing: Vec<ExtraColumn>,
    },
    /// Another tool's table.
    Foreign {
        /// The tool it looks like.
        tool: &'static str,
        /// Its columns, as found.
        columns: Vec<String>,
    },
    /// A table Terrace does not recognise.
    Unknown {
        /// Its columns, as found.
        columns: Vec<String>,
    },
}

/// Decides what a table is from its column names (any case). `None` means there is
/// no table.
pub fn classify(columns: Option<&[String]>) -> TableShape {
    let Some(columns) = columns else {
        return TableShape::Absent;
    };
    let has = |name: &str| columns.iter().any(|c| c.eq_ignore_ascii_case(name));
    let foreign = |tool| TableShape::Foreign {
        tool,
        columns: columns.to_vec(),
    };
    if has("version") && has("name") && has("applied_at") {
        let missing = ExtraColumn::ALL
            .into_iter()
            .filter(|c| !has(c.name()))
            .collect();
        return TableShape::Terrace { missing };
    }
    if has("version") && has("dirty") {
        foreign("golang-migrate")
    } else if has("installed_rank") && has("script") {
        foreign("Flyway")
    } else if has("description") && has("installed_on") && has("success") {
        foreign("sqlx")
    } else if has("version") && has("name") && has("applied_on") {
        foreign("refinery")
    } else if has("version") && has("run_on") {
        foreign("diesel")
    } else if has("version") && columns.len() == 1 {
        foreign("Rails or dbmate")
    } else {
        TableShape::Unknown {
            columns: columns.to_vec(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(columns: &[&str]) -> TableShape {
        let columns: Vec<String> = columns.iter().map(|c| c.to_string()).collect();
        classify(Some(&columns))
    }

    #[test]
    fn terrace_shapes() {
        assert_eq!(classify(None), TableShape::Absent);
        assert_eq!(
            shape(&["version", "name", "applied_at"]),
            TableShape::Terrace {
                missing: ExtraColumn::ALL.to_vec()
            }
        );
        assert_eq!(
            shape(&[
                "VERSION",
                "Name",
                "applied_at",
                "checksum",
                "execution_ms",
                "state",
                "cumulative_checksum"
            ]),
            TableShape::Terrace { missing: vec![] }
        );
        assert_eq!(
            shape(&["version", "name", "applied_at", "checksum"]),
            TableShape::Terrace {
                missing: vec![
                    ExtraColumn::ExecutionMs,
                    ExtraColumn::State,
                    ExtraColumn::Cumulative
                ]
            }
        );
    }

    #[test]
    fn other_tools() {
        let tool = |cols: &[&str]| match shape(cols) {
            TableShape::Foreign { tool, .. } => tool,
            other => panic!("{other:?}"),
        };
        assert_eq!(tool(&["version", "dirty"]), "golang-migrate");
        assert_eq!(tool(&["version"]), "Rails or dbmate");
        assert_eq!(
            tool(&["version", "name", "applied_on", "checksum"]),
            "refinery"
        );
        assert_eq!(
            tool(&[
                "version",
                "description",
                "installed_on",
                "success",
                "checksum",
                "execution_time"
            ]),
            "sqlx"
        );
        assert_eq!(tool(&["version", "run_on"]), "diesel");
        assert!(matches!(
            shape(&["id", "title"]),
            TableShape::Unknown { .. }
        ));
    }

    #[test]
    fn stored_rows_are_read_the_same_everywhere() {
        let table = TableName::DEFAULT;
        let stored = |version, name: Option<&str>, state: Option<&str>| StoredRow {
            version,
            name: name.map(str::to_owned),
            applied_at: None,
            checksum: None,
            execution_ms: None,
            state: state.map(str::to_owned),
            cumulative_checksum: None,
        };
        let read = stored(Some(1), Some("a"), None).into_row(&table).unwrap();
        assert_eq!(read.state, RowState::Applied, "NULL state: applied");
        let read = stored(Some(1), Some("a"), Some("reverting"))
            .into_row(&table)
            .unwrap();
        assert_eq!(read.state, RowState::Reverting);
        let err = stored(Some(3), None, None).into_row(&table).unwrap_err();
        assert!(
            err.contains("version 3") && err.contains("table schema_migrations"),
            "{err}"
        );
        assert!(stored(None, Some("a"), None).into_row(&table).is_err());
        assert!(stored(Some(-1), Some("a"), None).into_row(&table).is_err());
    }

    #[test]
    fn table_names() {
        assert!(TableName::parse("schema_migrations").is_ok());
        let qualified = TableName::parse("audit.history").unwrap();
        assert_eq!(
            (qualified.schema(), qualified.table()),
            (Some("audit"), "history")
        );
        for bad in ["", "1abc", "a-b", "a.b.c", "a;drop", "\"x\"", ".x", "x."] {
            assert!(TableName::parse(bad).is_err(), "{bad}");
        }
    }
}
