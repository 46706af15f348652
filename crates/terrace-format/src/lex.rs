//! The lexical pieces shared by everything that reads SQL text here — the splitter
//! ([`statements`](crate::statements)) and the scan for client commands and unclosed
//! literals ([`scan`](crate::scan)) — so that both agree on where a comment, a quoted
//! run or a dollar quote ends, in each dialect.
//!
//! Positions are byte offsets into the text. A function that finds the end of
//! something returns the offset just past it, or `None` when it never closes (it then
//! runs to the end of the text).

use crate::statements::Dialect;

/// Whether a byte can be part of a word: ASCII letters, digits, `_`, and any byte of a
/// character outside ASCII.
pub(crate) fn is_word_byte(b: u8) -> bool {
    WORD_BYTES[usize::from(b)]
}

/// [`is_word_byte`] for every byte, looked up rather than worked out: the scans ask it
/// of every byte of every section.
const WORD_BYTES: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        let byte = b as u8;
        table[b] = byte.is_ascii_alphanumeric() || byte == b'_' || byte >= 0x80;
        b += 1;
    }
    table
};

/// Whether the `--` at `at` starts a comment: always, except in MySQL, where it must be
/// followed by whitespace, a control character or the end (`a--1` is `a - -1`).
pub(crate) fn dash_starts_comment(sql: &[u8], at: usize, dialect: Dialect) -> bool {
    dialect != Dialect::Mysql
        || sql
            .get(at + 2)
            .is_none_or(|b| b.is_ascii_whitespace() || b.is_ascii_control())
}

/// The end of the block comment opened at `at` (`/*`); PostgreSQL's nest.
pub(crate) fn block_comment_end(sql: &[u8], at: usize, dialect: Dialect) -> Option<usize> {
    let mut pos = at + 2;
    let mut depth = 1;
    while let Some(&b) = sql.get(pos) {
        if b == b'*' && sql.get(pos + 1) == Some(&b'/') {
            pos += 2;
            depth -= 1;
            if depth == 0 {
                return Some(pos);
            }
        } else if b == b'/' && sql.get(pos + 1) == Some(&b'*') && dialect == Dialect::Postgres {
            pos += 2;
            depth += 1;
        } else {
            pos += 1;
        }
    }
    None
}

/// Whether the `'` at `at` opens a string in which a backslash escapes: always in
/// MySQL, and in PostgreSQL's `E'…'` strings.
pub(crate) fn backslash_string(sql: &[u8], at: usize, dialect: Dialect) -> bool {
    dialect == Dialect::Mysql
        || (dialect == Dialect::Postgres
            && at > 0
            && matches!(sql[at - 1], b'e' | b'E')
            && (at < 2 || !is_word_byte(sql[at - 2])))
}

/// The end of the quoted run opened at `at` and closed by `close`. A doubled closing
/// quote is a quote inside the run, except for SQLite's `[…]`, which has no escape;
/// with `backslash`, a backslash escapes the next byte.
pub(crate) fn quoted_end(text: &str, at: usize, close: u8, backslash: bool) -> Option<usize> {
    let sql = text.as_bytes();
    let mut pos = at + 1;
    while let Some(&b) = sql.get(pos) {
        pos += 1;
        if backslash && b == b'\\' {
            pos += 1;
            // The escaped byte may begin a character of several.
            while pos < sql.len() && !text.is_char_boundary(pos) {
                pos += 1;
            }
        } else if b == close {
            if close != b']' && sql.get(pos) == Some(&close) {
                pos += 1;
            } else {
                return Some(pos);
            }
        }
    }
    None
}

/// Whether the character before `at` belongs to a word: any but whitespace (Unicode's
/// too) and ASCII punctuation.
pub(crate) fn after_word(text: &str, at: usize) -> bool {
    let Some(last) = text[..at].chars().next_back() else {
        return false;
    };
    if last.is_ascii() {
        is_word_byte(last as u8)
    } else {
        !last.is_whitespace()
    }
}

/// The length of a PostgreSQL `$tag$` opener at `at`, if there is one (`a$b$` is part
/// of a name, and a tag does not start with a digit).
pub(crate) fn dollar_tag_len(text: &str, at: usize) -> Option<usize> {
    if after_word(text, at) {
        return None;
    }
    let rest = &text.as_bytes()[at + 1..];
    let tag_len = rest.iter().position(|&b| !is_word_byte(b))?;
    (rest[tag_len] == b'$' && !rest[..tag_len].first().is_some_and(u8::is_ascii_digit))
        .then_some(tag_len + 2)
}

/// The end of the dollar-quoted string opened at `at` by a tag of `len` bytes.
pub(crate) fn dollar_quoted_end(sql: &[u8], at: usize, len: usize) -> Option<usize> {
    let tag = &sql[at..at + len];
    let body = at + len;
    sql[body..]
        .windows(len)
        .position(|w| w == tag)
        .map(|found| body + found + len)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn word_bytes() {
        for b in 0..=255u8 {
            let expected = b.is_ascii_alphanumeric() || b == b'_' || b >= 0x80;
            assert_eq!(is_word_byte(b), expected, "{b}");
        }
    }

    #[test]
    fn ends_of_comments_quotes_and_dollar_quotes() {
        let nested = b"/* a /* b */ c */ x";
        assert_eq!(block_comment_end(nested, 0, Dialect::Postgres), Some(17));
        assert_eq!(block_comment_end(nested, 0, Dialect::Sqlite), Some(12));
        assert_eq!(block_comment_end(b"/* open", 0, Dialect::Mysql), None);

        assert_eq!(quoted_end("'it''s' x", 0, b'\'', false), Some(7));
        assert_eq!(quoted_end("'a\\'b' x", 0, b'\'', true), Some(6));
        assert_eq!(quoted_end("[a]] x", 0, b']', false), Some(3));
        assert_eq!(quoted_end("'open", 0, b'\'', false), None);
        assert_eq!(quoted_end("'\\é", 0, b'\'', true), None);

        assert_eq!(dollar_tag_len("$tag$ x", 0), Some(5));
        assert_eq!(dollar_tag_len("a$b$", 1), None);
        assert_eq!(dollar_tag_len("\u{2028}$$", 3), Some(2));
        assert_eq!(dollar_tag_len("$1$", 0), None);
        assert_eq!(dollar_quoted_end(b"$t$ ; $t$ x", 0, 3), Some(9));
        assert_eq!(dollar_quoted_end(b"$t$ open", 0, 3), None);

        assert!(dash_starts_comment(b"--1", 0, Dialect::Sqlite));
        assert!(!dash_starts_comment(b"--1", 0, Dialect::Mysql));
        assert!(dash_starts_comment(b"-- x", 0, Dialect::Mysql));
        assert!(dash_starts_comment(b"--", 0, Dialect::Mysql));
        assert!(backslash_string(b"E'x'", 1, Dialect::Postgres));
        assert!(!backslash_string(b"NE'x'", 2, Dialect::Postgres));
    }
}
