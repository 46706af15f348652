//! MySQL and MariaDB: the current database (`DATABASE()`) from `information_schema`.
//! A view's query is stored by the server with every table qualified by the
//! database's name; that name is taken out, so that the same schema in two databases
//! gives the same text.

use super::{Query, is_terrace_table};
use crate::schema::model::{
    Check, Column, ForeignKey, Index, IndexKey, Schema, Table, Trigger, View,
};

const HERE: &str = "TABLE_SCHEMA = DATABASE()";

pub(super) fn read(query: &mut Query<'_>, excluded: &str) -> Result<Schema, terrace::BoxError> {
    let mut schema = Schema {
        backend: "mysql",
        ..Schema::default()
    };
    let about = query("SELECT DATABASE(), VERSION()")?;
    let database = about
        .first()
        .map(|r| r.text(0).to_owned())
        .unwrap_or_default();
    let mariadb = about.first().is_some_and(|r| r.text(1).contains("MariaDB"));
    for row in query(&format!(
        "SELECT TABLE_NAME FROM information_schema.TABLES WHERE {HERE} \
         AND TABLE_TYPE = 'BASE TABLE' ORDER BY TABLE_NAME"
    ))? {
        if !is_terrace_table(row.text(0), excluded) {
            schema.tables.push(Table {
                name: row.text(0).to_owned(),
                ..Table::default()
            });
        }
    }
    let find = |tables: &[Table], name: &str| tables.iter().position(|t| t.name == name);
    for row in query(&format!(
        "SELECT TABLE_NAME, COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE, COLUMN_DEFAULT, EXTRA, \
         GENERATION_EXPRESSION \
         FROM information_schema.COLUMNS WHERE {HERE} ORDER BY TABLE_NAME, ORDINAL_POSITION"
    ))? {
        let Some(t) = find(&schema.tables, row.text(0)) else {
            continue;
        };
        let extra = row.text(5);
        let generated = extra.contains("DEFAULT_GENERATED");
        let extra = extra.replace("DEFAULT_GENERATED", "");
        schema.tables[t].columns.push(Column {
            name: row.text(1).to_owned(),
            data_type: row.text(2).to_owned(),
            nullable: row.text(3) == "YES",
            default: default(row.get(4), mariadb, generated),
            extra: column_extra(
                &extra,
                row.get(6)
                    .map(|e| if mariadb { e.to_owned() } else { unescape(e) })
                    .as_deref(),
            ),
        });
    }
    for row in query(&format!(
        "SELECT TABLE_NAME, INDEX_NAME, NON_UNIQUE, COLUMN_NAME, SUB_PART, INDEX_TYPE \
         FROM information_schema.STATISTICS WHERE {HERE} \
         ORDER BY TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX"
    ))? {
        let Some(t) = find(&schema.tables, row.text(0)) else {
            continue;
        };
        let table = &mut schema.tables[t];
        let column = row.text(3).to_owned();
        if row.text(1) == "PRIMARY" {
            table.primary_key.push(column);
            continue;
        }
        // A spatial index covers the whole value; MariaDB reports a length for it anyway.
        let length = row.get(4).filter(|_| row.text(5) != "SPATIAL");
        let key = match length {
            Some(length) => IndexKey::Prefix {
                column,
                length: length.to_owned(),
            },
            None => IndexKey::Column(column),
        };
        match table.indexes.last_mut() {
            Some(index) if index.name == row.text(1) => index.columns.push(key),
            _ => table.indexes.push(Index {
                name: row.text(1).to_owned(),
                columns: vec![key],
                unique: row.text(2) == "0",
                method: Some(row.text(5).to_owned()).filter(|m| m != "BTREE"),
                include: Vec::new(),
                predicate: None,
            }),
        }
    }
    for row in query(
        "SELECT k.TABLE_NAME, k.CONSTRAINT_NAME, k.COLUMN_NAME, k.REFERENCED_TABLE_NAME, \
         k.REFERENCED_COLUMN_NAME, r.UPDATE_RULE, r.DELETE_RULE \
         FROM information_schema.KEY_COLUMN_USAGE k \
         JOIN information_schema.REFERENTIAL_CONSTRAINTS r \
           ON r.CONSTRAINT_SCHEMA = k.CONSTRAINT_SCHEMA AND r.CONSTRAINT_NAME = k.CONSTRAINT_NAME \
           AND r.TABLE_NAME = k.TABLE_NAME \
         WHERE k.TABLE_SCHEMA = DATABASE() AND k.REFERENCED_TABLE_NAME IS NOT NULL \
         ORDER BY k.TABLE_NAME, k.CONSTRAINT_NAME, k.ORDINAL_POSITION",
    )? {
        let Some(t) = find(&schema.tables, row.text(0)) else {
            continue;
        };
        let table = &mut schema.tables[t];
        let name = Some(row.text(1).to_owned());
        if table.foreign_keys.last().is_none_or(|fk| fk.name != name) {
            table.foreign_keys.push(ForeignKey {
                name,
                references: row.text(3).to_owned(),
                on_update: row.text(5).to_owned(),
                on_delete: row.text(6).to_owned(),
                ..ForeignKey::default()
            });
        }
        if let Some(fk) = table.foreign_keys.last_mut() {
            fk.columns.push(row.text(2).to_owned());
            fk.referenced_columns.push(row.text(4).to_owned());
        }
    }
    // MariaDB names a check within its table (and lists the table); MySQL within the
    // database.
    let checks = if mariadb {
        "SELECT TABLE_NAME, CONSTRAINT_NAME, CHECK_CLAUSE FROM information_schema.CHECK_CONSTRAINTS \
         WHERE CONSTRAINT_SCHEMA = DATABASE()"
    } else {
        "SELECT t.TABLE_NAME, c.CONSTRAINT_NAME, c.CHECK_CLAUSE \
         FROM information_schema.CHECK_CONSTRAINTS c JOIN information_schema.TABLE_CONSTRAINTS t \
           ON t.CONSTRAINT_SCHEMA = c.CONSTRAINT_SCHEMA AND t.CONSTRAINT_NAME = c.CONSTRAINT_NAME \
           AND t.CONSTRAINT_TYPE = 'CHECK' \
         WHERE c.CONSTRAINT_SCHEMA = DATABASE()"
    };
    for row in query(checks)? {
        if let Some(t) = find(&schema.tables, row.text(0)) {
            schema.tables[t].checks.push(Check {
                name: row.text(1).to_owned(),
                definition: format!("CHECK ({})", row.text(2)),
            });
        }
    }
    let qualifier = format!("`{}`.", database.replace('`', "``"));
    for row in query(&format!(
        "SELECT TABLE_NAME, VIEW_DEFINITION FROM information_schema.VIEWS WHERE {HERE}"
    ))? {
        let name = row.text(0);
        schema.views.push(View {
            name: name.to_owned(),
            sql: format!(
                "CREATE VIEW `{}` AS {}",
                name.replace('`', "``"),
                row.text(1).replace(&qualifier, "")
            ),
        });
    }
    for row in query(
        "SELECT TRIGGER_NAME, EVENT_OBJECT_TABLE, ACTION_TIMING, EVENT_MANIPULATION, \
         ACTION_ORIENTATION, ACTION_STATEMENT FROM information_schema.TRIGGERS \
         WHERE TRIGGER_SCHEMA = DATABASE()",
    )? {
        let (name, table) = (row.text(0), row.text(1));
        if is_terrace_table(table, excluded) {
            continue;
        }
        schema.triggers.push(Trigger {
            name: name.to_owned(),
            table: table.to_owned(),
            sql: format!(
                "CREATE TRIGGER `{}` {} {} ON `{}` FOR EACH {} {}",
                name.replace('`', "``"),
                row.text(2),
                row.text(3),
                table.replace('`', "``"),
                row.text(4),
                row.text(5).replace(&qualifier, "")
            ),
        });
    }
    Ok(schema)
}

