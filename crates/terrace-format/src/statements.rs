//! Splitting a section's SQL into statements.
//!
//! Terrace runs a migration one statement at a time so that a failure can name the
//! statement at fault, and because some drivers take one statement per call. The
//! splitter knows each dialect's quoting and comments, PostgreSQL dollar quotes, and
//! `BEGIN … END` bodies of triggers and routines, whose inner `;` do not end the
//! statement.
//!
//! Limits: MySQL client-side `DELIMITER` lines are not understood (they are a feature of
//! the `mysql` shell, not of the server); write routine bodies without them.

/// The SQL dialect whose lexical rules apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// SQLite: `[bracketed]` identifiers, no backslash escapes.
    Sqlite,
    /// PostgreSQL: `$tag$` quoting, nested block comments, `E'…'` escapes.
    Postgres,
    /// MySQL and MariaDB: backslash escapes in strings, `#` comments.
    Mysql,
}

/// One statement of a section.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Statement<'a> {
    /// The statement's text, trimmed, without its terminating `;`.
    pub text: &'a str,
    /// The line (from 1, within the section) on which the statement starts.
    pub line: usize,
}

impl Statement<'_> {
    /// The statement's first line, for short error messages.
    pub fn first_line(&self) -> &str {
        self.text.lines().next().unwrap_or("").trim_end()
    }
}

/// Splits `sql` into statements. Each starts at its first token, so comments before
/// it are left out; pieces holding only comments and whitespace are dropped.
///
/// ```
/// use terrace_format::statements::{split_statements, Dialect};
/// let sql = "CREATE TABLE a (t TEXT DEFAULT ';'); -- done;\nINSERT INTO a VALUES ('x');";
/// let texts: Vec<_> = split_statements(sql, Dialect::Sqlite).iter().map(|s| s.text).collect();
/// assert_eq!(texts, ["CREATE TABLE a (t TEXT DEFAULT ';')", "INSERT INTO a VALUES ('x')"]);
/// ```
pub fn split_statements(sql: &str, dialect: Dialect) -> Vec<Statement<'_>> {
    Splitter {
        sql: sql.as_bytes(),
        dialect,
        pos: 0,
    }
    .run(sql)
}

/// The first statement of `sql` that starts, ends or marks a transaction (`BEGIN`,
/// `START TRANSACTION`, `COMMIT`, `END`, `ROLLBACK`, `ABORT`, `SAVEPOINT`, `RELEASE`,
/// `PREPARE TRANSACTION`), which has no place in a section Terrace runs inside its own
/// transaction.
///
/// It holds in every dialect: a statement counts only when the split of each dialect
/// finds it, at the same line, so quoting that only one dialect knows cannot raise a
/// false alarm. Only a statement's first words count: a `BEGIN` that opens the body of
/// a trigger, function or procedure is inside a `CREATE` statement, and `END IF` or
/// `END;` inside it are not statements of their own.
///
/// ```
/// use terrace_format::transaction_control;
/// let sql = "BEGIN;\nCREATE TABLE a (id INT);\nCOMMIT;";
/// assert_eq!(transaction_control(sql).map(|s| (s.text, s.line)), Some(("BEGIN", 1)));
/// let trigger = "CREATE TRIGGER t AFTER INSERT ON a BEGIN DELETE FROM b; END;";
/// assert_eq!(transaction_control(trigger), None);
/// ```
pub fn transaction_control(sql: &str) -> Option<Statement<'_>> {
    if !mentions_transaction_keyword(sql) {
        return None;
    }
    let candidates = |dialect| {
        split_statements(sql, dialect)
            .into_iter()
            .filter(Statement::controls_transaction)
    };
    let mut others: Vec<Vec<Statement<'_>>> = Vec::new();
    for found in candidates(Dialect::Postgres) {
        if others.is_empty() {
            others = [Dialect::Sqlite, Dialect::Mysql]
                .into_iter()
                .map(|dialect| candidates(dialect).collect())
                .collect();
        }
        if others.iter().all(|list| list.contains(&found)) {
            return Some(found);
        }
    }
    None
}

/// The first words of the statements [`transaction_control`] looks for.
const CONTROL_WORDS: [&str; 9] = [
    "BEGIN",
    "COMMIT",
    "END",
    "ROLLBACK",
    "ABORT",
    "SAVEPOINT",
    "RELEASE",
    "START",
    "PREPARE",
];

