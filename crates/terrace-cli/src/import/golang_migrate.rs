//! golang-migrate: `<VERSION>_<TITLE>.up.sql` and an optional `.down.sql`. Its
//! `schema_migrations` holds a single row, the current version and whether the last
//! run left it `dirty`: every migration up to that version is applied.

use super::foreign::{Applied, Column, Rows, flag};
use super::source::finish;
use super::source::{Down, SourceMigration, leading_digits, list_files, read_text, shown};
use crate::failure::Failure;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A version's up file with its title, and its down file.
type Files = (Option<(PathBuf, String)>, Option<PathBuf>);

/// Reads a golang-migrate folder, in version order.
pub fn read(dir: &Path) -> Result<Vec<SourceMigration>, Vec<String>> {
    let mut problems = Vec::new();
    let mut found: BTreeMap<u64, Files> = BTreeMap::new();
    for file in list_files(dir, false)? {
        let file_name = file.to_string_lossy().into_owned();
        let (digits, rest) = leading_digits(&file_name);
        let Some(rest) = rest.strip_prefix('_') else {
            continue;
        };
        let (title, up) = if let Some(title) = rest.strip_suffix(".up.sql") {
            (title, true)
        } else if let Some(title) = rest.strip_suffix(".down.sql") {
            (title, false)
        } else {
            if rest.contains(".up.") || rest.contains(".down.") {
                problems.push(format!("{file_name}: only .sql migrations can be imported"));
            }
            continue;
        };
        let Ok(version) = digits.parse::<u64>() else {
            problems.push(format!("{file_name}: the version does not fit in 64 bits"));
            continue;
        };
        let entry = found.entry(version).or_default();
        let slot_taken = if up {
            entry.0.replace((file.clone(), title.to_owned())).is_some()
        } else {
            entry.1.replace(file.clone()).is_some()
        };
        if slot_taken {
            problems.push(format!(
                "{file_name}: version {version} has another {} file",
                if up { "up" } else { "down" }
            ));
        }
    }
    let mut list = Vec::new();
    for (version, (up, down)) in found {
        let Some((up_file, title)) = up else {
            if let Some(down) = down {
                problems.push(format!("{}: a down file without its .up.sql", shown(&down)));
            }
            continue;
        };
        let up = match read_text(&dir.join(&up_file)) {
            Ok(text) => text,
            Err(problem) => {
                problems.push(problem);
                continue;
            }
        };
        let mut migration = SourceMigration::new(version.to_string(), title, up_file, &up);
        if let Some(down) = down {
            match read_text(&dir.join(&down)) {
                // An empty down file runs nothing in golang-migrate.
                Ok(text) if text.trim().is_empty() => migration.down = Down::Noop,
                Ok(text) => migration.down = Down::Sql(text.trim().to_owned()),
                Err(problem) => problems.push(problem),
            }
        }
        list.push(migration);
    }
    finish(list, problems)
}

/// The columns `applied` reads, in order.
pub const COLUMNS: &[Column] = &[Column::Text("version"), Column::Text("dirty")];

/// The order of the table's rows.
pub const ORDER: &str = "version";

/// The applied migrations: every source migration up to the recorded version. A dirty
/// row refuses; so does more than one row.
pub fn applied(
    rows: &Rows,
    table: &str,
    source: &[SourceMigration],
) -> Result<Vec<Applied>, Failure> {
    let row = match rows.as_slice() {
        [] => return Ok(Vec::new()),
        [row] => row,
        _ => {
            return Err(Failure::refused(format!(
                "golang-migrate's table {table} has {} rows; it keeps exactly one, the current version",
                rows.len()
            ))
            .named("foreign_history_dirty"));
        }
    };
    let Ok(current) = row.text(0).trim().parse::<i64>() else {
        return Err(Failure::refused(format!(
            "golang-migrate's table {table} holds version '{}', which is not a number",
            row.text(0)
        ))
        .named("foreign_history_dirty"));
    };
    if flag(row.text(1)) {
        return Err(Failure::refused(format!(
            "golang-migrate's table {table} is dirty at version {current}: a migration failed partway"
        ))
        .named("foreign_history_dirty")
        .hint(format!(
            "repair the schema by hand, then `migrate force VERSION` with the last version that is fully applied (the one before {current} if it did not finish), and import again"
        )));
    }
    if current < 0 {
        return Ok(Vec::new());
    }
    let mut applied: Vec<Applied> = source
        .iter()
        .filter(|m| m.id.parse::<i64>().is_ok_and(|v| v <= current))
        .map(|m| Applied {
            id: m.id.clone(),
            checksum: None,
        })
        .collect();
    if !source.iter().any(|m| m.id == current.to_string()) {
        // The current version names no file: report it as an applied migration that
        // the folder lacks.
        applied.push(Applied {
            id: current.to_string(),
            checksum: None,
        });
    }
    Ok(applied)
}

#[cfg(test)]
mod tests {
    use super::super::foreign::Row;
    use super::*;

    #[test]
    fn every_version_up_to_the_current_one_is_applied() {
        let source: Vec<SourceMigration> = ["1", "5", "9"]
            .into_iter()
            .map(|v| SourceMigration::new(v, "x", PathBuf::from("x"), "SELECT 1;"))
            .collect();
        let ids = |version: &str| -> Vec<String> {
            let rows = vec![Row(vec![
                Some(version.to_owned()),
                Some("false".to_owned()),
            ])];
            applied(&rows, "t", &source)
                .unwrap()
                .into_iter()
                .map(|a| a.id)
                .collect()
        };
        assert_eq!(ids("5"), ["1", "5"]);
        assert_eq!(ids("-1"), Vec::<String>::new());
        // A version no file has is reported as applied, for the match to name it.
        assert_eq!(ids("7"), ["1", "5", "7"]);
        assert!(applied(&Vec::new(), "t", &source).unwrap().is_empty());
        let dirty = vec![Row(vec![Some("5".to_owned()), Some("t".to_owned())])];
        assert!(applied(&dirty, "t", &source).is_err());
    }
}
