//! A statement as the lint rules read it: its words, names, literals and punctuation,
//! with comments left out, so that a rule matches keywords without caring for case,
//! spacing, comments or quoting.

use crate::lex::{self, is_word_byte};
use crate::statements::Dialect;

/// One token of a statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Token<'a> {
    /// A keyword, unquoted name or number, as written.
    Word(&'a str),
    /// A quoted name, without its quotes.
    Quoted(&'a str),
    /// A string literal (its text does not matter to any rule).
    Literal,
    /// Any other character.
    Punct(char),
}

/// The tokens of one statement.
pub(crate) struct Tokens<'a> {
    tokens: Vec<Token<'a>>,
}

impl<'a> Tokens<'a> {
    /// Reads `text`, a statement split in `dialect`.
    pub(crate) fn new(text: &'a str, dialect: Dialect) -> Tokens<'a> {
        let sql = text.as_bytes();
        let mut tokens = Vec::new();
        let mut at = 0;
        while let Some(&b) = sql.get(at) {
            let next = |end: Option<usize>| end.unwrap_or(sql.len());
            match b {
                b'-' if sql.get(at + 1) == Some(&b'-')
                    && lex::dash_starts_comment(sql, at, dialect) =>
                {
                    at = text[at..].find('\n').map_or(sql.len(), |end| at + end);
                }
                b'#' if dialect == Dialect::Mysql => {
                    at = text[at..].find('\n').map_or(sql.len(), |end| at + end);
                }
                b'/' if sql.get(at + 1) == Some(&b'*') => {
                    at = next(lex::block_comment_end(sql, at, dialect));
                }
                b'\'' => {
                    let backslash = lex::backslash_string(sql, at, dialect);
                    at = next(lex::quoted_end(text, at, b'\'', backslash));
                    tokens.push(Token::Literal);
                }
                b'"' if dialect == Dialect::Mysql => {
                    at = next(lex::quoted_end(text, at, b'"', true));
                    tokens.push(Token::Literal);
                }
                b'"' | b'`' | b'[' => {
                    let close = if b == b'[' { b']' } else { b };
                    if b == b'[' && dialect != Dialect::Sqlite {
                        tokens.push(Token::Punct('['));
                        at += 1;
                        continue;
                    }
                    let end = next(lex::quoted_end(text, at, close, false));
                    let inner = text
                        .get(at + 1..end.saturating_sub(1).max(at + 1))
                        .unwrap_or("");
                    tokens.push(Token::Quoted(inner));
                    at = end;
                }
                b'$' if dialect == Dialect::Postgres => match lex::dollar_tag_len(text, at) {
                    Some(len) => {
                        at = next(lex::dollar_quoted_end(sql, at, len));
                        tokens.push(Token::Literal);
                    }
                    None => {
                        tokens.push(Token::Punct('$'));
                        at += 1;
                    }
                },
                _ if is_word_byte(b) => {
                    let start = at;
                    while sql.get(at).is_some_and(|&b| is_word_byte(b)) {
                        at += 1;
                    }
                    tokens.push(Token::Word(&text[start..at]));
                }
                _ => {
                    let c = text[at..].chars().next().unwrap_or(' ');
                    if !c.is_whitespace() {
                        tokens.push(Token::Punct(c));
                    }
                    at += c.len_utf8();
                }
            }
        }
        Tokens { tokens }
    }

    /// The number of tokens.
    pub(crate) fn len(&self) -> usize {
        self.tokens.len()
    }

    /// The token at `at`, if any.
    pub(crate) fn get(&self, at: usize) -> Option<&Token<'a>> {
        self.tokens.get(at)
    }

    /// Whether the token at `at` is the keyword `keyword` (any case).
    pub(crate) fn is(&self, at: usize, keyword: &str) -> bool {
        matches!(self.get(at), Some(Token::Word(w)) if w.eq_ignore_ascii_case(keyword))
    }

    /// Whether the token at `at` is the character `c`.
    pub(crate) fn is_punct(&self, at: usize, c: char) -> bool {
        self.get(at) == Some(&Token::Punct(c))
    }

    /// Whether the tokens from `at` are the keywords `keywords`, in order.
    pub(crate) fn are(&self, at: usize, keywords: &[&str]) -> bool {
        keywords.iter().enumerate().all(|(i, k)| self.is(at + i, k))
    }

    /// The first position from `from` (before `to`) where the keywords `keywords` start.
    pub(crate) fn find(&self, from: usize, to: usize, keywords: &[&str]) -> Option<usize> {
        (from..to).find(|&at| self.are(at, keywords))
    }

    /// Whether the keyword sequence `keywords` appears in `from..to`.
    pub(crate) fn has(&self, from: usize, to: usize, keywords: &[&str]) -> bool {
        self.find(from, to, keywords).is_some()
    }

    /// Skips the keywords of `optional` found in turn from `at` (each at most once, in
    /// order), returning the position after them.
    pub(crate) fn skip(&self, mut at: usize, optional: &[&[&str]]) -> usize {
        for words in optional {
            if self.are(at, words) {
                at += words.len();
            }
        }
        at
    }

    /// The (possibly schema-qualified) name at `at`, lowercased unless quoted, and the
    /// position after it.
    pub(crate) fn name(&self, mut at: usize) -> Option<(String, usize)> {
        let mut name = String::new();
        loop {
            match self.get(at)? {
                Token::Word(w) => name.push_str(&w.to_lowercase()),
                Token::Quoted(q) => name.push_str(q),
                _ => return None,
            }
            at += 1;
            if !self.is_punct(at, '.') {
                return Some((name, at));
            }
            name.push('.');
            at += 1;
        }
    }

    /// The ranges of the comma-separated parts of `from..to`, split only outside
    /// parentheses.
    pub(crate) fn parts(&self, from: usize, to: usize) -> Vec<(usize, usize)> {
        let mut parts = Vec::new();
        let mut depth = 0usize;
        let mut start = from;
        for at in from..to {
            match self.get(at) {
                Some(Token::Punct('(')) => depth += 1,
                Some(Token::Punct(')')) => depth = depth.saturating_sub(1),
                Some(Token::Punct(',')) if depth == 0 => {
                    parts.push((start, at));
                    start = at + 1;
                }
                _ => {}
            }
        }
        parts.push((start, to));
        parts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_and_literals_are_not_words() {
        let tokens = Tokens::new(
            "create /* index */ INDEX -- concurrently\n \"Odd\".x ON t ('a;b')",
            Dialect::Postgres,
        );
        assert!(tokens.are(0, &["CREATE", "index"]));
        assert_eq!(tokens.name(2), Some(("Odd.x".to_owned(), 5)));
        assert!(!tokens.has(0, tokens.len(), &["CONCURRENTLY"]));
        assert_eq!(tokens.get(8), Some(&Token::Literal));
        let mysql = Tokens::new(
            "ALTER TABLE `t` COMMENT \"x\" # c\n, ALGORITHM=COPY",
            Dialect::Mysql,
        );
        assert_eq!(mysql.name(2), Some(("t".to_owned(), 3)));
        assert_eq!(mysql.parts(0, mysql.len()).len(), 2);
        let sqlite = Tokens::new("ALTER TABLE [a b] ADD c", Dialect::Sqlite);
        assert_eq!(sqlite.name(2), Some(("a b".to_owned(), 3)));
    }
}