/// Whether any word of `sql` is one of [`CONTROL_WORDS`]: a quick scan that spares
/// most sections the splitting.
fn mentions_transaction_keyword(sql: &str) -> bool {
    let bytes = sql.as_bytes();
    let mut at = 0;
    while at < bytes.len() {
        if !is_word_byte(bytes[at]) {
            at += 1;
            continue;
        }
        // Whole identifiers: `start_date` or `commit_sha` mention no keyword.
        let start = at;
        while at < bytes.len() && is_word_byte(bytes[at]) {
            at += 1;
        }
        let word = &bytes[start..at];
        if (3..=9).contains(&word.len())
            && CONTROL_WORDS
                .iter()
                .any(|k| k.as_bytes().eq_ignore_ascii_case(word))
        {
            return true;
        }
    }
    false
}

impl Statement<'_> {
    /// Whether this statement starts, ends or marks a transaction (see
    /// [`transaction_control`]).
    pub fn controls_transaction(&self) -> bool {
        let mut words = leading_words(self.text);
        let first = words.next().unwrap_or("");
        let is = |word: &str, keyword: &str| word.eq_ignore_ascii_case(keyword);
        let second = words.next();
        let second_is =
            |keywords: &[&str]| second.is_some_and(|w| keywords.iter().any(|k| is(w, k)));
        match first.to_ascii_uppercase().as_str() {
            // MariaDB's anonymous compound statement, and the ends of blocks a splitter
            // left open: code, not transaction control.
            "BEGIN" => !second_is(&["NOT"]),
            "END" => !second_is(&["IF", "LOOP", "WHILE", "REPEAT", "CASE", "FOR"]),
            "COMMIT" | "ROLLBACK" | "ABORT" | "SAVEPOINT" | "RELEASE" => true,
            "START" | "PREPARE" => second_is(&["TRANSACTION"]),
            _ => false,
        }
    }
}

/// The words at the start of a statement, skipping comments between them; stops at the
/// first thing that is neither.
fn leading_words(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = text;
    std::iter::from_fn(move || {
        loop {
            rest = rest.trim_start();
            if let Some(after) = rest.strip_prefix("--") {
                rest = after.split_once('\n').map_or("", |(_, next)| next);
            } else if let Some(after) = rest.strip_prefix("/*") {
                rest = after.split_once("*/").map_or("", |(_, next)| next);
            } else {
                break;
            }
        }
        let end = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        if end == 0 {
            return None;
        }
        let (word, next) = rest.split_at(end);
        rest = next;
        Some(word)
    })
}

struct Splitter<'a> {
    sql: &'a [u8],
    dialect: Dialect,
    pos: usize,
}

