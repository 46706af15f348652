//! Flyway: `V<VERSION>__<DESCRIPTION>.sql` (the version's parts separated by `.` or
//! `_`: `V1_1__x.sql` is 1.1), `U<VERSION>__…` undo scripts (the down of that
//! version), `R__…` repeatables (refused: Terrace has no repeatable migrations), found
//! in the folder and its subfolders. A script's `.sql.conf` may say
//! `executeInTransaction=false`. `${placeholders}` are refused: Flyway replaces them,
//! Terrace would not. `flyway_schema_history` logs each script with its type, CRC32
//! checksum and success; a `BASELINE` row stands for every version up to its own.

use super::foreign::{Applied, Column, Rows, flag};
use super::source::{Down, SourceMigration, finish, list_files, read_text, shown};
use crate::failure::Failure;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A parsed script name.
#[derive(Debug, PartialEq, Eq)]
struct Script {
    prefix: char,
    version: Vec<u128>,
    description: String,
}

/// Reads a Flyway migrations folder, recursively, in version order.
pub fn read(dir: &Path) -> Result<Vec<SourceMigration>, Vec<String>> {
    let mut problems = Vec::new();
    let mut repeatables = Vec::new();
    let mut versioned: BTreeMap<Vec<u128>, (PathBuf, String)> = BTreeMap::new();
    let mut undo: BTreeMap<Vec<u128>, PathBuf> = BTreeMap::new();
    for file in list_files(dir, true)? {
        let Some(file_name) = file.file_name().map(|n| n.to_string_lossy().into_owned()) else {
            continue;
        };
        let Some(stem) = file_name.strip_suffix(".sql") else {
            continue;
        };
        let Some(script) = parse(stem) else {
            if stem.starts_with(['V', 'U', 'R']) && stem.contains("__") {
                problems.push(format!(
                    "{}: not a Flyway script name (V<VERSION>__<DESCRIPTION>.sql)",
                    shown(&file)
                ));
            }
            continue;
        };
        let slot = match script.prefix {
            'R' => {
                repeatables.push(shown(&file));
                continue;
            }
            'V' => versioned
                .insert(script.version.clone(), (file.clone(), script.description))
                .map(|(other, _)| other),
            _ => undo.insert(script.version.clone(), file.clone()),
        };
        if let Some(other) = slot {
            problems.push(format!(
                "{}: version {} is also the version of {}",
                shown(&file),
                dotted(&script.version),
                shown(&other)
            ));
        }
    }
    if !repeatables.is_empty() {
        problems.push(format!(
            "repeatable migrations, which Terrace does not have: {} (move their SQL into a versioned migration, or keep running them with Flyway)",
            repeatables.join(", ")
        ));
    }
    for (version, file) in &undo {
        if !versioned.contains_key(version) {
            problems.push(format!(
                "{}: an undo script for version {}, which has no V script",
                shown(file),
                dotted(version)
            ));
        }
    }
    let mut list = Vec::new();
    for (version, (file, description)) in versioned {
        let up = match read_script(dir, &file) {
            Ok(text) => text,
            Err(problem) => {
                problems.push(problem);
                continue;
            }
        };
        let mut migration = SourceMigration::new(dotted(&version), description, file.clone(), &up);
        migration.checksum = Some(checksum(&up).to_string());
        match transactional(dir, &file) {
            Ok(transactional) => migration.up_transactional = transactional,
            Err(problem) => problems.push(problem),
        }
        if let Some(undo_file) = undo.get(&version) {
            match read_script(dir, undo_file) {
                Ok(text) => migration.down = Down::Sql(text.trim().to_owned()),
                Err(problem) => problems.push(problem),
            }
            match transactional(dir, undo_file) {
                Ok(transactional) => migration.down_transactional = transactional,
                Err(problem) => problems.push(problem),
            }
        }
        list.push(migration);
    }
    finish(list, problems)
}

