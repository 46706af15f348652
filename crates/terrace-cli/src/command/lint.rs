//! `terrace lint [--dialect D] [--deny-warnings]`: runs `terrace-format`'s lint rules
//! (see [`terrace::format::lint`]) over every migration file of the folder and prints
//! each finding as `FILE:LINE: SEVERITY[CODE]: message; alternative`, then a summary.
//! No database is opened: the dialect is `--dialect`'s, or the configured database
//! URL's scheme. `migrate` calls [`before_migrate`] to lint its pending migrations
//! first when asked to (`--lint`, `lint = true`).

use crate::cli::{Dialect, LintArgs};
use crate::config::Config;
use crate::failure::Failure;
use crate::output::{Output, Style, plural};
use anyhow::Context;
use serde::Serialize;
use std::path::Path;
use std::process::ExitCode;
use terrace::format::lint::{Finding, Severity, lint};
use terrace::format::{MigrationFile, read_folder};

/// One finding with the migration it is in.
struct Located<'a> {
    file: &'a MigrationFile,
    finding: Finding,
}

#[derive(Serialize)]
struct FindingDoc<'a> {
    file: &'a Path,
    line: usize,
    version: u64,
    name: &'a str,
    code: &'static str,
    severity: String,
    message: &'a str,
    alternative: &'static str,
}

#[derive(Serialize)]
struct LintDoc<'a> {
    dialect: &'static str,
    migrations: usize,
    errors: usize,
    warnings: usize,
    findings: Vec<FindingDoc<'a>>,
}

/// Runs `lint`.
pub fn run(args: &LintArgs, config: &Config, out: &Output) -> anyhow::Result<ExitCode> {
    let dialect = match args.dialect {
        Some(dialect) => dialect,
        None => configured_dialect(config).map_err(|failure| {
            failure.hint(
                "pass --dialect sqlite|postgres|mysql, or configure the database with \
                 --database, DATABASE_URL or `database` in terrace.toml (it is not opened)",
            )
        })?,
    };
    let files = read_files(config.shown_dir())?;
    let located = lint_files(&files, dialect)?;
    let errors = count(&located, Severity::Error);
    let warnings = count(&located, Severity::Warning);
    if out.is_json() {
        out.json(&LintDoc {
            dialect: dialect_name(dialect),
            migrations: files.len(),
            errors,
            warnings,
            findings: located.iter().map(doc).collect(),
        })?;
    } else {
        for entry in &located {
            out.print(&line(entry, out))?;
        }
        let summary = match (errors, warnings) {
            (0, 0) => out.paint(Style::Good, "no findings"),
            _ => format!(
                "{errors} error{}, {warnings} warning{}",
                plural(errors),
                plural(warnings)
            ),
        };
        out.print(&format!(
            "{summary} in {} migration{} ({})",
            files.len(),
            plural(files.len()),
            dialect_name(dialect)
        ))?;
    }
    let fails = errors > 0 || (args.deny_warnings && warnings > 0);
    Ok(if fails {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// The migrations `migrate` is about to run.
pub enum Pending {
    /// These versions (from the plan).
    Versions(Vec<u64>),
    /// Every migration, up to this version if given (a database that does not exist
    /// yet).
    UpTo(Option<u64>),
}

impl Pending {
    fn includes(&self, version: u64) -> bool {
        match self {
            Pending::Versions(versions) => versions.contains(&version),
            Pending::UpTo(to) => to.is_none_or(|to| version <= to),
        }
    }
}

/// Lints the `pending` migrations for `migrate`: prints every finding on stderr (in
/// JSON, among the warnings), and refuses when one is an error, before anything has
/// run.
pub fn before_migrate(
    config: &Config,
    scheme: terrace::Scheme,
    pending: &Pending,
    out: &Output,
) -> anyhow::Result<()> {
    let files: Vec<MigrationFile> = read_files(config.shown_dir())?
        .into_iter()
        .filter(|file| pending.includes(file.version))
        .collect();
    let located = lint_files(&files, from_scheme(scheme))?;
    for entry in &located {
        if out.is_json() {
            out.warn_text(&format!(
                "lint: {}",
                line(entry, &Output::new(crate::cli::Format::Text))
            ));
        } else {
            out.labelled("lint", &line(entry, out));
        }
    }
    let errors = count(&located, Severity::Error);
    if errors == 0 {
        return Ok(());
    }
    Err(Failure::refused(format!(
        "lint found {errors} error{} in the pending migrations; nothing was run",
        plural(errors)
    ))
    .named("lint")
    .hint(
        "fix them, suppress one with `-- terrace:allow CODE reason` (docs/lint.md), or \
         migrate with --no-lint",
    )
    .into())
}

/// The well-formed migration files of `dir` (their paths as the user would open them:
/// `dir` is the folder as messages show it); a folder with broken files is refused,
/// naming each, as `validate` would.
fn read_files(dir: &Path) -> anyhow::Result<Vec<MigrationFile>> {
    let folder = read_folder(dir)
        .with_context(|| format!("cannot read the migrations folder {}", dir.display()))?;
    if !folder.problems.is_empty() {
        let lines: Vec<String> = folder
            .problems
            .iter()
            .map(|problem| format!("  - {problem}"))
            .collect();
        return Err(Failure::refused(format!(
            "cannot lint, the migrations folder has broken files:\n{}",
            lines.join("\n")
        ))
        .named("validation")
        .into());
    }
    Ok(folder.files)
}

/// The findings of `files`, in folder order.
fn lint_files(files: &[MigrationFile], dialect: Dialect) -> anyhow::Result<Vec<Located<'_>>> {
    let mut located = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file.path)
            .with_context(|| format!("cannot read {}", file.path.display()))?;
        located.extend(
            lint(&text, &file.sections, format_dialect(dialect))
                .into_iter()
                .map(|finding| Located { file, finding }),
        );
    }
    Ok(located)
}

