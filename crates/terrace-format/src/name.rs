//! Versions and names: `0007_add_deleted_at.sql` is version 7, name `add_deleted_at`.

use std::fmt;

/// Why a migration name or file name was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NameProblem {
    /// The file name does not start with a version number followed by `_`.
    NoVersion,
    /// The version number is zero (versions start at 1).
    ZeroVersion,
    /// The version number does not fit in a signed 64-bit integer.
    VersionTooLarge,
    /// The file name does not end in `.sql`.
    NotSql,
    /// The name is empty.
    Empty,
    /// The name is not snake_case: lowercase ASCII letters and digits separated by
    /// single underscores, starting with a letter.
    NotSnakeCase,
    /// The name says nothing about what the migration does (`migration_7`, `update`).
    NotDescriptive,
}

impl fmt::Display for NameProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            NameProblem::NoVersion => {
                "the file name must start with a version number and '_' (0001_add_base_url.sql)"
            }
            NameProblem::ZeroVersion => "versions start at 1",
            NameProblem::VersionTooLarge => "the version number is too large",
            NameProblem::NotSql => "the file name must end in .sql",
            NameProblem::Empty => "the name is empty",
            NameProblem::NotSnakeCase => {
                "the name must be snake_case: lowercase letters and digits joined by single underscores, starting with a letter"
            }
            NameProblem::NotDescriptive => {
                "the name must say what the migration does (add_base_url, not migration_7)"
            }
        })
    }
}

/// Words that say nothing about a migration on their own.
const VAGUE: &[&str] = &[
    "migration",
    "migrations",
    "migrate",
    "mig",
    "m",
    "v",
    "version",
    "update",
    "updates",
    "change",
    "changes",
    "new",
    "untitled",
    "temp",
    "tmp",
    "test",
    "fix",
    "misc",
    "schema",
    "step",
];

/// Checks that `name` is descriptive snake_case.
///
/// ```
/// use terrace_format::{check_name, NameProblem};
/// assert_eq!(check_name("add_base_url"), Ok(()));
/// assert_eq!(check_name("migration_7"), Err(NameProblem::NotDescriptive));
/// assert_eq!(check_name("Bad-Name"), Err(NameProblem::NotSnakeCase));
/// ```
pub fn check_name(name: &str) -> Result<(), NameProblem> {
    if name.is_empty() {
        return Err(NameProblem::Empty);
    }
    if !name.as_bytes()[0].is_ascii_lowercase() {
        return Err(NameProblem::NotSnakeCase);
    }
    // One pass over the words: every one must be snake_case (that problem wins), and
    // one at least must say something.
    let mut meaningful = false;
    for word in name.split('_') {
        let mut digits_only = true;
        for b in word.bytes() {
            if b.is_ascii_digit() {
                continue;
            }
            if !b.is_ascii_lowercase() {
                return Err(NameProblem::NotSnakeCase);
            }
            digits_only = false;
        }
        if word.is_empty() {
            return Err(NameProblem::NotSnakeCase);
        }
        meaningful =
            meaningful || !(digits_only || VAGUE.contains(&word) || is_letter_and_digits(word));
    }
    if !meaningful {
        return Err(NameProblem::NotDescriptive);
    }
    Ok(())
}

/// `v2`, `m10`: one letter and a number.
fn is_letter_and_digits(word: &str) -> bool {
    let mut bytes = word.bytes();
    matches!(bytes.next(), Some(b) if b.is_ascii_lowercase())
        && word.len() > 1
        && bytes.all(|b| b.is_ascii_digit())
}

/// Splits a migration file name into its version and name, checking both.
///
/// ```
/// use terrace_format::parse_file_name;
/// assert_eq!(parse_file_name("0006_add_base_url.sql"), Ok((6, "add_base_url")));
/// assert!(parse_file_name("add_base_url.sql").is_err());
/// ```
pub fn parse_file_name(file_name: &str) -> Result<(u64, &str), NameProblem> {
    let stem = file_name.strip_suffix(".sql").ok_or(NameProblem::NotSql)?;
    let digits_end = stem
        .bytes()
        .position(|b| !b.is_ascii_digit())
        .unwrap_or(stem.len());
    if digits_end == 0 || stem.as_bytes().get(digits_end) != Some(&b'_') {
        return Err(NameProblem::NoVersion);
    }
    let version: u64 = stem[..digits_end]
        .parse()
        .map_err(|_| NameProblem::VersionTooLarge)?;
    if version > i64::MAX as u64 {
        return Err(NameProblem::VersionTooLarge);
    }
    if version == 0 {
        return Err(NameProblem::ZeroVersion);
    }
    let name = &stem[digits_end + 1..];
    check_name(name)?;
    Ok((version, name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptive_names_pass() {
        for name in [
            "add_base_url",
            "add_visual_tokens",
            "v2_api_keys",
            "drop_users_2fa",
        ] {
            assert_eq!(check_name(name), Ok(()), "{name}");
        }
    }

    #[test]
    fn vague_names_fail() {
        for name in [
            "migration",
            "migration_7",
            "m1",
            "update_2",
            "new_migration",
            "v3",
            "42",
        ] {
            assert!(check_name(name).is_err(), "{name}");
        }
    }

    #[test]
    fn badly_cased_names_fail() {
        for name in [
            "Bad-Name", "AddUrl", "add__url", "_add", "add_", "add url", "añadir",
        ] {
            assert_eq!(check_name(name), Err(NameProblem::NotSnakeCase), "{name}");
        }
        assert_eq!(check_name(""), Err(NameProblem::Empty));
    }

    #[test]
    fn file_names() {
        assert_eq!(parse_file_name("1_add_x.sql"), Ok((1, "add_x")));
        assert_eq!(parse_file_name("000012_add_x.sql"), Ok((12, "add_x")));
        assert_eq!(
            parse_file_name("0000_add_x.sql"),
            Err(NameProblem::ZeroVersion)
        );
        assert_eq!(
            parse_file_name("0001add_x.sql"),
            Err(NameProblem::NoVersion)
        );
        assert_eq!(parse_file_name("0001_add_x.txt"), Err(NameProblem::NotSql));
        assert_eq!(
            parse_file_name("99999999999999999999_add_x.sql"),
            Err(NameProblem::VersionTooLarge)
        );
        assert_eq!(
            parse_file_name("0001_add_x.up.sql"),
            Err(NameProblem::NotSnakeCase)
        );
    }
}
