//! PostgreSQL: the current schema (`current_schema()`) from `pg_catalog`, with the
//! server's own renderings (`format_type`, `pg_get_expr`, `pg_get_constraintdef`,
//! `pg_get_indexdef`, `pg_get_viewdef`, `pg_get_triggerdef`, `pg_get_functiondef`),
//! so that the text is the server's normal form however the migration wrote it.

use super::{Query, is_terrace_table, unpack};
use crate::schema::model::{
    Attribute, Check, Column, CompositeType, Domain, EnumType, ForeignKey, Function, Index,
    IndexKey, MaterializedView, Schema, Sequence, Table, Trigger, Unique, View,
};

/// Only the current schema's objects.
const IN_SCHEMA: &str = "n.nspname = current_schema()";

/// None an extension owns (PostGIS's `spatial_ref_sys`, say): `CREATE EXTENSION` makes
/// them, and a copy or a dump that made them again would fail.
fn not_extensions(oid: &str) -> String {
    format!("NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = {oid} AND d.deptype = 'e')")
}

/// The name of catalog row `row` (of `pg_collation` or `pg_opclass`: `kind` is
/// `collation` or `opclass`), quoted, and qualified by its schema (`namespace`, a
/// `pg_namespace` row) where the search path does not find it.
fn qualified_name(kind: &str, row: &str, namespace: &str) -> String {
    let name = if kind == "collation" {
        "collname"
    } else {
        "opcname"
    };
    format!(
        "CASE WHEN pg_{kind}_is_visible({row}.oid) THEN '' \
         ELSE quote_ident({namespace}.nspname) || '.' END || quote_ident({row}.{name})"
    )
}

