//! A light lexical scan of SQL text: which lines start outside every string literal,
//! quoted name and comment, and what is left open at the end.
//!
//! Reading a file does not know which database it is for, so each question is asked
//! of all three dialects and a verdict holds only when every dialect agrees: quoting
//! that only one dialect knows (a PostgreSQL dollar quote, a MySQL backslash escape)
//! can never make a file refused that its own database's client runs.

use crate::lex;
use crate::statements::Dialect;
use std::fmt;

const DIALECTS: [Dialect; 3] = [Dialect::Postgres, Dialect::Sqlite, Dialect::Mysql];

/// A line of a section that is a command of a database's command-line client, not SQL:
/// a psql meta-command (`\connect`, `\restrict`, …, any line starting with `\`) or a
/// mysql `DELIMITER` line. The server refuses it; Terrace sends each statement itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientCommand<'a> {
    /// The line, trimmed.
    pub text: &'a str,
    /// The line (from 1, within the section) on which it stands.
    pub line: usize,
}

impl ClientCommand<'_> {
    /// Whether it is a mysql `DELIMITER` line (otherwise a backslash command).
    pub fn is_delimiter(&self) -> bool {
        !self.text.starts_with('\\')
    }

    /// What to do about it, in words.
    pub fn fix(&self) -> &'static str {
        if self.is_delimiter() {
            "remove the DELIMITER lines and end each statement with ';': Terrace keeps the \
             ';' inside BEGIN … END bodies together itself"
        } else {
            "remove the line: Terrace sends each statement to the server itself, with no \
             client in between"
        }
    }
}

impl fmt::Display for ClientCommand<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "'{}' is a command of the database's command-line client (psql or mysql), not \
             SQL, and the server would refuse it; {}",
            self.text,
            self.fix()
        )
    }
}

/// The first line of `sql` that is a client command ([`ClientCommand`]), if any.
///
/// A line counts only where it starts outside every string literal, quoted name,
/// dollar quote and block comment, in every dialect: a line starting with `\` inside
/// a PostgreSQL function body is code. A `DELIMITER` line counts only where a
/// statement starts, so a column named `delimiter` is not one.
///
/// ```
/// use terrace_format::client_command;
/// let dump = "\\restrict abc\nCREATE TABLE a (id INT);";
/// assert_eq!(client_command(dump).map(|c| (c.text, c.line)), Some(("\\restrict abc", 1)));
/// let body = "CREATE FUNCTION f() RETURNS text AS $$\nSELECT '\n\\n'::text;\n$$ LANGUAGE sql;";
/// assert_eq!(client_command(body), None);
/// ```
pub fn client_command(sql: &str) -> Option<ClientCommand<'_>> {
    if !has_candidate_line(sql) {
        return None;
    }
    let mut agreed: Option<Vec<usize>> = None;
    for dialect in DIALECTS {
        let found = Scanner::new(sql, dialect, true).run().commands;
        agreed = Some(match agreed {
            None => found,
            Some(before) => intersect(&before, &found),
        });
        if agreed.as_ref().is_some_and(Vec::is_empty) {
            return None;
        }
    }
    let start = *agreed?.first()?;
    let rest = &sql[start..];
    let end = rest.find(['\n', '\r']).unwrap_or(rest.len());
    Some(ClientCommand {
        text: rest[..end].trim(),
        line: crate::sections::line_at(sql, start),
    })
}

/// The elements of two ascending lists found in both.
fn intersect(a: &[usize], b: &[usize]) -> Vec<usize> {
    let (mut i, mut j) = (0, 0);
    let mut out = Vec::new();
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                out.push(a[i]);
                i += 1;
                j += 1;
            }
        }
    }
    out
}

/// Whether any line of `sql` could be a client command at all: a quick pass that
/// spares almost every section the scan.
fn has_candidate_line(sql: &str) -> bool {
    let bytes = sql.as_bytes();
    let mut at = 0;
    while at < bytes.len() {
        if line_command(bytes, at).is_some() {
            return true;
        }
        match bytes[at..].iter().position(|&b| b == b'\n' || b == b'\r') {
            Some(end) => at += end + 1,
            None => break,
        }
    }
    false
}

/// What kind of client command the line starting at `at` is: `Some(true)` for a
/// `DELIMITER` line, `Some(false)` for a backslash command.
fn line_command(bytes: &[u8], at: usize) -> Option<bool> {
    let indent = bytes[at..]
        .iter()
        .take_while(|&&b| b == b' ' || b == b'\t')
        .count();
    let rest = &bytes[at + indent..];
    if rest.first() == Some(&b'\\') {
        return Some(false);
    }
    let word = b"delimiter";
    (rest.len() >= word.len()
        && rest[..word.len()].eq_ignore_ascii_case(word)
        && rest.get(word.len()).is_none_or(|b| b.is_ascii_whitespace()))
    .then_some(true)
}

