//! The schema model: what `terrace schema dump --format json` prints and what `diff`
//! compares. Every list is kept in one order (`Schema::normalise`), so that the same
//! schema always gives the same model, whatever order the catalog answered in.

use serde::Serialize;

/// A database's schema, Terrace's tracking table left out.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Schema {
    /// `sqlite`, `postgres` or `mysql`.
    pub backend: &'static str,
    /// PostgreSQL extensions installed in the schema, by name.
    pub extensions: Vec<String>,
    /// PostgreSQL enum types.
    pub enums: Vec<EnumType>,
    /// PostgreSQL composite types (`CREATE TYPE … AS (…)`).
    pub composite_types: Vec<CompositeType>,
    /// PostgreSQL domains.
    pub domains: Vec<Domain>,
    /// PostgreSQL sequences (those of identity columns are part of their column).
    pub sequences: Vec<Sequence>,
    /// PostgreSQL functions and procedures.
    pub functions: Vec<Function>,
    /// Tables.
    pub tables: Vec<Table>,
    /// SQLite virtual tables (`CREATE VIRTUAL TABLE … USING fts5(…)`), as SQLite
    /// keeps their statements; the tables their module makes for itself are left out.
    pub virtual_tables: Vec<View>,
    /// Views.
    pub views: Vec<View>,
    /// PostgreSQL materialized views, with their indexes.
    pub materialized_views: Vec<MaterializedView>,
    /// Triggers.
    pub triggers: Vec<Trigger>,
}

/// A table.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Table {
    /// Its name.
    pub name: String,
    /// Its columns, in the table's order.
    pub columns: Vec<Column>,
    /// The primary key's columns (empty without one).
    pub primary_key: Vec<String>,
    /// The primary key constraint's name, where the catalog names it.
    pub primary_key_name: Option<String>,
    /// Foreign keys.
    pub foreign_keys: Vec<ForeignKey>,
    /// Unique constraints (MySQL keeps these as unique indexes).
    pub uniques: Vec<Unique>,
    /// Check constraints (PostgreSQL).
    pub checks: Vec<Check>,
    /// Indexes that are not a constraint's own.
    pub indexes: Vec<Index>,
}

/// A column.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Column {
    /// Its name.
    pub name: String,
    /// Its type, as the catalog normalises it.
    #[serde(rename = "type")]
    pub data_type: String,
    /// Whether it accepts NULL.
    pub nullable: bool,
    /// The default, as an SQL expression.
    pub default: Option<String>,
    /// What else the column declares: `AUTOINCREMENT`, `AUTO_INCREMENT`,
    /// `GENERATED … AS IDENTITY`, `ON UPDATE …`.
    pub extra: Option<String>,
}

/// A foreign key.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ForeignKey {
    /// The constraint's name, where the catalog names it.
    pub name: Option<String>,
    /// The referencing columns.
    pub columns: Vec<String>,
    /// The referenced table.
    pub references: String,
    /// The referenced columns (empty: the referenced table's primary key).
    pub referenced_columns: Vec<String>,
    /// `ON UPDATE` action, upper case (`NO ACTION`, `CASCADE`, …).
    pub on_update: String,
    /// `ON DELETE` action.
    pub on_delete: String,
}

/// A unique constraint.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Unique {
    /// The constraint's name, where the catalog names it.
    pub name: Option<String>,
    /// Its columns.
    pub columns: Vec<String>,
}

/// A check constraint.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Check {
    /// The constraint's name.
    pub name: String,
    /// Its definition as the catalog gives it (`CHECK ((price > 0))`).
    pub definition: String,
}

/// An index.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Index {
    /// Its name.
    pub name: String,
    /// Its key: column names, or expressions as the catalog gives them.
    pub columns: Vec<IndexKey>,
    /// Whether it is unique.
    pub unique: bool,
    /// The access method when not the default (PostgreSQL: `gin`, `hash`, …).
    pub method: Option<String>,
    /// Columns stored in the index but not part of its key (PostgreSQL's `INCLUDE`).
    pub include: Vec<String>,
    /// A partial index's condition.
    pub predicate: Option<String>,
}

