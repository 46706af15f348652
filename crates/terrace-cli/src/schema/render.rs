//! A [`Schema`] as SQL that recreates it, in the order a restore needs: extensions,
//! enum and composite types, sequences, domains and functions, tables (foreign keys
//! inline on SQLite, indexes inline on MySQL), indexes, then elsewhere the foreign keys
//! (after every table and index: MySQL would otherwise make a foreign key's index under
//! the name of one still to come), views, materialized views with their indexes,
//! triggers. The same model
//! always gives the same text: nothing volatile (no date, no database name, no current
//! sequence value).

use super::model::{
    Column, CompositeType, Domain, ForeignKey, Index, IndexKey, Schema, Sequence, Table,
};
use std::fmt::Write;

/// The schema as SQL statements, each ending with `;` and separated by a blank line.
pub fn sql(schema: &Schema) -> String {
    let restore = restore(schema);
    let mut text = format!("-- terrace schema dump ({})\n", schema.backend);
    for statement in restore.before_rows.iter().chain(&restore.after_rows) {
        text.push('\n');
        text.push_str(statement);
        text.push('\n');
    }
    text
}

/// The statements that recreate a schema, split where a copy loads the rows: the
/// extensions, enum and composite types, sequences, domains, functions, tables and
/// indexes before them; the foreign keys, views, materialized views (filled from the
/// rows) and triggers after, so that the rows go in in any order and no trigger fires
/// on them.
#[derive(Debug, Default)]
pub struct Restore {
    /// What the rows go into.
    pub before_rows: Vec<String>,
    /// What checks or reacts to them.
    pub after_rows: Vec<String>,
}

/// The schema's statements, in the order a restore needs.
pub fn restore(schema: &Schema) -> Restore {
    let q = Quoter::for_backend(schema.backend);
    let mut restore = Restore::default();
    let statements = &mut restore.before_rows;
    for extension in &schema.extensions {
        statements.push(format!(
            "CREATE EXTENSION IF NOT EXISTS {} CASCADE;",
            q.id(extension)
        ));
    }
    for e in &schema.enums {
        let labels: Vec<String> = e.labels.iter().map(|l| literal(l)).collect();
        statements.push(format!(
            "CREATE TYPE {} AS ENUM ({});",
            q.id(&e.name),
            labels.join(", ")
        ));
    }
    for c in &schema.composite_types {
        statements.push(composite_type(&q, c));
    }
    for s in &schema.sequences {
        statements.push(sequence(&q, s));
    }
    for d in domains_in_order(&schema.domains) {
        statements.push(domain(&q, d));
    }
    for f in &schema.functions {
        statements.push(stored(&f.sql));
    }
    for table in &schema.tables {
        statements.push(create_table(&q, table));
    }
    for table in &schema.virtual_tables {
        statements.push(stored(&table.sql));
    }
    // MySQL's indexes are part of their table (see `create_table`).
    if q.backend != "mysql" {
        for table in &schema.tables {
            for index in &table.indexes {
                statements.push(create_index(&q, &table.name, index));
            }
        }
    }
    let statements = &mut restore.after_rows;
    if q.backend != "sqlite" {
        for table in &schema.tables {
            for fk in &table.foreign_keys {
                statements.push(format!(
                    "ALTER TABLE {} ADD {};",
                    q.id(&table.name),
                    foreign_key(&q, fk)
                ));
            }
        }
    }
    for view in &schema.views {
        statements.push(stored(&view.sql));
    }
    for view in &schema.materialized_views {
        statements.push(stored(&view.sql));
        for index in &view.indexes {
            statements.push(create_index(&q, &view.name, index));
        }
    }
    for trigger in &schema.triggers {
        statements.push(stored(&trigger.sql));
    }
    restore
}

/// A sequence's `CREATE SEQUENCE`.
pub fn sequence_sql(backend: &'static str, s: &Sequence) -> String {
    sequence(&Quoter::for_backend(backend), s)
}

/// A statement the catalog keeps whole (a function's, view's, trigger's), ending with
/// one `;`.
fn stored(sql: &str) -> String {
    format!("{};", sql.trim_end().trim_end_matches(';'))
}

/// A composite type's `CREATE TYPE … AS (…)`.
pub fn composite_type_sql(backend: &'static str, c: &CompositeType) -> String {
    composite_type(&Quoter::for_backend(backend), c)
}