/// What a text leaves open at its end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Open {
    /// A string literal (`'…'`).
    String,
    /// A quoted name (`"…"`, `` `…` ``, `[…]`).
    QuotedName,
    /// A PostgreSQL dollar-quoted string (`$$…$$`).
    DollarQuote,
    /// A block comment (`/* … */`).
    BlockComment,
}

impl Open {
    /// The construct, in words.
    pub(crate) fn describe(self) -> &'static str {
        match self {
            Open::String => "a string literal",
            Open::QuotedName => "a quoted name",
            Open::DollarQuote => "a dollar-quoted string",
            Open::BlockComment => "a block comment",
        }
    }
}

/// What `sql` leaves open at its end in every dialect, with the offset where it opens
/// (in the first dialect's reading); `None` when any dialect reads it as closed.
pub(crate) fn open_at_end(sql: &str) -> Option<(Open, usize)> {
    let mut first = None;
    for dialect in DIALECTS {
        let open = Scanner::new(sql, dialect, false).run().open?;
        first.get_or_insert(open);
    }
    first
}

/// The bytes that start nothing in any dialect: not whitespace (a line end may come
/// next), not `;`, and none of the bytes that may open a comment, a quoted run or a
/// dollar quote.
const PLAIN: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        let byte = b as u8;
        table[b] = !byte.is_ascii_whitespace()
            && !matches!(
                byte,
                b';' | b'-' | b'#' | b'/' | b'\'' | b'"' | b'`' | b'[' | b'$' | b'\\'
            );
        b += 1;
    }
    table
};

struct Scan {
    /// Offsets of the lines that are client commands, ascending.
    commands: Vec<usize>,
    /// What is open at the end, and where it opened.
    open: Option<(Open, usize)>,
}

struct Scanner<'a> {
    text: &'a str,
    sql: &'a [u8],
    dialect: Dialect,
    pos: usize,
    commands: bool,
}

impl<'a> Scanner<'a> {
    fn new(sql: &'a str, dialect: Dialect, commands: bool) -> Self {
        Scanner {
            text: sql,
            sql: sql.as_bytes(),
            dialect,
            pos: 0,
            commands,
        }
    }

    fn peek(&self, ahead: usize) -> Option<u8> {
        self.sql.get(self.pos + ahead).copied()
    }

    fn at_line_start(&self) -> bool {
        self.pos == 0 || matches!(self.sql[self.pos - 1], b'\n' | b'\r')
    }

    fn run(mut self) -> Scan {
        let mut commands = Vec::new();
        // Whether only whitespace and comments came since the last `;`.
        let mut statement_start = true;
        while let Some(byte) = self.peek(0) {
            if self.commands
                && self.at_line_start()
                && let Some(delimiter) = line_command(self.sql, self.pos)
                && (!delimiter || statement_start)
            {
                // The client takes the whole line.
                commands.push(self.pos);
                self.skip_line();
                continue;
            }
            let start = self.pos;
            let opened = match byte {
                b'-' if self.peek(1) == Some(b'-') && self.dash_comment() => {
                    self.skip_line();
                    None
                }
                b'#' if self.dialect == Dialect::Mysql => {
                    self.skip_line();
                    None
                }
                b'/' if self.peek(1) == Some(b'*') => {
                    (!self.skip_block_comment()).then_some(Open::BlockComment)
                }
                b'\'' => {
                    let backslash = lex::backslash_string(self.sql, self.pos, self.dialect);
                    (!self.skip_quoted(b'\'', backslash)).then_some(Open::String)
                }
                b'"' => (!self.skip_quoted(b'"', self.dialect == Dialect::Mysql))
                    .then_some(Open::QuotedName),
                b'`' if self.dialect != Dialect::Postgres => {
                    (!self.skip_quoted(b'`', false)).then_some(Open::QuotedName)
                }
                b'[' if self.dialect == Dialect::Sqlite => {
                    (!self.skip_quoted(b']', false)).then_some(Open::QuotedName)
                }
                b'$' if self.dialect == Dialect::Postgres && self.dollar_tag().is_some() => {
                    (!self.skip_dollar_quoted()).then_some(Open::DollarQuote)
                }
                b';' => {
                    statement_start = true;
                    self.pos += 1;
                    continue;
                }
                b if b.is_ascii_whitespace() => {
                    self.pos += 1;
                    continue;
                }
                _ => {
                    statement_start = false;
                    self.pos += 1;
                    // The bytes that follow and could start nothing go in one step:
                    // none is a line start, so each would only come back here.
                    while self.peek(0).is_some_and(|b| PLAIN[usize::from(b)]) {
                        self.pos += 1;
                    }
                    continue;
                }
            };
            if let Some(open) = opened {
                return Scan {
                    commands,
                    open: Some((open, start)),
                };
            }
            if !matches!(byte, b'-' | b'#' | b'/') {
                statement_start = false;
            }
        }
        Scan {
            commands,
            open: None,
        }
    }

    fn dash_comment(&self) -> bool {
        lex::dash_starts_comment(self.sql, self.pos, self.dialect)
    }