/// One key of an index.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum IndexKey {
    /// A column, by name.
    Column(String),
    /// An expression, as SQL text.
    Expression(String),
    /// The first characters of a column (MySQL's `title(20)`).
    Prefix {
        /// The column.
        column: String,
        /// How many characters.
        length: String,
    },
    /// A column or expression with what qualifies it in the index (PostgreSQL: a
    /// collation, an operator class, `DESC`, `NULLS FIRST` or `NULLS LAST`).
    Qualified {
        /// The column or expression.
        key: Box<IndexKey>,
        /// What follows it, as SQL (`COLLATE "C" text_pattern_ops DESC`).
        options: String,
    },
}

/// A view: its whole `CREATE VIEW` statement.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct View {
    /// Its name.
    pub name: String,
    /// The statement that creates it, as the catalog normalises the query.
    pub sql: String,
}

/// A PostgreSQL materialized view: its `CREATE MATERIALIZED VIEW` statement (which
/// fills it) and its indexes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct MaterializedView {
    /// Its name.
    pub name: String,
    /// The statement that creates it, as the catalog normalises the query.
    pub sql: String,
    /// Its indexes.
    pub indexes: Vec<Index>,
}

/// A trigger: its whole `CREATE TRIGGER` statement.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Trigger {
    /// Its name.
    pub name: String,
    /// The table it fires on.
    pub table: String,
    /// The statement that creates it.
    pub sql: String,
}

/// A PostgreSQL sequence, without its current value.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Sequence {
    /// Its name.
    pub name: String,
    /// `smallint`, `integer` or `bigint`.
    pub data_type: String,
    /// Its first value.
    pub start: String,
    /// Its step.
    pub increment: String,
    /// Its smallest value.
    pub min: String,
    /// Its largest value.
    pub max: String,
    /// How many values a session takes at once.
    pub cache: String,
    /// Whether it starts again after its last value.
    pub cycle: bool,
}

/// A PostgreSQL enum type.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct EnumType {
    /// Its name.
    pub name: String,
    /// Its labels, in their order.
    pub labels: Vec<String>,
}

/// A PostgreSQL composite type.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CompositeType {
    /// Its name.
    pub name: String,
    /// Its attributes, in their order.
    pub attributes: Vec<Attribute>,
}

/// An attribute of a composite type.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Attribute {
    /// Its name.
    pub name: String,
    /// Its type, as `format_type` writes it.
    #[serde(rename = "type")]
    pub data_type: String,
}

/// A PostgreSQL domain: a type with a default and constraints of its own.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Domain {
    /// Its name.
    pub name: String,
    /// The type it is based on, as `format_type` writes it.
    #[serde(rename = "type")]
    pub data_type: String,
    /// Whether it accepts NULL.
    pub nullable: bool,
    /// The default, as an SQL expression.
    pub default: Option<String>,
    /// Its check constraints.
    pub checks: Vec<Check>,
}

/// A PostgreSQL function or procedure.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Function {
    /// Its name.
    pub name: String,
    /// Its argument types (overloads differ here).
    pub arguments: String,
    /// `pg_get_functiondef`'s statement.
    pub sql: String,
}

