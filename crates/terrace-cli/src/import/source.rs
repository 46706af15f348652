//! What every tool's reader produces: the source migrations in the tool's order, each
//! with its SQL, its options and the id the tool records it under; and the file
//! listing the readers share.

use crate::failure::Failure;
use std::path::{Path, PathBuf};

/// The tools `terrace import` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Tool {
    // Plain comments, not doc comments: clap would print these as a long list.
    // sqlx-cli and `sqlx::migrate!`.
    Sqlx,
    // refinery.
    Refinery,
    // diesel_migrations and diesel_cli.
    Diesel,
    // dbmate.
    Dbmate,
    // goose.
    Goose,
    // golang-migrate.
    GolangMigrate,
    // Flyway.
    Flyway,
}

impl Tool {
    /// The tool's name as `--from` takes it.
    pub fn name(self) -> &'static str {
        match self {
            Tool::Sqlx => "sqlx",
            Tool::Refinery => "refinery",
            Tool::Diesel => "diesel",
            Tool::Dbmate => "dbmate",
            Tool::Goose => "goose",
            Tool::GolangMigrate => "golang-migrate",
            Tool::Flyway => "flyway",
        }
    }

    /// The tool's tracking table unless it was told another.
    pub fn default_table(self) -> &'static str {
        match self {
            Tool::Sqlx => "_sqlx_migrations",
            Tool::Refinery => "refinery_schema_history",
            Tool::Diesel => "__diesel_schema_migrations",
            Tool::Dbmate | Tool::GolangMigrate => "schema_migrations",
            Tool::Goose => "goose_db_version",
            Tool::Flyway => "flyway_schema_history",
        }
    }

    /// Reads the tool's migrations folder, in the tool's order; every problem found,
    /// each naming its file, otherwise.
    pub fn read(
        self,
        dir: &Path,
        context: &ReadContext,
    ) -> Result<Vec<SourceMigration>, Vec<String>> {
        match self {
            Tool::Sqlx => super::sqlx::read(dir),
            Tool::Refinery => super::refinery::read(dir),
            Tool::Diesel => super::diesel::read(dir),
            Tool::Dbmate => super::dbmate::read(dir),
            Tool::Goose => super::goose::read(dir, context),
            Tool::GolangMigrate => super::golang_migrate::read(dir),
            Tool::Flyway => super::flyway::read(dir),
        }
    }
}

/// What a reader may need beyond the folder.
#[derive(Debug, Clone, Default)]
pub struct ReadContext {
    /// The dialect of the database being adopted, when there is one: a block that must
    /// stay one statement is checked against it alone.
    pub dialect: Option<terrace::format::Dialect>,
}

/// The down direction of a source migration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Down {
    /// The source has none: the migration cannot be rolled back.
    None,
    /// The source says, explicitly, that rolling back does nothing.
    Noop,
    /// SQL to run.
    Sql(String),
}

/// One migration of the source folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceMigration {
    /// The id the tool records it under in its table (its version, as text).
    pub id: String,
    /// Its name or description as the tool's file gives it, before sanitising.
    pub name: String,
    /// The file (or diesel's folder) it came from, relative to the source folder.
    pub file: PathBuf,
    /// The up SQL, trimmed, without the tool's own annotations.
    pub up: String,
    /// The down direction.
    pub down: Down,
    /// Whether the up direction runs in a transaction.
    pub up_transactional: bool,
    /// Whether the down direction runs in a transaction.
    pub down_transactional: bool,
    /// The checksum the tool records for it, as the tool's table holds it, where the
    /// tool records one and Terrace computes it the same way.
    pub checksum: Option<String>,
}

impl SourceMigration {
    /// A transactional migration with no down and no checksum.
    pub fn new(id: impl Into<String>, name: impl Into<String>, file: PathBuf, up: &str) -> Self {
        SourceMigration {
            id: id.into(),
            name: name.into(),
            file,
            up: up.trim().to_owned(),
            down: Down::None,
            up_transactional: true,
            down_transactional: true,
            checksum: None,
        }
    }
}

/// The regular files under `dir` (in its subfolders too when `recursive`), as paths
/// relative to it, sorted; names starting with `.` are skipped.
pub fn list_files(dir: &Path, recursive: bool) -> Result<Vec<PathBuf>, Vec<String>> {
    let mut found = Vec::new();
    let mut problems = Vec::new();
    walk(dir, Path::new(""), recursive, &mut found, &mut problems);
    if !problems.is_empty() {
        return Err(problems);
    }
    found.sort();
    Ok(found)
}