fn composite_type(q: &Quoter, c: &CompositeType) -> String {
    let attributes: Vec<String> = c
        .attributes
        .iter()
        .map(|a| format!("{} {}", q.id(&a.name), a.data_type))
        .collect();
    format!(
        "CREATE TYPE {} AS ({});",
        q.id(&c.name),
        attributes.join(", ")
    )
}

/// A domain's `CREATE DOMAIN`.
pub fn domain_sql(backend: &'static str, d: &Domain) -> String {
    domain(&Quoter::for_backend(backend), d)
}

/// A foreign key's clause (`CONSTRAINT … FOREIGN KEY … REFERENCES …`).
pub fn foreign_key_sql(backend: &'static str, fk: &ForeignKey) -> String {
    foreign_key(&Quoter::for_backend(backend), fk)
}

/// An index's `CREATE INDEX`.
pub fn index_sql(backend: &'static str, table: &str, index: &Index) -> String {
    create_index(&Quoter::for_backend(backend), table, index)
}

fn sequence(q: &Quoter, s: &Sequence) -> String {
    format!(
        "CREATE SEQUENCE {} AS {} INCREMENT BY {} MINVALUE {} MAXVALUE {} START WITH {} CACHE {}{};",
        q.id(&s.name),
        s.data_type,
        s.increment,
        s.min,
        s.max,
        s.start,
        s.cache,
        if s.cycle { " CYCLE" } else { " NO CYCLE" }
    )
}

/// The domain's `CREATE DOMAIN`; a check not yet validated (`NOT VALID`), which
/// `CREATE DOMAIN` cannot take, follows as `ALTER DOMAIN … ADD`.
fn domain(q: &Quoter, d: &Domain) -> String {
    let mut text = format!("CREATE DOMAIN {} AS {}", q.id(&d.name), d.data_type);
    if let Some(default) = &d.default {
        write!(text, " DEFAULT {default}").expect("writing to a String cannot fail");
    }
    if !d.nullable {
        text.push_str(" NOT NULL");
    }
    let (later, now): (Vec<_>, Vec<_>) = d
        .checks
        .iter()
        .partition(|c| c.definition.ends_with(" NOT VALID"));
    for check in now {
        write!(
            text,
            " {}{}",
            constraint_name(q, Some(&check.name)),
            check.definition
        )
        .expect("writing to a String cannot fail");
    }
    text.push(';');
    for check in later {
        write!(
            text,
            "\n\nALTER DOMAIN {} ADD {}{};",
            q.id(&d.name),
            constraint_name(q, Some(&check.name)),
            check.definition
        )
        .expect("writing to a String cannot fail");
    }
    text
}

/// The domains, each after the domain it is based on (they are kept by name).
fn domains_in_order(domains: &[Domain]) -> Vec<&Domain> {
    let mut ordered: Vec<&Domain> = Vec::with_capacity(domains.len());
    let mut left: Vec<&Domain> = domains.iter().collect();
    while !left.is_empty() {
        let waits = |d: &Domain, left: &[&Domain]| {
            let base = d.data_type.trim_matches('"');
            left.iter().any(|o| o.name != d.name && o.name == base)
        };
        let ready: Vec<&Domain> = left.iter().copied().filter(|d| !waits(d, &left)).collect();
        if ready.is_empty() {
            // A cycle cannot be made; keep the rest by name rather than loop.
            ordered.append(&mut left);
            break;
        }
        left.retain(|d| !ready.iter().any(|r| r.name == d.name));
        ordered.extend(ready);
    }
    ordered
}

