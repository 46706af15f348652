//! Properties of [`split_statements`] over generated input, in every dialect: it never
//! panics, the statements appear in the input in order without overlap (nothing
//! duplicated), and what lies between them is only whitespace, `;` and comments
//! (nothing lost).
//!
//! The inputs are built from a vocabulary of SQL fragments by a small seeded generator,
//! then mutated; a failure prints its seed and input so it can be replayed. Set
//! `TERRACE_SPLIT_CASES` to run more cases than the default.
//!
//! Then a differential test: on a corpus of SQLite sections, every split point agrees
//! with SQLite's own parser.

use std::panic::{AssertUnwindSafe, catch_unwind};

use terrace_format::{Dialect, split_statements};

const DIALECTS: [Dialect; 3] = [Dialect::Sqlite, Dialect::Postgres, Dialect::Mysql];

/// Fragments the inputs are made of: keywords that open and close blocks, every kind of
/// quote and comment, half of each, identifiers named like keywords, and whitespace
/// Rust's `trim` removes.
const VOCABULARY: &[&str] = &[
    // Statements and block keywords.
    "CREATE TRIGGER t AFTER INSERT ON a",
    "CREATE TEMP TRIGGER t BEFORE UPDATE ON a FOR EACH ROW",
    "CREATE FUNCTION f() RETURNS int AS",
    "CREATE PROCEDURE p()",
    "CREATE EVENT e ON SCHEDULE EVERY 1 DAY DO",
    "CREATE TABLE a (id INT, x TEXT)",
    "CREATE RULE r AS ON INSERT TO a DO ALSO",
    "LANGUAGE plpgsql",
    "FOR EACH ROW",
    "BEGIN",
    "BEGIN NOT ATOMIC",
    "END",
    "END IF",
    "END CASE",
    "END LOOP",
    "END WHILE",
    "END REPEAT",
    "END FOR",
    "CASE",
    "CASE x WHEN 1 THEN",
    "WHEN 1 THEN 2",
    "ELSE",
    "IF x THEN",
    "LOOP",
    "WHILE 1 DO",
    "REPEAT",
    "UNTIL 1",
    "DECLARE n INT",
    "RETURN 1",
    "DO",
    "SELECT 1",
    "INSERT INTO a VALUES (1, 'x')",
    "UPDATE a SET x = NEW.end - NEW.begin",
    "DELETE FROM a",
    "COMMIT",
    "ROLLBACK",
    "START TRANSACTION",
    // Punctuation and numbers.
    "(",
    ")",
    ",",
    ".",
    "=",
    "-",
    "*",
    "/",
    "42",
    "0x1F",
    "1e5",
    "e",
    "E",
    // Quotes, whole and half.
    "'",
    "''",
    "'a;b'",
    "'it''s;'",
    "'a\\'",
    "'a\\';b'",
    "\\",
    "E'\\';'",
    "\"",
    "\"a;b\"",
    "\"\"",
    "`",
    "`c;d`",
    "[",
    "]",
    "[x;y]",
    "$",
    "$$",
    "$$;$$",
    "$tag$",
    "$tag$ BEGIN; END; $tag$",
    "$1",
    "a$b",
    "$a$;$b$;$a$",
    // Comments, whole and half.
    "--",
    "-- c;\n",
    "--;",
    "/*",
    "*/",
    "/* ; */",
    "/* /* ; */ */",
    "/*/",
    "#",
    "# c;\n",
    "/*!40101 SET NAMES utf8mb4 */",
    "/*M! SELECT 1 */",
    "/*!",
    // Terminators and ASCII whitespace.
    ";",
    ";",
    ";;",
    "\n",
    "\n",
    " ",
    " ",
    "\t",
    "\r\n",
    // Whitespace beyond ASCII: vertical tab, form feed, NBSP, line separator, ideographic.
    "\u{b}",
    "\u{c}",
    "\u{a0}",
    "\u{2028}",
    "\u{3000}",
    // Identifiers, some named like keywords.
    "t",
    "end_date",
    "begin_at",
    "trigger",
    "event",
    "\"end\"",
    "[begin]",
    "`case`",
    "é",
    "日本",
];

