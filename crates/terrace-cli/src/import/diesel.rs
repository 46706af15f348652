//! diesel: one folder per migration, `<VERSION>_<NAME>/` holding `up.sql`, an
//! optional `down.sql` (an empty one is an explicit no-op) and an optional
//! `metadata.toml` whose `run_in_transaction = false` runs both outside a transaction.
//! The version is the folder name up to its first `_`, with its `-` removed
//! (`2024-01-31-120000_create_users` → `20240131120000`);
//! `__diesel_schema_migrations` holds one row per applied version.

use super::foreign::Column;
use super::source::finish;
use super::source::{Down, SourceMigration, list_folders, read_text};
use std::path::{Path, PathBuf};

/// Reads a diesel migrations folder, in version order.
pub fn read(dir: &Path) -> Result<Vec<SourceMigration>, Vec<String>> {
    let mut problems = Vec::new();
    let mut list = Vec::new();
    for folder in list_folders(dir)? {
        let Some((version, name)) = folder.split_once('_') else {
            problems.push(format!(
                "{folder}/: not a diesel migration folder (<VERSION>_<NAME>)"
            ));
            continue;
        };
        let version = version.replace('-', "");
        let path = dir.join(&folder);
        if !path.join("up.sql").is_file() {
            problems.push(format!("{folder}/: has no up.sql"));
            continue;
        }
        let up = match read_text(&path.join("up.sql")) {
            Ok(text) => text,
            Err(problem) => {
                problems.push(problem);
                continue;
            }
        };
        let mut migration = SourceMigration::new(version, name, PathBuf::from(&folder), &up);
        if path.join("down.sql").is_file() {
            match read_text(&path.join("down.sql")) {
                Ok(text) if text.trim().is_empty() => migration.down = Down::Noop,
                Ok(text) => migration.down = Down::Sql(text.trim().to_owned()),
                Err(problem) => problems.push(problem),
            }
        }
        if path.join("metadata.toml").is_file() {
            match metadata_transactional(&path.join("metadata.toml")) {
                Ok(transactional) => {
                    migration.up_transactional = transactional;
                    migration.down_transactional = transactional;
                }
                Err(problem) => problems.push(format!("{folder}/metadata.toml: {problem}")),
            }
        }
        list.push(migration);
    }
    list.sort_by(|a, b| a.id.cmp(&b.id));
    finish(list, problems)
}

/// `run_in_transaction` of a `metadata.toml` (true unless it says false).
fn metadata_transactional(path: &Path) -> Result<bool, String> {
    let text = read_text(path)?;
    let table: toml::Table = text
        .parse()
        .map_err(|err: toml::de::Error| err.message().to_owned())?;
    match table.get("run_in_transaction") {
        None => Ok(true),
        Some(toml::Value::Boolean(value)) => Ok(*value),
        Some(_) => Err("run_in_transaction must be true or false".to_owned()),
    }
}

/// The columns `applied` reads, in order.
pub const COLUMNS: &[Column] = &[Column::Text("version")];

/// The order of the table's rows.
pub const ORDER: &str = "version";