/// `V1_1__add_x` → prefix V, version [1, 1], description `add_x`; `R__x` has no
/// version.
fn parse(stem: &str) -> Option<Script> {
    let mut chars = stem.chars();
    let prefix = chars.next().filter(|c| matches!(c, 'V' | 'U' | 'R'))?;
    let (version, description) = chars.as_str().split_once("__")?;
    if prefix == 'R' {
        return version.is_empty().then(|| Script {
            prefix,
            version: Vec::new(),
            description: description.to_owned(),
        });
    }
    let parts: Option<Vec<u128>> = version
        .split(['.', '_'])
        .map(|part| {
            (!part.is_empty() && part.len() <= 38 && part.bytes().all(|b| b.is_ascii_digit()))
                .then(|| part.parse().ok())
                .flatten()
        })
        .collect();
    let mut parts = parts?;
    // 1.0 is 1, as Flyway compares versions.
    while parts.len() > 1 && parts.last() == Some(&0) {
        parts.pop();
    }
    Some(Script {
        prefix,
        version: parts,
        description: description.to_owned(),
    })
}

/// A version as Flyway's table writes it: `1.1`.
fn dotted(version: &[u128]) -> String {
    version
        .iter()
        .map(u128::to_string)
        .collect::<Vec<_>>()
        .join(".")
}

/// A version from Flyway's table, in the same form as [`dotted`].
fn normalize(recorded: &str) -> String {
    match parse(&format!("V{}__x", recorded.trim())) {
        Some(script) => dotted(&script.version),
        None => recorded.trim().to_owned(),
    }
}

/// A script's text; refused if it holds a `${placeholder}`.
fn read_script(dir: &Path, file: &Path) -> Result<String, String> {
    let text = read_text(&dir.join(file))?;
    for (index, line) in text.lines().enumerate() {
        if let Some(start) = line.find("${")
            && let Some(len) = line[start..].find('}')
        {
            return Err(format!(
                "{}:{}: the placeholder {} is replaced by Flyway, not by Terrace; write its value into the file",
                shown(file),
                index + 1,
                &line[start..=start + len]
            ));
        }
    }
    Ok(text)
}

/// `executeInTransaction` of the script's `.sql.conf`, true without one.
fn transactional(dir: &Path, file: &Path) -> Result<bool, String> {
    let mut conf = dir.join(file).into_os_string();
    conf.push(".conf");
    let conf = PathBuf::from(conf);
    if !conf.is_file() {
        return Ok(true);
    }
    let text = read_text(&conf)?;
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('#') {
            continue;
        }
        if let Some((key, value)) = line.split_once('=')
            && key.trim() == "executeInTransaction"
        {
            return match value.trim() {
                "true" => Ok(true),
                "false" => Ok(false),
                other => Err(format!(
                    "{}.conf: executeInTransaction must be true or false, not '{other}'",
                    shown(file)
                )),
            };
        }
    }
    Ok(true)
}

/// Flyway's checksum: the CRC-32 of the script's lines, each without its line ending
/// (and the first without a byte order mark), as the signed integer its table holds.
fn checksum(text: &str) -> i32 {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut crc = !0u32;
    let mut rest = text;
    while !rest.is_empty() {
        let end = rest.find(['\r', '\n']).unwrap_or(rest.len());
        for &byte in &rest.as_bytes()[..end] {
            crc ^= u32::from(byte);
            for _ in 0..8 {
                crc = if crc & 1 == 1 {
                    (crc >> 1) ^ 0xEDB8_8320
                } else {
                    crc >> 1
                };
            }
        }
        rest = &rest[end..];
        rest = rest
            .strip_prefix("\r\n")
            .or_else(|| rest.strip_prefix('\r'))
            .or_else(|| rest.strip_prefix('\n'))
            .unwrap_or(rest);
    }
    i32::from_ne_bytes((!crc).to_ne_bytes())
}

/// The columns `applied` reads, in order.
pub const COLUMNS: &[Column] = &[
    Column::Text("version"),
    Column::Text("type"),
    Column::Text("checksum"),
    Column::Text("success"),
    Column::Text("script"),
];

/// The order of the table's rows.
pub const ORDER: &str = "installed_rank";

