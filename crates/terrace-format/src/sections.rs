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
//! direction outside a transaction. Comments and blank lines may precede the up
//! marker; statements may not, since they would never run.

use crate::checksum::unify_line_endings;
use std::fmt;

/// The parsed contents of a migration file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sections {
    /// The up text, with unified line endings and trimmed (see
    /// [`normalize`](crate::normalize)).
    pub up: String,
    /// The down text, normalised; `None` when the file has no down marker or an empty
    /// down section.
    pub down: Option<String>,
    /// Whether the up section runs inside a transaction (`transaction:false` clears it).
    pub transactional: bool,
    /// Whether the down section runs inside a transaction.
    pub down_transactional: bool,
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
                "line {line}: unknown option '{option}' (expected transaction:false or transaction:true)"
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
    let rest = line.trim().strip_prefix("--")?.trim_start();
    let rest = rest.strip_prefix("migrate:")?;
    let (word, options) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
    Some(match word {
        "up" => Marker::Up(options),
        "down" => Marker::Down(options),
        _ => Marker::Unknown(word),
    })
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

/// Splits a migration file into its up and down sections.
pub fn parse_sections(text: &str) -> Result<Sections, SectionsError> {
    let text = unify_line_endings(text);
    // For each marker seen: where its section starts, and whether it is transactional.
    let mut up: Option<(usize, bool)> = None;
    let mut down: Option<bool> = None;
    let mut up_end = text.len();
    let mut down_start = text.len();
    let mut offset = 0;
    for (index, line) in text.split('\n').enumerate() {
        let number = index + 1;
        let next = offset + line.len() + 1;
        match marker(line) {
            Some(Marker::Up(options)) => {
                if up.is_some() {
                    return Err(SectionsError::DuplicateUp { line: number });
                }
                if down.is_some() {
                    return Err(SectionsError::DownBeforeUp { line: number });
                }
                up = Some((next.min(text.len()), transactional(options, number)?));
            }
            Some(Marker::Down(options)) => {
                if down.is_some() {
                    return Err(SectionsError::DuplicateDown { line: number });
                }
                if up.is_none() {
                    return Err(SectionsError::DownBeforeUp { line: number });
                }
                up_end = offset;
                down_start = next.min(text.len());
                down = Some(transactional(options, number)?);
            }
            Some(Marker::Unknown(word)) => {
                return Err(SectionsError::UnknownMarker {
                    line: number,
                    marker: word.to_owned(),
                });
            }
            None => {
                let trimmed = line.trim();
                if up.is_none() && !trimmed.is_empty() && !trimmed.starts_with("--") {
                    return Err(SectionsError::StatementsBeforeUp { line: number });
                }
            }
        }
        offset = next;
    }
    let (up_start, up_transactional) = up.ok_or(SectionsError::MissingUp)?;
    let up_text = text[up_start..up_end.max(up_start)].trim();
    if up_text.is_empty() {
        return Err(SectionsError::EmptyUp);
    }
    let down_text = down
        .map(|_| text[down_start..].trim())
        .filter(|body| !body.is_empty());
    Ok(Sections {
        up: up_text.to_owned(),
        down: down_text.map(str::to_owned),
        transactional: up_transactional,
        down_transactional: down.unwrap_or(true),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert!(!s.transactional);
    }

    #[test]
    fn empty_down_is_none() {
        let s = parse_sections("-- migrate:up\nSELECT 1;\n-- migrate:down\n\n").unwrap();
        assert_eq!(s.down, None);
        let s = parse_sections("-- migrate:up\nSELECT 1;\n-- migrate:down").unwrap();
        assert_eq!(s.down, None);
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
    fn editing_down_keeps_the_up_text() {
        let a = parse_sections(
            "-- migrate:up\nCREATE TABLE a (id INT);\n-- migrate:down\nDROP TABLE a;",
        )
        .unwrap();
        let b = parse_sections("\u{feff}-- migrate:up\r\nCREATE TABLE a (id INT);\r\n\r\n-- migrate:down\r\nDROP TABLE IF EXISTS a;\r\n").unwrap();
        assert_eq!(a.up, b.up);
    }
}