    fn skip_line(&mut self) {
        while let Some(b) = self.peek(0) {
            self.pos += 1;
            if b == b'\n' || (b == b'\r' && self.peek(0) != Some(b'\n')) {
                break;
            }
        }
    }

    /// Moves to `end`, or to the end of the text when the run never closes; false
    /// then.
    fn skip_to(&mut self, end: Option<usize>) -> bool {
        self.pos = end.unwrap_or(self.sql.len());
        end.is_some()
    }

    /// Skips a block comment opened at `pos`; false when it never closes.
    fn skip_block_comment(&mut self) -> bool {
        self.skip_to(lex::block_comment_end(self.sql, self.pos, self.dialect))
    }

    /// Skips a quoted run opened at `pos`; false when it never closes.
    fn skip_quoted(&mut self, close: u8, backslash: bool) -> bool {
        self.skip_to(lex::quoted_end(self.text, self.pos, close, backslash))
    }

    /// The length of a `$tag$` opener at `pos`, if there is one.
    fn dollar_tag(&self) -> Option<usize> {
        lex::dollar_tag_len(self.text, self.pos)
    }

    /// Skips a dollar-quoted string opened at `pos`; false when it never closes.
    fn skip_dollar_quoted(&mut self) -> bool {
        match self.dollar_tag() {
            Some(len) => self.skip_to(lex::dollar_quoted_end(self.sql, self.pos, len)),
            None => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn command(sql: &str) -> Option<(&str, usize)> {
        client_command(sql).map(|c| (c.text, c.line))
    }

    #[test]
    fn psql_meta_commands_and_delimiter_lines_are_found() {
        for (sql, expected) in [
            (
                "\\restrict 6P3XkQ\nCREATE TABLE a (id INT);",
                ("\\restrict 6P3XkQ", 1),
            ),
            (
                "CREATE TABLE a (id INT);\n\n\\unrestrict 6P3XkQ\n",
                ("\\unrestrict 6P3XkQ", 3),
            ),
            (
                "SELECT 1;\r\n  \\connect other\r\nSELECT 2;",
                ("\\connect other", 2),
            ),
            (
                "\\set ON_ERROR_STOP on\nSELECT 1;",
                ("\\set ON_ERROR_STOP on", 1),
            ),
            // Inside a statement, psql still takes the line.
            ("SELECT 1\n\\gset\n", ("\\gset", 2)),
            (
                "DELIMITER $$\nCREATE PROCEDURE p() BEGIN SELECT 1; END$$\nDELIMITER ;",
                ("DELIMITER $$", 1),
            ),
            (
                "SELECT 1;\n-- routines\ndelimiter //\n",
                ("delimiter //", 3),
            ),
            // A backslash command's quote does not open a string.
            ("\\echo it's\nSELECT 1;\n\\connect b", ("\\echo it's", 1)),
        ] {
            assert_eq!(command(sql), Some(expected), "{sql}");
        }
    }

    #[test]
    fn lines_inside_literals_bodies_and_comments_are_not_commands() {
        for sql in [
            "CREATE FUNCTION f() RETURNS text AS $$\n\\not a command\n$$ LANGUAGE sql;",
            "CREATE FUNCTION f() RETURNS text AS $body$\nBEGIN\n  RETURN '\n\\x';\nEND\n$body$ LANGUAGE plpgsql;",
            "INSERT INTO t VALUES ('line one\n\\line two');",
            "INSERT INTO t VALUES (\"a\n\\b\");",
            "/* a note\n\\connect other\n*/ SELECT 1;",
            "SELECT 'a\\';\n\\connect other\nSELECT 'b';",
            "CREATE TABLE t (\n  id INT,\n  delimiter TEXT\n);",
            "CREATE TABLE t (id INT, sep TEXT DEFAULT '\nDELIMITER x');",
            "SELECT a\\b FROM t;",
            "SELECT 1; -- \\connect b\n",
        ] {
            assert_eq!(command(sql), None, "{sql}");
        }
    }

    #[test]
    fn what_is_left_open_at_the_end() {
        assert_eq!(
            open_at_end("INSERT INTO t VALUES ('one\n"),
            Some((Open::String, 22))
        );
        assert_eq!(
            open_at_end("SELECT 1; /* note\n"),
            Some((Open::BlockComment, 10))
        );
        assert_eq!(open_at_end("SELECT 'a''b'; -- it's\n"), None);
        // Open only in PostgreSQL's reading: not every dialect agrees.
        assert_eq!(open_at_end("SELECT $$ one\n"), None);
        // Open only in MySQL's reading, closed in the others.
        assert_eq!(open_at_end("SELECT 'a\\';\n"), None);
    }

    #[test]
    fn unterminated_input_does_not_panic() {
        for sql in [
            "'",
            "\"",
            "/*",
            "$a$",
            "[",
            "`",
            "$",
            "x$",
            "\\",
            "--",
            "#",
            "delimiter",
        ] {
            let _ = client_command(sql);
            let _ = open_at_end(sql);
        }
    }
}