impl Schema {
    /// Puts every list in its one order: objects by name (triggers by table, then
    /// name), a table's constraints by their columns, its indexes by name. Columns and
    /// enum labels keep the database's order, which is part of the schema.
    pub fn normalise(&mut self) {
        self.extensions.sort();
        self.enums.sort_by(|a, b| a.name.cmp(&b.name));
        self.composite_types.sort_by(|a, b| a.name.cmp(&b.name));
        self.domains.sort_by(|a, b| a.name.cmp(&b.name));
        for domain in &mut self.domains {
            domain.checks.sort_by(|a, b| a.name.cmp(&b.name));
        }
        self.sequences.sort_by(|a, b| a.name.cmp(&b.name));
        self.functions
            .sort_by(|a, b| (&a.name, &a.arguments).cmp(&(&b.name, &b.arguments)));
        self.tables.sort_by(|a, b| a.name.cmp(&b.name));
        for table in &mut self.tables {
            table.foreign_keys.sort_by(|a, b| {
                (&a.columns, &a.references, &a.referenced_columns, &a.name).cmp(&(
                    &b.columns,
                    &b.references,
                    &b.referenced_columns,
                    &b.name,
                ))
            });
            table
                .uniques
                .sort_by(|a, b| (&a.columns, &a.name).cmp(&(&b.columns, &b.name)));
            table.checks.sort_by(|a, b| a.name.cmp(&b.name));
            table.indexes.sort_by(|a, b| a.name.cmp(&b.name));
        }
        self.virtual_tables.sort_by(|a, b| a.name.cmp(&b.name));
        self.views.sort_by(|a, b| a.name.cmp(&b.name));
        self.materialized_views.sort_by(|a, b| a.name.cmp(&b.name));
        for view in &mut self.materialized_views {
            view.indexes.sort_by(|a, b| a.name.cmp(&b.name));
        }
        self.triggers
            .sort_by(|a, b| (&a.table, &a.name).cmp(&(&b.table, &b.name)));
    }
}

/// Collapses every run of whitespace outside quotes to one space and trims the ends: a
/// declared type or an expression as SQLite keeps it, written however the migration
/// wrote it. A string literal or quoted name keeps its spaces: they are its value.
pub fn squash_space(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut space = false;
    for (_, c, quoted) in SqlChars::new(text.trim()) {
        if !quoted && c.is_whitespace() {
            space = true;
            continue;
        }
        if space {
            out.push(' ');
            space = false;
        }
        out.push(c);
    }
    out
}

/// Each character of SQL text with its byte offset and whether it belongs to a string
/// or quoted name (`'…'`, `"…"`, `` `…` ``, `[…]`, the quotes included; a doubled quote
/// closes and at once reopens it).
pub struct SqlChars<'a> {
    chars: std::str::CharIndices<'a>,
    quote: Option<char>,
}

impl<'a> SqlChars<'a> {
    /// The characters of `sql`.
    pub fn new(sql: &'a str) -> Self {
        SqlChars {
            chars: sql.char_indices(),
            quote: None,
        }
    }
}

impl Iterator for SqlChars<'_> {
    type Item = (usize, char, bool);

    fn next(&mut self) -> Option<(usize, char, bool)> {
        let (i, c) = self.chars.next()?;
        match self.quote {
            Some(close) => {
                if c == close {
                    self.quote = None;
                }
                Some((i, c, true))
            }
            None => {
                self.quote = match c {
                    '\'' | '"' | '`' => Some(c),
                    '[' => Some(']'),
                    _ => None,
                };
                Some((i, c, self.quote.is_some()))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalising_orders_objects_by_name() {
        let mut schema = Schema {
            tables: vec![
                Table {
                    name: "b".into(),
                    ..Table::default()
                },
                Table {
                    name: "a".into(),
                    ..Table::default()
                },
            ],
            ..Schema::default()
        };
        schema.normalise();
        let names: Vec<_> = schema.tables.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["a", "b"]);
    }

    #[test]
    fn whitespace_is_collapsed() {
        assert_eq!(squash_space("  VARCHAR (\n 20)  "), "VARCHAR ( 20)");
    }

    #[test]
    fn whitespace_inside_quotes_is_kept() {
        assert_eq!(
            squash_space("f( 'a  b',\t\"c  d\" )  ||  'it''s  x'  [e  f]"),
            "f( 'a  b', \"c  d\" ) || 'it''s  x' [e  f]"
        );
    }
}
