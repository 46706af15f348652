//! Two schemas compared, object by object: what one has that the other lacks, and
//! what differs in an object both have (a column's type, nullability or default, an
//! index's columns, a view's query). Pure: it compares two models.

use super::model::{Column, Schema, Table};
use super::render;
use serde::Serialize;
use std::collections::BTreeMap;

/// One difference between the two schemas.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Difference {
    /// What kind of object: `table`, `column`, `index`, `view`, …
    pub kind: &'static str,
    /// Its name (`table.column` for what belongs to a table).
    pub name: String,
    /// `missing` (only in the other schema), `extra` (only in this one) or `changed`.
    pub change: &'static str,
    /// For `changed`: each attribute that differs.
    pub details: Vec<Detail>,
}

/// An attribute that differs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Detail {
    /// Which attribute (`type`, `nullable`, `default`, `definition`).
    pub attribute: &'static str,
    /// Its value in this schema (`None`: not set, such as no default).
    pub this: Option<String>,
    /// Its value in the other.
    pub other: Option<String>,
}

/// An object reduced to named attributes, each as text.
type Attributes = Vec<(&'static str, Option<String>)>;

/// Every object of a schema by (kind, name), in a stable order. A table's own
/// objects are listed under it, so that a table missing altogether is one difference.
fn objects(schema: &Schema) -> BTreeMap<(&'static str, String), (Option<String>, Attributes)> {
    let mut map = BTreeMap::new();
    let mut put = |kind: &'static str, name: String, table: Option<&str>, attributes| {
        map.insert((kind, name), (table.map(str::to_owned), attributes));
    };
    for e in &schema.enums {
        put(
            "enum",
            e.name.clone(),
            None,
            vec![("labels", Some(e.labels.join(", ")))],
        );
    }
    for s in &schema.sequences {
        put(
            "sequence",
            s.name.clone(),
            None,
            vec![("definition", Some(render::sequence_sql(schema.backend, s)))],
        );
    }
    for f in &schema.functions {
        put(
            "function",
            format!("{}({})", f.name, f.arguments),
            None,
            vec![("definition", Some(f.sql.trim().to_owned()))],
        );
    }
    for table in &schema.tables {
        put("table", table.name.clone(), None, Vec::new());
        let t = Some(table.name.as_str());
        for column in &table.columns {
            put(
                "column",
                format!("{}.{}", table.name, column.name),
                t,
                column_attributes(column),
            );
        }
        put(
            "primary key",
            table.name.clone(),
            t,
            vec![("columns", Some(table.primary_key.join(", ")))],
        );
        for (kind, name, definition) in table_parts(schema.backend, table) {
            put(
                kind,
                format!("{}.{name}", table.name),
                t,
                vec![("definition", Some(definition))],
            );
        }
    }
    for view in &schema.views {
        put(
            "view",
            view.name.clone(),
            None,
            vec![("definition", Some(view.sql.trim().to_owned()))],
        );
    }
    for trigger in &schema.triggers {
        put(
            "trigger",
            format!("{}.{}", trigger.table, trigger.name),
            Some(trigger.table.as_str()),
            vec![("definition", Some(trigger.sql.trim().to_owned()))],
        );
    }
    map
}

fn column_attributes(column: &Column) -> Attributes {
    vec![
        ("type", Some(column.data_type.clone())),
        ("nullable", Some(column.nullable.to_string())),
        ("default", column.default.clone()),
        ("extra", column.extra.clone()),
    ]
}

/// A table's constraints and indexes as (kind, name, definition). Unnamed ones
/// (SQLite) are named by their columns.
fn table_parts(backend: &'static str, table: &Table) -> Vec<(&'static str, String, String)> {
    let mut parts = Vec::new();
    for fk in &table.foreign_keys {
        let name = fk.name.clone().unwrap_or_else(|| fk.columns.join(","));
        parts.push(("foreign key", name, render::foreign_key_sql(backend, fk)));
    }
    for unique in &table.uniques {
        let name = unique
            .name
            .clone()
            .unwrap_or_else(|| unique.columns.join(","));
        parts.push(("unique", name, unique.columns.join(", ")));
    }
    for check in &table.checks {
        parts.push(("check", check.name.clone(), check.definition.clone()));
    }
    for index in &table.indexes {
        parts.push((
            "index",
            index.name.clone(),
            render::index_sql(backend, &table.name, index),
        ));
    }
    parts
}

/// The differences of `this` from `other`: `missing` what only `other` has, `extra`
/// what only `this` has. An object of a table that only one side has is not listed
/// apart from its table.
pub fn diff(this: &Schema, other: &Schema) -> Vec<Difference> {
    let ours = objects(this);
    let theirs = objects(other);
    let mut differences = Vec::new();
    let table_alone = |table: &Option<String>, map: &BTreeMap<_, _>| {
        table
            .as_ref()
            .is_some_and(|t| !map.contains_key(&("table", t.clone())))
    };
    for ((kind, name), (table, attributes)) in &ours {
        match theirs.get(&(*kind, name.clone())) {
            None if table_alone(table, &theirs) => {}
            None => differences.push(Difference {
                kind,
                name: name.clone(),
                change: "extra",
                details: Vec::new(),
            }),
            Some((_, other_attributes)) => {
                let details: Vec<Detail> = attributes
                    .iter()
                    .zip(other_attributes)
                    .filter(|((_, a), (_, b))| a != b)
                    .map(|((attribute, a), (_, b))| Detail {
                        attribute,
                        this: a.clone(),
                        other: b.clone(),
                    })
                    .collect();
                if !details.is_empty() {
                    differences.push(Difference {
                        kind,
                        name: name.clone(),
                        change: "changed",
                        details,
                    });
                }
            }
        }
    }
    for ((kind, name), (table, _)) in &theirs {
        if !ours.contains_key(&(*kind, name.clone())) && !table_alone(table, &ours) {
            differences.push(Difference {
                kind,
                name: name.clone(),
                change: "missing",
                details: Vec::new(),
            });
        }
    }
    differences
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema(columns: &[(&str, &str)]) -> Schema {
        Schema {
            backend: "sqlite",
            tables: vec![Table {
                name: "users".into(),
                columns: columns
                    .iter()
                    .map(|(name, data_type)| Column {
                        name: (*name).into(),
                        data_type: (*data_type).into(),
                        nullable: true,
                        ..Column::default()
                    })
                    .collect(),
                ..Table::default()
            }],
            ..Schema::default()
        }
    }

    #[test]
    fn the_same_schema_has_no_differences() {
        let a = schema(&[("id", "INTEGER")]);
        assert_eq!(diff(&a, &a), []);
    }

    #[test]
    fn an_added_column_is_extra_and_a_changed_type_is_named() {
        let live = schema(&[("id", "TEXT"), ("note", "TEXT")]);
        let built = schema(&[("id", "INTEGER")]);
        let found = diff(&live, &built);
        assert_eq!(found.len(), 2, "{found:?}");
        assert_eq!(
            (found[0].name.as_str(), found[0].change),
            ("users.id", "changed")
        );
        assert_eq!(found[0].details[0].attribute, "type");
        assert_eq!(
            (found[1].name.as_str(), found[1].change),
            ("users.note", "extra")
        );
    }

    #[test]
    fn a_missing_table_is_one_difference() {
        let empty = Schema {
            backend: "sqlite",
            ..Schema::default()
        };
        let found = diff(&empty, &schema(&[("id", "INTEGER")]));
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!((found[0].kind, found[0].change), ("table", "missing"));
    }
}
