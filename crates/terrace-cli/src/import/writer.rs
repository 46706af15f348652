//! Writing the imported folder: the source migrations renumbered 1..N in the tool's
//! order, their names made descriptive snake_case, each written as one Terrace file
//! with its options, plus the mapping file `import-map.toml` (a name Terrace's folder
//! reader skips: it reads only `*.sql`). The files are written to a staging folder
//! first and checked with Terrace's own folder reader; only a folder that passes is
//! moved into place.

use super::source::{Down, SourceMigration, Tool, shown};
use crate::failure::Failure;
use std::path::{Path, PathBuf};
use terrace::format::check_name;

/// The mapping file's name, in the output folder.
pub const MAP_FILE: &str = "import-map.toml";

/// The staging folder's name inside the output folder (skipped by the folder reader,
/// as every name starting with `.` is).
const STAGING: &str = ".terrace-import";

/// One migration as it will be written.
#[derive(Debug, Clone)]
pub struct Planned<'a> {
    /// Its Terrace version.
    pub version: u64,
    /// Its Terrace name.
    pub name: String,
    /// Its file name.
    pub file_name: String,
    /// The file's text.
    pub text: String,
    /// Where it came from.
    pub source: &'a SourceMigration,
}

/// The files to write, in order, numbered from 1.
pub fn plan(tool: Tool, sources: &[SourceMigration]) -> Vec<Planned<'_>> {
    let width = sources.len().to_string().len().max(4);
    sources
        .iter()
        .zip(1u64..)
        .map(|(source, version)| {
            let name = sanitize(&source.name, &source.id);
            Planned {
                version,
                file_name: format!("{version:0width$}_{name}.sql"),
                text: render(tool, source),
                name,
                source,
            }
        })
        .collect()
}

/// A name as Terrace takes it: lowercase ASCII letters and digits joined by single
/// underscores, starting with a letter and saying something; `import_` goes in front
/// of one that would not, and the tool's id stands in for an empty one.
pub fn sanitize(name: &str, id: &str) -> String {
    let mut out = String::new();
    let mut gap = false;
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            if gap && !out.is_empty() {
                out.push('_');
            }
            gap = false;
            out.push(c.to_ascii_lowercase());
        } else {
            gap = true;
        }
    }
    if out.is_empty() {
        out = id
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect();
    }
    if check_name(&out).is_ok() {
        out
    } else {
        format!("import_{out}")
    }
}

/// The marker line of a down section that explicitly does nothing.
pub fn noop_down_marker() -> &'static str {
    "-- migrate:down noop"
}

/// A marker line with its option.
fn marker(direction: &str, transactional: bool) -> String {
    if transactional {
        format!("-- migrate:{direction}")
    } else {
        format!("-- migrate:{direction} transaction:false")
    }
}

/// The Terrace file of a source migration.
pub fn render(tool: Tool, source: &SourceMigration) -> String {
    let mut text = format!(
        "-- Imported from {}: {} (version {}).\n{}\n{}\n",
        tool.name(),
        shown(&source.file),
        source.id,
        marker("up", source.up_transactional),
        source.up
    );
    match &source.down {
        Down::None => {}
        Down::Noop => {
            text.push_str(noop_down_marker());
            text.push('\n');
        }
        Down::Sql(sql) => {
            text.push_str(&marker("down", source.down_transactional));
            text.push('\n');
            text.push_str(sql);
            text.push('\n');
        }
    }
    text
}