pub(super) fn read(query: &mut Query<'_>, excluded: &str) -> Result<Schema, terrace::BoxError> {
    // A tracking table in another schema is not among the current schema's tables.
    let current = query("SELECT current_schema()::text")?;
    let current = current.first().map(|row| row.text(0));
    let excluded = match excluded.rsplit_once('.') {
        Some((schema, table)) if Some(schema) == current => table,
        Some(_) => "",
        None => excluded,
    };
    let mut schema = Schema {
        backend: "postgres",
        ..Schema::default()
    };
    // Extensions whose objects are in this schema (plpgsql's are in pg_catalog).
    for row in query(
        "SELECT e.extname::text FROM pg_extension e \
         JOIN pg_namespace n ON n.oid = e.extnamespace WHERE n.nspname = current_schema()",
    )? {
        schema.extensions.push(row.text(0).to_owned());
    }
    for row in query(&format!(
        "SELECT t.typname::text, string_agg(e.enumlabel::text, chr(31) ORDER BY e.enumsortorder) \
         FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid \
         JOIN pg_namespace n ON n.oid = t.typnamespace WHERE {IN_SCHEMA} AND {} \
         GROUP BY t.typname",
        not_extensions("t.oid")
    ))? {
        schema.enums.push(EnumType {
            name: row.text(0).to_owned(),
            labels: unpack(row.get(1)),
        });
    }
    // Standalone composite types: a table's row type is its table.
    for row in query(&format!(
        "SELECT t.typname::text, a.attname::text, format_type(a.atttypid, a.atttypmod) \
         FROM pg_type t JOIN pg_class c ON c.oid = t.typrelid AND c.relkind = 'c' \
         JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped \
         JOIN pg_namespace n ON n.oid = t.typnamespace WHERE {IN_SCHEMA} AND {} \
         ORDER BY t.typname, a.attnum",
        not_extensions("t.oid")
    ))? {
        let attribute = Attribute {
            name: row.text(1).to_owned(),
            data_type: row.text(2).to_owned(),
        };
        match schema.composite_types.last_mut() {
            Some(last) if last.name == row.text(0) => last.attributes.push(attribute),
            _ => schema.composite_types.push(CompositeType {
                name: row.text(0).to_owned(),
                attributes: vec![attribute],
            }),
        }
    }
    domains(query, &mut schema)?;
    // Identity columns' sequences belong to their column.
    for row in query(&format!(
        "SELECT c.relname::text, format_type(s.seqtypid, NULL), s.seqstart::text, \
         s.seqincrement::text, s.seqmin::text, s.seqmax::text, s.seqcache::text, s.seqcycle::text \
         FROM pg_sequence s JOIN pg_class c ON c.oid = s.seqrelid \
         JOIN pg_namespace n ON n.oid = c.relnamespace WHERE {IN_SCHEMA} \
         AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.deptype = 'i') \
         AND {}",
        not_extensions("c.oid")
    ))? {
        schema.sequences.push(Sequence {
            name: row.text(0).to_owned(),
            data_type: row.text(1).to_owned(),
            start: row.text(2).to_owned(),
            increment: row.text(3).to_owned(),
            min: row.text(4).to_owned(),
            max: row.text(5).to_owned(),
            cache: row.text(6).to_owned(),
            cycle: row.text(7) == "true",
        });
    }
    for row in query(&format!(
        "SELECT p.proname::text, pg_get_function_identity_arguments(p.oid), pg_get_functiondef(p.oid) \
         FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace \
         WHERE {IN_SCHEMA} AND p.prokind IN ('f', 'p') AND {}",
        not_extensions("p.oid")
    ))? {
        schema.functions.push(Function {
            name: row.text(0).to_owned(),
            arguments: row.text(1).to_owned(),
            sql: row.text(2).trim().to_owned(),
        });
    }
    // Before the tables: the tables' pass reads every index, these views' among them.
    for (name, sql) in view_statements(query, 'm', "CREATE MATERIALIZED VIEW")? {
        schema.materialized_views.push(MaterializedView {
            name,
            sql,
            indexes: Vec::new(),
        });
    }
    tables(query, excluded, &mut schema)?;
    for (name, sql) in view_statements(query, 'v', "CREATE VIEW")? {
        schema.views.push(View { name, sql });
    }
    for row in query(&format!(
        "SELECT t.tgname::text, c.relname::text, pg_get_triggerdef(t.oid, true) FROM pg_trigger t \
         JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE {IN_SCHEMA} AND NOT t.tgisinternal AND {}",
        not_extensions("c.oid")
    ))? {
        if !is_terrace_table(row.text(1), excluded) {
            schema.triggers.push(Trigger {
                name: row.text(0).to_owned(),
                table: row.text(1).to_owned(),
                sql: row.text(2).to_owned(),
            });
        }
    }
    Ok(schema)
}

/// The name and `create` statement of each view of `relkind` (`v` plain, `m`
/// materialized), with the server's rendering of its query.
fn view_statements(
    query: &mut Query<'_>,
    relkind: char,
    create: &str,
) -> Result<Vec<(String, String)>, terrace::BoxError> {
    let rows = query(&format!(
        "SELECT c.relname::text, pg_get_viewdef(c.oid, true) FROM pg_class c \
         JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE {IN_SCHEMA} AND c.relkind = '{relkind}' AND {}",
        not_extensions("c.oid")
    ))?;
    Ok(rows
        .iter()
        .map(|row| {
            let name = row.text(0);
            let sql = format!(
                "{create} \"{}\" AS\n{}",
                name.replace('"', "\"\""),
                row.text(1).trim_end().trim_end_matches(';')
            );
            (name.to_owned(), sql)
        })
        .collect())
}

