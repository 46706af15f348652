//! Splitting a section's SQL into statements.
//!
//! Terrace runs a migration one statement at a time so that a failure can name the
//! statement at fault, and because some drivers take one statement per call. The
//! splitter knows each dialect's quoting and comments, PostgreSQL dollar quotes, and
//! the bodies of triggers and routines, whose inner `;` do not end the statement. It
//! splits where each database's own client would:
//!
//! - SQLite, as `sqlite3_complete`: only `CREATE [TEMP] TRIGGER` has a body, and only
//!   `; END ;` closes it, so `NEW.end` inside it is a name. (A `;` before the body's
//!   `BEGIN`, an error in SQLite, ends the statement.)
//! - PostgreSQL, as psql: a `;` inside parentheses (a rule's `DO ALSO ( … ; … )`) or
//!   inside the `BEGIN ATOMIC … END` body of `CREATE [OR REPLACE] FUNCTION` or
//!   `PROCEDURE` does not split; dollar-quoted bodies are literals. `begin` elsewhere
//!   (a column's name) opens nothing.
//! - MySQL and MariaDB, as the `mysql` client after the `DELIMITER` dance: the body of
//!   a trigger (after `FOR EACH ROW`), routine (after its parameters and
//!   characteristics) or event (after `DO`), and MariaDB's compound statements outside
//!   them (`BEGIN NOT ATOMIC`, `IF`, `CASE`, `LOOP`, `WHILE`, `REPEAT`, `FOR`), are
//!   kept whole. Blocks open only where a statement can start (`BEGIN`, `IF`, `CASE`,
//!   `LOOP`, `WHILE`, `REPEAT`, `FOR`, after a `label:`), a `CASE` expression anywhere,
//!   and `END` closes one; a word after `.` is always a name. `/*! … */` and
//!   `/*M! … */` are code the server runs, not comments, and `--` starts a comment only
//!   before whitespace or the end (`a--1` is `a - -1`).
//!
//! Every character Rust counts as whitespace (a vertical tab, a no-break space,
//! U+2028 …) separates tokens, and a piece holding only whitespace and comments is no
//! statement. Splitting reads the text once.
//!
//! MySQL client-side `DELIMITER` lines and psql meta-commands are not SQL: reading a
//! file refuses them (see [`client_command`](crate::client_command)) before anything
//! is split.

use crate::lex::{self, is_word_byte};

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
        text: sql,
        sql: sql.as_bytes(),
        dialect,
        pos: 0,
    }
    .run()
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

/// What the lexer hands the dialect's block tracker (a `;` has its own call).
/// Whitespace and comments are not tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Token<'a> {
    /// A bare word: a keyword or an unquoted name.
    Word(&'a [u8]),
    Open,
    Close,
    Dot,
    Colon,
    /// Anything else: a literal, a quoted name, a number, an operator.
    Other,
}

struct Splitter<'a> {
    text: &'a str,
    sql: &'a [u8],
    dialect: Dialect,
    pos: usize,
}

impl<'a> Splitter<'a> {
    fn peek(&self, ahead: usize) -> Option<u8> {
        self.sql.get(self.pos + ahead).copied()
    }

    /// The character at `pos` if it is whitespace outside ASCII, with its length.
    fn unicode_space(&self) -> Option<usize> {
        let c = self.text.get(self.pos..)?.chars().next()?;
        (!c.is_ascii() && c.is_whitespace()).then(|| c.len_utf8())
    }

