//! `terrace init`: creates the migrations folder, its `terrace.sum` (unless
//! `--no-sum`, or the folder has one) and a commented `terrace.toml` in the current
//! folder, with the folder, table and database given. Refuses to overwrite an
//! existing `terrace.toml`. A database URL holding a password is written only as a
//! comment with the password hidden: the password belongs in `DATABASE_URL`.
//!
//! In a cargo package it also makes the package's build script watch the folder
//! (`crate::build_script`), so that a new migration is embedded by the next build;
//! decided before anything is written. With a `terrace.toml` already there, that is
//! all it does, if the script does not watch the configured folder yet.

use crate::build_script::{self, Plan};
use crate::cli::{Global, InitArgs};
use crate::config::{self, Config, DATABASE_ENV, DEFAULT_DIR, DIR_ENV, FILE_NAME, TABLE_ENV};
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
    /// Whether `terrace.toml` was written (not when it existed).
    config_written: bool,
    dir: &'a Path,
    created_dir: bool,
    table: &'a str,
    /// The sum file created, if one was.
    sum: Option<&'a Path>,
    /// Whether the database URL was written as a setting (not when it holds a
    /// password, or none was given).
    database_written: bool,
    /// What was done to the package's build script; `null` outside a cargo package or
    /// with `--no-build-rs`.
    build_rs: Option<BuildDoc<'a>>,
}

#[derive(Serialize)]
struct BuildDoc<'a> {
    path: &'a Path,
    /// `created`, `added` (the line, to an existing script) or `already_watched`.
    action: &'static str,
}

impl<'a> BuildDoc<'a> {
    fn of(plan: &'a Plan) -> Option<Self> {
        match plan {
            Plan::NoPackage => None,
            Plan::Watched { script } => Some(BuildDoc {
                path: script,
                action: "already_watched",
            }),
            Plan::Write {
                script, created, ..
            } => Some(BuildDoc {
                path: script,
                action: if *created { "created" } else { "added" },
            }),
        }
    }
}