fn tables(
    query: &mut Query<'_>,
    excluded: &str,
    schema: &mut Schema,
) -> Result<(), terrace::BoxError> {
    for row in query(&format!(
        "SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE {IN_SCHEMA} AND c.relkind IN ('r', 'p') AND {} ORDER BY 1",
        not_extensions("c.oid")
    ))? {
        if !is_terrace_table(row.text(0), excluded) {
            schema.tables.push(Table {
                name: row.text(0).to_owned(),
                ..Table::default()
            });
        }
    }
    let columns = query(&format!(
        "SELECT c.relname::text, a.attname::text, format_type(a.atttypid, a.atttypmod) || \
         coalesce((SELECT ' COLLATE ' || {} \
           FROM pg_collation co JOIN pg_namespace cn ON cn.oid = co.collnamespace \
           JOIN pg_type ty ON ty.oid = a.atttypid \
           WHERE co.oid = a.attcollation AND co.oid <> ty.typcollation), ''), \
         (NOT a.attnotnull)::text, pg_get_expr(d.adbin, d.adrelid, true), a.attidentity::text, \
         a.attgenerated::text \
         FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid \
         JOIN pg_namespace n ON n.oid = c.relnamespace \
         LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum \
         WHERE {IN_SCHEMA} AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped \
         ORDER BY c.relname, a.attnum",
        qualified_name("collation", "co", "cn")
    ))?;
    for row in &columns {
        let Some(t) = find(&schema.tables, row.text(0)) else {
            continue;
        };
        let (mut default, mut extra) = (row.get(4).map(str::to_owned), None);
        match (row.text(5), row.text(6)) {
            ("a", _) => extra = Some("GENERATED ALWAYS AS IDENTITY".to_owned()),
            ("d", _) => extra = Some("GENERATED BY DEFAULT AS IDENTITY".to_owned()),
            (_, "s") => {
                extra = default
                    .take()
                    .map(|e| format!("GENERATED ALWAYS AS ({e}) STORED"));
            }
            _ => {}
        }
        schema.tables[t].columns.push(Column {
            name: row.text(1).to_owned(),
            data_type: row.text(2).to_owned(),
            nullable: row.text(3) == "true",
            default,
            extra,
        });
    }
    let columns_of = |array: &str, table: &str| {
        format!(
            "(SELECT string_agg(a.attname::text, chr(31) ORDER BY u.ord) \
             FROM unnest(k.{array}) WITH ORDINALITY u(num, ord) \
             JOIN pg_attribute a ON a.attrelid = k.{table} AND a.attnum = u.num)"
        )
    };
    let constraints = query(&format!(
        "SELECT c.relname::text, k.conname::text, k.contype::text, {}, f.relname::text, {}, \
         k.confupdtype::text, k.confdeltype::text, pg_get_constraintdef(k.oid, true) \
         FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid \
         JOIN pg_namespace n ON n.oid = c.relnamespace LEFT JOIN pg_class f ON f.oid = k.confrelid \
         WHERE {IN_SCHEMA} AND k.contype IN ('p', 'f', 'u', 'c')",
        columns_of("conkey", "conrelid"),
        columns_of("confkey", "confrelid"),
    ))?;
    for row in &constraints {
        let Some(t) = find(&schema.tables, row.text(0)) else {
            continue;
        };
        let table = &mut schema.tables[t];
        let name = row.text(1).to_owned();
        match row.text(2) {
            "p" => {
                table.primary_key = unpack(row.get(3));
                table.primary_key_name = Some(name);
            }
            "f" => table.foreign_keys.push(ForeignKey {
                name: Some(name),
                columns: unpack(row.get(3)),
                references: row.text(4).to_owned(),
                referenced_columns: unpack(row.get(5)),
                on_update: action(row.text(6)),
                on_delete: action(row.text(7)),
            }),
            "u" => table.uniques.push(Unique {
                name: Some(name),
                columns: unpack(row.get(3)),
            }),
            _ => table.checks.push(Check {
                name,
                definition: row.text(8).to_owned(),
            }),
        }
    }
    // Indexes that are not a primary key's, a unique constraint's or an exclusion's.
    // `pg_get_indexdef` of one column gives the column or expression alone: what
    // qualifies it (a collation other than the column's, an operator class other than
    // the default for the key's type, the order) is read apart, key by key; the keys
    // past `indnkeyatts` are `INCLUDE` columns. The default class is found as the
    // server finds it: for the key's type (a domain, up to two deep, taken down to its
    // base type), the default class of that type, or, when it has none, the default
    // class of a type it converts to without a function (`varchar` to `text`) or of a
    // polymorphic type (`anyarray`, `anyenum`). (Joins, not a subquery per key: the
    // planner's guess of a thousand keys an index would cost enough to compile the
    // query, a second each time.)
    let indexes = query(&format!(
        "SELECT t.relname::text, i.relname::text, x.indisunique::text, am.amname::text, \
         keys.defs, pg_get_expr(x.indpred, x.indrelid, true), keys.expressions, keys.options, \
         keys.include \
         FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid \
         JOIN pg_class t ON t.oid = x.indrelid JOIN pg_namespace n ON n.oid = t.relnamespace \
         JOIN pg_am am ON am.oid = i.relam \
         CROSS JOIN LATERAL (SELECT \
           string_agg(pg_get_indexdef(x.indexrelid, u.k::int, true), chr(31) ORDER BY u.k) \
             FILTER (WHERE u.k <= x.indnkeyatts) AS defs, \
           string_agg(u.k::text, chr(31) ORDER BY u.k) \
             FILTER (WHERE u.k <= x.indnkeyatts AND u.attnum = 0) AS expressions, \
           string_agg(concat_ws(' ', \
               'COLLATE ' || {collation}, \
               CASE WHEN NOT (oc.opcdefault AND (oc.opcintype = kt.oid OR (NOT EXISTS ( \
                   SELECT 1 FROM pg_opclass d WHERE d.opcmethod = oc.opcmethod AND d.opcdefault \
                   AND d.opcintype = kt.oid) AND (EXISTS (SELECT 1 FROM pg_cast c \
                   WHERE c.castsource = kt.oid AND c.casttarget = oc.opcintype \
                   AND c.castmethod = 'b') OR (SELECT p.typtype FROM pg_type p \
                   WHERE p.oid = oc.opcintype) = 'p')))) \
                 THEN {opclass} END, \
               CASE WHEN x.indoption[(u.k - 1)::int]::int & 1 = 1 THEN 'DESC' END, \
               CASE x.indoption[(u.k - 1)::int]::int & 3 \
                 WHEN 1 THEN 'NULLS LAST' WHEN 2 THEN 'NULLS FIRST' END), \
             chr(31) ORDER BY u.k) FILTER (WHERE u.k <= x.indnkeyatts) AS options, \
           string_agg(pg_get_indexdef(x.indexrelid, u.k::int, true), chr(31) ORDER BY u.k) \
             FILTER (WHERE u.k > x.indnkeyatts) AS include \
           FROM unnest(x.indkey::int2[]) WITH ORDINALITY u(attnum, k) \
           LEFT JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = u.attnum \
           LEFT JOIN pg_attribute ia ON ia.attrelid = x.indexrelid AND ia.attnum = u.k \
           LEFT JOIN pg_opclass oc ON oc.oid = x.indclass[(u.k - 1)::int] \
           LEFT JOIN pg_namespace ocn ON ocn.oid = oc.opcnamespace \
           LEFT JOIN pg_type t1 ON t1.oid = CASE WHEN u.attnum <> 0 THEN a.atttypid \
             WHEN oc.opckeytype <> 0 THEN oc.opcintype ELSE ia.atttypid END \
           LEFT JOIN pg_type t2 ON t2.oid = t1.typbasetype \
           LEFT JOIN pg_type t3 ON t3.oid = t2.typbasetype \
           CROSS JOIN LATERAL (SELECT coalesce(t3.oid, t2.oid, t1.oid) AS oid) kt \
           LEFT JOIN pg_collation co ON co.oid = x.indcollation[(u.k - 1)::int] \
             AND co.oid <> coalesce(a.attcollation, (SELECT d.oid FROM pg_collation d \
               WHERE d.collname = 'default' AND d.collnamespace = 'pg_catalog'::regnamespace)) \
           LEFT JOIN pg_namespace con ON con.oid = co.collnamespace) keys \
         WHERE {IN_SCHEMA} AND NOT EXISTS (SELECT 1 FROM pg_constraint k \
           WHERE k.conindid = x.indexrelid AND k.conrelid = x.indrelid AND k.contype IN ('p', 'u', 'x'))",
        collation = qualified_name("collation", "co", "con"),
        opclass = qualified_name("opclass", "oc", "ocn"),
    ))?;
    let unquote = |name: String| name.trim_matches('"').replace("\"\"", "\"");
    for row in &indexes {
        let expressions = unpack(row.get(6));
        let options = unpack(row.get(7));
        let columns = unpack(row.get(4))
            .into_iter()
            .enumerate()
            .map(|(i, key)| {
                let key = if expressions.contains(&(i + 1).to_string()) {
                    IndexKey::Expression(key)
                } else {
                    IndexKey::Column(unquote(key))
                };
                match options.get(i).filter(|o| !o.is_empty()) {
                    Some(options) => IndexKey::Qualified {
                        key: Box::new(key),
                        options: options.clone(),
                    },
                    None => key,
                }
            })
            .collect();
        let index = Index {
            name: row.text(1).to_owned(),
            columns,
            unique: row.text(2) == "true",
            method: Some(row.text(3).to_owned()).filter(|m| m != "btree"),
            include: unpack(row.get(8)).into_iter().map(unquote).collect(),
            predicate: row.get(5).map(str::to_owned),
        };
        let on = row.text(0);
        if let Some(t) = find(&schema.tables, on) {
            schema.tables[t].indexes.push(index);
        } else if let Some(view) = schema.materialized_views.iter_mut().find(|v| v.name == on) {
            view.indexes.push(index);
        }
    }
    Ok(())
}

