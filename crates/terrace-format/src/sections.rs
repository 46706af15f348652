//! The two sections of a migration file.
//!
//! ```sql
//! -- migrate:up
//! ALTER TABLE projects ADD COLUMN base_url TEXT;
//! -- migrate:down
//! ALTER TABLE projects DROP COLUMN base_url;
//! ```
//!
//! `-- migrate:up transaction:false` (or the same option on the down marker) runs that
//! direction outside a transaction. `-- migrate:up idempotent` says that the up section
//! may run twice with the same result (`terrace lint` holds it to that); it changes
//! nothing about how the migration runs.
//!
//! An empty down section, or none, means the migration cannot be rolled back. Where
//! its honest inverse is to do nothing (a backfill whose rows may stay, a comment on a
//! column), `-- migrate:down noop` says so: rolling it back runs no SQL and removes its
//! history row. The section after that marker may hold only `--` comments and blank
//! lines, and the marker takes no other option. Comments and blank lines may precede the up
//! marker; statements may not, since they would never run.
//!
//! A marker is a line of its own, wherever it stands: a `-- migrate:down` line inside
//! a multi-line string literal or block comment still ends the up section. Where the up
//! section then leaves a literal or comment open (in every dialect's reading), the file
//! is refused, naming both lines, rather than split inside the literal.

use std::borrow::Cow;
use std::fmt;

/// The parsed contents of a migration file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sections {
    /// The up text as written in the file (line endings included), trimmed. Its
    /// checksum [normalises](crate::normalize) it; what runs is this text.
    pub up: String,
    /// The down text as written, trimmed; `None` when the file has no down marker, an
    /// empty down section, or a no-op one (see `down_noop`).
    pub down: Option<String>,
    /// Whether the down marker says `noop` (`-- migrate:down noop`): rolling back runs
    /// nothing. `down` is then `None`.
    pub down_noop: bool,
    /// Whether the up section runs inside a transaction (`transaction:false` clears it).
    pub transactional: bool,
    /// Whether the up marker says `idempotent`: the up section claims it can run twice
    /// with the same result. Only `terrace lint` reads it.
    pub idempotent: bool,
    /// Whether the down section runs inside a transaction.
    pub down_transactional: bool,
    /// The line of the file (from 1) on which the up text starts.
    pub up_line: usize,
    /// The line of the file on which the down text starts (meaningful only when there
    /// is one).
    pub down_line: usize,
    /// The migrations this file stands for, from its `-- terrace:squashed VERSION NAME
    /// CHECKSUM` lines above the up marker (written by `terrace squash`), in the
    /// file's order; empty for an ordinary migration.
    pub squashed: Vec<Squashed>,
}

/// A migration a squashed baseline stands for: one `-- terrace:squashed VERSION NAME
/// CHECKSUM` line above the up marker. A database whose history records it under
/// this name and checksum is recognised as having applied the baseline's part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Squashed {
    /// The version the migration had.
    pub version: u64,
    /// Its name.
    pub name: Cow<'static, str>,
    /// Its checksum, as recorded when it was applied (`sha256:…`).
    pub checksum: Cow<'static, str>,
}

/// The prefix of a line naming a migration a baseline stands for.
pub const SQUASHED_PREFIX: &str = "-- terrace:squashed";

/// One `-- terrace:squashed VERSION NAME CHECKSUM` line's fields, or why not.
fn squashed_line(rest: &str) -> Result<Squashed, &'static str> {
    let mut words = rest.split_whitespace();
    let (Some(version), Some(name), Some(checksum), None) =
        (words.next(), words.next(), words.next(), words.next())
    else {
        return Err("expected VERSION NAME CHECKSUM");
    };
    let version = version
        .parse()
        .map_err(|_| "its version is not a whole number")?;
    Ok(Squashed {
        version,
        name: Cow::Owned(name.to_owned()),
        checksum: Cow::Owned(checksum.to_owned()),
    })
}