impl Splitter<'_> {
    fn peek(&self, ahead: usize) -> Option<u8> {
        self.sql.get(self.pos + ahead).copied()
    }

    fn run<'s>(mut self, text: &'s str) -> Vec<Statement<'s>> {
        let mut out = Vec::new();
        let mut lines = Lines::new();
        // Where the current statement's first code (not comment) byte is.
        let mut code_start: Option<usize> = None;
        // Words seen at the top level of the current statement, upper-cased, while they
        // can still decide whether it is a trigger or routine with a `BEGIN … END` body.
        let mut leading_words = 0usize;
        let mut compound = false;
        let mut depth = 0usize;
        let mut last_word_was_end = false;
        let mut first_word_begin = false;
        while let Some(byte) = self.peek(0) {
            match byte {
                b'-' if self.peek(1) == Some(b'-') => self.skip_line(),
                b'#' if self.dialect == Dialect::Mysql => self.skip_line(),
                b'/' if self.peek(1) == Some(b'*') => self.skip_block_comment(),
                b'\'' => {
                    code_start.get_or_insert(self.pos);
                    let backslash = self.dialect == Dialect::Mysql
                        || (self.dialect == Dialect::Postgres
                            && self.pos > 0
                            && matches!(self.sql[self.pos - 1], b'e' | b'E')
                            && (self.pos < 2 || !is_word_byte(self.sql[self.pos - 2])));
                    self.skip_quoted(b'\'', backslash);
                }
                b'"' => {
                    code_start.get_or_insert(self.pos);
                    self.skip_quoted(b'"', self.dialect == Dialect::Mysql);
                }
                b'`' if self.dialect != Dialect::Postgres => {
                    code_start.get_or_insert(self.pos);
                    self.skip_quoted(b'`', false);
                }
                b'[' if self.dialect == Dialect::Sqlite => {
                    code_start.get_or_insert(self.pos);
                    self.skip_quoted(b']', false);
                }
                b'$' if self.dialect == Dialect::Postgres && self.at_dollar_tag().is_some() => {
                    code_start.get_or_insert(self.pos);
                    self.skip_dollar_quoted();
                }
                b';' if depth == 0 => {
                    if let Some(code) = code_start.take() {
                        out.push(lines.statement(text, code, self.pos));
                    }
                    self.pos += 1;
                    leading_words = 0;
                    compound = false;
                    last_word_was_end = false;
                    first_word_begin = false;
                }
                b if is_word_byte(b) && !b.is_ascii_digit() => {
                    let word_start = self.pos;
                    code_start.get_or_insert(word_start);
                    while self.peek(0).is_some_and(is_word_byte) {
                        self.pos += 1;
                    }
                    let word = &self.sql[word_start..self.pos];
                    if leading_words < 8 {
                        leading_words += 1;
                        if leading_words == 1 {
                            first_word_begin = word.eq_ignore_ascii_case(b"BEGIN");
                        } else if leading_words == 2
                            && first_word_begin
                            && self.dialect == Dialect::Mysql
                            && word.eq_ignore_ascii_case(b"NOT")
                        {
                            // MariaDB's `BEGIN NOT ATOMIC … END`: a block from its
                            // first word.
                            compound = true;
                            depth += 1;
                        }
                        if leading_words > 1
                            && ["TRIGGER", "PROCEDURE", "FUNCTION", "EVENT"]
                                .iter()
                                .any(|w| word.eq_ignore_ascii_case(w.as_bytes()))
                        {
                            compound = true;
                        }
                    }
                    if compound {
                        let after_end = last_word_was_end;
                        last_word_was_end = false;
                        if word.eq_ignore_ascii_case(b"BEGIN") || word.eq_ignore_ascii_case(b"CASE")
                        {
                            // `END CASE` closes a CASE statement: the END already counted.
                            if !(after_end && word.eq_ignore_ascii_case(b"CASE")) {
                                depth += 1;
                            }
                        } else if word.eq_ignore_ascii_case(b"END") {
                            depth = depth.saturating_sub(1);
                            last_word_was_end = true;
                        } else if after_end
                            && ["IF", "LOOP", "WHILE", "REPEAT"]
                                .iter()
                                .any(|w| word.eq_ignore_ascii_case(w.as_bytes()))
                        {
                            // `END IF` and friends close blocks that were never counted.
                            depth += 1;
                        }
                    }
                }
                b if b.is_ascii_whitespace() => self.pos += 1,
                _ => {
                    code_start.get_or_insert(self.pos);
                    self.pos += 1;
                }
            }
        }
        if let Some(code) = code_start {
            out.push(lines.statement(text, code, self.sql.len()));
        }
        out
    }

    fn skip_line(&mut self) {
        while let Some(b) = self.peek(0) {
            self.pos += 1;
            if b == b'\n' {
                break;
            }
        }
    }

    fn skip_block_comment(&mut self) {
        self.pos += 2;
        let mut depth = 1;
        while let Some(b) = self.peek(0) {
            if b == b'*' && self.peek(1) == Some(b'/') {
                self.pos += 2;
                depth -= 1;
                if depth == 0 {
                    return;
                }
            } else if b == b'/' && self.peek(1) == Some(b'*') && self.dialect == Dialect::Postgres {
                self.pos += 2;
                depth += 1;
            } else {
                self.pos += 1;
            }
        }
    }

    /// Skips a quoted run opened at `pos`; a doubled closing quote is an escaped quote.
    fn skip_quoted(&mut self, close: u8, backslash: bool) {
        self.pos += 1;
        while let Some(b) = self.peek(0) {
            self.pos += 1;
            if backslash && b == b'\\' {
                self.pos += 1;
            } else if b == close {
                if self.peek(0) == Some(close) {
                    self.pos += 1;
                } else {
                    return;
                }
            }
        }
        self.pos = self.pos.min(self.sql.len());
    }

    /// The length of a `$tag$` opener at `pos`, if there is one.
    fn at_dollar_tag(&self) -> Option<usize> {
        if self.pos > 0 && is_word_byte(self.sql[self.pos - 1]) {
            return None; // `a$b` is part of an identifier
        }
        let rest = &self.sql[self.pos + 1..];
        let tag_len = rest.iter().position(|&b| !is_word_byte(b))?;
        (rest[tag_len] == b'$' && !rest[..tag_len].first().is_some_and(u8::is_ascii_digit))
            .then_some(tag_len + 2)
    }

    fn skip_dollar_quoted(&mut self) {
        let Some(len) = self.at_dollar_tag() else {
            return;
        };
        let tag = &self.sql[self.pos..self.pos + len];
        self.pos += len;
        match self.sql[self.pos..].windows(len).position(|w| w == tag) {
            Some(found) => self.pos += found + len,
            None => self.pos = self.sql.len(),
        }
    }
}

fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b >= 0x80
}

/// Line numbers for statements found in order: each count starts where the last one
/// ended, so numbering every statement of a text reads it once.
struct Lines {
    counted_to: usize,
    line: usize,
}

impl Lines {
    fn new() -> Self {
        Lines {
            counted_to: 0,
            line: 1,
        }
    }

    fn statement<'t>(&mut self, text: &'t str, start: usize, end: usize) -> Statement<'t> {
        if start > self.counted_to {
            self.line += text.as_bytes()[self.counted_to..start]
                .iter()
                .filter(|&&b| b == b'\n')
                .count();
            self.counted_to = start;
        }
        Statement {
            text: text[start..end].trim(),
            line: self.line,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(sql: &str, dialect: Dialect) -> Vec<&str> {
        split_statements(sql, dialect)
            .iter()
            .map(|s| s.text)
            .collect()
    }

    #[test]
    fn simple_and_trailing_comments() {
        assert_eq!(
            texts(
                "CREATE TABLE a (x);\n\nCREATE TABLE b (y);\n-- the end\n",
                Dialect::Sqlite
            ),
            ["CREATE TABLE a (x)", "CREATE TABLE b (y)"]
        );
        assert_eq!(texts("SELECT 1", Dialect::Sqlite), ["SELECT 1"]);
        assert!(texts("  -- nothing;\n/* at; all */ ;;", Dialect::Sqlite).is_empty());
    }

    #[test]
    fn quotes_hide_semicolons() {
        assert_eq!(
            texts(
                r#"INSERT INTO t VALUES ('a;b', "c;d", `e;f`, [g;h], 'it''s;');SELECT 2"#,
                Dialect::Sqlite
            ),
            [
                r#"INSERT INTO t VALUES ('a;b', "c;d", `e;f`, [g;h], 'it''s;')"#,
                "SELECT 2"
            ]
        );
        assert_eq!(
            texts(r"SELECT 'a\';b'; SELECT 2", Dialect::Mysql),
            [r"SELECT 'a\';b'", "SELECT 2"]
        );
        assert_eq!(
            texts(r"SELECT 'a\'; SELECT 2", Dialect::Postgres),
            [r"SELECT 'a\'", "SELECT 2"]
        );
        assert_eq!(
            texts(r"SELECT E'a\';b'; SELECT 2", Dialect::Postgres),
            [r"SELECT E'a\';b'", "SELECT 2"]
        );
    }

    #[test]
    fn dollar_quotes() {
        let sql = "CREATE FUNCTION f() RETURNS int AS $body$ BEGIN RETURN 1; END; $body$ LANGUAGE plpgsql;\nSELECT $1;SELECT 3";
        assert_eq!(
            texts(sql, Dialect::Postgres),
            [
                "CREATE FUNCTION f() RETURNS int AS $body$ BEGIN RETURN 1; END; $body$ LANGUAGE plpgsql",
                "SELECT $1",
                "SELECT 3"
            ]
        );
    }

    #[test]
    fn trigger_bodies() {
        let sql = "CREATE TRIGGER t AFTER INSERT ON a BEGIN\n  UPDATE b SET n = CASE WHEN 1 THEN 2 ELSE 3 END;\n  DELETE FROM c;\nEND;\nSELECT 1;";
        let got = texts(sql, Dialect::Sqlite);
        assert_eq!(got.len(), 2, "{got:?}");
        assert!(got[0].ends_with("END"));
        let mysql = "CREATE PROCEDURE p() BEGIN IF 1 THEN SELECT 1; END IF; CASE x WHEN 1 THEN SELECT 2; END CASE; END; SELECT 9";
        assert_eq!(texts(mysql, Dialect::Mysql).len(), 2);
    }

    #[test]
    fn line_numbers_and_first_line() {
        let stmts = split_statements(
            "\n-- c\nCREATE TABLE a (\n  x\n);\n\nDROP TABLE b;",
            Dialect::Sqlite,
        );
        assert_eq!(stmts[0].line, 3);
        assert_eq!(stmts[1].line, 7);
        assert_eq!(stmts[1].first_line(), "DROP TABLE b");
    }

    fn control(sql: &str) -> Option<(&str, usize)> {
        transaction_control(sql).map(|s| (s.text, s.line))
    }

    #[test]
    fn transaction_control_statements_are_found() {
        for sql in [
            "BEGIN",
            "begin transaction",
            "BEGIN WORK",
            "BEGIN IMMEDIATE TRANSACTION",
            "BEGIN ISOLATION LEVEL SERIALIZABLE",
            "START TRANSACTION",
            "start /* a comment */ transaction read write",
            "COMMIT",
            "commit work",
            "COMMIT AND CHAIN",
            "END",
            "END TRANSACTION",
            "ROLLBACK",
            "ROLLBACK TO SAVEPOINT s",
            "ROLLBACK TO s",
            "ABORT",
            "SAVEPOINT s",
            "RELEASE SAVEPOINT s",
            "RELEASE s",
            "PREPARE TRANSACTION 'x'",
        ] {
            let file =
                format!("CREATE TABLE a (id INT);\n-- why\n{sql};\nCREATE TABLE b (id INT);");
            assert_eq!(control(&file), Some((sql, 3)), "{sql}");
        }
    }

    #[test]
    fn bodies_and_lookalikes_are_not_transaction_control() {
        for sql in [
            "CREATE TRIGGER t AFTER INSERT ON a BEGIN\n  UPDATE b SET n = CASE WHEN 1 THEN 2 ELSE 3 END;\n  DELETE FROM c;\nEND;",
            "CREATE TRIGGER t AFTER INSERT ON a FOR EACH ROW BEGIN IF NEW.x THEN SET @a = 1; END IF; END;",
            "CREATE PROCEDURE p() BEGIN START TRANSACTION; COMMIT; END;",
            "CREATE FUNCTION f() RETURNS trigger AS $$\nBEGIN\n  COMMIT;\nEND;\n$$ LANGUAGE plpgsql;",
            "DO $$ BEGIN PERFORM 1; END $$;",
            "INSERT INTO log (msg) VALUES ('BEGIN; COMMIT;');",
            "-- BEGIN;\n/* COMMIT; */ SELECT 1;",
            "PREPARE stmt AS SELECT 1;",
            "SELECT release_lock('x'); SELECT 1 AS commit_count;",
            "SET TRANSACTION ISOLATION LEVEL SERIALIZABLE;",
            // MariaDB's anonymous block, and a MySQL trigger whose body is one IF.
            "BEGIN NOT ATOMIC\n  IF 1 THEN ALTER TABLE a ADD b INT; END IF;\nEND;",
            "CREATE TRIGGER t BEFORE INSERT ON a FOR EACH ROW IF NEW.x IS NULL THEN SET NEW.x = 0; END IF;",
            "CREATE TABLE t (start_date DATE, end_time TIME, begin_at INT, commit_sha TEXT);",
        ] {
            assert_eq!(control(sql), None, "{sql}");
        }
    }

    #[test]
    fn splitting_is_linear_in_the_number_of_statements() {
        // Each statement's line was counted from the start of the text: quadratic.
        let sql = "INSERT INTO t (start_date) VALUES ('2024-01-01');\n".repeat(50_000);
        let statements = split_statements(&sql, Dialect::Postgres);
        assert_eq!(statements.len(), 50_000);
        assert_eq!(statements[49_999].line, 50_000);
    }

    #[test]
    fn only_what_every_dialect_splits_alike_counts() {
        // In MySQL `'a\'` does not end the string, so the `COMMIT` is inside it there.
        assert_eq!(control("SELECT 'a\\'; COMMIT; SELECT 'b';"), None);
        // Outside any quoting, every dialect agrees.
        assert_eq!(
            control("SELECT 'a'; COMMIT; SELECT 'b';"),
            Some(("COMMIT", 1))
        );
    }

    #[test]
    fn unterminated_input_does_not_panic() {
        for sql in [
            "'abc", "\"abc", "/* abc", "$a$ abc", "[abc", "SELECT '", "$", "x$",
        ] {
            for dialect in [Dialect::Sqlite, Dialect::Postgres, Dialect::Mysql] {
                let _ = split_statements(sql, dialect);
            }
            let _ = transaction_control(sql);
        }
    }
}