/// The schema's domains, with their defaults and check constraints.
fn domains(query: &mut Query<'_>, schema: &mut Schema) -> Result<(), terrace::BoxError> {
    for row in query(&format!(
        "SELECT t.typname::text, format_type(t.typbasetype, t.typtypmod), (NOT t.typnotnull)::text, \
         pg_get_expr(t.typdefaultbin, 0, true) FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace \
         WHERE {IN_SCHEMA} AND t.typtype = 'd' AND {}",
        not_extensions("t.oid")
    ))? {
        schema.domains.push(Domain {
            name: row.text(0).to_owned(),
            data_type: row.text(1).to_owned(),
            nullable: row.text(2) == "true",
            default: row.get(3).map(str::to_owned),
            checks: Vec::new(),
        });
    }
    for row in query(&format!(
        "SELECT t.typname::text, k.conname::text, pg_get_constraintdef(k.oid, true) \
         FROM pg_constraint k JOIN pg_type t ON t.oid = k.contypid \
         JOIN pg_namespace n ON n.oid = t.typnamespace WHERE {IN_SCHEMA} AND k.contype = 'c'"
    ))? {
        if let Some(domain) = schema.domains.iter_mut().find(|d| d.name == row.text(0)) {
            domain.checks.push(Check {
                name: row.text(1).to_owned(),
                definition: row.text(2).to_owned(),
            });
        }
    }
    Ok(())
}

/// Where the table of that name is in the list.
fn find(tables: &[Table], name: &str) -> Option<usize> {
    tables.iter().position(|t| t.name == name)
}

/// A foreign key action from its one-letter code.
fn action(code: &str) -> String {
    match code {
        "c" => "CASCADE",
        "n" => "SET NULL",
        "d" => "SET DEFAULT",
        "r" => "RESTRICT",
        _ => "NO ACTION",
    }
    .to_owned()
}