/// A small xorshift generator: deterministic, so a seed replays a failure.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        // Spread the seed so that neighbouring seeds do not start alike; never zero.
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// A number in `0..n` (`n > 0`).
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'v>(&mut self, from: &[&'v str]) -> &'v str {
        from[self.below(from.len())]
    }

    /// A char boundary of `text`, anywhere from its start to its end.
    fn boundary(&mut self, text: &str) -> usize {
        let mut at = self.below(text.len() + 1);
        while !text.is_char_boundary(at) {
            at -= 1;
        }
        at
    }
}

/// Up to 40 fragments joined by nothing, a space or a newline.
fn generate(rng: &mut Rng, vocabulary: &[&str]) -> String {
    let mut out = String::new();
    for _ in 0..1 + rng.below(40) {
        out.push_str(rng.pick(vocabulary));
        out.push_str(rng.pick(&["", " ", " ", "\n"]));
    }
    out
}

/// `input` with a few random edits: a range deleted or repeated, a fragment inserted,
/// the halves swapped.
fn mutate(rng: &mut Rng, input: &str, vocabulary: &[&str]) -> String {
    let mut text = input.to_owned();
    for _ in 0..1 + rng.below(4) {
        let a = rng.boundary(&text);
        let b = rng.boundary(&text);
        let (from, to) = (a.min(b), a.max(b));
        text = match rng.below(4) {
            0 => format!("{}{}", &text[..from], &text[to..]),
            1 => format!("{}{}", &text[..to], &text[from..]),
            2 => format!("{}{}{}", &text[..a], rng.pick(vocabulary), &text[a..]),
            _ => format!("{}{}", &text[a..], &text[..a]),
        };
    }
    text
}

/// Whether `rest` starts with a comment running to the end of the line.
fn line_comment(rest: &str, dialect: Dialect) -> bool {
    match dialect {
        // MySQL: `--` opens a comment only before whitespace or a control character,
        // so `a--1` is `a - -1`; `#` always does.
        Dialect::Mysql => {
            rest.starts_with('#')
                || rest.strip_prefix("--").is_some_and(|after| {
                    after
                        .chars()
                        .next()
                        .is_none_or(|c| c.is_whitespace() || c.is_control())
                })
        }
        Dialect::Sqlite | Dialect::Postgres => rest.starts_with("--"),
    }
}

/// Whether `rest` starts with a block comment (MySQL's `/*! … */` and MariaDB's
/// `/*M! … */` are executable: code, not comments).
fn block_comment(rest: &str, dialect: Dialect) -> bool {
    rest.starts_with("/*")
        && !(dialect == Dialect::Mysql && (rest.starts_with("/*!") || rest.starts_with("/*M!")))
}

/// `rest` after the block comment it starts with (nested in PostgreSQL; an unclosed one
/// runs to the end).
fn after_block_comment(rest: &str, dialect: Dialect) -> &str {
    let mut depth = 0usize;
    let mut at = 0;
    let bytes = rest.as_bytes();
    while at < bytes.len() {
        if bytes[at..].starts_with(b"/*") && (depth == 0 || dialect == Dialect::Postgres) {
            depth += 1;
            at += 2;
        } else if bytes[at..].starts_with(b"*/") {
            depth -= 1;
            at += 2;
            if depth == 0 {
                return &rest[at..];
            }
        } else {
            at += 1;
        }
    }
    ""
}

/// Checks that `gap`, text between two statements, holds only whitespace, `;` and
/// comments: anything else is code no statement carries.
fn check_gap(gap: &str, dialect: Dialect) -> Result<(), String> {
    let mut rest = gap;
    while let Some(c) = rest.chars().next() {
        if c.is_whitespace() || c == ';' {
            rest = &rest[c.len_utf8()..];
        } else if line_comment(rest, dialect) {
            rest = rest.split_once('\n').map_or("", |(_, next)| next);
        } else if block_comment(rest, dialect) {
            rest = after_block_comment(rest, dialect);
        } else {
            return Err(format!(
                "code in no statement: {rest:?} (of the gap {gap:?})"
            ));
        }
    }
    Ok(())
}