fn walk(
    root: &Path,
    relative: &Path,
    recursive: bool,
    found: &mut Vec<PathBuf>,
    problems: &mut Vec<String>,
) {
    let here = root.join(relative);
    let entries = match std::fs::read_dir(&here) {
        Ok(entries) => entries,
        Err(err) => {
            problems.push(format!("{}: cannot be listed: {err}", here.display()));
            return;
        }
    };
    for entry in entries {
        let entry = match entry {
            Ok(entry) => entry,
            Err(err) => {
                problems.push(format!("{}: cannot be listed: {err}", here.display()));
                continue;
            }
        };
        let name = entry.file_name();
        if name.to_string_lossy().starts_with('.') {
            continue;
        }
        let path = relative.join(&name);
        match std::fs::metadata(entry.path()) {
            Ok(meta) if meta.is_dir() => {
                if recursive {
                    walk(root, &path, recursive, found, problems);
                }
            }
            Ok(meta) if meta.is_file() => found.push(path),
            Ok(_) => {}
            Err(err) => problems.push(format!("{}: {err}", entry.path().display())),
        }
    }
}

/// The subfolders of `dir`, by name, sorted; names starting with `.` are skipped.
pub fn list_folders(dir: &Path) -> Result<Vec<String>, Vec<String>> {
    let entries = std::fs::read_dir(dir)
        .map_err(|err| vec![format!("{}: cannot be listed: {err}", dir.display())])?;
    let mut names = Vec::new();
    for entry in entries {
        let entry =
            entry.map_err(|err| vec![format!("{}: cannot be listed: {err}", dir.display())])?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.starts_with('.') && entry.path().is_dir() {
            names.push(name);
        }
    }
    names.sort();
    Ok(names)
}

/// A file's text, or a problem naming it.
pub fn read_text(path: &Path) -> Result<String, String> {
    let bytes =
        std::fs::read(path).map_err(|err| format!("{}: cannot be read: {err}", path.display()))?;
    String::from_utf8(bytes).map_err(|err| {
        format!(
            "{}: is not UTF-8 (at byte {})",
            path.display(),
            err.utf8_error().valid_up_to()
        )
    })
}

/// A path relative to the source folder, as shown in messages and the mapping file.
pub fn shown(path: &Path) -> String {
    path.to_string_lossy().replace('\\', "/")
}

/// Refuses two source migrations with one id, naming both files; the list is in the
/// tool's order.
fn refuse_duplicates(list: &[SourceMigration], problems: &mut Vec<String>) {
    let mut seen: std::collections::HashMap<&str, &Path> = std::collections::HashMap::new();
    for migration in list {
        if let Some(first) = seen.insert(&migration.id, &migration.file) {
            problems.push(format!(
                "{}: version {} is also the version of {}",
                shown(&migration.file),
                migration.id,
                shown(first)
            ));
        }
    }
}

/// A reader's result: the list, unless a problem was found (two migrations with one
/// id, and a migration with no SQL to run, included).
pub fn finish(
    list: Vec<SourceMigration>,
    mut problems: Vec<String>,
) -> Result<Vec<SourceMigration>, Vec<String>> {
    refuse_duplicates(&list, &mut problems);
    for migration in &list {
        let dialect = terrace::format::Dialect::Postgres;
        if terrace::format::split_statements(&migration.up, dialect).is_empty() {
            problems.push(format!(
                "{}: no SQL to run; Terrace reads a migration without any as an unfinished draft (write `SELECT 1;` in a migration meant to do nothing)",
                shown(&migration.file)
            ));
        }
    }
    if problems.is_empty() {
        Ok(list)
    } else {
        Err(problems)
    }
}

/// The failure for a source folder a reader refused.
pub fn refusal(tool: Tool, dir: &Path, problems: &[String]) -> Failure {
    let mut message = format!(
        "cannot import {} as {} migrations:",
        dir.display(),
        tool.name()
    );
    for problem in problems {
        message.push_str("\n  ");
        message.push_str(problem);
    }
    Failure::refused(message).named("import_refused")
}

/// The leading ASCII digits of `text` and the rest.
pub fn leading_digits(text: &str) -> (&str, &str) {
    let end = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    text.split_at(end)
}