/// The mapping file's text: a TOML array of tables, one per migration.
pub fn map_text(tool: Tool, source_dir: &Path, planned: &[Planned<'_>]) -> String {
    let mut text = format!(
        "# Written by `terrace import --from {tool}`: each migration's id in {tool} (old_id),\n\
         # its file there (source_file) and the Terrace version and file it became.\n\
         tool = {}\nsource = {}\n",
        quoted(tool.name()),
        quoted(&shown(source_dir)),
        tool = tool.name(),
    );
    for p in planned {
        text.push_str(&format!(
            "\n[[migration]]\nversion = {}\nfile = {}\nold_id = {}\nsource_file = {}\n",
            p.version,
            quoted(&p.file_name),
            quoted(&p.source.id),
            quoted(&shown(&p.source.file))
        ));
    }
    text
}

/// A TOML basic string.
fn quoted(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Refuses a non-empty output folder unless `overwrite`; with it, the folder's `.sql`
/// files and mapping file are the ones to replace. Returns them.
pub fn check_out(out: &Path, overwrite: bool) -> Result<Vec<PathBuf>, Failure> {
    let Ok(entries) = std::fs::read_dir(out) else {
        if out.exists() {
            return Err(Failure::usage(format!("{} is not a folder", out.display())));
        }
        return Ok(Vec::new());
    };
    let mut present = Vec::new();
    let mut replaced = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        present.push(name.clone());
        if entry.path().is_file() && (name.ends_with(".sql") || name == MAP_FILE) {
            replaced.push(entry.path());
        }
    }
    if !present.is_empty() && !overwrite {
        present.sort();
        return Err(Failure::refused(format!(
            "{} is not empty ({}); refusing to write the imported migrations into it",
            out.display(),
            present.join(", ")
        ))
        .named("import_refused")
        .hint("choose an empty folder with --out, or pass --overwrite to replace its .sql files and import-map.toml"));
    }
    replaced.sort();
    Ok(replaced)
}

/// Writes the files and the mapping into `staging`, then checks them with Terrace's
/// folder reader; every problem names the file as it would be in `out`.
fn stage(staging: &Path, out: &Path, planned: &[Planned<'_>], map: &str) -> Result<(), Failure> {
    let io = |err: std::io::Error| {
        Failure::refused(format!("cannot write {}", staging.display())).caused_by(err)
    };
    std::fs::create_dir_all(staging).map_err(io)?;
    for p in planned {
        std::fs::write(staging.join(&p.file_name), &p.text).map_err(io)?;
    }
    std::fs::write(staging.join(MAP_FILE), map).map_err(io)?;
    let folder = terrace::format::read_folder(staging).map_err(io)?;
    let mut problems: Vec<String> = folder
        .problems
        .iter()
        .map(|problem| {
            let text = problem
                .to_string()
                .replace(&staging.display().to_string(), &out.display().to_string());
            let file_name = problem.path.file_name().map(|n| n.to_string_lossy());
            match planned
                .iter()
                .find(|p| Some(p.file_name.as_str()) == file_name.as_deref())
            {
                Some(p) => format!("{text} (imported from {})", shown(&p.source.file)),
                None => text,
            }
        })
        .collect();
    problems.extend(folder.ignored.iter().map(ToString::to_string));
    if problems.is_empty() {
        return Ok(());
    }
    let mut message = String::from("the imported migrations would not pass Terrace's validation:");
    for problem in problems {
        message.push_str("\n  ");
        message.push_str(&problem);
    }
    Err(Failure::refused(message)
        .named("import_refused")
        .hint("fix the source file named, then import again"))
}

/// Checks the files without writing anything the user sees (a dry run): staged in a
/// temporary folder, removed afterwards.
pub fn check(out: &Path, planned: &[Planned<'_>], map: &str) -> Result<(), Failure> {
    let staging = std::env::temp_dir().join(format!("terrace-import-{}", std::process::id()));
    let result = stage(&staging, out, planned, map);
    let _ = std::fs::remove_dir_all(&staging);
    result
}

/// Writes the folder: staged and checked inside `out`, then moved into place after
/// removing `replaced`. Nothing is left behind on failure.
pub fn write(
    out: &Path,
    planned: &[Planned<'_>],
    map: &str,
    replaced: &[PathBuf],
) -> Result<(), Failure> {
    let created = !out.exists();
    let staging = out.join(STAGING);
    let result = stage(&staging, out, planned, map).and_then(|()| {
        let io = |err: std::io::Error| {
            Failure::refused(format!("cannot write {}", out.display())).caused_by(err)
        };
        for path in replaced {
            std::fs::remove_file(path).map_err(io)?;
        }
        for name in planned
            .iter()
            .map(|p| p.file_name.as_str())
            .chain([MAP_FILE])
        {
            std::fs::rename(staging.join(name), out.join(name)).map_err(io)?;
        }
        Ok(())
    });
    let _ = std::fs::remove_dir_all(&staging);
    if result.is_err() && created {
        let _ = std::fs::remove_dir(out);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_sanitised() {
        assert_eq!(sanitize("Create Users", "1"), "create_users");
        assert_eq!(sanitize("add-email--index", "2"), "add_email_index");
        assert_eq!(sanitize("update", "3"), "import_update");
        assert_eq!(sanitize("1st_table", "4"), "import_1st_table");
        assert_eq!(sanitize("", "20240101"), "import_20240101");
        assert_eq!(sanitize("__init__", "5"), "init");
    }
}