/// Splits `input` and checks every property; the error says which failed.
fn check(input: &str, dialect: Dialect) -> Result<(), String> {
    let statements = catch_unwind(AssertUnwindSafe(|| split_statements(input, dialect)))
        .map_err(|_| "split_statements panicked".to_owned())?;
    let base = input.as_ptr() as usize;
    let mut cursor = 0;
    for (index, statement) in statements.iter().enumerate() {
        let text = statement.text;
        let start = (text.as_ptr() as usize)
            .checked_sub(base)
            .filter(|start| start + text.len() <= input.len())
            .ok_or_else(|| format!("statement {index} {text:?} is not a slice of the input"))?;
        if start < cursor {
            return Err(format!(
                "statement {index} {text:?} starts at byte {start}, inside or before the \
                 previous statement (which ends at byte {cursor})"
            ));
        }
        if text.is_empty() {
            return Err(format!("statement {index} is empty (at byte {start})"));
        }
        if text.trim() != text {
            return Err(format!("statement {index} {text:?} is not trimmed"));
        }
        check_gap(&input[cursor..start], dialect)?;
        let line = 1 + input[..start].matches('\n').count();
        if statement.line != line {
            return Err(format!(
                "statement {index} {text:?} starts on line {line}, not {}",
                statement.line
            ));
        }
        // On its own, or terminated as it may have been in the input (a MySQL `--`
        // at the end of the text is a comment, before a `;` it is not).
        fn alone(sql: &str, dialect: Dialect) -> Vec<&str> {
            split_statements(sql, dialect)
                .iter()
                .map(|s| s.text)
                .collect()
        }
        let terminated = format!("{text};");
        if alone(text, dialect) != [text] && alone(&terminated, dialect) != [text] {
            let alone = alone(text, dialect);
            return Err(format!(
                "statement {index} {text:?} split on its own gives {alone:?}"
            ));
        }
        cursor = start + text.len();
    }
    check_gap(&input[cursor..], dialect)
}

fn assert_holds(input: &str, dialect: Dialect, seed: u64) {
    if let Err(why) = check(input, dialect) {
        panic!("{dialect:?}, seed {seed}: {why}\ninput: {input:?}");
    }
}