fn count(located: &[Located<'_>], severity: Severity) -> usize {
    located
        .iter()
        .filter(|entry| entry.finding.rule.severity() == severity)
        .count()
}

/// `FILE:LINE: SEVERITY[CODE]: message; alternative`.
fn line(entry: &Located<'_>, out: &Output) -> String {
    let rule = entry.finding.rule;
    let style = match rule.severity() {
        Severity::Error => Style::Bad,
        Severity::Warning => Style::Warn,
    };
    format!(
        "{}:{}: {}: {}; {}",
        entry.file.path.display(),
        entry.finding.line,
        out.paint(style, &format!("{}[{}]", rule.severity(), rule.code())),
        entry.finding.message,
        rule.alternative()
    )
}

fn doc<'a>(entry: &'a Located<'a>) -> FindingDoc<'a> {
    let rule = entry.finding.rule;
    FindingDoc {
        file: &entry.file.path,
        line: entry.finding.line,
        version: entry.file.version,
        name: &entry.file.name,
        code: rule.code(),
        severity: rule.severity().to_string(),
        message: &entry.finding.message,
        alternative: rule.alternative(),
    }
}

/// The dialect of the configured database's URL, which is parsed, not opened.
fn configured_dialect(config: &Config) -> Result<Dialect, Failure> {
    let setting = config.database.as_ref().ok_or_else(|| {
        Failure::usage("lint needs a dialect: no --dialect and no database configured")
    })?;
    let url =
        terrace::DatabaseUrl::parse(&setting.url).map_err(|e| Failure::usage(e.to_string()))?;
    Ok(from_scheme(url.scheme()))
}

fn from_scheme(scheme: terrace::Scheme) -> Dialect {
    match scheme {
        terrace::Scheme::Sqlite => Dialect::Sqlite,
        terrace::Scheme::Postgres => Dialect::Postgres,
        terrace::Scheme::Mysql => Dialect::Mysql,
    }
}

fn format_dialect(dialect: Dialect) -> terrace::format::Dialect {
    match dialect {
        Dialect::Sqlite => terrace::format::Dialect::Sqlite,
        Dialect::Postgres => terrace::format::Dialect::Postgres,
        Dialect::Mysql => terrace::format::Dialect::Mysql,
    }
}

fn dialect_name(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::Sqlite => "sqlite",
        Dialect::Postgres => "postgres",
        Dialect::Mysql => "mysql",
    }
}