/// The applied migrations, replaying the log: `SQL` applies, `UNDO_SQL` and `DELETE`
/// take back, `BASELINE` applies every source version up to its own; a failed row
/// refuses.
pub fn applied(
    rows: &Rows,
    table: &str,
    source: &[SourceMigration],
) -> Result<Vec<Applied>, Failure> {
    let mut applied: Vec<Applied> = Vec::new();
    for row in rows {
        let Some(version) = row.get(0).map(normalize) else {
            continue;
        };
        if !flag(row.text(3)) {
            return Err(Failure::refused(format!(
                "Flyway's table {table} records {} (version {version}) as failed",
                row.text(4)
            ))
            .named("foreign_history_dirty")
            .hint("repair the schema by hand, run `flyway repair` to remove the failed row, then import again"));
        }
        match row.text(1) {
            "BASELINE" => {
                let below = parse(&format!("V{version}__x")).map(|s| s.version);
                for migration in source {
                    let mine = parse(&format!("V{}__x", migration.id)).map(|s| s.version);
                    if mine <= below && !applied.iter().any(|a| a.id == migration.id) {
                        applied.push(Applied {
                            id: migration.id.clone(),
                            checksum: None,
                        });
                    }
                }
            }
            "UNDO_SQL" | "UNDO_JDBC" | "UNDO_SCRIPT" | "DELETE" => {
                applied.retain(|a| a.id != version);
            }
            _ => {
                applied.retain(|a| a.id != version);
                applied.push(Applied {
                    id: version,
                    checksum: row.get(2).map(|c| c.trim().to_owned()),
                });
            }
        }
    }
    Ok(applied)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        let script = parse("V1_1__add_x").unwrap();
        assert_eq!(
            (script.prefix, script.version, script.description.as_str()),
            ('V', vec![1, 1], "add_x")
        );
        assert_eq!(parse("V2.0__x").unwrap().version, vec![2]);
        assert_eq!(parse("R__views").unwrap().prefix, 'R');
        assert!(parse("V__x").is_none());
        assert!(parse("Vx__y").is_none());
        assert_eq!(normalize("1.1"), "1.1");
        assert_eq!(normalize("2.0"), "2");
    }

    fn row(cells: &[Option<&str>]) -> super::super::foreign::Row {
        super::super::foreign::Row(cells.iter().map(|c| c.map(str::to_owned)).collect())
    }

    #[test]
    fn the_log_is_replayed() {
        let source: Vec<SourceMigration> = ["1", "1.1", "2", "3"]
            .into_iter()
            .map(|v| SourceMigration::new(v, "x", PathBuf::from("x"), "SELECT 1;"))
            .collect();
        let rows = vec![
            row(&[
                Some("1.1"),
                Some("BASELINE"),
                None,
                Some("true"),
                Some("<< Flyway Baseline >>"),
            ]),
            row(&[
                Some("2"),
                Some("SQL"),
                Some("5"),
                Some("true"),
                Some("V2__x.sql"),
            ]),
            row(&[
                Some("3"),
                Some("SQL"),
                Some("6"),
                Some("true"),
                Some("V3__x.sql"),
            ]),
            row(&[
                Some("3"),
                Some("UNDO_SQL"),
                Some("7"),
                Some("true"),
                Some("U3__x.sql"),
            ]),
            row(&[
                None,
                Some("SQL_REPEATABLE"),
                Some("8"),
                Some("true"),
                Some("R__x.sql"),
            ]),
        ];
        let replayed = applied(&rows, "t", &source).unwrap();
        let ids: Vec<(&str, Option<&str>)> = replayed
            .iter()
            .map(|a| (a.id.as_str(), a.checksum.as_deref()))
            .collect();
        assert_eq!(ids, [("1", None), ("1.1", None), ("2", Some("5"))]);
        let failed = vec![row(&[
            Some("2"),
            Some("SQL"),
            Some("5"),
            Some("0"),
            Some("V2__x.sql"),
        ])];
        assert!(applied(&failed, "t", &source).is_err());
    }

    #[test]
    fn crc32_of_lines() {
        // The CRC-32 of "abc" is 0x352441C2; line endings are not part of it.
        assert_eq!(checksum("abc"), 0x3524_41C2);
        assert_eq!(checksum("abc\r\n"), checksum("abc"));
        assert_eq!(checksum("a\nbc"), checksum("abc"));
    }
}