/// How many inputs each random test checks per dialect.
fn cases() -> u64 {
    std::env::var("TERRACE_SPLIT_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(3_000)
}

#[test]
fn random_inputs_split_without_loss_or_duplication() {
    for seed in 0..cases() {
        let mut rng = Rng::new(seed);
        let input = generate(&mut rng, VOCABULARY);
        for dialect in DIALECTS {
            assert_holds(&input, dialect, seed);
        }
    }
}

#[test]
fn mutated_inputs_split_without_loss_or_duplication() {
    for seed in 0..cases() {
        let mut rng = Rng::new(seed ^ 0xA5A5_0000);
        let input = generate(&mut rng, VOCABULARY);
        let input = mutate(&mut rng, &input, VOCABULARY);
        for dialect in DIALECTS {
            assert_holds(&input, dialect, seed);
        }
    }
}

#[test]
fn cases_fixed_by_the_splitter_hold() {
    // Each broke a property before the splitter followed each client's rules: MySQL's
    // executable comments were dropped and `--1` was a comment; whitespace beyond
    // ASCII's made empty statements or shifted line numbers.
    let cases: [(&str, &[Dialect]); 5] = [
        (
            "/*!40101 SET NAMES utf8mb4 */;\nCREATE TABLE a (id INT);",
            &[Dialect::Mysql],
        ),
        ("CREATE TABLE a (id INT);--1\nSELECT 2;", &[Dialect::Mysql]),
        ("CREATE TABLE a (id INT);\u{a0};", &DIALECTS),
        ("CREATE TABLE a (id INT);\u{b};", &DIALECTS),
        ("\u{2028}\nCREATE TABLE a (id INT);", &DIALECTS),
    ];
    for (input, dialects) in cases {
        for &dialect in dialects {
            check(input, dialect).unwrap_or_else(|why| panic!("{dialect:?}: {why}\n{input:?}"));
        }
    }
}

#[test]
fn the_checks_catch_loss_duplication_and_misplacement() {
    // The properties are only as good as the checker: it must refuse code left in a
    // gap, whatever the dialect's comments, and accept what is really a comment.
    assert!(check_gap(" ;\n-- c;\n/* x */ ;", Dialect::Sqlite).is_ok());
    assert!(check_gap("# c\n", Dialect::Mysql).is_ok());
    assert!(check_gap("-- c\n", Dialect::Mysql).is_ok());
    assert!(check_gap("/* a /* b */ c */", Dialect::Postgres).is_ok());
    assert!(check_gap("/* a /* b */ c */", Dialect::Sqlite).is_err());
    assert!(check_gap("# c\n", Dialect::Sqlite).is_err());
    assert!(check_gap("--1\n", Dialect::Mysql).is_err());
    assert!(check_gap("/*!40101 SET NAMES utf8mb4 */", Dialect::Mysql).is_err());
    assert!(check_gap("/*!40101 SET NAMES utf8mb4 */", Dialect::Sqlite).is_ok());
    assert!(check_gap("SELECT 1", Dialect::Postgres).is_err());
    assert!(check_gap("\u{a0}\u{2028}\u{b};", Dialect::Postgres).is_ok());
}

// SQLite differential: every split point agrees with SQLite's own.
//
// SQLite's reference split is its parser's: `rusqlite::Batch` prepares one statement at
// a time and continues from the tail SQLite returns, which is how the `sqlite3` shell
// runs what `sqlite3_complete` has gathered. Each statement is also run, so a corpus
// entry must be valid SQLite and later statements can use the tables of earlier ones.
// (`sqlite3_complete` itself is reachable only through unsafe code, which the
// workspace forbids.)

/// The byte offsets where SQLite ends each statement of `sql`: just past its `;`, or
/// the end of the text for a last statement without one.
fn sqlite_split_points(sql: &str) -> Result<Vec<usize>, String> {
    // `Batch::next` is a method of its own up to rusqlite 0.32 and fallible-iterator's
    // since 0.33: with that trait in scope, the same call compiles on both.
    #[allow(unused_imports, reason = "used from rusqlite 0.33 on")]
    use fallible_iterator::FallibleIterator as _;
    let conn = rusqlite::Connection::open_in_memory().map_err(|e| e.to_string())?;
    let mut batch = rusqlite::Batch::new(&conn, sql);
    let mut cursor = 0;
    let mut points = Vec::new();
    while let Some(mut statement) = batch.next().map_err(|e| format!("sqlite: {e}"))? {
        let text = statement
            .expanded_sql()
            .ok_or("sqlite gave no text for a statement")?;
        // The statement's text is the input from where preparing started (the previous
        // statement's tail, empty statements and comments included) up to its own tail.
        if !sql[cursor..].starts_with(&text) {
            return Err(format!(
                "sqlite's statement {text:?} does not start at byte {cursor}"
            ));
        }
        cursor += text.len();
        points.push(cursor);
        let mut rows = statement.raw_query();
        while rows
            .next()
            .map_err(|e| format!("sqlite: {e}: {text}"))?
            .is_some()
        {}
    }
    Ok(points)
}

/// The byte offsets where Terrace ends each statement of `sql`, on the same terms: just
/// past the `;` that closes it, or the end of the text.
fn terrace_split_points(sql: &str) -> Vec<usize> {
    split_statements(sql, Dialect::Sqlite)
        .iter()
        .map(|statement| {
            let end =
                statement.text.as_ptr() as usize - sql.as_ptr() as usize + statement.text.len();
            let after = &sql[end..];
            let blank = after.len() - after.trim_start().len();
            if after[blank..].starts_with(';') {
                end + blank + 1
            } else {
                end + blank
            }
        })
        .collect()
}

/// The statements a list of split points makes of `sql`, trimmed, for messages.
fn pieces(sql: &str, points: &[usize]) -> Vec<String> {
    let mut from = 0;
    points
        .iter()
        .map(|&to| {
            let piece = sql[from..to].trim().to_owned();
            from = to;
            piece
        })
        .collect()
}

/// Sections SQLite runs, each built to tempt a splitter into a wrong split: triggers
/// with `BEGIN … END` bodies, `CASE … END` inside and outside them, `;` and quotes in
/// strings and identifiers, comments holding `;` and `END;`, identifiers named like
/// keywords.
const SQLITE_CORPUS: &[&str] = &[
    "CREATE TABLE a (id INTEGER PRIMARY KEY, x TEXT);\nINSERT INTO a (x) VALUES ('a;b');\nINSERT INTO a (x) VALUES ('it''s; fine')",
    "CREATE TABLE \"x;y\" (\"col;\" INT, [b;c] INT, `d;e` INT);\nINSERT INTO \"x;y\" VALUES (1, 2, 3);",
    "CREATE TABLE q (s TEXT);\nINSERT INTO q VALUES ('\"'), ('`'), ('['), (']'), ('--'), ('/*'), ('''');\nINSERT INTO q VALUES (\"s\" || ';');",
    "-- a comment; with semicolons;\nCREATE TABLE b (y); /* ; */ CREATE TABLE c (z) -- trailing;\n;\n/* only a comment; */",
    "CREATE TABLE d (y);;;\n;  ;\nINSERT INTO d VALUES (1)\n;",
    "CREATE TABLE e (n INTEGER); SELECT CASE WHEN 1 THEN 'a;' ELSE 'b;' END; SELECT 2",
    "CREATE TABLE a (id INTEGER PRIMARY KEY, x TEXT);\nCREATE TABLE log (msg TEXT);\nCREATE TRIGGER a_ins AFTER INSERT ON a BEGIN\n  INSERT INTO log VALUES ('inserted; ' || NEW.x);\n  DELETE FROM log WHERE msg = 'END;';\nEND;\nINSERT INTO a (x) VALUES ('z');",
    "CREATE TABLE a (id INTEGER PRIMARY KEY, n INT);\nCREATE TABLE log (msg TEXT);\nCREATE TRIGGER a_case AFTER INSERT ON a BEGIN\n  INSERT INTO log SELECT CASE WHEN NEW.n > 0 THEN 'pos;' ELSE 'neg' END;\n  UPDATE a SET n = CASE n WHEN 1 THEN 2 ELSE n END WHERE id = NEW.id;\nEND;\nINSERT INTO a (n) VALUES (1);",
    "CREATE TABLE a (id INTEGER PRIMARY KEY, n INT);\nCREATE TEMP TRIGGER a_when BEFORE UPDATE OF n ON a FOR EACH ROW WHEN CASE WHEN NEW.n IS NULL THEN 1 ELSE 0 END BEGIN\n  SELECT RAISE(ABORT, 'n; must not be null');\nEND;\nUPDATE a SET n = 2;",
    "CREATE TABLE a (id INTEGER PRIMARY KEY, \"end\" INT, [begin] INT, `case` INT);\nCREATE TRIGGER a_kw AFTER INSERT ON a BEGIN\n  UPDATE a SET \"end\" = NEW.[begin] + 1, `case` = NEW.\"end\" WHERE id = NEW.id;\nEND;\nINSERT INTO a ([begin]) VALUES (1);",
    "CREATE TABLE a (x INT);\nCREATE TRIGGER a_comments AFTER INSERT ON a BEGIN\n  -- END;\n  /* END; */\n  SELECT 1; -- still inside;\nEND; -- now outside;\nINSERT INTO a VALUES (1);",
    "CREATE TABLE trigger_log (at TEXT, end_at TEXT, begin_at TEXT);\nINSERT INTO trigger_log VALUES ('BEGIN', 'END', 'CASE');\nDROP TRIGGER IF EXISTS no_such_trigger;\nSELECT end_at FROM trigger_log;",
    "CREATE TABLE a (x INT);\nCREATE VIEW v AS SELECT CASE x WHEN 1 THEN 'one;' END AS label FROM a;\nCREATE TRIGGER v_ins INSTEAD OF INSERT ON v BEGIN\n  INSERT INTO a VALUES (CASE NEW.label WHEN 'one;' THEN 1 END);\nEND;\nINSERT INTO v (label) VALUES ('one;');",
    "BEGIN;\nCREATE TABLE a (x INT);\nCOMMIT;\nBEGIN TRANSACTION;\nSAVEPOINT s;\nRELEASE s;\nEND;",
    "CREATE TABLE a (x BLOB, y REAL);\nINSERT INTO a VALUES (x'3b3b', 1e5), (X'00', -1.5);\nWITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3) SELECT i FROM n;",
    "CREATE TABLE é (日本 TEXT);\nINSERT INTO é VALUES ('; é;');\nPRAGMA user_version = 3;",
    "CREATE TABLE q (s TEXT);\nINSERT INTO q VALUES ('a\\'); INSERT INTO q VALUES ('\\'';'); SELECT 'b\\'",
    "CREATE TABLE a (x); /* /* ; */ INSERT INTO a VALUES (1); /* */ SELECT 1 -- no newline;",
    "CREATE TABLE a (x);\nSELECT 1; /* never closed; SELECT 2;",
    "CREATE TABLE a (x);\u{c}INSERT INTO a VALUES (1)\u{c};\tSELECT\u{c}x FROM a\r\n;",
    "CREATE TABLE ev (id INTEGER PRIMARY KEY, \"end\" INT);\nCREATE TRIGGER ev_end AFTER UPDATE OF end ON ev BEGIN\n  SELECT 1;\nEND;\nUPDATE ev SET \"end\" = 1;",
    "CREATE TABLE a (id INTEGER PRIMARY KEY, n INT UNIQUE);\nINSERT INTO a (n) VALUES (1) ON CONFLICT (n) DO UPDATE SET n = excluded.n;\nCREATE TRIGGER a_upd AFTER UPDATE ON a BEGIN UPDATE a SET n = n WHERE 0; END",
    // Keywords used as names, which opened or closed trigger bodies (issue 9, item 3).
    "CREATE TABLE ev (id INTEGER PRIMARY KEY, begin INT, end INT);\nCREATE TABLE log (d INT);\nCREATE TRIGGER ev_end AFTER INSERT ON ev BEGIN\n  INSERT INTO log VALUES (NEW.end);\n  DELETE FROM log;\nEND;\nINSERT INTO ev (begin, end) VALUES (1, 3);",
    "CREATE TABLE ev (id INTEGER PRIMARY KEY, begin INT, end INT);\nCREATE TABLE log (d INT);\nCREATE TRIGGER ev_begin AFTER INSERT ON ev BEGIN\n  INSERT INTO log VALUES (NEW.begin);\nEND;\nINSERT INTO ev (begin, end) VALUES (1, 3);",
    "CREATE TABLE event (id INTEGER PRIMARY KEY, begin TEXT);\nINSERT INTO event (begin) VALUES ('x');",
    "CREATE TABLE t (trigger TEXT, begin TEXT);\nINSERT INTO t VALUES ('a', 'b');",
    "CREATE TABLE a (x INT);\nCREATE TRIGGER begin AFTER INSERT ON a BEGIN\n  SELECT 1;\nEND;\nINSERT INTO a VALUES (1);",
    "CREATE TABLE a (x INT, begin INT);\nCREATE TRIGGER a_upd AFTER UPDATE OF begin ON a BEGIN\n  SELECT 1;\nEND;\nUPDATE a SET x = 1;",
];

#[test]
fn sqlite_split_points_agree_with_sqlites_own() {
    for sql in SQLITE_CORPUS {
        let sqlite = sqlite_split_points(sql).unwrap_or_else(|e| panic!("{e}\nin: {sql}"));
        let terrace = terrace_split_points(sql);
        assert_eq!(
            pieces(sql, &terrace),
            pieces(sql, &sqlite),
            "Terrace's split (left) differs from SQLite's (right) in:\n{sql}"
        );
    }
}

/// What may sit between two statements: whitespace, empty statements and comments,
/// some holding `;`, `END;` or a quote.
const SQLITE_GAPS: &[&str] = &[
    " ",
    "\n",
    "\r\n",
    "\t",
    "\u{c}",
    ";",
    " ; ;\n",
    "-- x;\n",
    "-- END;\n",
    "--\n",
    "/* ; */",
    "/* END; */",
    "/* ' */",
    "/**/",
    "/* -- */\n",
];

#[test]
fn sqlite_split_points_agree_with_comments_and_empty_statements_between() {
    // The corpus again, its statements (as SQLite splits them) rejoined with random
    // gaps, and sometimes without the last `;`.
    for seed in 0..cases() / 30 {
        let mut rng = Rng::new(seed ^ 0x5111_7E00);
        for sql in SQLITE_CORPUS {
            let points = sqlite_split_points(sql).unwrap_or_else(|e| panic!("{e}\nin: {sql}"));
            let mut rejoined = String::new();
            let mut from = 0;
            for to in points {
                for _ in 0..rng.below(3) {
                    rejoined.push_str(rng.pick(SQLITE_GAPS));
                }
                rejoined.push_str(&sql[from..to]);
                from = to;
            }
            if rng.below(4) == 0 {
                rejoined = rejoined.trim_end().trim_end_matches(';').to_owned();
            }
            for _ in 0..rng.below(3) {
                rejoined.push_str(rng.pick(SQLITE_GAPS));
            }
            let sqlite = sqlite_split_points(&rejoined)
                .unwrap_or_else(|e| panic!("seed {seed}: {e}\nin: {rejoined}"));
            assert_eq!(
                pieces(&rejoined, &terrace_split_points(&rejoined)),
                pieces(&rejoined, &sqlite),
                "seed {seed}: Terrace's split (left) differs from SQLite's (right) in:\n{rejoined}"
            );
        }
    }
}