/// What `init` writes about the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DatabaseLine<'a> {
    /// None given: a commented example.
    Example,
    /// A URL without a password, written as the setting.
    Setting(&'a str),
    /// A URL with its password hidden, written as a comment only.
    Hidden(&'a str),
}

/// Runs `init`.
pub fn run(args: &InitArgs, global: &Global, out: &Output) -> anyhow::Result<ExitCode> {
    let config_path = Path::new(FILE_NAME);
    if config_path.exists() {
        return complete(args, global, out);
    }
    let dir = global
        .dir
        .clone()
        .or_else(|| config::env(DIR_ENV).map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from(DEFAULT_DIR));
    let table = global
        .table
        .clone()
        .or_else(|| config::env(TABLE_ENV))
        .unwrap_or_else(|| terrace::TableName::DEFAULT.to_string());
    terrace::TableName::parse(&table).map_err(|problem| Failure::usage(problem.to_string()))?;
    let redacted = global.database.as_deref().map(terrace::connection::redact);
    let database = match (global.database.as_deref(), redacted.as_deref()) {
        (Some(url), Some(shown)) if url == shown => DatabaseLine::Setting(url),
        (Some(_), Some(shown)) => DatabaseLine::Hidden(shown),
        _ => DatabaseLine::Example,
    };
    let build = build_plan(args, &dir)?;
    let created_dir = !dir.is_dir();
    std::fs::create_dir_all(&dir)
        .with_context(|| format!("cannot create the migrations folder {}", dir.display()))?;

    let text = template(&dir, &table, database);
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(config_path)
        .with_context(|| format!("cannot create {FILE_NAME}"))?;
    file.write_all(text.as_bytes())
        .with_context(|| format!("cannot write {FILE_NAME}"))?;
    let sum = if args.no_sum || terrace::format::sum::sum_path(&dir).exists() {
        None
    } else {
        Some(crate::command::sum::write(&dir)?.0)
    };
    build.write()?;

    if out.is_json() {
        out.json(&InitDoc {
            config: FILE_NAME,
            config_written: true,
            dir: &dir,
            created_dir,
            table: &table,
            sum: sum.as_deref(),
            database_written: matches!(database, DatabaseLine::Setting(_)),
            build_rs: BuildDoc::of(&build),
        })?;
        return Ok(ExitCode::SUCCESS);
    }
    let folder = if created_dir {
        format!("created {}/", dir.display())
    } else {
        format!("using the existing folder {}/", dir.display())
    };
    let next = match database {
        DatabaseLine::Setting(_) => {
            "next: `terrace new create_first_table`, then `terrace migrate`".to_owned()
        }
        DatabaseLine::Hidden(_) => format!(
            "the password was not written to {FILE_NAME}: set {DATABASE_ENV} to the full URL\n\
             next: `terrace new create_first_table`, then `terrace migrate`"
        ),
        DatabaseLine::Example => format!(
            "next: set `database` in {FILE_NAME} (or {DATABASE_ENV}), then `terrace new create_first_table`"
        ),
    };
    let sum = match &sum {
        Some(sum) => format!("\ncreated {}", sum.display()),
        None => String::new(),
    };
    let build = build_lines(&build, &dir)
        .map(|lines| format!("{lines}\n"))
        .unwrap_or_default();
    out.print(&format!(
        "{folder}{sum}\ncreated {FILE_NAME}\n{build}{next}"
    ))?;
    Ok(ExitCode::SUCCESS)
}

/// `init` where `terrace.toml` exists: it is left as it is, and only the build script
/// is completed, for the folder the settings name; refused when that has nothing to do.
fn complete(args: &InitArgs, global: &Global, out: &Output) -> anyhow::Result<ExitCode> {
    let exists = || {
        Failure::refused(format!("{FILE_NAME} already exists; it was left as it is"))
            .hint("edit it, or remove it and run `terrace init` again")
    };
    let Ok(config) = Config::load(global) else {
        return Err(exists().into());
    };
    let build = build_plan(args, &config.dir)?;
    let Plan::Write { .. } = build else {
        return Err(exists().into());
    };
    build.write()?;
    if out.is_json() {
        out.json(&InitDoc {
            config: FILE_NAME,
            config_written: false,
            dir: &config.dir,
            created_dir: false,
            table: config.table.as_str(),
            sum: None,
            database_written: false,
            build_rs: BuildDoc::of(&build),
        })?;
        return Ok(ExitCode::SUCCESS);
    }
    let lines = build_lines(&build, &config.dir).unwrap_or_default();
    out.print(&format!(
        "{FILE_NAME} already exists; it was left as it is\n{lines}"
    ))?;
    Ok(ExitCode::SUCCESS)
}

/// What to do about the build script, decided before anything is written: nothing with
/// `--no-build-rs`; with `--build-rs`, a cargo package is required.
fn build_plan(args: &InitArgs, dir: &Path) -> anyhow::Result<Plan> {
    if args.no_build_rs {
        return Ok(Plan::NoPackage);
    }
    let plan = build_script::plan(dir)?;
    if args.build_rs && matches!(plan, Plan::NoPackage) {
        return Err(Failure::refused(format!(
            "no cargo package holds {}: no Cargo.toml with a [package] table in it or a folder above it",
            dir.display()
        ))
        .hint("run `terrace init` in the folder of your crate, or leave out --build-rs")
        .into());
    }
    Ok(plan)
}

/// The lines that say what was done to the build script, if anything.
fn build_lines(plan: &Plan, dir: &Path) -> Option<String> {
    let dir = dir.display();
    match plan {
        Plan::NoPackage => None,
        Plan::Watched { script } => Some(format!(
            "{} already watches {dir}/: a new migration is embedded by the next build",
            script.display()
        )),
        Plan::Write {
            script,
            created,
            line,
            narrows,
            ..
        } => {
            let mut text = if *created {
                format!("created {}", script.display())
            } else {
                format!("added `{line}` to {}", script.display())
            };
            text.push_str(&format!(
                ": cargo rebuilds the crate when a migration is added to {dir}/"
            ));
            if *narrows {
                text.push_str(&format!(
                    "\nnote: {} printed no rerun-if-changed before, so cargo reran it on any \
                     change in the package; now it reruns it only when {dir}/ changes (add a \
                     rerun-if-changed line for each other file it reads)",
                    script.display()
                ));
            }
            Some(text)
        }
    }
}

/// The commented `terrace.toml`.
fn template(dir: &Path, table: &str, database: DatabaseLine<'_>) -> String {
    let database = match database {
        DatabaseLine::Setting(url) => format!("database = {}", toml_string(url)),
        DatabaseLine::Hidden(url) => format!(
            "# The URL given holds a password, which is not written here: set {DATABASE_ENV}.\n\
             # database = {}",
            toml_string(url)
        ),
        DatabaseLine::Example => "# database = \"sqlite:app.db\"".to_owned(),
    };
    let table = if table == terrace::TableName::DEFAULT.as_str() {
        format!("# table = {}", toml_string(table))
    } else {
        format!("table = {}", toml_string(table))
    };
    format!(
        "# Terrace settings. Every key is optional: a command-line flag wins over the
# environment (DATABASE_URL, TERRACE_DIR, TERRACE_TABLE, TERRACE_LOCK_TIMEOUT), which
# wins over this file.
# Relative paths are relative to the folder holding this file.

# The database: sqlite:PATH, sqlite://PATH, a file path, postgres://USER@HOST/DB or
# mysql://USER@HOST/DB. Keep passwords out of this file: set DATABASE_URL (a .env file
# in this folder or a parent is read too).
{database}

# The folder of migration files (NNNN_descriptive_name.sql).
dir = {dir}

# The table that records which migrations are applied.
{table}

# How many seconds a run waits for another run's migration lock before giving up.
# lock_timeout = 300

# true lets every command run while the database holds applied migrations newer than
# every file here (a newer build's, during a rolling deploy): they are named in a
# warning and left alone (rollback still refuses). --allow-newer does the same for one
# run of migrate, status or validate.
# allow_newer = false

# true makes `terrace migrate` lint the migrations it is about to apply first, and stop
# before anything runs on an error finding (see `terrace lint`). --no-lint skips it.
# lint = false

# true makes `terrace reset` and `terrace rollback` (except --dry-run) refuse, whatever
# the flags: set it for any database whose data and history must never be dropped.
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
        table: Option<String>,
        protected: bool,
    }

    #[test]
    fn the_template_is_valid_toml_and_round_trips_odd_strings() {
        let odd = "sqlite:data/\"quoted\" \\ back\tslash.db";
        let written: Written = toml::from_str(&template(
            Path::new("db/migrations"),
            "app_history",
            DatabaseLine::Setting(odd),
        ))
        .unwrap();
        assert_eq!(written.database.as_deref(), Some(odd));
        assert_eq!(written.dir, "db/migrations");
        assert_eq!(written.table.as_deref(), Some("app_history"));
        assert!(!written.protected);

        let written: Written = toml::from_str(&template(
            Path::new("migrations"),
            "schema_migrations",
            DatabaseLine::Example,
        ))
        .unwrap();
        assert_eq!(written.database, None);
        assert_eq!(written.table, None);

        let text = template(
            Path::new("migrations"),
            "schema_migrations",
            DatabaseLine::Hidden("postgres://app:***@db/app"),
        );
        let written: Written = toml::from_str(&text).unwrap();
        assert_eq!(written.database, None);
        assert!(
            text.contains("# database = \"postgres://app:***@db/app\""),
            "{text}"
        );
    }
}
