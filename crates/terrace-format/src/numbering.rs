//! The numbers in a folder's file names: which version each `*.sql` file holds, how
//! many digits its name spells it with, and so the next free version and the padding
//! a new file name takes.
//!
//! Only the file names are read, never the files: a draft whose up section is still
//! empty, or a file with a refused name, still holds its version here.

use crate::name::parse_file_name;
use std::io;
use std::path::Path;

/// The digits of a version when the folder has no numbered file yet.
pub const DEFAULT_WIDTH: usize = 4;

/// A `*.sql` file whose name starts with a version number and `_`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NumberedFile {
    /// The file name, such as `0006_add_email.sql`.
    pub file_name: String,
    /// The version its name starts with.
    pub version: u64,
    /// How many digits the name spells the version with (4 for `0006`).
    pub digits: usize,
    /// The migration's name, when the whole file name is a valid migration file name
    /// (`None` for `0006_Bad.sql`).
    pub name: Option<String>,
}

/// The version and its digit count of a file named like a migration: `*.sql`, not
/// hidden, starting with digits and `_`. Only the leading number counts, so that a
/// file with a refused name still holds its version.
///
/// ```
/// use terrace_format::numbering::numbered;
/// assert_eq!(numbered("0012_add_x.sql"), Some((12, 4)));
/// assert_eq!(numbered("7_Bad-Name.sql"), Some((7, 1)));
/// assert_eq!(numbered("terrace.sum"), None);
/// ```
pub fn numbered(file_name: &str) -> Option<(u64, usize)> {
    if file_name.starts_with('.') || !file_name.ends_with(".sql") {
        return None;
    }
    let digits = file_name.bytes().take_while(|b| b.is_ascii_digit()).count();
    if digits == 0 || file_name.as_bytes().get(digits) != Some(&b'_') {
        return None;
    }
    Some((file_name[..digits].parse().ok()?, digits))
}

/// Every numbered file directly in `dir`, sorted by version, then file name. Names
/// that are not UTF-8 are skipped.
pub fn list_numbered(dir: &Path) -> io::Result<Vec<NumberedFile>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let Ok(file_name) = entry.file_name().into_string() else {
            continue;
        };
        let Some((version, digits)) = numbered(&file_name) else {
            continue;
        };
        let name = parse_file_name(&file_name)
            .ok()
            .map(|(_, name)| name.to_owned());
        files.push(NumberedFile {
            file_name,
            version,
            digits,
            name,
        });
    }
    files.sort_by(|a, b| (a.version, &a.file_name).cmp(&(b.version, &b.file_name)));
    Ok(files)
}

/// The digits the folder spells versions with: those of its highest version's file
/// name, or [`DEFAULT_WIDTH`] for a folder without numbered files.
pub fn width(files: &[NumberedFile]) -> usize {
    files
        .iter()
        .max_by_key(|f| f.version)
        .map_or(DEFAULT_WIDTH, |f| f.digits)
}

/// A migration's file name: the version zero-padded to `width` digits (more when it
/// needs them), `_`, the name, `.sql`.
///
/// ```
/// use terrace_format::numbering::file_name;
/// assert_eq!(file_name(7, 4, "add_email"), "0007_add_email.sql");
/// assert_eq!(file_name(12, 1, "add_email"), "12_add_email.sql");
/// ```
pub fn file_name(version: u64, width: usize, name: &str) -> String {
    format!("{version:0width$}_{name}.sql")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbered_files() {
        assert_eq!(numbered("0001_add_base_url.sql"), Some((1, 4)));
        assert_eq!(numbered("012_add_x.sql"), Some((12, 3)));
        assert_eq!(numbered("7_migration_7.sql"), Some((7, 1)));
        assert_eq!(numbered("0001add.sql"), None);
        assert_eq!(numbered("0001_add.txt"), None);
        assert_eq!(numbered(".0001_add.sql"), None);
        assert_eq!(numbered("add.sql"), None);
        assert_eq!(numbered("99999999999999999999999_add.sql"), None);
    }

    #[test]
    fn width_is_the_highest_versions() {
        let file = |version, digits| NumberedFile {
            file_name: String::new(),
            version,
            digits,
            name: None,
        };
        assert_eq!(width(&[]), DEFAULT_WIDTH);
        assert_eq!(width(&[file(1, 4), file(12, 2)]), 2);
        assert_eq!(width(&[file(9, 1), file(3, 3)]), 1);
    }
}