    fn run(mut self) -> Vec<Statement<'a>> {
        let text = self.text;
        let mut out = Vec::new();
        let mut lines = Lines::new();
        // Where the current statement's first code (not comment) byte is.
        let mut code_start: Option<usize> = None;
        let mut blocks = Blocks::new(self.dialect);
        while let Some(byte) = self.peek(0) {
            let start = self.pos;
            let token = match byte {
                b'-' if self.peek(1) == Some(b'-') && self.dash_comment() => {
                    self.skip_line();
                    continue;
                }
                b'#' if self.dialect == Dialect::Mysql => {
                    self.skip_line();
                    continue;
                }
                b'/' if self.peek(1) == Some(b'*') => {
                    if let Some(opener) = self.executable_comment() {
                        // MySQL runs the text of `/*! … */` (and MariaDB `/*M! … */`):
                        // it is code, read as such up to its `*/`.
                        self.pos += opener;
                        while self.peek(0).is_some_and(|b| b.is_ascii_digit()) {
                            self.pos += 1;
                        }
                        Token::Other
                    } else {
                        self.skip_block_comment();
                        continue;
                    }
                }
                b'\'' => {
                    let backslash = lex::backslash_string(self.sql, self.pos, self.dialect);
                    self.skip_quoted(b'\'', backslash);
                    Token::Other
                }
                b'"' => {
                    self.skip_quoted(b'"', self.dialect == Dialect::Mysql);
                    Token::Other
                }
                b'`' if self.dialect != Dialect::Postgres => {
                    self.skip_quoted(b'`', false);
                    Token::Other
                }
                b'[' if self.dialect == Dialect::Sqlite => {
                    self.skip_quoted(b']', false);
                    Token::Other
                }
                b'$' if self.dialect == Dialect::Postgres && self.at_dollar_tag().is_some() => {
                    self.skip_dollar_quoted();
                    Token::Other
                }
                b';' => {
                    self.pos += 1;
                    if blocks.semicolon_ends_statement() {
                        if let Some(code) = code_start.take() {
                            out.push(lines.statement(text, code, start));
                        }
                        blocks = Blocks::new(self.dialect);
                    } else {
                        code_start.get_or_insert(start);
                    }
                    continue;
                }
                b if b.is_ascii_whitespace() || b == 0x0b => {
                    self.pos += 1;
                    continue;
                }
                b if b >= 0x80 && self.unicode_space().is_some() => {
                    self.pos += self.unicode_space().unwrap_or(1);
                    continue;
                }
                b if b.is_ascii_digit() => {
                    // A number (or a MySQL name starting with a digit): never a keyword.
                    self.skip_word();
                    Token::Other
                }
                b if is_word_byte(b) => {
                    self.skip_word();
                    Token::Word(&self.sql[start..self.pos])
                }
                other => {
                    self.pos += 1;
                    match other {
                        b'(' => Token::Open,
                        b')' => Token::Close,
                        b'.' => Token::Dot,
                        b':' => Token::Colon,
                        _ => Token::Other,
                    }
                }
            };
            code_start.get_or_insert(start);
            blocks.token(token);
        }
        if let Some(code) = code_start {
            out.push(lines.statement(text, code, self.sql.len()));
        }
        out
    }

    fn dash_comment(&self) -> bool {
        lex::dash_starts_comment(self.sql, self.pos, self.dialect)
    }

    /// The length of a MySQL executable comment's opener (`/*!` or `/*M!`) at `pos`.
    fn executable_comment(&self) -> Option<usize> {
        if self.dialect != Dialect::Mysql {
            return None;
        }
        match (self.peek(2), self.peek(3)) {
            (Some(b'!'), _) => Some(3),
            (Some(b'M'), Some(b'!')) => Some(4),
            _ => None,
        }
    }

    /// Skips a run of word characters (`$` included, as in names like `a$b`), up to
    /// whitespace of any script.
    fn skip_word(&mut self) {
        while let Some(b) = self.peek(0) {
            if b < 0x80 {
                if !(is_word_byte(b) || b == b'$') {
                    return;
                }
                self.pos += 1;
            } else {
                if self.unicode_space().is_some() {
                    return;
                }
                let len = self
                    .text
                    .get(self.pos..)
                    .and_then(|rest| rest.chars().next())
                    .map_or(1, char::len_utf8);
                self.pos += len;
            }
        }
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
        self.pos =
            lex::block_comment_end(self.sql, self.pos, self.dialect).unwrap_or(self.sql.len());
    }

    /// Skips a quoted run opened at `pos` (see [`lex::quoted_end`]).
    fn skip_quoted(&mut self, close: u8, backslash: bool) {
        self.pos = lex::quoted_end(self.text, self.pos, close, backslash).unwrap_or(self.sql.len());
    }

    /// The length of a `$tag$` opener at `pos`, if there is one.
    fn at_dollar_tag(&self) -> Option<usize> {
        lex::dollar_tag_len(self.text, self.pos)
    }

    fn skip_dollar_quoted(&mut self) {
        if let Some(len) = self.at_dollar_tag() {
            self.pos = lex::dollar_quoted_end(self.sql, self.pos, len).unwrap_or(self.sql.len());
        }
    }
}

/// Whether `word` is `keyword`, in any case.
fn is(word: &[u8], keyword: &str) -> bool {
    word.eq_ignore_ascii_case(keyword.as_bytes())
}