/// A column's default as an SQL expression. MariaDB already gives one (`'text'`,
/// `NULL`, `current_timestamp()`); MySQL gives a literal's bare value, and an
/// expression only where `EXTRA` says `DEFAULT_GENERATED`.
fn default(value: Option<&str>, mariadb: bool, generated: bool) -> Option<String> {
    let value = value?;
    if mariadb {
        return Some(value.to_owned()).filter(|v| v != "NULL");
    }
    Some(if generated {
        if value.to_uppercase().starts_with("CURRENT_TIMESTAMP") {
            value.to_owned()
        } else {
            format!("({value})")
        }
    } else {
        format!("'{}'", value.replace('\'', "''"))
    })
}

/// A generation expression as MySQL (not MariaDB) gives it in `information_schema`,
/// its quotes and backslashes escaped once more (`_utf8mb4\'a\'`), as it is written.
fn unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, chars.peek()) {
            ('\\', Some(&next @ ('\'' | '"' | '\\'))) => {
                out.push(next);
                chars.next();
            }
            _ => out.push(c),
        }
    }
    out
}

/// A column's `EXTRA` as the clause that declares it: `auto_increment` or `on update
/// current_timestamp()` upper-cased, and a generated column's `VIRTUAL GENERATED` or
/// `STORED GENERATED` as `GENERATED ALWAYS AS (expression) VIRTUAL` or `STORED` (then
/// what else it has, such as MariaDB's `INVISIBLE`).
fn column_extra(extra: &str, expression: Option<&str>) -> Option<String> {
    let words = extra.replace(',', " ");
    let mut words: Vec<&str> = words.split_whitespace().collect();
    let mut clause = Vec::new();
    if let Some(at) = words
        .iter()
        .position(|w| w.eq_ignore_ascii_case("GENERATED"))
        && at > 0
        && let Some(expression) = expression
    {
        let kind = words[at - 1].to_uppercase();
        words.drain(at - 1..=at);
        clause.push(format!("GENERATED ALWAYS AS ({expression}) {kind}"));
    }
    clause.extend(words.iter().map(|w| w.to_uppercase()));
    Some(clause.join(" ")).filter(|e| !e.is_empty())
}

