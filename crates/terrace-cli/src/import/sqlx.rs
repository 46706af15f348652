//! sqlx: `<VERSION>_<DESCRIPTION>.sql` (no down), or a pair
//! `<VERSION>_<DESCRIPTION>.up.sql` and `.down.sql`, in one folder. A first line
//! `-- no-transaction` runs that file outside a transaction. sqlx records the version,
//! `success` and the SHA-384 of the up file's bytes in `_sqlx_migrations`.

use super::foreign::{Applied, Rows, flag};
use super::source::finish;
use super::source::{Down, SourceMigration, leading_digits, list_files, read_text, shown};
use crate::failure::Failure;
use sha2::{Digest, Sha384};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const NO_TRANSACTION: &str = "-- no-transaction";

/// Which file of a migration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Simple,
    Up,
    Down,
}

/// Reads a sqlx migrations folder.
pub fn read(dir: &Path) -> Result<Vec<SourceMigration>, Vec<String>> {
    let mut problems = Vec::new();
    // version -> (description, files by kind)
    let mut found: BTreeMap<i64, Vec<(Kind, PathBuf, String)>> = BTreeMap::new();
    for file in list_files(dir, false)? {
        let name = file.to_string_lossy().into_owned();
        let Some(stem) = name.strip_suffix(".sql") else {
            continue;
        };
        let (kind, stem) = if let Some(stem) = stem.strip_suffix(".up") {
            (Kind::Up, stem)
        } else if let Some(stem) = stem.strip_suffix(".down") {
            (Kind::Down, stem)
        } else {
            (Kind::Simple, stem)
        };
        let (digits, rest) = leading_digits(stem);
        let (Ok(version), Some(description)) = (digits.parse::<i64>(), rest.strip_prefix('_'))
        else {
            problems.push(format!(
                "{name}: not a sqlx migration name (<VERSION>_<DESCRIPTION>.sql, .up.sql or .down.sql)"
            ));
            continue;
        };
        found
            .entry(version)
            .or_default()
            .push((kind, file, description.to_owned()));
    }
    let mut list = Vec::new();
    for (version, files) in found {
        let of = |kind| files.iter().find(|(k, _, _)| *k == kind);
        let (up, down) = match (of(Kind::Simple), of(Kind::Up), of(Kind::Down)) {
            (Some(simple), None, None) => (simple, None),
            (None, Some(up), down) => (up, down),
            (None, None, Some(down)) => {
                problems.push(format!(
                    "{}: a down file without its .up.sql",
                    shown(&down.1)
                ));
                continue;
            }
            _ => {
                let names: Vec<String> = files.iter().map(|(_, f, _)| shown(f)).collect();
                problems.push(format!(
                    "version {version} has more than one migration: {}",
                    names.join(", ")
                ));
                continue;
            }
        };
        let up_text = match read_text(&dir.join(&up.1)) {
            Ok(text) => text,
            Err(problem) => {
                problems.push(problem);
                continue;
            }
        };
        let (up_sql, up_transactional) = strip_no_transaction(&up_text);
        let mut migration =
            SourceMigration::new(version.to_string(), up.2.clone(), up.1.clone(), up_sql);
        migration.up_transactional = up_transactional;
        migration.checksum = Some(hex(&Sha384::digest(up_text.as_bytes())));
        if let Some(down) = down {
            match read_text(&dir.join(&down.1)) {
                Ok(text) => {
                    let (sql, transactional) = strip_no_transaction(&text);
                    migration.down = Down::Sql(sql.trim().to_owned());
                    migration.down_transactional = transactional;
                }
                Err(problem) => problems.push(problem),
            }
        }
        list.push(migration);
    }
    finish(list, problems)
}

/// The SQL without a first line `-- no-transaction`, and whether it runs in a
/// transaction.
fn strip_no_transaction(text: &str) -> (&str, bool) {
    match text.strip_prefix(NO_TRANSACTION) {
        Some(rest) => (rest, false),
        None => (text, true),
    }
}

/// Lowercase hexadecimal.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The columns `applied` reads, in order.
pub const COLUMNS: &[super::foreign::Column] = &[
    super::foreign::Column::Text("version"),
    super::foreign::Column::Text("success"),
    super::foreign::Column::Hex("checksum"),
];

/// The order of `_sqlx_migrations` rows.
pub const ORDER: &str = "version";

/// The applied migrations of `_sqlx_migrations`; a row with `success = false` (a
/// migration that failed partway, on a database without transactional DDL) refuses.
pub fn applied(rows: &Rows, table: &str) -> Result<Vec<Applied>, Failure> {
    let mut applied = Vec::new();
    for row in rows {
        let version = row.text(0).to_owned();
        if !flag(row.text(1)) {
            return Err(Failure::refused(format!(
                "sqlx's table {table} records migration {version} as failed (success = false)"
            ))
            .named("foreign_history_dirty")
            .hint(format!(
                "finish or undo migration {version} by hand, delete its row from {table}, then import again"
            )));
        }
        applied.push(Applied {
            id: version,
            checksum: Some(row.text(2).to_ascii_lowercase()),
        });
    }
    Ok(applied)
}
