//! SQLite: tables, views and triggers from `sqlite_schema`; columns, keys and indexes
//! from the `pragma_*` table functions. SQLite keeps no catalog of check constraints
//! or of a view's or trigger's parts: those keep the text SQLite stored.

use super::{Query, is_terrace_table, literal};
use crate::schema::model::{
    Column, ForeignKey, Index, IndexKey, Schema, Table, Trigger, Unique, View, squash_space,
};

pub(super) fn read(query: &mut Query<'_>, excluded: &str) -> Result<Schema, terrace::BoxError> {
    let mut schema = Schema {
        backend: "sqlite",
        ..Schema::default()
    };
    let objects = query(
        "SELECT type, name, tbl_name, sql FROM sqlite_schema \
         WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY type, name",
    )?;
    // The tables a virtual table's module keeps its data in (an fts5 table's `_data`,
    // `_idx`, …): the virtual table's statement makes them again.
    let shadows: Vec<String> = query("SELECT name FROM pragma_table_list WHERE type = 'shadow'")
        .map(|rows| rows.iter().map(|r| r.text(0).to_owned()).collect())
        .unwrap_or_default();
    for object in &objects {
        let (name, sql) = (object.text(1), object.text(3));
        match object.text(0) {
            "table" if shadows.iter().any(|s| s == name) => {}
            "table" if starts_with_words(sql, &["CREATE", "VIRTUAL", "TABLE"]) => {
                schema.virtual_tables.push(View {
                    name: name.to_owned(),
                    sql: sql.to_owned(),
                })
            }
            "table" if !is_terrace_table(name, excluded) => {
                schema.tables.push(table(query, name, sql)?)
            }
            "view" => schema.views.push(View {
                name: name.to_owned(),
                sql: sql.to_owned(),
            }),
            "trigger" if !is_terrace_table(object.text(2), excluded) => {
                schema.triggers.push(Trigger {
                    name: name.to_owned(),
                    table: object.text(2).to_owned(),
                    sql: sql.to_owned(),
                })
            }
            _ => {}
        }
    }
    Ok(schema)
}

fn table(query: &mut Query<'_>, name: &str, sql: &str) -> Result<Table, terrace::BoxError> {
    let mut table = Table {
        name: name.to_owned(),
        ..Table::default()
    };
    let quoted = literal(name);
    let mut key: Vec<(u32, String)> = Vec::new();
    for row in query(&format!(
        "SELECT name, type, CAST(\"notnull\" AS TEXT), dflt_value, CAST(pk AS TEXT) \
         FROM pragma_table_info({quoted}) ORDER BY cid"
    ))? {
        let position: u32 = row.text(4).parse().unwrap_or(0);
        if position > 0 {
            key.push((position, row.text(0).to_owned()));
        }
        table.columns.push(Column {
            name: row.text(0).to_owned(),
            data_type: squash_space(row.text(1)).to_uppercase(),
            nullable: row.text(2) != "1",
            default: row.get(3).map(default),
            extra: None,
        });
    }
    key.sort();
    table.primary_key = key.into_iter().map(|(_, column)| column).collect();
    if table.primary_key.len() == 1 && sql.to_uppercase().contains("AUTOINCREMENT") {
        let only = &table.primary_key[0];
        if let Some(column) = table.columns.iter_mut().find(|c| &c.name == only) {
            column.extra = Some("AUTOINCREMENT".to_owned());
        }
    }

    let mut current: Option<(String, ForeignKey)> = None;
    for row in query(&format!(
        "SELECT CAST(id AS TEXT), \"table\", \"from\", \"to\", on_update, on_delete \
         FROM pragma_foreign_key_list({quoted}) ORDER BY id, seq"
    ))? {
        if current.as_ref().is_none_or(|(id, _)| id != row.text(0)) {
            table.foreign_keys.extend(current.take().map(|(_, fk)| fk));
            current = Some((
                row.text(0).to_owned(),
                ForeignKey {
                    name: None,
                    references: row.text(1).to_owned(),
                    on_update: row.text(4).to_owned(),
                    on_delete: row.text(5).to_owned(),
                    ..ForeignKey::default()
                },
            ));
        }
        if let Some((_, fk)) = current.as_mut() {
            fk.columns.push(row.text(2).to_owned());
            if let Some(to) = row.get(3) {
                fk.referenced_columns.push(to.to_owned());
            }
        }
    }
    table.foreign_keys.extend(current.map(|(_, fk)| fk));

    let indexes = query(&format!(
        "SELECT il.name, CAST(il.\"unique\" AS TEXT), il.origin, s.sql \
         FROM pragma_index_list({quoted}) il LEFT JOIN sqlite_schema s ON s.name = il.name \
         ORDER BY il.name"
    ))?;
    for index in &indexes {
        let keys = query(&format!(
            "SELECT name, CAST(cid AS TEXT), CAST(\"desc\" AS TEXT) \
             FROM pragma_index_xinfo({}) WHERE key = 1 ORDER BY seqno",
            literal(index.text(0))
        ))?;
        let columns: Vec<String> = keys.iter().map(|k| k.text(0).to_owned()).collect();
        match index.text(2) {
            "pk" => {}
            "u" => table.uniques.push(Unique {
                name: None,
                columns,
            }),
            _ => {
                let (list, predicate) = split_index_sql(index.text(3));
                let plain = keys.iter().all(|k| k.text(1) != "-2");
                let columns = match list {
                    Some(list) if !plain => vec![IndexKey::Expression(squash_space(list))],
                    _ => keys
                        .iter()
                        .map(|k| match k.text(2) {
                            "1" => IndexKey::Expression(format!(
                                "\"{}\" DESC",
                                k.text(0).replace('"', "\"\"")
                            )),
                            _ => IndexKey::Column(k.text(0).to_owned()),
                        })
                        .collect(),
                };
                table.indexes.push(Index {
                    name: index.text(0).to_owned(),
                    columns,
                    unique: index.text(1) == "1",
                    method: None,
                    include: Vec::new(),
                    predicate: predicate.map(squash_space),
                });
            }
        }
    }
    Ok(table)
}