/// Why a migration file's text was refused. Line numbers count from 1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SectionsError {
    /// There is no `-- migrate:up` line.
    MissingUp,
    /// The up section holds no SQL.
    EmptyUp,
    /// A second `-- migrate:up` line.
    DuplicateUp {
        /// Line of the second marker.
        line: usize,
    },
    /// A second `-- migrate:down` line.
    DuplicateDown {
        /// Line of the second marker.
        line: usize,
    },
    /// `-- migrate:down` before `-- migrate:up`.
    DownBeforeUp {
        /// Line of the down marker.
        line: usize,
    },
    /// A `-- terrace:squashed` line that does not read as `VERSION NAME CHECKSUM`.
    BadSquashed {
        /// The line.
        line: usize,
        /// What is wrong with it.
        detail: &'static str,
    },
    /// SQL before the up marker, which would never run.
    StatementsBeforeUp {
        /// First line holding SQL.
        line: usize,
    },
    /// A `-- migrate:` marker other than up or down.
    UnknownMarker {
        /// Line of the marker.
        line: usize,
        /// The marker as written.
        marker: String,
    },
    /// An option after a marker other than `transaction:true|false`.
    UnknownOption {
        /// Line of the marker.
        line: usize,
        /// The option as written.
        option: String,
    },
    /// The down section is marked `-- migrate:down noop` but holds SQL.
    NoopNotEmpty {
        /// The first line of the section holding something other than a `--` comment.
        line: usize,
        /// Line of the marker.
        marker: usize,
    },
    /// `-- migrate:down noop` with a `transaction:` option, which means nothing for a
    /// section that runs nothing.
    NoopWithOption {
        /// Line of the marker.
        line: usize,
        /// The option as written.
        option: String,
    },
    /// The `-- migrate:down` line stands inside a string literal, quoted name or block
    /// comment that the up section leaves open, in every dialect's reading: it was most
    /// likely meant as text, not as the marker.
    MarkerInside {
        /// Line of the marker.
        line: usize,
        /// Line on which the literal or comment opens.
        opened: usize,
        /// What is open, such as `a string literal`.
        what: &'static str,
    },
}

impl SectionsError {
    /// The line of the file (from 1) the problem is on, when it is on one.
    pub fn line(&self) -> Option<usize> {
        match self {
            SectionsError::MissingUp | SectionsError::EmptyUp => None,
            SectionsError::DuplicateUp { line }
            | SectionsError::DuplicateDown { line }
            | SectionsError::DownBeforeUp { line }
            | SectionsError::StatementsBeforeUp { line }
            | SectionsError::BadSquashed { line, .. }
            | SectionsError::UnknownMarker { line, .. }
            | SectionsError::UnknownOption { line, .. }
            | SectionsError::NoopNotEmpty { line, .. }
            | SectionsError::NoopWithOption { line, .. }
            | SectionsError::MarkerInside { line, .. } => Some(*line),
        }
    }
}

impl fmt::Display for SectionsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SectionsError::MissingUp => f.write_str("no '-- migrate:up' marker line"),
            SectionsError::EmptyUp => f.write_str("the up section is empty"),
            SectionsError::DuplicateUp { line } => {
                write!(f, "line {line}: a second '-- migrate:up' marker")
            }
            SectionsError::DuplicateDown { line } => {
                write!(f, "line {line}: a second '-- migrate:down' marker")
            }
            SectionsError::DownBeforeUp { line } => {
                write!(
                    f,
                    "line {line}: '-- migrate:down' comes before '-- migrate:up'"
                )
            }
            SectionsError::BadSquashed { line, detail } => write!(
                f,
                "line {line}: '{SQUASHED_PREFIX}' line: {detail} (as `terrace squash` writes it)"
            ),
            SectionsError::StatementsBeforeUp { line } => write!(
                f,
                "line {line}: SQL before '-- migrate:up' would never run; move it below the marker"
            ),
            SectionsError::UnknownMarker { line, marker } => write!(
                f,
                "line {line}: unknown marker '-- migrate:{marker}' (expected migrate:up or migrate:down)"
            ),
            SectionsError::UnknownOption { line, option } => write!(
                f,
                "line {line}: unknown option '{option}' (expected transaction:false or transaction:true, or idempotent on the up marker)"
            ),
            SectionsError::NoopNotEmpty { line, marker } => write!(
                f,
                "line {line}: the down section is marked '-- migrate:down noop' (line {marker}), \
                 which runs nothing, but holds SQL; remove the SQL, or the word noop to run it"
            ),
            SectionsError::NoopWithOption { line, option } => write!(
                f,
                "line {line}: '-- migrate:down noop' runs nothing, so '{option}' means nothing; \
                 remove it"
            ),
            SectionsError::MarkerInside { line, opened, what } => write!(
                f,
                "line {line}: the '-- migrate:down' marker is inside {what} opened at line {opened}, \
                 which the up section leaves unclosed; close it before the marker, or, if the line \
                 is part of its text, write that text another way (a marker line counts wherever \
                 it stands)"
            ),
        }
    }
}

