//! refinery: `V<VERSION>__<NAME>.sql` (versioned) and `U<VERSION>__<NAME>.sql`
//! (unversioned: may be applied out of order), found in the folder and every
//! subfolder, as refinery's file finder walks them. refinery has no down migrations;
//! a first line `-- +refinery NO TRANSACTION` runs the file outside a transaction.
//! `refinery_schema_history` holds version, name, applied_on and checksum; the
//! checksum is refinery's own hash, which Terrace does not recompute.

use super::foreign::Column;
use super::source::finish;
use super::source::{SourceMigration, list_files, read_text, shown};
use std::path::Path;

/// Reads a refinery migrations folder, recursively.
pub fn read(dir: &Path) -> Result<Vec<SourceMigration>, Vec<String>> {
    let mut problems = Vec::new();
    let mut list: Vec<(i64, SourceMigration)> = Vec::new();
    for file in list_files(dir, true)? {
        let Some(file_name) = file.file_name().map(|n| n.to_string_lossy().into_owned()) else {
            continue;
        };
        let Some(parsed) = parse(&file_name) else {
            if dotted_version(&file_name) {
                problems.push(format!(
                    "{}: refinery reads versions as whole numbers; rename it with one",
                    shown(&file)
                ));
            }
            continue;
        };
        let (version, name, extension) = parsed;
        if extension != "sql" {
            problems.push(format!(
                "{}: a Rust migration; only SQL files can be imported (rewrite it as SQL, or as a Terrace code migration by hand)",
                shown(&file)
            ));
            continue;
        }
        match read_text(&dir.join(&file)) {
            Ok(text) => {
                let (sql, transactional) = strip_no_transaction(&text);
                let mut migration = SourceMigration::new(version.to_string(), name, file, sql);
                migration.up_transactional = transactional;
                list.push((version, migration));
            }
            Err(problem) => problems.push(problem),
        }
    }
    list.sort_by_key(|(version, _)| *version);
    let list: Vec<SourceMigration> = list.into_iter().map(|(_, m)| m).collect();
    finish(list, problems)
}

/// The SQL without a first line `-- +refinery NO TRANSACTION`, and whether it runs in
/// a transaction.
fn strip_no_transaction(text: &str) -> (&str, bool) {
    let trimmed = text.trim_start();
    let (first, rest) = trimmed.split_once('\n').unwrap_or((trimmed, ""));
    if first.trim() == "-- +refinery NO TRANSACTION" {
        (rest, false)
    } else {
        (text, true)
    }
}

/// `V1.1__x.sql`: refinery's file pattern, with a version it cannot read.
fn dotted_version(file_name: &str) -> bool {
    let rest = file_name
        .strip_prefix('V')
        .or_else(|| file_name.strip_prefix('U'));
    rest.and_then(|rest| rest.split_once("__"))
        .is_some_and(|(version, _)| {
            version.contains('.')
                && version
                    .split('.')
                    .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
        })
}

/// `V12__add_x.sql` → (12, "add_x", "sql"); `None` for a file refinery does not read.
fn parse(file_name: &str) -> Option<(i64, String, &str)> {
    let (stem, extension) = file_name.rsplit_once('.')?;
    if extension != "sql" && extension != "rs" {
        return None;
    }
    let rest = stem.strip_prefix('V').or_else(|| stem.strip_prefix('U'))?;
    let (digits, name) = rest.split_once("__")?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if name.is_empty() || !name.chars().all(|c| c.is_alphanumeric() || c == '_') {
        return None;
    }
    Some((digits.parse().ok()?, name.to_owned(), extension))
}

/// The columns `applied` reads, in order.
pub const COLUMNS: &[Column] = &[Column::Text("version"), Column::Text("name")];

/// The order of the table's rows.
pub const ORDER: &str = "version";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(parse("V1__init.sql"), Some((1, "init".into(), "sql")));
        assert_eq!(
            parse("U3__seed_data.sql"),
            Some((3, "seed_data".into(), "sql"))
        );
        assert_eq!(parse("V2__x.rs"), Some((2, "x".into(), "rs")));
        assert_eq!(parse("V2_x.sql"), None);
        assert_eq!(parse("R__x.sql"), None);
        assert_eq!(parse("V__x.sql"), None);
        assert_eq!(parse("README.md"), None);
        assert!(dotted_version("V1.1__x.sql"));
        assert!(!dotted_version("V1__x.sql"));
        assert_eq!(
            strip_no_transaction("-- +refinery NO TRANSACTION\nSELECT 1;"),
            ("SELECT 1;", false)
        );
        assert_eq!(strip_no_transaction("SELECT 1;"), ("SELECT 1;", true));
    }
}
