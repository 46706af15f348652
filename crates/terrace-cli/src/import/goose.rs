//! goose: `<VERSION>_<NAME>.sql` with `-- +goose Up` and `-- +goose Down` sections,
//! `-- +goose NO TRANSACTION` for the whole file, and `-- +goose StatementBegin` /
//! `StatementEnd` around a statement goose must not split. `goose_db_version` logs
//! every apply and rollback: the newest row of a version says whether it is applied,
//! and version 0 is goose's own first row.
//!
//! Terrace has no block construct: its splitter knows the dialects' bodies (dollar
//! quotes, trigger and routine bodies), so a block is kept only if that splitter reads
//! it as one statement, in the dialect of the database being adopted or, without one,
//! in some dialect. Otherwise the file is refused, naming the block.

use super::foreign::{Applied, Column, Rows, flag};
use super::source::finish;
use super::source::{
    Down, ReadContext, SourceMigration, leading_digits, list_files, read_text, shown,
};
use crate::failure::Failure;
use std::collections::HashMap;
use std::path::Path;
use terrace::format::{Dialect, split_statements};

/// Reads a goose migrations folder, in version order.
pub fn read(dir: &Path, context: &ReadContext) -> Result<Vec<SourceMigration>, Vec<String>> {
    let mut problems = Vec::new();
    let mut list: Vec<(i64, SourceMigration)> = Vec::new();
    for file in list_files(dir, false)? {
        let file_name = file.to_string_lossy().into_owned();
        let (digits, rest) = leading_digits(&file_name);
        let Some(rest) = rest.strip_prefix('_') else {
            continue;
        };
        let (name, go) = if let Some(name) = rest.strip_suffix(".sql") {
            (name, false)
        } else if let Some(name) = rest.strip_suffix(".go") {
            (name, true)
        } else {
            continue;
        };
        if go {
            if !name.ends_with("_test") {
                problems.push(format!(
                    "{file_name}: a Go migration; only SQL files can be imported (rewrite it as SQL, or as a Terrace code migration)"
                ));
            }
            continue;
        }
        let Ok(version) = digits.parse::<i64>() else {
            problems.push(format!("{file_name}: the version does not fit in 64 bits"));
            continue;
        };
        match read_text(&dir.join(&file)).and_then(|text| parse(&text, &file, context)) {
            Ok(parsed) => {
                let mut migration =
                    SourceMigration::new(version.to_string(), name, file, &parsed.up);
                migration.down = parsed.down;
                migration.up_transactional = parsed.transactional;
                migration.down_transactional = parsed.transactional;
                list.push((version, migration));
            }
            Err(problem) => problems.push(problem),
        }
    }
    list.sort_by_key(|(version, _)| *version);
    let list: Vec<SourceMigration> = list.into_iter().map(|(_, m)| m).collect();
    finish(list, problems)
}

/// A goose file's parts.
#[derive(Debug, PartialEq, Eq)]
struct Parsed {
    up: String,
    down: Down,
    transactional: bool,
}

/// Where a line of the file goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Section {
    Before,
    Up,
    Down,
}

