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
//! than applying an empty migration. A `terrace.sum` in the folder is rewritten to list
//! the new file.

use crate::cli::NewArgs;
use crate::config::Config;
use crate::failure::Failure;
use crate::output::Output;
use anyhow::Context;
use serde::Serialize;
use std::io::Write;
use std::path::Path;
use std::process::ExitCode;
use terrace::format::{check_name, numbering, parse_file_name};

#[derive(Serialize)]
struct NewDoc<'a> {
    path: &'a Path,
    version: u64,
    name: &'a str,
    /// The sum file rewritten, if the folder has one.
    sum: Option<&'a Path>,
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
    let dir = config.shown_dir();
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
    let file_name = numbering::file_name(version, width, name);
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
    drop(file);
    let sum = crate::command::sum::rewrite_if_present(dir)?;

    if out.is_json() {
        out.json(&NewDoc {
            path: &path,
            version,
            name,
            sum: sum.as_deref(),
        })?;
    } else {
        out.print_result(&path.display().to_string())?;
        if let Some(sum) = &sum {
            out.note(&format!("rewrote {}", sum.display()));
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `name` with dashes turned into underscores, as people type them.
fn snake_case(name: &str) -> String {
    name.replace('-', "_")
}

/// The highest version among the folder's numbered `*.sql` files and the number of
/// digits the folder's file names use (`(0, 4)` for a folder with none), and the first
/// file, in name order, whose migration is already called `name`.
fn scan(dir: &Path, name: &str) -> anyhow::Result<(u64, usize, Option<String>)> {
    let files = numbering::list_numbered(dir)
        .with_context(|| format!("cannot read the migrations folder {}", dir.display()))?;
    let latest = files.iter().map(|f| f.version).max().unwrap_or(0);
    let same_name = files
        .iter()
        .filter(|f| {
            f.file_name
                .get(f.digits + 1..)
                .and_then(|rest| rest.strip_suffix(".sql"))
                == Some(name)
        })
        .map(|f| f.file_name.clone())
        .min();
    Ok((latest, numbering::width(&files), same_name))
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