/// Whether `word` is one of `keywords`, in any case.
fn is_any(word: &[u8], keywords: &[&str]) -> bool {
    keywords.iter().any(|k| is(word, k))
}

/// The state that decides whether a `;` ends the statement: the bodies of triggers
/// and routines whose inner `;` do not, each dialect as its own client reads them.
enum Blocks {
    /// SQLite's `sqlite3_complete`: only a trigger has a body, and only `; END ;`
    /// closes it (once its `BEGIN` is read).
    Sqlite(SqliteState),
    /// psql: parentheses, and `BEGIN … END` in `CREATE [OR REPLACE] FUNCTION` or
    /// `PROCEDURE` (SQL-standard bodies; dollar-quoted ones are literals).
    Postgres(Postgres),
    /// MySQL and MariaDB compound statements (no client splits those: `DELIMITER`
    /// does its work here).
    Mysql(Box<Mysql>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SqliteState {
    /// At the start: nothing but `EXPLAIN` seen.
    Start,
    Explain,
    /// `CREATE` (and maybe `TEMP`) seen first.
    Create,
    /// Any other statement.
    Normal,
    /// A trigger before its `BEGIN`. (`sqlite3_complete` reads on to `; END ;` from
    /// `CREATE TRIGGER`, but a `;` before the body is an error in SQLite: ending the
    /// statement there lets the error name it, and keeps the rest of a file written
    /// for another database, with triggers that have no `BEGIN`, readable.)
    TriggerHeader,
    /// Inside a trigger's body.
    Trigger,
    /// A `;` inside a trigger's body.
    TriggerSemi,
    /// `; END` inside a trigger's body.
    TriggerEnd,
}

#[derive(Default)]
struct Postgres {
    parens: usize,
    /// How many leading words matched `CREATE [OR REPLACE] FUNCTION|PROCEDURE`.
    words: usize,
    routine: bool,
    /// Still matching the leading words.
    matching: bool,
    depth: usize,
    after_dot: bool,
}

impl Blocks {
    fn new(dialect: Dialect) -> Blocks {
        match dialect {
            Dialect::Sqlite => Blocks::Sqlite(SqliteState::Start),
            Dialect::Postgres => Blocks::Postgres(Postgres {
                matching: true,
                ..Postgres::default()
            }),
            Dialect::Mysql => Blocks::Mysql(Box::default()),
        }
    }

    fn semicolon_ends_statement(&mut self) -> bool {
        match self {
            Blocks::Sqlite(state) => match state {
                SqliteState::Trigger | SqliteState::TriggerSemi => {
                    *state = SqliteState::TriggerSemi;
                    false
                }
                _ => true,
            },
            Blocks::Postgres(pg) => {
                pg.after_dot = false;
                pg.parens == 0 && pg.depth == 0
            }
            Blocks::Mysql(my) => my.semicolon(),
        }
    }

    fn token(&mut self, token: Token<'_>) {
        match self {
            Blocks::Sqlite(state) => *state = sqlite_step(*state, token),
            Blocks::Postgres(pg) => pg.token(token),
            Blocks::Mysql(my) => my.token(token),
        }
    }
}

/// `sqlite3_complete`'s state machine, one token at a time.
fn sqlite_step(state: SqliteState, token: Token<'_>) -> SqliteState {
    use SqliteState::*;
    let word = match token {
        Token::Word(word) => word,
        _ => b"",
    };
    let (explain, create) = (is(word, "EXPLAIN"), is(word, "CREATE"));
    let temp = is_any(word, &["TEMP", "TEMPORARY"]);
    let (trigger, end) = (is(word, "TRIGGER"), is(word, "END"));
    let keyword = explain || create || temp || trigger || end;
    match state {
        Start if explain => Explain,
        Start | Explain if create => Create,
        Explain if !keyword => Explain,
        Create if temp => Create,
        Create if trigger => TriggerHeader,
        Start | Explain | Create | Normal => Normal,
        TriggerHeader if is(word, "BEGIN") => Trigger,
        TriggerHeader => TriggerHeader,
        TriggerSemi if end => TriggerEnd,
        Trigger | TriggerSemi | TriggerEnd => Trigger,
    }
}

impl Postgres {
    fn token(&mut self, token: Token<'_>) {
        let after_dot = std::mem::replace(&mut self.after_dot, token == Token::Dot);
        match token {
            Token::Open => self.parens += 1,
            Token::Close => self.parens = self.parens.saturating_sub(1),
            Token::Word(word) => {
                if self.matching {
                    self.words += 1;
                    let expected: &[&str] = match self.words {
                        1 => &["CREATE"],
                        2 => &["OR", "FUNCTION", "PROCEDURE"],
                        3 => &["REPLACE"],
                        _ => &["FUNCTION", "PROCEDURE"],
                    };
                    self.matching = is_any(word, expected);
                    if self.matching && is_any(word, &["FUNCTION", "PROCEDURE"]) {
                        self.routine = true;
                        self.matching = false;
                    }
                } else if self.routine && self.parens == 0 && !after_dot {
                    if is(word, "BEGIN") || (is(word, "CASE") && self.depth > 0) {
                        self.depth += 1;
                    } else if is(word, "END") {
                        self.depth = self.depth.saturating_sub(1);
                    }
                }
            }
            _ => {}
        }
        if !matches!(token, Token::Word(_)) {
            self.matching = false;
        }
    }
}

/// What a MySQL statement is, as far as its bodies go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum MysqlKind {
    /// Nothing read yet.
    #[default]
    Start,
    /// `BEGIN` first: a transaction, unless `NOT ATOMIC` follows.
    Begin,
    /// `CREATE` or `ALTER` and the words before the object type. `definer` counts the
    /// words a `DEFINER = user@host` clause may still take.
    Create { alter: bool, definer: u8 },
    /// A trigger before `FOR EACH ROW`; `each` after `EACH`.
    TriggerHeader { each: bool },
    /// An event before its `DO`.
    EventHeader,
    /// A routine before the end of its parameter list.
    RoutineHeader,
    /// A body (or a compound statement) is being read.
    Body,
    /// A statement with no body.
    Plain,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MysqlBlock {
    Begin,
    If,
    /// A `CASE` statement (its branches hold statements).
    CaseStatement,
    /// A `CASE` expression.
    CaseExpression,
    Loop,
    While,
    Repeat,
    For,
}

#[derive(Default)]
struct Mysql {
    kind: MysqlKind,
    blocks: Vec<MysqlBlock>,
    parens: usize,
    /// The next word stands where a statement can start, so `BEGIN`, `IF`, `LOOP` …
    /// open blocks there.
    statement_start: bool,
    /// A routine's characteristics and return type, before its body: like
    /// `statement_start`, but words that cannot start a statement keep it.
    routine_header: bool,
    /// The last word might be a label (a `:` follows it).
    maybe_label: bool,
    /// The next name belongs to `FOLLOWS`/`PRECEDES` in a trigger's header.
    trigger_order: bool,
    /// The last word was `END`: an `IF`, `LOOP` … after it closes, not opens.
    after_end: bool,
    after_dot: bool,
    /// Within `DECLARE … HANDLER FOR …`, whose body may be a `BEGIN … END`.
    handler: bool,
    /// The last word was `CHARACTER` (so `SET` names a character set).
    after_character: bool,
    /// After `BEGIN NOT`: `ATOMIC` keeps the statement start.
    not_atomic: bool,
    /// In a `REPEAT`'s `UNTIL` condition, which its `END` follows.
    until: bool,
}

/// Words that start a statement, ending a routine's header.
const STATEMENT_WORDS: &[&str] = &[
    "SELECT",
    "INSERT",
    "UPDATE",
    "DELETE",
    "REPLACE",
    "RETURN",
    "CALL",
    "SET",
    "DO",
    "WITH",
    "DECLARE",
    "CREATE",
    "DROP",
    "ALTER",
    "TRUNCATE",
    "RENAME",
    "SIGNAL",
    "RESIGNAL",
    "LEAVE",
    "ITERATE",
    "OPEN",
    "CLOSE",
    "FETCH",
    "PREPARE",
    "EXECUTE",
    "DEALLOCATE",
    "START",
    "COMMIT",
    "ROLLBACK",
    "VALUES",
    "TABLE",
    "SHOW",
    "LOCK",
    "UNLOCK",
    "GRANT",
    "REVOKE",
    "ANALYZE",
    "OPTIMIZE",
    "LOAD",
    "FLUSH",
    "KILL",
];

impl Mysql {
    fn semicolon(&mut self) -> bool {
        if self.blocks.is_empty() {
            return true;
        }
        self.statement_start = true;
        self.routine_header = false;
        self.handler = false;
        self.maybe_label = false;
        self.after_end = false;
        self.after_dot = false;
        self.trigger_order = false;
        false
    }

    fn open(&mut self, block: MysqlBlock) {
        self.blocks.push(block);
        self.kind = MysqlKind::Body;
        self.routine_header = false;
        self.statement_start = matches!(
            block,
            MysqlBlock::Begin | MysqlBlock::Loop | MysqlBlock::Repeat
        );
    }

    fn token(&mut self, token: Token<'_>) {
        let after_dot = std::mem::replace(&mut self.after_dot, token == Token::Dot);
        let after_end = std::mem::replace(&mut self.after_end, false);
        let maybe_label = std::mem::replace(&mut self.maybe_label, false);
        let after_character = std::mem::replace(&mut self.after_character, false);
        let not_atomic = std::mem::replace(&mut self.not_atomic, false);
        match token {
            Token::Open => self.parens += 1,
            Token::Close => {
                self.parens = self.parens.saturating_sub(1);
                if self.kind == MysqlKind::RoutineHeader && self.parens == 0 {
                    self.kind = MysqlKind::Body;
                    self.statement_start = true;
                    self.routine_header = true;
                    return;
                }
            }
            Token::Colon if maybe_label => {
                // `label:` keeps the statement start.
                self.statement_start = true;
                return;
            }
            Token::Word(word) if !after_dot => {
                self.word(word, after_end, after_character, not_atomic);
                return;
            }
            _ => {}
        }
        if self.trigger_order && !matches!(token, Token::Dot) {
            // The name after `FOLLOWS`: the body starts after it.
            self.trigger_order = false;
            return;
        }
        if !self.routine_header && token != Token::Dot {
            self.statement_start = false;
        }
    }

    fn word(&mut self, word: &[u8], after_end: bool, after_character: bool, not_atomic: bool) {
        use MysqlBlock as B;
        use MysqlKind as K;
        const OPENERS: [&str; 6] = ["IF", "CASE", "LOOP", "WHILE", "REPEAT", "FOR"];
        self.after_character = is(word, "CHARACTER");
        match self.kind {
            K::Start => {
                self.kind = if is_any(word, &["CREATE", "ALTER"]) {
                    K::Create {
                        alter: is(word, "ALTER"),
                        definer: 0,
                    }
                } else if is(word, "BEGIN") {
                    K::Begin
                } else if is_any(word, &OPENERS) {
                    // MariaDB runs compound statements outside stored programs.
                    self.statement_start = true;
                    K::Body
                } else {
                    K::Plain
                };
                if self.kind != K::Body {
                    return;
                }
            }
            K::Begin => {
                self.kind = K::Plain;
                if is(word, "NOT") {
                    self.open(B::Begin);
                    self.statement_start = false;
                    self.not_atomic = true;
                }
                return;
            }
            K::Create { alter, definer } => {
                self.kind = if is(word, "EVENT") {
                    K::EventHeader
                } else if alter {
                    if is(word, "DEFINER") {
                        K::Create { alter, definer: 2 }
                    } else if definer > 0 {
                        K::Create {
                            alter,
                            definer: definer - 1,
                        }
                    } else {
                        K::Plain
                    }
                } else if is(word, "TRIGGER") {
                    K::TriggerHeader { each: false }
                } else if is_any(word, &["PROCEDURE", "FUNCTION"]) {
                    K::RoutineHeader
                } else if is(word, "DEFINER") {
                    K::Create { alter, definer: 2 }
                } else if is_any(word, &["OR", "REPLACE", "AGGREGATE"]) {
                    K::Create { alter, definer }
                } else if definer > 0 {
                    K::Create {
                        alter,
                        definer: definer - 1,
                    }
                } else {
                    K::Plain
                };
                return;
            }
            K::TriggerHeader { each } => {
                if each && is(word, "ROW") {
                    self.kind = K::Body;
                    self.statement_start = true;
                } else {
                    self.kind = K::TriggerHeader {
                        each: is(word, "EACH"),
                    };
                }
                return;
            }
            K::EventHeader => {
                if is(word, "DO") && self.parens == 0 {
                    self.kind = K::Body;
                    self.statement_start = true;
                }
                return;
            }
            K::RoutineHeader | K::Plain => return,
            K::Body => {}
        }
        if after_end && is_any(word, &OPENERS) {
            return; // `END IF`: the END closed it
        }
        if self.trigger_order {
            self.trigger_order = false;
            return;
        }
        if not_atomic && is(word, "ATOMIC") {
            self.statement_start = true;
            return;
        }
        let top = self.blocks.last().copied();
        if is(word, "UNTIL") && top == Some(B::Repeat) {
            self.until = true;
            self.statement_start = false;
            return;
        }
        if self.statement_start {
            let opened = if is(word, "BEGIN") {
                Some(B::Begin)
            } else if is(word, "IF") {
                Some(B::If)
            } else if is(word, "CASE") {
                Some(B::CaseStatement)
            } else if is(word, "LOOP") {
                Some(B::Loop)
            } else if is(word, "WHILE") {
                Some(B::While)
            } else if is(word, "REPEAT") {
                Some(B::Repeat)
            } else if is(word, "FOR") {
                Some(B::For)
            } else {
                None
            };
            if let Some(block) = opened {
                self.open(block);
                return;
            }
            if self.blocks.is_empty() && is_any(word, &["FOLLOWS", "PRECEDES"]) {
                self.trigger_order = true;
                return;
            }
            if is(word, "ELSE") && matches!(top, Some(B::If | B::CaseStatement)) {
                return;
            }
            if !is(word, "END") {
                self.maybe_label = true;
                if self.routine_header
                    && !(is_any(word, STATEMENT_WORDS) && !(after_character && is(word, "SET")))
                {
                    return; // a characteristic or the return type
                }
                self.routine_header = false;
                self.statement_start = false;
                return;
            }
        }
        let at_start = std::mem::replace(&mut self.statement_start, false);
        self.routine_header = false;
        if is(word, "END") {
            // A block's `END` stands where a statement could (after a `;` or its
            // opener); a `CASE` expression's anywhere. Elsewhere `end` is a name, as in
            // `SELECT start, end FROM event`.
            // `REPEAT`'s comes after its `UNTIL` condition.
            if at_start || top == Some(B::CaseExpression) || self.until {
                self.blocks.pop();
                self.after_end = true;
                self.until = false;
            }
        } else if is(word, "CASE") {
            self.blocks.push(B::CaseExpression);
        } else if is(word, "BEGIN") && self.handler {
            self.handler = false;
            self.open(B::Begin);
        } else if is_any(word, &["THEN", "ELSE"]) {
            self.statement_start = matches!(top, Some(B::If | B::CaseStatement));
        } else if is(word, "DO") {
            self.statement_start = matches!(top, Some(B::While | B::For));
        } else if is(word, "HANDLER") {
            self.handler = true;
        }
    }
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
    fn transaction_control_after_a_trigger_without_a_body_is_found() {
        // A trigger with no `BEGIN` (PostgreSQL's, or MySQL's one-statement body) ends
        // at its `;` in SQLite's split too: there it could only be an error.
        for trigger in [
            "CREATE TRIGGER t BEFORE INSERT ON a FOR EACH ROW EXECUTE FUNCTION f();",
            "CREATE TRIGGER t BEFORE INSERT ON a FOR EACH ROW SET NEW.x = 1;",
        ] {
            let sql = format!("{trigger}\nCOMMIT;");
            assert_eq!(control(&sql), Some(("COMMIT", 2)), "{sql}");
        }
        assert_eq!(
            texts(
                "CREATE TRIGGER t AFTER INSERT ON a FOR EACH ROW EXECUTE FUNCTION f(); SELECT 1;",
                Dialect::Sqlite
            )
            .len(),
            2
        );
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

    #[test]
    fn mysql_executable_comments_are_code() {
        assert_eq!(
            texts(
                "/*!40101 SET NAMES utf8mb4 */;\n/*!50001 CREATE TABLE audit (id INT PRIMARY KEY) */;\n/*M!100316 SET @a = 1 */;\n/* plain */;",
                Dialect::Mysql
            ),
            [
                "/*!40101 SET NAMES utf8mb4 */",
                "/*!50001 CREATE TABLE audit (id INT PRIMARY KEY) */",
                "/*M!100316 SET @a = 1 */"
            ]
        );
        // Elsewhere they are comments like any other.
        assert!(texts("/*!40101 SET NAMES utf8mb4 */;", Dialect::Postgres).is_empty());
        assert!(texts("/*!40101 SET NAMES utf8mb4 */;", Dialect::Sqlite).is_empty());
        // A routine body inside one is kept whole.
        let sql = "/*!50003 CREATE TRIGGER t BEFORE INSERT ON a FOR EACH ROW BEGIN SET NEW.x = 1; SET NEW.y = 2; END */;\nSELECT 1;";
        assert_eq!(texts(sql, Dialect::Mysql).len(), 2);
        // As mysqldump writes a trigger (its `DELIMITER ;;` lines left out).
        let dumped = "/*!50003 CREATE*/ /*!50017 DEFINER=`root`@`localhost`*/ /*!50003 TRIGGER `t` BEFORE INSERT ON `a` FOR EACH ROW BEGIN\n  SET NEW.x = 1;\n  SET NEW.y = 2;\nEND */";
        assert_eq!(
            texts(&format!("{dumped};;\nSELECT 1;"), Dialect::Mysql),
            [dumped, "SELECT 1"]
        );
    }

    #[test]
    fn mysql_double_dash_needs_whitespace() {
        assert_eq!(
            texts("SELECT a--1;\nSELECT 2;", Dialect::Mysql),
            ["SELECT a--1", "SELECT 2"]
        );
        assert_eq!(
            texts("SELECT 1; --\tnote;\nSELECT 2; --", Dialect::Mysql),
            ["SELECT 1", "SELECT 2"]
        );
        assert_eq!(
            texts("SELECT a--1;\nSELECT 2;", Dialect::Sqlite),
            ["SELECT a--1;\nSELECT 2"]
        );
    }

    #[test]
    fn keywords_after_a_dot_are_names() {
        let sqlite = "CREATE TRIGGER t AFTER INSERT ON event BEGIN\n  UPDATE event SET span = NEW.end - NEW.start WHERE id = NEW.id;\nEND;\nSELECT 1;";
        assert_eq!(texts(sqlite, Dialect::Sqlite).len(), 2);
        let mysql = "CREATE TRIGGER t BEFORE INSERT ON event FOR EACH ROW BEGIN\n  SET NEW.span = NEW.end - NEW.begin;\nEND;\nSELECT 1;";
        assert_eq!(texts(mysql, Dialect::Mysql).len(), 2);
    }

    #[test]
    fn begin_as_a_name_opens_no_block() {
        for dialect in [Dialect::Postgres, Dialect::Mysql, Dialect::Sqlite] {
            assert_eq!(
                texts(
                    "ALTER TABLE event ADD COLUMN begin timestamptz;\nCREATE TABLE trigger_log (begin INT, end INT);\nSELECT 1;",
                    dialect
                )
                .len(),
                3,
                "{dialect:?}"
            );
        }
        // A PostgreSQL function's body in dollar quotes needs no block tracking, and
        // its parameters may be named like keywords.
        let sql = "CREATE FUNCTION f(begin int, \"end\" int) RETURNS int LANGUAGE plpgsql AS $$ BEGIN RETURN 1; END $$;\nSELECT 1;";
        assert_eq!(texts(sql, Dialect::Postgres).len(), 2);
        // A SQL-standard body does.
        let sql = "CREATE OR REPLACE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC\n  SELECT CASE WHEN true THEN 1 END;\n  SELECT 2;\nEND;\nSELECT 3;";
        assert_eq!(texts(sql, Dialect::Postgres).len(), 2);
        let sql = "CREATE PROCEDURE p() BEGIN ATOMIC INSERT INTO a VALUES (1); END;\nSELECT 3;";
        assert_eq!(texts(sql, Dialect::Postgres).len(), 2);
    }

    #[test]
    fn mysql_compound_bodies_without_begin() {
        for sql in [
            "CREATE TRIGGER t BEFORE INSERT ON a FOR EACH ROW IF NEW.x IS NULL THEN SET NEW.x = 0; ELSEIF NEW.x < 0 THEN SET NEW.x = 1; ELSE SET NEW.y = 2; END IF",
            "CREATE TRIGGER t BEFORE INSERT ON a FOR EACH ROW FOLLOWS other CASE NEW.x WHEN 1 THEN SET NEW.y = 1; ELSE SET NEW.y = 2; END CASE",
            "CREATE PROCEDURE p() l1: LOOP SELECT 1; LEAVE l1; END LOOP l1",
            "CREATE PROCEDURE p() BEGIN SELECT 1; l2: WHILE 1 DO LEAVE l2; END WHILE l2; END",
            "CREATE PROCEDURE p(n INT) WHILE n > 0 DO SET n = n - 1; END WHILE",
            "CREATE DEFINER = root@localhost PROCEDURE p(n INT) REPEAT SET n = n - 1; UNTIL n < 0 END REPEAT",
            "CREATE FUNCTION f(n INT) RETURNS VARCHAR(10) CHARACTER SET utf8mb4 DETERMINISTIC IF n > 0 THEN RETURN 'a'; ELSE RETURN 'b'; END IF",
            "CREATE PROCEDURE p() BEGIN\n  SET @a = CASE WHEN 1 THEN IF(1, 2, 3) ELSE 4 END;\n  IF @a THEN SELECT 1; END IF;\n  CASE WHEN @a THEN SELECT REPEAT('x', 2); END CASE;\n  DECLARE EXIT HANDLER FOR SQLEXCEPTION BEGIN ROLLBACK; RESIGNAL; END;\nEND",
            "CREATE PROCEDURE p() BEGIN\n  FOR i IN 1..3 DO INSERT INTO a VALUES (i); END FOR;\nEND",
            "BEGIN NOT ATOMIC\n  FOR i IN 1..3 DO INSERT INTO a VALUES (i); END FOR;\n  IF 1 THEN SELECT 1; END IF;\nEND",
            "IF @a THEN SELECT 1; END IF",
            "CREATE EVENT e ON SCHEDULE EVERY 1 DAY DO BEGIN DELETE FROM a; DELETE FROM b; END",
            "CREATE TRIGGER t BEFORE INSERT ON event FOR EACH ROW BEGIN\n  SET NEW.span = (SELECT MAX(end) FROM event) - NEW.start;\n  INSERT INTO log SELECT start, end FROM event;\nEND",
            "CREATE PROCEDURE p() BEGIN\n  DECLARE done INT DEFAULT 0;\n  DECLARE c CURSOR FOR SELECT id FROM a;\n  DECLARE CONTINUE HANDLER FOR NOT FOUND SET done = 1;\n  OPEN c;\n  read_loop: LOOP\n    FETCH c INTO @x;\n    IF done THEN LEAVE read_loop; END IF;\n  END LOOP;\n  CLOSE c;\nEND",
            "CREATE FUNCTION f() RETURNS INT BEGIN RETURN (SELECT CASE WHEN 1 THEN 2 END); END",
            "CREATE PROCEDURE p() BEGIN END",
        ] {
            let file = format!("{sql};\nSELECT 9;");
            assert_eq!(texts(&file, Dialect::Mysql), [sql, "SELECT 9"], "{sql}");
        }
        // Single-statement bodies end at their `;`, whatever functions they call.
        for sql in [
            "CREATE FUNCTION f(n INT) RETURNS INT DETERMINISTIC RETURN IF(n > 0, 1, 2)",
            "CREATE PROCEDURE p() SELECT REPEAT('x', 3), IF(1, 2, 3)",
            "CREATE TRIGGER t BEFORE INSERT ON a FOR EACH ROW SET NEW.x = IF(NEW.x, 1, 2)",
            "CREATE TRIGGER t BEFORE INSERT ON a FOR EACH ROW SET NEW.x = CASE WHEN NEW.x THEN 1 END",
            "CREATE TABLE IF NOT EXISTS event (begin INT)",
            "DROP PROCEDURE IF EXISTS p",
        ] {
            let file = format!("{sql};\nSELECT 9;");
            assert_eq!(texts(&file, Dialect::Mysql), [sql, "SELECT 9"], "{sql}");
        }
    }

    #[test]
    fn postgres_parentheses_hide_semicolons() {
        let rule = "CREATE RULE r AS ON INSERT TO a DO ALSO (INSERT INTO log VALUES (1); INSERT INTO log VALUES (2))";
        assert_eq!(
            texts(&format!("{rule};\nSELECT 1;"), Dialect::Postgres),
            [rule, "SELECT 1"]
        );
    }

    #[test]
    fn every_unicode_whitespace_is_whitespace() {
        for dialect in [Dialect::Sqlite, Dialect::Postgres, Dialect::Mysql] {
            let sql = "SELECT 1;\u{0B};\u{0C}\u{A0};\u{2028}\u{3000};\u{85}\u{2029}\u{202F}SELECT 2\u{A0};\u{A0}";
            let statements = split_statements(sql, dialect);
            assert_eq!(
                statements.iter().map(|s| s.text).collect::<Vec<_>>(),
                ["SELECT 1", "SELECT 2"],
                "{dialect:?}"
            );
        }
        // Words end at whitespace too: `END` followed by a no-break space closes.
        let sql = "CREATE TRIGGER t AFTER INSERT ON a BEGIN SELECT 1;\u{A0}END\u{A0};SELECT 2;";
        assert_eq!(texts(sql, Dialect::Sqlite).len(), 2);
    }
}