/// The parts of a `CREATE INDEX … ON t (keys) WHERE predicate` statement: the text
/// inside the key list's parentheses and the predicate after `WHERE`, if any.
fn split_index_sql(sql: &str) -> (Option<&str>, Option<&str>) {
    let Some(open) = sql.find('(') else {
        return (None, None);
    };
    let mut depth = 0usize;
    let mut quote: Option<char> = None;
    for (i, c) in sql[open..].char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"' | '`') => quote = Some(c),
            (None, '(') => depth += 1,
            (None, ')') => {
                depth -= 1;
                if depth == 0 {
                    let end = open + i;
                    let rest = sql[end + 1..].trim();
                    let predicate = rest
                        .get(..5)
                        .filter(|w| w.eq_ignore_ascii_case("where"))
                        .map(|_| rest[5..].trim());
                    return (Some(&sql[open + 1..end]), predicate);
                }
            }
            _ => {}
        }
    }
    (None, None)
}

/// Whether `sql` begins with these words, in any case and spacing.
fn starts_with_words(sql: &str, words: &[&str]) -> bool {
    let mut found = sql.split_whitespace();
    words
        .iter()
        .all(|word| found.next().is_some_and(|w| w.eq_ignore_ascii_case(word)))
}

/// A column's default as a `DEFAULT` clause takes it: SQLite keeps an expression
/// default without the parentheses it must be written in (`DEFAULT (datetime('now'))`
/// is kept as `datetime('now')`), so any default but one literal token (a string, a
/// blob, a signed number, a name SQLite takes as a string, such as `DEFAULT pending`)
/// gets them back.
fn default(text: &str) -> String {
    let text = squash_space(text);
    if one_literal(&text) {
        text
    } else {
        format!("({text})")
    }
}

/// Whether `text` is one token a bare `DEFAULT` accepts.
fn one_literal(text: &str) -> bool {
    // Quoted from its first character to its last, each quote inside doubled.
    let quoted = |body: &str, quote: char| {
        body.len() >= 2
            && body.starts_with(quote)
            && body.ends_with(quote)
            && !body[1..body.len() - 1]
                .replace(&format!("{quote}{quote}"), "")
                .contains(quote)
    };
    let unsigned = text.trim_start_matches(['+', '-']);
    let hex = |digits: &str| !digits.is_empty() && digits.chars().all(|c| c.is_ascii_hexdigit());
    quoted(text, '\'')
        || quoted(text, '"')
        || text
            .strip_prefix(['x', 'X'])
            .is_some_and(|blob| quoted(blob, '\''))
        || (unsigned.starts_with(|c: char| c.is_ascii_digit() || c == '.')
            && unsigned.parse::<f64>().is_ok())
        || unsigned
            .strip_prefix("0x")
            .or_else(|| unsigned.strip_prefix("0X"))
            .is_some_and(hex)
        || (text == unsigned
            && text.starts_with(|c: char| c.is_alphabetic() || c == '_' || !c.is_ascii())
            && text
                .chars()
                .all(|c| c.is_alphanumeric() || c == '_' || c == '$' || !c.is_ascii()))
}

#[cfg(test)]
mod tests {
    use super::{default, split_index_sql};

    #[test]
    fn an_expression_default_gets_its_parentheses_back() {
        assert_eq!(default("datetime('now')"), "(datetime('now'))");
        assert_eq!(default("1+2"), "(1+2)");
        assert_eq!(default("(1)"), "((1))");
        assert_eq!(default("'a' || 'b'"), "('a' || 'b')");
        assert_eq!(default("x'00' || x'01'"), "(x'00' || x'01')");
        assert_eq!(default("'it''s' || 'x'"), "('it''s' || 'x')");
        assert_eq!(default("-abs(1)"), "(-abs(1))");
        for literal in [
            "'x'",
            "'a  b'",
            "'it''s'",
            "''",
            "-1",
            "+5",
            "1.5e3",
            ".5",
            "0x1F",
            "x'00'",
            "NULL",
            "current_timestamp",
            "pending",
            "\"dq\"",
        ] {
            assert_eq!(default(literal), literal);
        }
        // Names and strings of any script, never cut inside a character.
        for literal in ["'é'", "\"名前\"", "é", "aé"] {
            assert_eq!(default(literal), literal);
        }
        assert_eq!(default("0xé"), "(0xé)");
    }

    #[test]
    fn an_index_statement_splits_into_keys_and_predicate() {
        assert_eq!(
            split_index_sql("CREATE INDEX i ON t (lower(name), \"a)\") WHERE x > 1"),
            (Some("lower(name), \"a)\""), Some("x > 1"))
        );
        assert_eq!(split_index_sql("CREATE INDEX i ON t(a)"), (Some("a"), None));
    }
}
