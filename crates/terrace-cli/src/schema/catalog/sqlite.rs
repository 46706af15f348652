//! SQLite: tables, views and triggers from `sqlite_schema`; columns, keys and indexes
//! from the `pragma_*` table functions. SQLite keeps no catalog of check constraints
//! or of a view's or trigger's parts: those keep the text SQLite stored.

use super::{Query, is_terrace_table, literal};
use crate::schema::model::{
    Column, ForeignKey, Index, IndexKey, Schema, SqlChars, Table, Trigger, Unique, View,
    squash_space,
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
    // `table_xinfo` lists generated columns too (hidden 2, virtual; 3, stored); their
    // expression is only in the table's statement, read once, without its comments.
    let statement = std::cell::OnceCell::new();
    for row in query(&format!(
        "SELECT name, type, CAST(\"notnull\" AS TEXT), dflt_value, CAST(pk AS TEXT), \
         CAST(hidden AS TEXT) FROM pragma_table_xinfo({quoted}) WHERE hidden <> 1 ORDER BY cid"
    ))? {
        let position: u32 = row.text(4).parse().unwrap_or(0);
        if position > 0 {
            key.push((position, row.text(0).to_owned()));
        }
        let extra = match row.text(5) {
            hidden @ ("2" | "3") => Some(
                generated_expression(
                    statement.get_or_init(|| without_comments(sql)),
                    row.text(0),
                )
                    .map(|expression| {
                        let kind = if hidden == "3" { "STORED" } else { "VIRTUAL" };
                        format!("GENERATED ALWAYS AS ({}) {kind}", squash_space(&expression))
                    })
                    .ok_or_else(|| {
                        format!(
                            "cannot find the expression of generated column {}.{} in its table's statement",
                            name,
                            row.text(0)
                        )
                    })?,
            ),
            _ => None,
        };
        table.columns.push(Column {
            name: row.text(0).to_owned(),
            data_type: squash_space(row.text(1)).to_uppercase(),
            nullable: row.text(2) != "1",
            default: row.get(3).map(default),
            extra,
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
    let Some(close) = matching_close(&sql[open..]) else {
        return (None, None);
    };
    let end = open + close;
    let rest = sql[end + 1..].trim();
    let predicate = rest
        .get(..5)
        .filter(|w| w.eq_ignore_ascii_case("where"))
        .map(|_| rest[5..].trim());
    (Some(&sql[open + 1..end]), predicate)
}

/// The text between the parentheses of `depth` 0 that start at `sql`'s first one, cut at
/// its commas of that depth: a `CREATE TABLE`'s column and constraint definitions.
fn top_level_parts(sql: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut depth = 0usize;
    let mut start = 0;
    for (i, c) in Unquoted::new(sql) {
        match c {
            '(' => {
                depth += 1;
                if depth == 1 {
                    start = i + 1;
                }
            }
            ')' if depth == 1 => {
                parts.push(&sql[start..i]);
                return parts;
            }
            ')' => depth = depth.saturating_sub(1),
            ',' if depth == 1 => {
                parts.push(&sql[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    Vec::new()
}

/// `sql` with each comment (`-- …` to the line's end, `/* … */`) outside quotes made
/// one space.
fn without_comments(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut quote: Option<char> = None;
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        match (quote, c, chars.peek()) {
            (Some(close), c, _) => {
                out.push(c);
                if c == close {
                    quote = None;
                }
            }
            (None, '-', Some('-')) => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        break;
                    }
                }
                out.push(' ');
            }
            (None, '/', Some('*')) => {
                chars.next();
                let mut last = ' ';
                for c in chars.by_ref() {
                    if last == '*' && c == '/' {
                        break;
                    }
                    last = c;
                }
                out.push(' ');
            }
            (None, c, _) => {
                quote = match c {
                    '\'' | '"' | '`' => Some(c),
                    '[' => Some(']'),
                    _ => None,
                };
                out.push(c);
            }
        }
    }
    out
}

/// The expression of generated column `column` in `CREATE TABLE` statement `sql`
/// (without comments): what stands in the parentheses after its definition's `AS`.
fn generated_expression(sql: &str, column: &str) -> Option<String> {
    let definition = top_level_parts(sql).into_iter().find(|part| {
        let part = part.trim_start();
        let name = match part.chars().next() {
            Some(open @ ('"' | '`' | '[')) => {
                let close = if open == '[' { ']' } else { open };
                let rest = &part[1..];
                let end = rest.find(close).unwrap_or(rest.len());
                rest[..end].to_owned()
            }
            _ => part
                .split(|c: char| c.is_whitespace())
                .next()
                .unwrap_or_default()
                .to_owned(),
        };
        name.eq_ignore_ascii_case(column)
    })?;
    // The first `AS (` outside parentheses and quotes.
    let mut depth = 0usize;
    let mut previous = ' ';
    for (i, c) in Unquoted::new(definition) {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            'a' | 'A' if depth == 0 && !is_word(previous) => {
                let rest = &definition[i..];
                let after = rest.get(2..).unwrap_or_default();
                if rest.get(..2).is_some_and(|w| w.eq_ignore_ascii_case("as"))
                    && !after.starts_with(is_word)
                    && after.trim_start().starts_with('(')
                {
                    let body = after.trim_start();
                    return matching_close(body).map(|close| body[1..close].to_owned());
                }
            }
            _ => {}
        }
        previous = c;
    }
    None
}

/// Where the parenthesis opening `text` closes.
fn matching_close(text: &str) -> Option<usize> {
    let mut depth = 0usize;
    for (i, c) in Unquoted::new(text) {
        match c {
            '(' => depth += 1,
            ')' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

/// The characters of SQL text outside its strings and quoted names, with their byte
/// offsets.
struct Unquoted<'a>(SqlChars<'a>);

impl<'a> Unquoted<'a> {
    fn new(sql: &'a str) -> Self {
        Unquoted(SqlChars::new(sql))
    }
}

impl Iterator for Unquoted<'_> {
    type Item = (usize, char);

    fn next(&mut self) -> Option<(usize, char)> {
        self.0
            .by_ref()
            .find(|(_, _, quoted)| !quoted)
            .map(|(i, c, _)| (i, c))
    }
}

fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '$'
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
    use super::{default, generated_expression, split_index_sql, without_comments};

    #[test]
    fn a_generated_columns_expression_is_found_in_its_tables_statement() {
        let sql = "CREATE TABLE t (a INT, b TEXT GENERATED ALWAYS AS (a * 2) STORED, \
                   asset AS (CAST(a AS TEXT)), \"d, e\" VARCHAR(10) NOT NULL AS (upper('x, (y')) , \
                   f TEXT DEFAULT 'as (no)', CHECK (a AS_NOT > 0))";
        let found = |column: &str| generated_expression(sql, column);
        assert_eq!(found("b").as_deref(), Some("a * 2"));
        assert_eq!(found("ASSET").as_deref(), Some("CAST(a AS TEXT)"));
        assert_eq!(found("d, e").as_deref(), Some("upper('x, (y')"));
        assert_eq!(found("f"), None);
        assert_eq!(found("a"), None);
        assert_eq!(generated_expression("CREATE TABLE t (a AS (", "a"), None);
        // Comments, with commas and parentheses in them, are not definitions.
        let commented =
            "CREATE TABLE t (\n  a INT, -- one, (two\n  /* three, */ b AS (a + 1) -- four\n)";
        assert_eq!(
            generated_expression(&without_comments(commented), "b").as_deref(),
            Some("a + 1")
        );
    }

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
