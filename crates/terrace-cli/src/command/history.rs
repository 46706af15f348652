//! `terrace history`: the tracking table, oldest first, as recorded — it needs no
//! migrations folder. Writes nothing.

use crate::config::Config;
use crate::output::{Cell, Output, Style};
use serde::Serialize;
use std::process::ExitCode;
use terrace::RowState;

#[derive(Serialize)]
struct HistoryDoc<'a> {
    table: &'a str,
    rows: Vec<RowDoc<'a>>,
}

#[derive(Serialize)]
struct RowDoc<'a> {
    version: u64,
    name: &'a str,
    applied_at: Option<&'a str>,
    execution_ms: Option<i64>,
    checksum: Option<&'a str>,
    state: &'static str,
}

/// Runs `history`.
pub fn run(config: &Config, out: &Output) -> anyhow::Result<ExitCode> {
    let database = config.location()?;
    let tracking = config.table_only()?;
    crate::banner::record(config, &database);
    let mut conn = database.open_read_only(out)?;
    // The rows are the status's applied list; with no migrations given, its problems
    // (every row "missing") mean nothing here and are not shown.
    let status = tracking.status(&mut conn)?;
    let table = tracking.table().as_str();
    let rows = status.applied.iter().map(|a| &a.row);
    if out.is_json() {
        out.json(&HistoryDoc {
            table,
            rows: rows
                .map(|row| RowDoc {
                    version: row.version,
                    name: &row.name,
                    applied_at: row.applied_at.as_deref(),
                    execution_ms: row.execution_ms,
                    checksum: row.checksum.as_deref(),
                    state: row.state.as_str(),
                })
                .collect(),
        })?;
        return Ok(ExitCode::SUCCESS);
    }
    let rows: Vec<Vec<Cell>> = rows
        .map(|row| {
            let state = match row.state {
                RowState::Applied => Cell::plain("applied"),
                other => Cell::styled(other.as_str(), Style::Bad),
            };
            vec![
                Cell::plain(row.version.to_string()),
                Cell::plain(row.name.clone()),
                Cell::plain(row.applied_at.clone().unwrap_or_default()),
                Cell::plain(
                    row.execution_ms
                        .map_or_else(|| "-".to_owned(), |ms| format!("{ms} ms")),
                ),
                Cell::plain(short_checksum(row.checksum.as_deref())),
                state,
            ]
        })
        .collect();
    if rows.is_empty() {
        out.print(&format!("no migrations recorded in {table}"))?;
    } else {
        out.print(&out.table(
            &[
                "VERSION",
                "NAME",
                "APPLIED AT",
                "DURATION",
                "CHECKSUM",
                "STATE",
            ],
            &rows,
        ))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// The algorithm and the first 12 hex digits: enough to compare by eye.
fn short_checksum(checksum: Option<&str>) -> String {
    match checksum {
        None => "-".to_owned(),
        Some(checksum) => {
            let (algorithm, hex) = checksum.split_once(':').unwrap_or(("", checksum));
            let hex: String = hex.chars().take(12).collect();
            if algorithm.is_empty() {
                hex
            } else {
                format!("{algorithm}:{hex}")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksums_are_shortened() {
        assert_eq!(short_checksum(None), "-");
        assert_eq!(
            short_checksum(Some("sha256:0123456789abcdef0123")),
            "sha256:0123456789ab"
        );
        assert_eq!(short_checksum(Some("0123456789abcdef")), "0123456789ab");
    }
}
