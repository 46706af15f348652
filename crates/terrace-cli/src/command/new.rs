//! `terrace new NAME`: writes the next migration file, `NNNN_name.sql`, with empty up
//! and down sections to fill in.
//!
//! The name is checked by the file format's own rule before anything is written; dashes
//! become underscores (`add-users-email` is `add_users_email`), saying so, and a name an
//! existing migration already has is written with a warning. A missing folder is
//! created. The
//! version is one more than the highest in the folder, zero-padded to the width the
//! folder already uses (4 digits in an empty folder). The up section is left empty on
//! purpose: until it is filled in, every command reports the file as unfinished rather
//! than applying an empty migration.

use crate::cli::NewArgs;
use crate::config::Config;
use crate::failure::Failure;
use crate::output::Output;
use anyhow::Context;
use serde::Serialize;
use std::io::Write;
use std::path::Path;
use std::process::ExitCode;
use terrace::format::{check_name, parse_file_name};

/// Digits in a version when the folder has no migration yet.
const DEFAULT_WIDTH: usize = 4;

#[derive(Serialize)]
struct NewDoc<'a> {
    path: &'a Path,
    version: u64,
    name: &'a str,
}

/// Runs `new`.
pub fn run(args: &NewArgs, config: &Config, out: &Output) -> anyhow::Result<ExitCode> {
    let typed = args.name.as_str();
    let name = snake_case(typed);
    let name = name.as_str();
    check_name(name).map_err(|problem| {
        Failure::usage(format!("invalid migration name '{typed}': {problem}"))
            .hint("name it after what it does, in snake_case: add_base_url, create_users")
    })?;
    if name != typed {
        out.note(&format!(
            "named the migration {name} (migration names use underscores)"
        ));
    }
    let dir = &config.dir;
    if !dir.is_dir() {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create the migrations folder {}", dir.display()))?;
        out.note(&format!("created the migrations folder {}", dir.display()));
    }
    let (latest, width, same_name) = scan(dir, name)?;
    if let Some(existing) = same_name {
        out.warn_text(&format!(
            "{existing} already has the name {name}; a name that says what this migration \
             changes is easier to find later"
        ));
    }
    let version = latest
        .checked_add(1)
        .ok_or_else(|| Failure::refused("the folder's highest version leaves no next version"))?;
    let file_name = format!("{version:0width$}_{name}.sql");
    // The name passed the format's rule; the whole file name must too.
    parse_file_name(&file_name).map_err(|problem| {
        Failure::refused(format!(
            "cannot name a migration file {file_name}: {problem}"
        ))
    })?;
    let path = dir.join(&file_name);
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    file.write_all(template(name).as_bytes())
        .with_context(|| format!("cannot write {}", path.display()))?;

    if out.is_json() {
        out.json(&NewDoc {
            path: &path,
            version,
            name,
        })?;
    } else {
        out.print_result(&path.display().to_string())?;
    }
    Ok(ExitCode::SUCCESS)
}

/// `name` with dashes turned into underscores, as people type them.
fn snake_case(name: &str) -> String {
    name.replace('-', "_")
}

/// The highest version among the folder's `*.sql` files and the number of digits its
/// file name uses (`(0, 4)` for a folder with none), and the first file, in name order,
/// whose migration is already called `name`.
fn scan(dir: &Path, name: &str) -> anyhow::Result<(u64, usize, Option<String>)> {
    let mut latest = (0, DEFAULT_WIDTH);
    let mut same_name: Option<String> = None;
    let entries = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read the migrations folder {}", dir.display()))?;
    for entry in entries {
        let entry = entry
            .with_context(|| format!("cannot read the migrations folder {}", dir.display()))?;
        let file_name = entry.file_name();
        let Some(file_name) = file_name.to_str() else {
            continue;
        };
        let Some((version, width)) = numbered(file_name) else {
            continue;
        };
        if version > latest.0 {
            latest = (version, width);
        }
        let repeats = file_name
            .get(width + 1..)
            .and_then(|rest| rest.strip_suffix(".sql"))
            == Some(name);
        if repeats && same_name.as_deref().is_none_or(|s| file_name < s) {
            same_name = Some(file_name.to_owned());
        }
    }
    Ok((latest.0, latest.1, same_name))
}

/// The version and its digit count of a file named like a migration. Only the leading
/// number counts here, so that a file with a refused name still holds its version.
fn numbered(file_name: &str) -> Option<(u64, usize)> {
    if file_name.starts_with('.') || !file_name.ends_with(".sql") {
        return None;
    }
    let digits = file_name.len()
        - file_name
            .trim_start_matches(|c: char| c.is_ascii_digit())
            .len();
    if digits == 0 || file_name.as_bytes().get(digits) != Some(&b'_') {
        return None;
    }
    Some((file_name[..digits].parse().ok()?, digits))
}

fn template(name: &str) -> String {
    format!(
        "-- {name}
-- Write the change under `-- migrate:up` and how to undo it under `-- migrate:down`
-- (leave the down section empty if it cannot be undone; write `-- migrate:down noop`
-- if undoing it means doing nothing). Make it safe to run twice.

-- migrate:up


-- migrate:down

"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dashes_become_underscores() {
        assert_eq!(snake_case("add-users-email"), "add_users_email");
        assert_eq!(snake_case("add_base_url"), "add_base_url");
    }

    #[test]
    fn numbered_files() {
        assert_eq!(numbered("0001_add_base_url.sql"), Some((1, 4)));
        assert_eq!(numbered("012_add_x.sql"), Some((12, 3)));
        assert_eq!(numbered("7_migration_7.sql"), Some((7, 1)));
        assert_eq!(numbered("0001add.sql"), None);
        assert_eq!(numbered("0001_add.txt"), None);
        assert_eq!(numbered(".0001_add.sql"), None);
        assert_eq!(numbered("add.sql"), None);
    }

    #[test]
    fn the_template_is_unfinished_until_its_up_section_is_written() {
        let text = template("add_base_url");
        assert_eq!(
            terrace::format::parse_sections(&text),
            Err(terrace::format::SectionsError::EmptyUp)
        );
        let filled = text.replace(
            "-- migrate:up\n",
            "-- migrate:up\nALTER TABLE projects ADD COLUMN base_url TEXT;\n",
        );
        let sections = terrace::format::parse_sections(&filled).unwrap();
        assert_eq!(
            sections.up,
            "ALTER TABLE projects ADD COLUMN base_url TEXT;"
        );
        assert_eq!(sections.down, None);
    }
}
