//! `terrace init`: creates the migrations folder and a commented `terrace.toml` in the
//! current folder. Refuses to overwrite an existing `terrace.toml`.

use crate::cli::Global;
use crate::config::{self, DEFAULT_DIR, DIR_ENV, FILE_NAME};
use crate::failure::Failure;
use crate::output::Output;
use anyhow::Context;
use serde::Serialize;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Serialize)]
struct InitDoc<'a> {
    config: &'a str,
    dir: &'a Path,
    created_dir: bool,
}

/// Runs `init`.
pub fn run(global: &Global, out: &Output) -> anyhow::Result<ExitCode> {
    let config_path = Path::new(FILE_NAME);
    if config_path.exists() {
        return Err(
            Failure::refused(format!("{FILE_NAME} already exists; it was left as it is"))
                .hint("edit it, or remove it and run `terrace init` again")
                .into(),
        );
    }
    let dir = global
        .dir
        .clone()
        .or_else(|| config::env(DIR_ENV).map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from(DEFAULT_DIR));
    let created_dir = !dir.is_dir();
    std::fs::create_dir_all(&dir)
        .with_context(|| format!("cannot create the migrations folder {}", dir.display()))?;

    let text = template(&dir, global.database.as_deref());
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(config_path)
        .with_context(|| format!("cannot create {FILE_NAME}"))?;
    file.write_all(text.as_bytes())
        .with_context(|| format!("cannot write {FILE_NAME}"))?;

    if out.is_json() {
        out.json(&InitDoc {
            config: FILE_NAME,
            dir: &dir,
            created_dir,
        })?;
        return Ok(ExitCode::SUCCESS);
    }
    let folder = if created_dir {
        format!("created {}/", dir.display())
    } else {
        format!("using the existing folder {}/", dir.display())
    };
    let next = if global.database.is_some() {
        "next: `terrace new create_first_table`, then `terrace migrate`"
    } else {
        "next: set `database` in terrace.toml (or DATABASE_URL), then `terrace new create_first_table`"
    };
    out.print(&format!("{folder}\ncreated {FILE_NAME}\n{next}"))?;
    Ok(ExitCode::SUCCESS)
}

/// The commented `terrace.toml`.
fn template(dir: &Path, database: Option<&str>) -> String {
    let database = match database {
        Some(url) => format!("database = {}", toml_string(url)),
        None => "# database = \"sqlite:app.db\"".to_owned(),
    };
    format!(
        "# Terrace settings. Every key is optional: a command-line flag wins over the
# environment (DATABASE_URL, TERRACE_DIR, TERRACE_TABLE, TERRACE_LOCK_TIMEOUT), which
# wins over this file.
# Relative paths are relative to the folder holding this file.

# The database: sqlite:PATH, sqlite://PATH, or a file path.
{database}

# The folder of migration files (NNNN_descriptive_name.sql).
dir = {dir}

# The table that records which migrations are applied.
# table = \"schema_migrations\"

# How many seconds a run waits for another run's migration lock before giving up.
# lock_timeout = 300

# true makes `terrace reset` refuse, whatever the flags: set it for any database whose
# history must never be dropped.
protected = false
",
        dir = toml_string(&dir.to_string_lossy()),
    )
}

/// A TOML basic string.
fn toml_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize)]
    struct Written {
        database: Option<String>,
        dir: String,
        protected: bool,
    }

    #[test]
    fn the_template_is_valid_toml_and_round_trips_odd_strings() {
        let odd = "sqlite:data/\"quoted\" \\ back\tslash.db";
        let written: Written =
            toml::from_str(&template(Path::new("db/migrations"), Some(odd))).unwrap();
        assert_eq!(written.database.as_deref(), Some(odd));
        assert_eq!(written.dir, "db/migrations");
        assert!(!written.protected);

        let written: Written = toml::from_str(&template(Path::new("migrations"), None)).unwrap();
        assert_eq!(written.database, None);
    }
}