#[cfg(test)]
mod tests {
    use super::{column_extra, default, unescape};

    #[test]
    fn mysql_generation_expressions_are_unescaped() {
        assert_eq!(
            unescape(r"json_extract(`doc`,_utf8mb4\'$.a\')"),
            "json_extract(`doc`,_utf8mb4'$.a')"
        );
        assert_eq!(
            unescape(r"concat(`a`,_utf8mb4\'\\\\n\')"),
            r"concat(`a`,_utf8mb4'\\n')"
        );
        assert_eq!(unescape(r"`a` * 2"), "`a` * 2");
    }

    #[test]
    fn defaults_become_expressions() {
        assert_eq!(default(Some("NULL"), true, false), None);
        assert_eq!(default(Some("'a'"), true, false).as_deref(), Some("'a'"));
        assert_eq!(
            default(Some("it's"), false, false).as_deref(),
            Some("'it''s'")
        );
        assert_eq!(
            default(Some("CURRENT_TIMESTAMP"), false, true).as_deref(),
            Some("CURRENT_TIMESTAMP")
        );
        assert_eq!(default(None, false, false), None);
    }

    #[test]
    fn extra_becomes_the_clause_that_declares_it() {
        assert_eq!(
            column_extra("auto_increment", None).as_deref(),
            Some("AUTO_INCREMENT")
        );
        assert_eq!(
            column_extra("VIRTUAL GENERATED", Some("`a` * 2")).as_deref(),
            Some("GENERATED ALWAYS AS (`a` * 2) VIRTUAL")
        );
        assert_eq!(
            column_extra("STORED GENERATED, INVISIBLE", Some("`a` + 1")).as_deref(),
            Some("GENERATED ALWAYS AS (`a` + 1) STORED INVISIBLE")
        );
        assert_eq!(
            column_extra(" on update current_timestamp()", None).as_deref(),
            Some("ON UPDATE CURRENT_TIMESTAMP()")
        );
        assert_eq!(column_extra("", None), None);
    }
}
