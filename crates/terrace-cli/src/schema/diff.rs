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

/// An object's key: its kind and name.
type Key = (&'static str, String);

/// Every object of a schema by (kind, name), in a stable order, with the object it
/// belongs to: a table's (or materialized view's) own objects are listed under it, so
/// that one missing altogether is one difference.
fn objects(schema: &Schema) -> BTreeMap<Key, (Option<Key>, Attributes)> {
    let backend = schema.backend;
    let mut map = BTreeMap::new();
    let mut put = |kind: &'static str, name: String, owner: Option<Key>, attributes| {
        map.insert((kind, name), (owner, attributes));
    };
    for extension in &schema.extensions {
        put("extension", extension.clone(), None, Vec::new());
    }
    for c in &schema.composite_types {
        let sql = render::composite_type_sql(backend, c);
        put("composite type", c.name.clone(), None, definition(sql));
    }
    for d in &schema.domains {
        let sql = render::domain_sql(backend, d);
        put("domain", d.name.clone(), None, definition(sql));
    }
    for e in &schema.enums {
        put(
            "enum",
            e.name.clone(),
            None,
            vec![("labels", Some(e.labels.join(", ")))],
        );
    }
    for s in &schema.sequences {
        let sql = render::sequence_sql(backend, s);
        put("sequence", s.name.clone(), None, definition(sql));
    }
    for f in &schema.functions {
        let name = format!("{}({})", f.name, f.arguments);
        put("function", name, None, definition(f.sql.trim().to_owned()));
    }
    for table in &schema.tables {
        put("table", table.name.clone(), None, Vec::new());
        let t = Some(("table", table.name.clone()));
        for column in &table.columns {
            put(
                "column",
                format!("{}.{}", table.name, column.name),
                t.clone(),
                column_attributes(column),
            );
        }
        put(
            "primary key",
            table.name.clone(),
            t.clone(),
            vec![("columns", Some(table.primary_key.join(", ")))],
        );
        for (kind, name, sql) in table_parts(backend, table) {
            let name = format!("{}.{name}", table.name);
            put(kind, name, t.clone(), definition(sql));
        }
    }
    for (kind, statements) in [
        ("view", &schema.views),
        ("virtual table", &schema.virtual_tables),
    ] {
        for statement in statements {
            let sql = statement.sql.trim().to_owned();
            put(kind, statement.name.clone(), None, definition(sql));
        }
    }
    for view in &schema.materialized_views {
        let sql = view.sql.trim().to_owned();
        put(
            "materialized view",
            view.name.clone(),
            None,
            definition(sql),
        );
        let owner = ("materialized view", view.name.clone());
        for index in &view.indexes {
            let name = format!("{}.{}", view.name, index.name);
            let sql = render::index_sql(backend, &view.name, index);
            put("index", name, Some(owner.clone()), definition(sql));
        }
    }
    for trigger in &schema.triggers {
        let name = format!("{}.{}", trigger.table, trigger.name);
        let owner = ("table", trigger.table.clone());
        let sql = trigger.sql.trim().to_owned();
        put("trigger", name, Some(owner), definition(sql));
    }
    map
}

/// An object whose one attribute is its SQL.
fn definition(sql: String) -> Attributes {
    vec![("definition", Some(sql))]
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
/// what only `this` has. An object of a table (or materialized view) that only one
/// side has is not listed apart from it.
pub fn diff(this: &Schema, other: &Schema) -> Vec<Difference> {
    let ours = objects(this);
    let theirs = objects(other);
    let mut differences = Vec::new();
    let owner_alone = |owner: &Option<Key>, map: &BTreeMap<Key, _>| {
        owner.as_ref().is_some_and(|key| !map.contains_key(key))
    };
    for ((kind, name), (owner, attributes)) in &ours {
        match theirs.get(&(*kind, name.clone())) {
            None if owner_alone(owner, &theirs) => {}
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
    for ((kind, name), (owner, _)) in &theirs {
        if !ours.contains_key(&(*kind, name.clone())) && !owner_alone(owner, &ours) {
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

    #[test]
    fn a_materialized_views_index_is_listed_under_it() {
        use crate::schema::model::{Index, IndexKey, MaterializedView};
        let view = |indexes: &[&str]| MaterializedView {
            name: "counts".into(),
            sql: "CREATE MATERIALIZED VIEW \"counts\" AS\n SELECT 1 AS n".into(),
            indexes: indexes
                .iter()
                .map(|name| Index {
                    name: (*name).into(),
                    columns: vec![IndexKey::Column("n".into())],
                    ..Index::default()
                })
                .collect(),
        };
        let with = |indexes: &[&str]| Schema {
            backend: "postgres",
            materialized_views: vec![view(indexes)],
            ..Schema::default()
        };
        let found = diff(&with(&["counts_by_n"]), &with(&[]));
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(
            (found[0].kind, found[0].name.as_str(), found[0].change),
            ("index", "counts.counts_by_n", "extra")
        );
        // Without the view on the other side, only the view is named.
        let empty = Schema {
            backend: "postgres",
            ..Schema::default()
        };
        let found = diff(&with(&["counts_by_n"]), &empty);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(
            (found[0].kind, found[0].change),
            ("materialized view", "extra")
        );
    }
}