/// A table's `CREATE TABLE`, with its primary key, unique and check constraints (and,
/// on SQLite, its foreign keys).
fn create_table(q: &Quoter, table: &Table) -> String {
    // SQLite's AUTOINCREMENT is only allowed on a column declared `PRIMARY KEY`.
    let inline_key = table
        .columns
        .iter()
        .find(|c| c.extra.as_deref() == Some("AUTOINCREMENT"))
        .map(|c| c.name.as_str());
    let mut lines: Vec<String> = table
        .columns
        .iter()
        .map(|c| column(q, c, inline_key == Some(c.name.as_str())))
        .collect();
    if !table.primary_key.is_empty() && inline_key.is_none() {
        lines.push(format!(
            "{}PRIMARY KEY ({})",
            constraint_name(q, table.primary_key_name.as_deref()),
            q.list(&table.primary_key)
        ));
    }
    for unique in &table.uniques {
        lines.push(format!(
            "{}UNIQUE ({})",
            constraint_name(q, unique.name.as_deref()),
            q.list(&unique.columns)
        ));
    }
    for check in &table.checks {
        lines.push(format!(
            "{}{}",
            constraint_name(q, Some(&check.name)),
            check.definition
        ));
    }
    if q.backend == "sqlite" {
        for fk in &table.foreign_keys {
            lines.push(foreign_key(q, fk));
        }
    }
    // On MySQL the indexes are made with the table, as MySQL writes them: an
    // AUTO_INCREMENT column must lead one of the table's keys when it is created.
    if q.backend == "mysql" {
        for index in &table.indexes {
            lines.push(format!(
                "{}KEY {} {}",
                mysql_kind(index),
                q.id(&index.name),
                index_body(q, index)
            ));
        }
    }
    format!(
        "CREATE TABLE {} (\n    {}\n);",
        q.id(&table.name),
        lines.join(",\n    ")
    )
}

fn column(q: &Quoter, c: &Column, inline_key: bool) -> String {
    let mut text = q.id(&c.name);
    if !c.data_type.is_empty() {
        write!(text, " {}", c.data_type).expect("writing to a String cannot fail");
    }
    if inline_key {
        text.push_str(" PRIMARY KEY AUTOINCREMENT");
    }
    // MySQL wants a generated column's expression right after its type, before any
    // other attribute (MariaDB allows none after it but INVISIBLE and the like).
    let generated_first = q.backend == "mysql"
        && c.extra
            .as_deref()
            .is_some_and(|e| e.starts_with("GENERATED ALWAYS AS"));
    if let Some(extra) = c.extra.as_deref().filter(|_| generated_first) {
        write!(text, " {extra}").expect("writing to a String cannot fail");
    }
    if !c.nullable {
        text.push_str(" NOT NULL");
    }
    if let Some(default) = &c.default {
        write!(text, " DEFAULT {default}").expect("writing to a String cannot fail");
    }
    match &c.extra {
        Some(extra) if !inline_key && !generated_first => {
            write!(text, " {extra}").expect("writing to a String cannot fail");
        }
        _ => {}
    }
    text
}

fn constraint_name(q: &Quoter, name: Option<&str>) -> String {
    match name {
        Some(name) if q.backend != "sqlite" => format!("CONSTRAINT {} ", q.id(name)),
        _ => String::new(),
    }
}

fn foreign_key(q: &Quoter, fk: &ForeignKey) -> String {
    let mut text = format!(
        "{}FOREIGN KEY ({}) REFERENCES {}",
        constraint_name(q, fk.name.as_deref()),
        q.list(&fk.columns),
        q.id(&fk.references)
    );
    if !fk.referenced_columns.is_empty() {
        write!(text, " ({})", q.list(&fk.referenced_columns))
            .expect("writing to a String cannot fail");
    }
    for (clause, action) in [("ON UPDATE", &fk.on_update), ("ON DELETE", &fk.on_delete)] {
        if !action.is_empty() && action != "NO ACTION" {
            write!(text, " {clause} {action}").expect("writing to a String cannot fail");
        }
    }
    text
}

fn create_index(q: &Quoter, table: &str, index: &Index) -> String {
    let kind = if q.backend == "mysql" {
        mysql_kind(index)
    } else if index.unique {
        "UNIQUE "
    } else {
        ""
    };
    let mut text = format!(
        "CREATE {kind}INDEX {} ON {}",
        q.id(&index.name),
        q.id(table)
    );
    if q.backend != "mysql"
        && let Some(method) = &index.method
    {
        write!(text, " USING {method}").expect("writing to a String cannot fail");
    }
    write!(text, " {};", index_body(q, index)).expect("writing to a String cannot fail");
    text
}

/// An index's kind on MySQL, where FULLTEXT and SPATIAL are kinds, not methods.
fn mysql_kind(index: &Index) -> &'static str {
    match index.method.as_deref() {
        Some("FULLTEXT") => "FULLTEXT ",
        Some("SPATIAL") => "SPATIAL ",
        _ if index.unique => "UNIQUE ",
        _ => "",
    }
}