impl std::error::Error for SectionsError {}

enum Marker<'a> {
    Up(&'a str),
    Down(&'a str),
    Unknown(&'a str),
}

/// Recognises `-- migrate:WORD [options]`; anything else is `None`.
fn marker(line: &str) -> Option<Marker<'_>> {
    let rest = line.trim_start().strip_prefix("--")?.trim_start();
    let rest = rest.strip_prefix("migrate:")?.trim_end();
    let (word, options) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
    Some(match word {
        "up" => Marker::Up(options),
        "down" => Marker::Down(options),
        _ => Marker::Unknown(word),
    })
}

/// What the down marker's options say.
struct DownOptions {
    transactional: bool,
    noop: bool,
}

/// Reads the down marker's options: `noop`, or `transaction:true|false`, not both.
fn down_options(options: &str, line: usize) -> Result<DownOptions, SectionsError> {
    let noop = options.split_whitespace().any(|option| option == "noop");
    if !noop {
        return Ok(DownOptions {
            transactional: transactional(options, line)?,
            noop,
        });
    }
    match options.split_whitespace().find(|&option| option != "noop") {
        Some(option) if option.starts_with("transaction:") => Err(SectionsError::NoopWithOption {
            line,
            option: option.to_owned(),
        }),
        Some(option) => Err(SectionsError::UnknownOption {
            line,
            option: option.to_owned(),
        }),
        None => Ok(DownOptions {
            transactional: true,
            noop,
        }),
    }
}

/// Reads `transaction:true|false` options; defaults to transactional.
fn transactional(options: &str, line: usize) -> Result<bool, SectionsError> {
    let mut transactional = true;
    for option in options.split_whitespace() {
        match option {
            "transaction:false" => transactional = false,
            "transaction:true" => transactional = true,
            other => {
                return Err(SectionsError::UnknownOption {
                    line,
                    option: other.to_owned(),
                });
            }
        }
    }
    Ok(transactional)
}

/// The lines of `text`, each with the byte offset where it starts and where the next
/// one starts. A line ends at LF, CRLF or a lone CR, as the checksum's normalisation
/// counts them, so line numbers agree with it.
pub(crate) fn lines(text: &str) -> impl Iterator<Item = (&str, usize, usize)> {
    let bytes = text.as_bytes();
    // Without a carriage return, a line ends at the next LF, which the standard
    // library finds far faster than a test of every byte.
    let has_cr = bytes.contains(&b'\r');
    let mut start = 0;
    let mut done = false;
    std::iter::from_fn(move || {
        if done {
            return None;
        }
        let end = if has_cr {
            bytes[start..]
                .iter()
                .position(|&b| b == b'\n' || b == b'\r')
        } else {
            text[start..].find('\n')
        };
        let Some(end) = end.map(|at| start + at) else {
            done = true;
            return Some((&text[start..], start, text.len()));
        };
        let next = if bytes[end] == b'\r' && bytes.get(end + 1) == Some(&b'\n') {
            end + 2
        } else {
            end + 1
        };
        let line = (&text[start..end], start, next);
        start = next;
        Some(line)
    })
}

/// The line (from 1) of the `-- migrate:up` marker in `text`, if it has one.
pub(crate) fn up_marker_line(text: &str) -> Option<usize> {
    lines(text)
        .position(|(line, _, _)| matches!(marker(line), Some(Marker::Up(_))))
        .map(|index| index + 1)
}

/// The line (from 1) on which byte `offset` of `text` lies, counting line ends as
/// [`lines`] does.
pub(crate) fn line_at(text: &str, offset: usize) -> usize {
    let before = &text.as_bytes()[..offset];
    let breaks = before
        .iter()
        .enumerate()
        .filter(|&(i, &b)| b == b'\n' || (b == b'\r' && before.get(i + 1) != Some(&b'\n')))
        .count();
    1 + breaks
}

/// Splits a migration file into its up and down sections.
///
/// The sections hold the file's text exactly as written (only trimmed): line endings
/// are left alone, so a string literal spanning a line break keeps its CRLF. A leading
/// byte-order mark is dropped.
pub fn parse_sections(text: &str) -> Result<Sections, SectionsError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    // For each marker seen: where its section starts, and whether it is transactional.
    let mut up: Option<(usize, bool)> = None;
    let mut idempotent = false;
    let mut squashed = Vec::new();
    let mut down: Option<bool> = None;
    // The line of a `-- migrate:down noop` marker.
    let mut noop_marker: Option<usize> = None;
    let mut up_end = text.len();
    let mut down_start = text.len();
    // The lines on which the sections start: the line after their marker, or the
    // marker's own line when it is the last and has no line end.
    let (mut up_start_line, mut down_start_line) = (0, 0);
    let mut last_line = 0;
    for (index, (line, offset, next)) in lines(text).enumerate() {
        let number = index + 1;
        last_line = number;
        let next_line = if next > offset + line.len() {
            number + 1
        } else {
            number
        };
        match marker(line) {
            Some(Marker::Up(options)) => {
                if up.is_some() {
                    return Err(SectionsError::DuplicateUp { line: number });
                }
                if down.is_some() {
                    return Err(SectionsError::DownBeforeUp { line: number });
                }
                let rest: Vec<&str> = options
                    .split_whitespace()
                    .filter(|&option| option != "idempotent")
                    .collect();
                idempotent = rest.len() < options.split_whitespace().count();
                up = Some((next, transactional(&rest.join(" "), number)?));
                up_start_line = next_line;
            }
            Some(Marker::Down(options)) => {
                if down.is_some() {
                    return Err(SectionsError::DuplicateDown { line: number });
                }
                if up.is_none() {
                    return Err(SectionsError::DownBeforeUp { line: number });
                }
                up_end = offset;
                down_start = next;
                down_start_line = next_line;
                let options = down_options(options, number)?;
                down = Some(options.transactional);
                noop_marker = options.noop.then_some(number);
            }
            Some(Marker::Unknown(word)) => {
                return Err(SectionsError::UnknownMarker {
                    line: number,
                    marker: word.to_owned(),
                });
            }
            None if up.is_none() => {
                let trimmed = line.trim();
                if !trimmed.is_empty() && !trimmed.starts_with("--") {
                    return Err(SectionsError::StatementsBeforeUp { line: number });
                }
                if let Some(rest) = trimmed.strip_prefix(SQUASHED_PREFIX) {
                    squashed.push(squashed_line(rest).map_err(|detail| {
                        SectionsError::BadSquashed {
                            line: number,
                            detail,
                        }
                    })?);
                }
            }
            None => {}
        }
    }
    let (up_start, up_transactional) = up.ok_or(SectionsError::MissingUp)?;
    if down.is_none() {
        // No down section: its (empty) text is taken at the end of the file.
        down_start_line = last_line;
    }
    if let (Some(_), Some((open, at))) = (
        down,
        crate::scan::open_at_end(&text[up_start..up_end.max(up_start)]),
    ) {
        return Err(SectionsError::MarkerInside {
            line: line_at(text, up_end),
            opened: line_at(text, up_start + at),
            what: open.describe(),
        });
    }
    let (up_text, up_line) = trimmed(text, up_start, up_end.max(up_start), up_start_line);
    if up_text.is_empty() {
        return Err(SectionsError::EmptyUp);
    }
    let (down_text, down_line) = trimmed(text, down_start, text.len(), down_start_line);
    if let Some(marker) = noop_marker {
        let statement = lines(down_text).position(|(line, _, _)| {
            let line = line.trim();
            !line.is_empty() && !line.starts_with("--")
        });
        if let Some(index) = statement {
            return Err(SectionsError::NoopNotEmpty {
                line: down_line + index,
                marker,
            });
        }
    }
    let down_text = down
        .and(Some(down_text))
        .filter(|body| !body.is_empty() && noop_marker.is_none());
    Ok(Sections {
        up: up_text.to_owned(),
        down: down_text.map(str::to_owned),
        down_noop: noop_marker.is_some(),
        transactional: up_transactional,
        idempotent,
        down_transactional: down.unwrap_or(true),
        up_line,
        down_line,
        squashed,
    })
}