/// Splits a goose file into its sections, dropping the annotations; checks each
/// `StatementBegin` block.
fn parse(text: &str, file: &Path, context: &ReadContext) -> Result<Parsed, String> {
    let at = |line: usize| format!("{}:{line}", shown(file));
    let mut section = Section::Before;
    let mut up = String::new();
    let mut down = String::new();
    let mut saw_down = false;
    let mut transactional = true;
    // The block being read: its first line and text.
    let mut block: Option<(usize, String)> = None;
    let mut before = String::new();
    for (index, line) in text.lines().enumerate() {
        let number = index + 1;
        let annotation = line
            .trim()
            .strip_prefix("--")
            .map(str::trim_start)
            .and_then(|rest| rest.strip_prefix("+goose"))
            .map(|rest| rest.trim().to_ascii_uppercase());
        let target = match section {
            Section::Up => &mut up,
            Section::Down => &mut down,
            Section::Before => &mut before,
        };
        let Some(annotation) = annotation else {
            match &mut block {
                Some((_, body)) => {
                    body.push_str(line);
                    body.push('\n');
                }
                None => {
                    if section == Section::Before
                        && !line.trim().is_empty()
                        && !line.trim().starts_with("--")
                    {
                        return Err(format!("{}: SQL before `-- +goose Up`", at(number)));
                    }
                    target.push_str(line);
                    target.push('\n');
                }
            }
            continue;
        };
        match annotation.as_str() {
            "UP" => section = Section::Up,
            "DOWN" => {
                section = Section::Down;
                saw_down = true;
            }
            "NO TRANSACTION" => transactional = false,
            "STATEMENTBEGIN" => {
                if block.is_some() {
                    return Err(format!("{}: StatementBegin inside a block", at(number)));
                }
                block = Some((number, String::new()));
            }
            "STATEMENTEND" => {
                let Some((start, body)) = block.take() else {
                    return Err(format!(
                        "{}: StatementEnd without StatementBegin",
                        at(number)
                    ));
                };
                let body = body.trim_end();
                let body = body.strip_suffix(';').unwrap_or(body).trim_end();
                if !kept_whole(body, context) {
                    return Err(format!(
                        "{}: the StatementBegin block would be split into several statements by Terrace, which keeps only dollar-quoted, trigger and routine bodies whole and has no block construct; make it one such statement, or split it into statements",
                        at(start)
                    ));
                }
                target.push_str(body);
                target.push_str(";\n");
            }
            "ENVSUB ON" => {
                return Err(format!(
                    "{}: `-- +goose ENVSUB ON` substitutes environment variables, which Terrace does not; write the values into the file",
                    at(number)
                ));
            }
            "ENVSUB OFF" => {}
            other => {
                return Err(format!(
                    "{}: unknown goose annotation '{other}'",
                    at(number)
                ));
            }
        }
    }
    if let Some((start, _)) = block {
        return Err(format!(
            "{}: StatementBegin without StatementEnd",
            at(start)
        ));
    }
    if section == Section::Before {
        return Err(format!("{}: no `-- +goose Up` annotation", shown(file)));
    }
    let down_sql = down.trim();
    Ok(Parsed {
        up: up.trim().to_owned(),
        down: match (saw_down, down_sql.is_empty()) {
            (false, _) => Down::None,
            // An empty Down section: goose rolls back by doing nothing.
            (true, true) => Down::Noop,
            (true, false) => Down::Sql(down_sql.to_owned()),
        },
        transactional,
    })
}

/// Whether Terrace's splitter reads `body` as one statement: in the dialect being
/// adopted, or without one in some dialect.
fn kept_whole(body: &str, context: &ReadContext) -> bool {
    let dialects = match context.dialect {
        Some(dialect) => vec![dialect],
        None => vec![Dialect::Postgres, Dialect::Mysql, Dialect::Sqlite],
    };
    dialects
        .into_iter()
        .any(|dialect| split_statements(body, dialect).len() == 1)
}

/// The columns `applied` reads, in order.
pub const COLUMNS: &[Column] = &[Column::Text("version_id"), Column::Text("is_applied")];

/// The order of the table's rows.
pub const ORDER: &str = "id";

/// The applied migrations: each version whose newest row says applied; version 0 is
/// goose's own.
pub fn applied(rows: &Rows, _table: &str) -> Result<Vec<Applied>, Failure> {
    let mut order: Vec<String> = Vec::new();
    let mut state: HashMap<String, bool> = HashMap::new();
    for row in rows {
        let version = row.text(0).trim().to_owned();
        if version == "0" {
            continue;
        }
        if state.insert(version.clone(), flag(row.text(1))).is_none() {
            order.push(version);
        }
    }
    Ok(order
        .into_iter()
        .filter(|v| state.get(v).copied().unwrap_or(false))
        .map(|id| Applied { id, checksum: None })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn parsed(text: &str) -> Result<Parsed, String> {
        parse(text, &PathBuf::from("1_x.sql"), &ReadContext::default())
    }

    #[test]
    fn sections_and_blocks() {
        let text = "-- +goose Up\n-- +goose StatementBegin\nCREATE FUNCTION f() RETURNS int AS $$\nBEGIN RETURN 1; END;\n$$ LANGUAGE plpgsql;\n-- +goose StatementEnd\nCREATE TABLE t (id int);\n-- +goose Down\nDROP TABLE t;\n";
        let p = parsed(text).unwrap();
        assert_eq!(
            p.up,
            "CREATE FUNCTION f() RETURNS int AS $$\nBEGIN RETURN 1; END;\n$$ LANGUAGE plpgsql;\nCREATE TABLE t (id int);"
        );
        assert_eq!(p.down, Down::Sql("DROP TABLE t;".into()));
        assert!(p.transactional);
        let p =
            parsed("-- +goose NO TRANSACTION\n-- +goose Up\nSELECT 1;\n-- +goose Down\n").unwrap();
        assert!(!p.transactional);
        assert_eq!(p.down, Down::Noop);
        assert_eq!(
            parsed("-- +goose Up\nSELECT 1;\n").unwrap().down,
            Down::None
        );
        assert!(parsed("-- +goose Up\n-- +goose StatementBegin\nSELECT 1;\nSELECT 2;\n-- +goose StatementEnd\n").is_err());
        assert!(parsed("SELECT 1;\n-- +goose Up\n").is_err());
        assert!(parsed("-- +goose Up\n-- +goose ENVSUB ON\n").is_err());
    }
}