/// An index's keys and what follows them: `INCLUDE`, a predicate, and on MySQL a
/// method other than the default (`USING HASH`).
fn index_body(q: &Quoter, index: &Index) -> String {
    let keys: Vec<String> = index.columns.iter().map(|key| index_key(q, key)).collect();
    let mut text = format!("({})", keys.join(", "));
    if q.backend == "mysql"
        && let Some(method) = index
            .method
            .as_deref()
            .filter(|m| !matches!(*m, "FULLTEXT" | "SPATIAL"))
    {
        write!(text, " USING {method}").expect("writing to a String cannot fail");
    }
    if !index.include.is_empty() {
        write!(text, " INCLUDE ({})", q.list(&index.include))
            .expect("writing to a String cannot fail");
    }
    if let Some(predicate) = &index.predicate {
        write!(text, " WHERE {predicate}").expect("writing to a String cannot fail");
    }
    text
}

fn index_key(q: &Quoter, key: &IndexKey) -> String {
    match key {
        IndexKey::Column(name) => q.id(name),
        IndexKey::Prefix { column, length } => format!("{}({length})", q.id(column)),
        IndexKey::Expression(expression) if q.backend != "sqlite" => format!("({expression})"),
        IndexKey::Expression(expression) => expression.clone(),
        IndexKey::Qualified { key, options } => format!("{} {options}", index_key(q, key)),
    }
}

/// A string literal in single quotes.
pub fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// Quotes identifiers the backend's way.
struct Quoter {
    backend: &'static str,
}

impl Quoter {
    fn for_backend(backend: &'static str) -> Self {
        Quoter { backend }
    }

    fn id(&self, name: &str) -> String {
        if self.backend == "mysql" {
            format!("`{}`", name.replace('`', "``"))
        } else {
            format!("\"{}\"", name.replace('"', "\"\""))
        }
    }

    fn list(&self, names: &[String]) -> String {
        names
            .iter()
            .map(|n| self.id(n))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::model::Unique;

    fn users(backend: &'static str) -> Schema {
        Schema {
            backend,
            tables: vec![Table {
                name: "users".into(),
                columns: vec![
                    Column {
                        name: "id".into(),
                        data_type: "INTEGER".into(),
                        nullable: false,
                        ..Column::default()
                    },
                    Column {
                        name: "email".into(),
                        data_type: "TEXT".into(),
                        nullable: true,
                        default: Some("'x'".into()),
                        ..Column::default()
                    },
                ],
                primary_key: vec!["id".into()],
                uniques: vec![Unique {
                    name: Some("users_email_key".into()),
                    columns: vec!["email".into()],
                }],
                indexes: vec![Index {
                    name: "users_by_email".into(),
                    columns: vec![IndexKey::Column("email".into())],
                    unique: false,
                    method: None,
                    include: Vec::new(),
                    predicate: Some("email IS NOT NULL".into()),
                }],
                ..Table::default()
            }],
            ..Schema::default()
        }
    }

    #[test]
    fn a_table_becomes_create_table_and_create_index() {
        assert_eq!(
            sql(&users("postgres")),
            "-- terrace schema dump (postgres)\n\n\
             CREATE TABLE \"users\" (\n    \"id\" INTEGER NOT NULL,\n    \"email\" TEXT DEFAULT 'x',\n    \
             PRIMARY KEY (\"id\"),\n    CONSTRAINT \"users_email_key\" UNIQUE (\"email\")\n);\n\n\
             CREATE INDEX \"users_by_email\" ON \"users\" (\"email\") WHERE email IS NOT NULL;\n"
        );
    }

    #[test]
    fn an_index_key_keeps_what_qualifies_it_and_include_follows_the_key() {
        let index = Index {
            name: "recent".into(),
            columns: vec![
                IndexKey::Qualified {
                    key: Box::new(IndexKey::Column("title".into())),
                    options: "COLLATE \"C\" text_pattern_ops".into(),
                },
                IndexKey::Qualified {
                    key: Box::new(IndexKey::Expression("lower(title)".into())),
                    options: "DESC NULLS LAST".into(),
                },
            ],
            include: vec!["id".into()],
            predicate: Some("id > 0".into()),
            ..Index::default()
        };
        assert_eq!(
            index_sql("postgres", "posts", &index),
            "CREATE INDEX \"recent\" ON \"posts\" (\"title\" COLLATE \"C\" text_pattern_ops, \
             (lower(title)) DESC NULLS LAST) INCLUDE (\"id\") WHERE id > 0;"
        );
    }

    #[test]
    fn mysql_quotes_with_backticks() {
        assert!(sql(&users("mysql")).contains("CREATE TABLE `users`"));
    }
}