/// `text[start..end]` trimmed, and the line of the file on which what is left starts,
/// given the line on which `start` lies: only the leading whitespace is counted, not
/// the whole file before it.
fn trimmed(text: &str, start: usize, end: usize, start_line: usize) -> (&str, usize) {
    let piece = &text[start..end];
    let body = piece.trim_start();
    let skipped = piece.len() - body.len();
    (body.trim_end(), start_line + line_at(piece, skipped) - 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn squashed_lines_above_the_up_marker_are_read_and_left_out_of_the_up_text() {
        let text = "-- a comment\n-- terrace:squashed 1 create_a sha256:aa\n\
                    -- terrace:squashed 2 add_b sha256:bb\n-- migrate:up\nCREATE TABLE a (x);\n";
        let s = parse_sections(text).unwrap();
        assert_eq!(s.up, "CREATE TABLE a (x);");
        assert_eq!(
            s.squashed,
            [
                Squashed {
                    version: 1,
                    name: "create_a".into(),
                    checksum: "sha256:aa".into()
                },
                Squashed {
                    version: 2,
                    name: "add_b".into(),
                    checksum: "sha256:bb".into()
                }
            ]
        );
        assert_eq!(
            parse_sections("-- terrace:squashed 1 create_a\n-- migrate:up\nSELECT 1;\n"),
            Err(SectionsError::BadSquashed {
                line: 1,
                detail: "expected VERSION NAME CHECKSUM"
            })
        );
        // Below the up marker it is a comment of the up text, as any other.
        let s = parse_sections("-- migrate:up\n-- terrace:squashed x\nSELECT 1;\n").unwrap();
        assert!(s.squashed.is_empty());
    }

    #[test]
    fn up_and_down() {
        let s = parse_sections(
            "-- a comment\n\n-- migrate:up\nCREATE TABLE a (id INT);\n\n--  migrate:down\nDROP TABLE a;\n\n",
        )
        .unwrap();
        assert_eq!(s.up, "CREATE TABLE a (id INT);");
        assert_eq!(s.down.as_deref(), Some("DROP TABLE a;"));
        assert!(s.transactional && s.down_transactional);
    }

    #[test]
    fn only_up_with_options() {
        let s = parse_sections(
            "-- migrate:up transaction:false\r\nCREATE INDEX CONCURRENTLY i ON t (c);\r\n",
        )
        .unwrap();
        assert_eq!(s.up, "CREATE INDEX CONCURRENTLY i ON t (c);");
        assert_eq!(s.down, None);
        assert!(!s.transactional && !s.idempotent);
        let s = parse_sections("-- migrate:up idempotent transaction:false\nSELECT 1;\n").unwrap();
        assert!(!s.transactional && s.idempotent);
        let s = parse_sections("-- migrate:up idempotent\nSELECT 1;\n").unwrap();
        assert!(s.transactional && s.idempotent);
        let err =
            parse_sections("-- migrate:up\nSELECT 1;\n-- migrate:down idempotent\n").unwrap_err();
        assert_eq!(
            err.to_string(),
            "line 3: unknown option 'idempotent' (expected transaction:false or transaction:true, \
             or idempotent on the up marker)"
        );
    }

    #[test]
    fn empty_down_is_none() {
        let s = parse_sections("-- migrate:up\nSELECT 1;\n-- migrate:down\n\n").unwrap();
        assert_eq!(s.down, None);
        let s = parse_sections("-- migrate:up\nSELECT 1;\n-- migrate:down").unwrap();
        assert_eq!(s.down, None);
    }

    #[test]
    fn a_noop_down() {
        for text in [
            "-- migrate:up\nSELECT 1;\n-- migrate:down noop\n",
            "-- migrate:up\nSELECT 1;\n-- migrate:down noop",
            "-- migrate:up\r\nSELECT 1;\r\n--  migrate:down   noop  \r\n\r\n-- rows may stay\r\n  -- really\r\n\r\n",
        ] {
            let s = parse_sections(text).unwrap();
            assert!(s.down_noop, "{text:?}");
            assert_eq!((s.down, s.down_transactional), (None, true), "{text:?}");
            assert_eq!(s.up, "SELECT 1;");
        }
        // An empty down section is still no down at all.
        let s = parse_sections("-- migrate:up\nSELECT 1;\n-- migrate:down\n").unwrap();
        assert!(!s.down_noop && s.down.is_none());
        // The marker, like any edit of the down section, leaves the up text and so the
        // checksum alone.
        let without = parse_sections("-- migrate:up\nSELECT 1;\n").unwrap();
        let with = parse_sections("-- migrate:up\nSELECT 1;\n-- migrate:down noop\n").unwrap();
        assert_eq!(crate::checksum(&without.up), crate::checksum(&with.up));
    }

    #[test]
    fn a_noop_down_holds_nothing_but_comments_and_takes_no_option() {
        let err = parse_sections(
            "-- migrate:up\nSELECT 1;\n-- migrate:down noop\n-- a note\n\nDROP TABLE a;\n",
        )
        .unwrap_err();
        assert_eq!(err, SectionsError::NoopNotEmpty { line: 6, marker: 3 });
        assert_eq!(
            err.to_string(),
            "line 6: the down section is marked '-- migrate:down noop' (line 3), which runs \
             nothing, but holds SQL; remove the SQL, or the word noop to run it"
        );
        assert_eq!(
            parse_sections("-- migrate:up\nSELECT 1;\n-- migrate:down noop\n/* note */\n"),
            Err(SectionsError::NoopNotEmpty { line: 4, marker: 3 })
        );
        for option in ["transaction:false", "transaction:true"] {
            for marker in [
                format!("-- migrate:down noop {option}"),
                format!("-- migrate:down {option} noop"),
            ] {
                assert_eq!(
                    parse_sections(&format!("-- migrate:up\nSELECT 1;\n{marker}\n")),
                    Err(SectionsError::NoopWithOption {
                        line: 3,
                        option: option.into()
                    }),
                    "{marker}"
                );
            }
        }
        for (text, option) in [
            ("-- migrate:up\nSELECT 1;\n-- migrate:down NOOP\n", "NOOP"),
            (
                "-- migrate:up\nSELECT 1;\n-- migrate:down noop please\n",
                "please",
            ),
            ("-- migrate:up noop\nSELECT 1;\n", "noop"),
        ] {
            let line = if text.starts_with("-- migrate:up noop") {
                1
            } else {
                3
            };
            assert_eq!(
                parse_sections(text),
                Err(SectionsError::UnknownOption {
                    line,
                    option: option.into()
                }),
                "{text}"
            );
        }
    }

    #[test]
    fn errors_name_the_line() {
        assert_eq!(
            parse_sections("CREATE TABLE a (id INT);"),
            Err(SectionsError::StatementsBeforeUp { line: 1 })
        );
        assert_eq!(
            parse_sections("-- just a comment"),
            Err(SectionsError::MissingUp)
        );
        assert_eq!(
            parse_sections("-- migrate:up\n\n-- migrate:down\nx"),
            Err(SectionsError::EmptyUp)
        );
        assert_eq!(
            parse_sections("-- migrate:up\nx\n-- migrate:up\n"),
            Err(SectionsError::DuplicateUp { line: 3 })
        );
        assert_eq!(
            parse_sections("-- migrate:down\nx\n-- migrate:up\n"),
            Err(SectionsError::DownBeforeUp { line: 1 })
        );
        assert_eq!(
            parse_sections("-- migrate:up\nx\n-- migrate:sideways\n"),
            Err(SectionsError::UnknownMarker {
                line: 3,
                marker: "sideways".into()
            })
        );
        assert_eq!(
            parse_sections("-- migrate:up transaction:maybe\nx\n"),
            Err(SectionsError::UnknownOption {
                line: 1,
                option: "transaction:maybe".into()
            })
        );
    }

    #[test]
    fn the_text_is_kept_as_written() {
        let s = parse_sections(
            "\u{feff}-- migrate:up\r\nINSERT INTO t VALUES ('a\r\nb');\r\n\r\n-- migrate:down\r\nDELETE FROM t;\r\n",
        )
        .unwrap();
        assert_eq!(s.up, "INSERT INTO t VALUES ('a\r\nb');");
        assert_eq!(s.down.as_deref(), Some("DELETE FROM t;"));
        assert_eq!((s.up_line, s.down_line), (2, 6));
    }

    #[test]
    fn lone_carriage_returns_end_lines() {
        let s =
            parse_sections("-- c\r-- migrate:up\rSELECT 1;\r-- migrate:down\rSELECT 2;").unwrap();
        assert_eq!(s.up, "SELECT 1;");
        assert_eq!(s.down.as_deref(), Some("SELECT 2;"));
        assert_eq!((s.up_line, s.down_line), (3, 5));
        assert_eq!(
            parse_sections("-- migrate:up\rx\r-- migrate:up"),
            Err(SectionsError::DuplicateUp { line: 3 })
        );
    }

    #[test]
    fn section_lines_skip_leading_blank_lines() {
        let s =
            parse_sections("-- c\n-- migrate:up\n\n\n  SELECT 1;\n-- migrate:down\n\nSELECT 2;\n")
                .unwrap();
        assert_eq!((s.up_line, s.down_line), (5, 8));
    }

    #[test]
    fn section_lines_agree_with_a_count_from_the_start_of_the_file() {
        // The lines are counted from each marker on; they must be what counting every
        // line end from the start of the file gives, whatever the line ends, and for a
        // file without a down section or with a down marker on its last line.
        for text in [
            "-- migrate:up\nSELECT 1;",
            "-- migrate:up\nSELECT 1;\n",
            "\n-- note\r\n-- migrate:up\r\n \r\n\r  \n\tSELECT 1;\r\n-- migrate:down\r\r\n\nSELECT 2;",
            "-- migrate:up\nSELECT 1;\n-- migrate:down",
            "-- migrate:up\nSELECT 1;\n-- migrate:down\n",
            "-- migrate:up\nSELECT 1;\n-- migrate:down\n  \n",
            "\u{feff}-- migrate:up transaction:false\r\rSELECT 1;\r-- migrate:down\rSELECT 2;\r",
            "-- migrate:up\nSELECT 1;\n\n\n",
        ] {
            let s = parse_sections(text).unwrap();
            let body = text.strip_prefix('\u{feff}').unwrap_or(text);
            let up_at = body.find(s.up.as_str()).unwrap();
            let down_at = match &s.down {
                Some(down) => body.rfind(down.as_str()).unwrap(),
                None if body.contains("migrate:down") => {
                    let marker = body.find("-- migrate:down").unwrap();
                    let after = body[marker..]
                        .find(['\n', '\r'])
                        .map_or(body.len(), |end| marker + end);
                    let rest = &body[after..];
                    let next = if rest.starts_with("\r\n") {
                        2
                    } else {
                        usize::from(!rest.is_empty())
                    };
                    after + next + (rest.len() - next - rest[next..].trim_start().len())
                }
                None => body.len(),
            };
            assert_eq!(
                (s.up_line, s.down_line),
                (line_at(body, up_at), line_at(body, down_at)),
                "{text:?}"
            );
        }
    }

    #[test]
    fn a_down_marker_inside_a_literal_or_comment_is_refused() {
        assert_eq!(
            parse_sections(
                "-- migrate:up\nCREATE TABLE t (a TEXT);\nINSERT INTO t VALUES ('first\n-- migrate:down\nsecond');\n"
            ),
            Err(SectionsError::MarkerInside {
                line: 4,
                opened: 3,
                what: "a string literal"
            })
        );
        let err = parse_sections("-- migrate:up\nSELECT 1;\n/* notes\n-- migrate:down\n*/\n")
            .unwrap_err();
        assert_eq!(
            err,
            SectionsError::MarkerInside {
                line: 4,
                opened: 3,
                what: "a block comment"
            }
        );
        assert!(
            err.to_string().starts_with(
                "line 4: the '-- migrate:down' marker is inside a block comment opened at line 3"
            ),
            "{err}"
        );
        // Closed in some dialect's reading: the marker stands.
        for text in [
            "-- migrate:up\nSELECT 'a\\';\n-- migrate:down\nSELECT 1;",
            "-- migrate:up\nSELECT $$ a\n-- migrate:down\nSELECT 1;",
            "-- migrate:up\nSELECT 1; -- it's\n-- migrate:down\nSELECT 2;",
        ] {
            assert!(parse_sections(text).is_ok(), "{text}");
        }
    }

    #[test]
    fn editing_down_keeps_the_up_text() {
        let a = parse_sections(
            "-- migrate:up\nCREATE TABLE a (id INT);\n-- migrate:down\nDROP TABLE a;",
        )
        .unwrap();
        let b = parse_sections("\u{feff}-- migrate:up\r\nCREATE TABLE a (id INT);\r\n\r\n-- migrate:down\r\nDROP TABLE IF EXISTS a;\r\n").unwrap();
        assert_eq!(a.up, b.up);
        let crlf =
            parse_sections("-- migrate:up\r\nCREATE TABLE a (\r\n  id INT\r\n);\r\n").unwrap();
        let lf = parse_sections("-- migrate:up\nCREATE TABLE a (\n  id INT\n);\n").unwrap();
        assert_ne!(crlf.up, lf.up);
        assert_eq!(crate::checksum(&crlf.up), crate::checksum(&lf.up));
    }
}
