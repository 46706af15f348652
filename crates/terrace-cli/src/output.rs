//! Rendering: lines and tables for people, or exactly one JSON document per command for
//! scripts. Results go to stdout, diagnostics to stderr. Colour is used only when the
//! stream is a terminal and `NO_COLOR` is not set.
//!
//! # JSON documents (`--format json`)
//!
//! Every command prints one document on stdout. Durations are whole milliseconds;
//! `applied_at` is the database's own text (SQLite: `YYYY-MM-DD HH:MM:SS`, UTC).
//!
//! * `init`: `{"config": "terrace.toml", "config_written": true, "dir": "migrations", "created_dir": true,
//!   "sum": "migrations/terrace.sum", "build_rs": {"path": "build.rs", "action": "created"}}`
//!   (`sum` is `null` when no sum file was created; `build_rs.action`: `created`, `added` or
//!   `already_watched`; `build_rs` is `null` outside a cargo package)
//! * `new`: `{"path": "migrations/0002_add_base_url.sql", "version": 2, "name": "add_base_url", "sum": null}`
//!   (`sum`: the sum file rewritten, if the folder has one)
//! * `renumber`:
//!   `{"dry_run": false, "database_checked": true, "moves": [{"from": "0006_add_owner.sql", "to": "0007_add_owner.sql", "from_version": 6, "to_version": 7}], "sum": "migrations/terrace.sum"}`
//! * `sum`: `{"path": "migrations/terrace.sum", "files": 7, "total": "sha256:…"}`
//! * `migrate`, `rollback`:
//!   `{"direction": "up", "dry_run": false, "steps": [{"version": 1, "name": "…", "duration_ms": 3, "noop": false}], "total_ms": 5, "newer_applied": []}`
//!   (`newer_applied`: `[{"version": 7, "name": "…"}]`, the applied migrations newer than
//!   every file of the folder that `--allow-newer` let stand, each also in `warnings`);
//!   with `--dry-run`:
//!   `{"direction": "down", "dry_run": true, "steps": [{"version": 3, "name": "…", "transactional": true, "sql": "…", "noop": false}]}`
//!   (`sql` is `null` for a Rust code migration and for a no-op down, `-- migrate:down
//!   noop`, whose step has `"noop": true`, in a report as in a dry run: it ran no SQL and
//!   only removed the history row)
//! * `status`:
//!   `{"applied_count": 2, "pending_count": 1, "up_to_date": false,
//!     "applied": [{"version": 1, "name": "…", "applied_at": "…", "checksum_ok": true, "checksum": "sha256:…", "execution_ms": 3, "state": "applied"}],
//!     "pending": [{"version": 3, "name": "…", "problem": null}],
//!     "dirty": [{"version": 2, "name": "…", "state": "started"}],
//!     "problems": ["…"], "newer_applied": [{"version": 7, "name": "…"}]}`
//!   (`checksum` and `execution_ms` are `null` for adopted or baselined rows; `state` is
//!   `applied`, `started` or `reverting`; a pending `problem` is what keeps a file from
//!   running, such as a draft's empty up section, and is also in `problems`)
//! * `history`: `{"table": "schema_migrations", "rows": [{"version": 1, "name": "…", "applied_at": "…", "execution_ms": 3, "checksum": "sha256:…", "state": "applied"}]}`
//! * `validate`: `{"valid": true, "database_checked": true, "migrations": 5, "problems": [], "newer_applied": []}`
//! * `lint`: `{"dialect": "sqlite", "migrations": 3, "errors": 0, "warnings": 1, "findings": [{"file": "migrations/0003_x.sql", "line": 1, "version": 3, "name": "x", "code": "no-down", "severity": "warning", "message": "…", "alternative": "…"}]}`
//!   (exit 1 when `errors` is not 0, or with `--deny-warnings` when `warnings` is not 0)
//!   (exit 1 when `valid` is false)
//! * `baseline`: `{"baselined": [{"version": 1, "name": "…"}]}`
//! * `repair`: `{"changes": [{"kind": "checksum", "version": 2, "message": "…"}], "remaining": ["…"]}`
//!   (`kind`: `checksum`, `name`, `cleared_started`, `restored_applied`; exit 1 when
//!   `remaining` is not empty)
//! * `reset`: `{"table": "schema_migrations", "dropped": true, "rows": 5}`
//! * `import`: `{"from": "goose", "source": "…", "out": "migrations", "dry_run": false, "map_file": "migrations/import-map.toml",
//!     "migrations": [{"version": 1, "name": "…", "file": "0001_….sql", "old_id": "1", "source_file": "…", "transactional": true, "down": "sql"}],
//!     "adopted": {"table": "goose_db_version", "recorded": [{"version": 1, "name": "…"}]}}`
//!   (`down` is `sql`, `noop` or `none`; `adopted` is `null` without `--database`)
//! * `schema dump`: the schema model, `{"backend": "sqlite", "extensions": [], "enums": [],
//!   "composite_types": [], "domains": [], "sequences": [], "functions": [], "tables":
//!   [{"name": "…", "columns": [{"name": "…", "type": "…", "nullable": true, "default":
//!   null, "extra": null}], "primary_key": ["id"], …}], "virtual_tables": [], "views": [],
//!   "materialized_views": [], "triggers": []}` (docs/schema.md)
//! * `schema diff`: `{"identical": false, "compared_with": "migrations", "differences":
//!   [{"kind": "column", "name": "tasks.done", "change": "extra", "details": []}]}`
//!   (exit 1 with `--check` when `identical` is false)
//! * `fleet migrate|status|validate`: `{"command": "migrate", "fingerprint": "sha256:…", "targets": 500,
//!     "up_to_date": 0, "applied": 499, "migrations_applied": 998, "pending": 0, "failed": 1, "skipped": 0,
//!     "stopped": false, "report": "fleet-report.jsonl", "failures": [{"target": "…", "line": 4, "error": "…"}]}`
//!   (exit 1 when `failed` is not 0)
//! * `completions`: `{"shell": "bash", "script": "…"}`
//! * any error: `{"kind": "migration_failed", "message": "message: cause: cause", "error": "…", "hint": "…", …}`
//!   with exit code 1 or 2: a stable `kind` and the fields that locate the failure
//!   (version, name, file, line, statement, sqlstate, code, applied, problems), as
//!   docs/json-errors.md describes ([`crate::error_doc`]).
//!
//! Every document of a command that opens a database, an error's included once the
//! database is known, also holds `"database"` (the URL, password hidden) and
//! `"config"` (the `terrace.toml` read, or `null`); `migrate`'s holds
//! `"created_database_file"` when it created the SQLite file (see
//! [`banner`](crate::banner)).
//!
//! Any document, an error's included, also holds `"warnings": ["…"]` when reading the
//! migrations folder found something worth a warning (a file that looks like a
//! migration but is not read, a folder with no migration, a `terrace.sum` that does
//! not match the files); in text output each warning
//! is a `warning: …` line on stderr.

use crate::cli::Format;
use crate::failure;
use crate::progress::{Live, Verbosity, human_timeout};
use serde::Serialize;
use std::ffi::OsString;
use std::fmt::Write as _;
use std::io::{self, IsTerminal, Write};
use std::process::ExitCode;
use std::time::Duration;
use terrace::connection::redact_using;
use terrace::{Direction, Event, Plan, Report};

/// A text style, shown only where colour is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// Done, fine.
    Good,
    /// Waiting, worth a look.
    Warn,
    /// Wrong.
    Bad,
    /// Headings.
    Bold,
    /// Secondary detail.
    Dim,
}

impl Style {
    fn code(self) -> &'static str {
        match self {
            Style::Good => "32",
            Style::Warn => "33",
            Style::Bad => "31",
            Style::Bold => "1",
            Style::Dim => "2",
        }
    }
}

/// Where and how results are printed.
#[derive(Debug)]
pub struct Output {
    json: bool,
    color: bool,
    error_color: bool,
    /// The progress bar: drawn for text output when stderr is a terminal.
    live: Live,
    /// How much to say.
    verbosity: Verbosity,
    /// Warnings kept for the JSON document.
    warnings: std::cell::RefCell<Vec<String>>,
}

/// A JSON document with the warnings gathered before it.
#[derive(Serialize)]
struct WithWarnings<'a, T> {
    #[serde(flatten)]
    document: &'a T,
    /// Which database and settings file the command works on, once it said so.
    #[serde(flatten)]
    banner: Option<crate::banner::Fields>,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    warnings: &'a [String],
}

fn color_wanted(stream_is_terminal: bool) -> bool {
    stream_is_terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

impl Output {
    /// Output in `format`, with colour decided from the terminal and `NO_COLOR`.
    pub fn new(format: Format) -> Self {
        Output {
            json: format == Format::Json,
            color: color_wanted(io::stdout().is_terminal()),
            error_color: color_wanted(io::stderr().is_terminal()),
            live: Live::new(
                format == Format::Text
                    && io::stderr().is_terminal()
                    && !crate::logging::requested(),
            ),
            verbosity: Verbosity::Normal,
            warnings: std::cell::RefCell::default(),
        }
    }

    /// The same output, saying as much as `verbosity` asks.
    pub fn with_verbosity(mut self, verbosity: Verbosity) -> Self {
        self.verbosity = verbosity;
        self
    }

    /// Whether results are one JSON document.
    pub fn is_json(&self) -> bool {
        self.json
    }

    /// Whether `-q` asked for errors only.
    pub fn is_quiet(&self) -> bool {
        self.verbosity == Verbosity::Quiet
    }

    /// Prints text (and a line end) on stdout; nothing with `-q`.
    pub fn print(&self, text: &str) -> io::Result<()> {
        if self.verbosity == Verbosity::Quiet {
            return Ok(());
        }
        self.print_result(text)
    }

    /// Prints text that is the very thing asked for (a completion script, the path of a
    /// new file for `$EDITOR $(terrace new …)`) on stdout, even with `-q`.
    pub fn print_result(&self, text: &str) -> io::Result<()> {
        self.live.print_over(|| {
            let mut stdout = io::stdout().lock();
            writeln!(stdout, "{text}")?;
            stdout.flush()
        })
    }

    /// Shows warnings: at once on stderr as `warning: …` lines, or in JSON as the
    /// `warnings` of the document printed later.
    pub fn warn(&self, warnings: &[terrace::Warning]) {
        if self.verbosity == Verbosity::Quiet && !self.json {
            return;
        }
        if self.json {
            self.warnings
                .borrow_mut()
                .extend(warnings.iter().map(ToString::to_string));
            return;
        }
        let label = paint(self.error_color, Style::Warn, "warning:");
        let text: String = warnings
            .iter()
            .map(|warning| format!("{label} {warning}\n"))
            .collect();
        let _ = io::stderr().lock().write_all(text.as_bytes());
    }

    /// Shows one warning of the command's own, as [`warn`](Self::warn) does the
    /// library's.
    pub fn warn_text(&self, warning: &str) {
        if self.verbosity == Verbosity::Quiet && !self.json {
            return;
        }
        if self.json {
            self.warnings.borrow_mut().push(warning.to_owned());
            return;
        }
        let label = paint(self.error_color, Style::Warn, "warning:");
        let _ = writeln!(io::stderr().lock(), "{label} {warning}");
    }

    /// Prints one JSON document on stdout, with the warnings gathered so far.
    pub fn json<T: Serialize>(&self, document: &T) -> anyhow::Result<()> {
        let warnings = self.warnings.borrow();
        let document = WithWarnings {
            document,
            banner: crate::banner::fields(),
            warnings: &warnings,
        };
        let mut stdout = io::stdout().lock();
        serde_json::to_writer_pretty(&mut stdout, &document)?;
        writeln!(stdout)?;
        stdout.flush()?;
        Ok(())
    }

    /// Prints a note about the results on stderr, as `note: …`, in either format: it
    /// is not part of a JSON document.
    pub fn note(&self, text: &str) {
        if self.verbosity == Verbosity::Quiet {
            return;
        }
        let label = paint(self.error_color, Style::Bold, "note:");
        let _ = writeln!(io::stderr().lock(), "{label} {text}");
    }

    /// Prints `label: text` on stderr, the label in bold where colour is on: context
    /// for the results, such as which database they are about.
    pub fn labelled(&self, label: &str, text: &str) {
        if self.verbosity == Verbosity::Quiet {
            return;
        }
        let label = paint(self.error_color, Style::Bold, &format!("{label}:"));
        let _ = writeln!(io::stderr().lock(), "{label} {text}");
    }

    /// `text` in `style`, if colour is on for stdout.
    pub fn paint(&self, style: Style, text: &str) -> String {
        paint(self.color, style, text)
    }

    /// Prints a progress line for a migration that finished (text output only), keeps
    /// the progress bar of the one running up to date, and with `-v` prints each
    /// statement as it runs. A closed stdout must not stop a migration, so write errors
    /// are ignored here.
    pub fn progress(&self, event: &Event<'_>) {
        if self.json || self.verbosity == Verbosity::Quiet {
            return;
        }
        match event {
            Event::Started {
                version,
                name,
                direction,
                step,
                of,
            } => {
                let what = format!("{} {version} {name}", doing_verb(*direction));
                self.live.start(*step, *of, what);
                return;
            }
            Event::Statement { version, line, sql } => {
                if self.verbosity == Verbosity::Verbose {
                    let heading =
                        self.paint(Style::Dim, &format!("-- migration {version}, line {line}"));
                    let _ = self.print(&format!("{heading}\n{sql}"));
                }
                return;
            }
            _ => {}
        }
        let line = match event {
            Event::Finished {
                version,
                name,
                direction,
                duration,
                committed: true,
                noop,
            } => format!(
                "{} {version} {name} {}",
                self.paint(Style::Good, done_verb(*direction)),
                self.paint(
                    Style::Dim,
                    &format!("({}{})", noop_note(*noop), human_duration(*duration))
                )
            ),
            // Not durable until the run's transaction commits: a kill now leaves no
            // trace of it, so it is not called applied yet.
            Event::Finished {
                version,
                name,
                direction,
                duration,
                committed: false,
                noop,
            } => format!(
                "{} {version} {name} {}",
                self.paint(Style::Good, ran_verb(*direction)),
                self.paint(
                    Style::Dim,
                    &format!(
                        "({}{}; commits with the run)",
                        noop_note(*noop),
                        human_duration(*duration)
                    )
                )
            ),
            Event::Committed { versions } => format!(
                "{} {}",
                self.paint(Style::Good, "committed"),
                version_span(versions)
            ),
            Event::Skipped {
                version,
                name,
                direction,
            } => format!(
                "{} {version} {name}: another process already did it",
                self.paint(Style::Dim, &format!("skipped {}", direction.as_str()))
            ),
            _ => return,
        };
        self.live.stop();
        let _ = self.print(&line);
    }

    /// Says on stderr, in either format, that the command waits for the migration
    /// lock on `database`, and then that it got it (not with `-q`).
    pub fn lock_wait(&self, database: &dyn std::fmt::Display, event: &Event<'_>) {
        if self.verbosity == Verbosity::Quiet {
            return;
        }
        let text = match event {
            Event::WaitingForLock { timeout, .. } => format!(
                "waiting for the migration lock on {database} (held by another run) — up to {}",
                human_timeout(*timeout)
            ),
            Event::LockAcquired { waited } => {
                format!("took the migration lock after {}", human_duration(*waited))
            }
            _ => return,
        };
        let _ = writeln!(io::stderr().lock(), "{text}");
    }

    /// Prints what a run or rollback did.
    pub fn report(&self, report: &Report, target: Option<u64>) -> anyhow::Result<()> {
        if self.json {
            return self.json(&ReportDoc {
                direction: report.direction.as_str(),
                dry_run: false,
                steps: report
                    .steps
                    .iter()
                    .map(|s| StepDoc {
                        version: s.version,
                        name: &s.name,
                        duration_ms: millis(s.duration),
                        noop: s.noop,
                    })
                    .collect(),
                total_ms: millis(report.total),
                newer_applied: newer_docs(&report.warnings),
            });
        }
        let verb = done_verb(report.direction);
        let line = match (report.count(), report.direction, target) {
            (0, Direction::Up, None) => "nothing to apply: the database is up to date".to_owned(),
            (0, Direction::Up, Some(v)) => format!("nothing to apply up to version {v}"),
            (0, _, _) => "nothing to roll back".to_owned(),
            (n, _, _) => format!(
                "{verb} {n} migration{} in {}",
                plural(n),
                human_duration(report.total)
            ),
        };
        let noops: Vec<String> = report
            .steps
            .iter()
            .filter(|s| s.noop)
            .map(|s| format!("{} {}", s.version, s.name))
            .collect();
        let line = match noops.len() {
            0 => line,
            1 => format!("{line} ({} a no-op: nothing ran)", noops[0]),
            _ => format!("{line} ({} no-ops: nothing ran)", noops.join(", ")),
        };
        Ok(self.print(&line)?)
    }

    /// Prints a dry run: each step with its SQL.
    pub fn plan(&self, plan: &Plan<'_>) -> anyhow::Result<()> {
        if self.json {
            return self.json(&PlanDoc {
                direction: plan.direction().as_str(),
                dry_run: true,
                steps: plan
                    .steps()
                    .iter()
                    .map(|step| PlannedDoc {
                        version: step.migration().version(),
                        name: step.migration().name(),
                        transactional: step.is_transactional(),
                        sql: step.body().sql(),
                        noop: step.is_noop(),
                    })
                    .collect(),
            });
        }
        let n = plan.len();
        let mut text = match (n, plan.direction()) {
            (0, Direction::Up) => "dry run: nothing to apply".to_owned(),
            (0, _) => "dry run: nothing to roll back".to_owned(),
            (n, Direction::Up) => format!("dry run: {n} migration{} would be applied", plural(n)),
            (n, _) => format!("dry run: {n} migration{} would be rolled back", plural(n)),
        };
        text.push_str("; nothing was changed");
        for step in plan {
            let migration = step.migration();
            let outside = if step.is_noop() {
                ", no-op"
            } else if step.is_transactional() {
                ""
            } else {
                ", outside a transaction"
            };
            let heading = format!(
                "-- {} {} ({}{outside})",
                migration.version(),
                migration.name(),
                step.direction().as_str()
            );
            let _ = write!(text, "\n\n{}\n", self.paint(Style::Bold, &heading));
            text.push_str(match step.body() {
                terrace::Body::Sql(sql) => sql,
                terrace::Body::Noop => {
                    "-- (nothing runs: the rollback only removes its history row)"
                }
                terrace::Body::Code(_) => "-- (a Rust code migration)",
            });
        }
        Ok(self.print(&text)?)
    }

    /// Prints an error: on stderr as `error: …`, `  caused by: …` lines and a hint; or,
    /// in JSON, as one document on stdout. Any password the user typed (in an argument
    /// or `DATABASE_URL`) or that a message quotes is hidden, whatever the message.
    pub fn error(&self, err: &anyhow::Error) {
        self.live.finish();
        let typed = user_input();
        let typed: Vec<&str> = typed.iter().map(String::as_str).collect();
        let hide = |text: &str| redact_using(text, &typed);
        let hint = failure::hint(err).map(|hint| hide(&hint));
        let chain: Vec<String> = dedup_chain(err).iter().map(|m| hide(m)).collect();
        if self.json {
            let _ = self.json(&crate::error_doc::ErrorDoc::new(err, &chain, hint, &hide));
            return;
        }
        let mut text = String::new();
        for (i, message) in chain.iter().enumerate() {
            if i == 0 {
                let label = paint(self.error_color, Style::Bad, "error:");
                let _ = writeln!(text, "{label} {message}");
            } else {
                let _ = writeln!(text, "  caused by: {message}");
            }
        }
        if let Some(hint) = hint {
            let label = paint(self.error_color, Style::Bold, "hint:");
            let _ = writeln!(text, "{label} {hint}");
        }
        let _ = io::stderr().lock().write_all(text.as_bytes());
    }
}

/// Prints a parsing error (or the help or version, which clap reports the same way) and
/// returns its exit code. With `--format json` among the arguments an error is one JSON
/// document on stdout, as for every other error. clap quotes the arguments it refuses,
/// so any password in them is hidden first.
pub fn clap_error(err: &clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    let code = ExitCode::from(u8::try_from(err.exit_code()).unwrap_or(2));
    let informational = matches!(
        err.kind(),
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion
    );
    if informational {
        let _ = err.print();
        return code;
    }
    let typed = user_input();
    let typed: Vec<&str> = typed.iter().map(String::as_str).collect();
    if !json_requested(std::env::args_os()) {
        let rendered = if color_wanted(io::stderr().is_terminal()) {
            err.render().ansi().to_string()
        } else {
            err.render().to_string()
        };
        let _ = io::stderr()
            .lock()
            .write_all(redact_using(&rendered, &typed).as_bytes());
        return code;
    }
    let message = if err.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
        "a command is required".to_owned()
    } else {
        let rendered = err.render().to_string();
        let first = rendered.lines().next().unwrap_or_default();
        redact_using(first.strip_prefix("error: ").unwrap_or(first), &typed)
    };
    let output = Output {
        json: true,
        color: false,
        error_color: false,
        live: Live::new(false),
        verbosity: Verbosity::Normal,
        warnings: std::cell::RefCell::default(),
    };
    let _ = output.json(&crate::error_doc::ErrorDoc::usage(
        message,
        Some("see `terrace --help`".to_owned()),
    ));
    code
}

/// What the user typed that may hold a password: the arguments and `DATABASE_URL`.
fn user_input() -> Vec<String> {
    std::env::args_os()
        .skip(1)
        .map(|arg| arg.to_string_lossy().into_owned())
        .chain(crate::config::env(crate::config::DATABASE_ENV))
        .chain(crate::config::dotenv_database_url())
        .collect()
}

fn json_requested(args: impl Iterator<Item = OsString>) -> bool {
    let args: Vec<OsString> = args.collect();
    args.iter().any(|a| a == "--format=json")
        || args
            .windows(2)
            .any(|w| w[0] == "--format" && w[1] == "json")
}

/// The error's messages, outermost first, without a cause that only repeats the one
/// before it (drivers often wrap an error in one that displays the same, or, like
/// PostgreSQL's server errors, the same lines in another layout), and without the parts
/// of a SQLite error that repeat the statement or restate its message as a code.
fn dedup_chain(err: &anyhow::Error) -> Vec<String> {
    let mut chain: Vec<String> = Vec::new();
    let mut after_sqlite_message = false;
    for cause in err.chain() {
        // SQLite's error code under a SQLite message ("Error code 1: SQL logic error")
        // adds nothing the message did not say.
        if std::mem::take(&mut after_sqlite_message)
            && cause.downcast_ref::<rusqlite::ffi::Error>().is_some()
        {
            continue;
        }
        let message = match cause.downcast_ref::<rusqlite::Error>() {
            // The statement is already named: SQLite's "… in STATEMENT at offset N"
            // would repeat it whole.
            Some(rusqlite::Error::SqlInputError { msg, .. }) => {
                after_sqlite_message = true;
                msg.clone()
            }
            Some(rusqlite::Error::SqliteFailure(_, Some(msg))) => {
                after_sqlite_message = true;
                msg.clone()
            }
            _ => cause.to_string(),
        };
        let repeats = |last: &String| {
            let last = last.to_lowercase();
            message
                .to_lowercase()
                .lines()
                .all(|line| last.contains(line.trim()))
        };
        if !chain.last().is_some_and(repeats) {
            chain.push(message);
        }
    }
    chain
}

fn paint(on: bool, style: Style, text: &str) -> String {
    if on && !text.is_empty() {
        format!("\x1b[{}m{text}\x1b[0m", style.code())
    } else {
        text.to_owned()
    }
}

/// What a step is doing, for the progress bar.
/// What a progress line says of a step that ran nothing, before its duration.
fn noop_note(noop: bool) -> &'static str {
    if noop { "no-op, nothing ran; " } else { "" }
}

fn doing_verb(direction: Direction) -> &'static str {
    match direction {
        Direction::Up => "applying",
        Direction::Down => "rolling back",
    }
}

fn ran_verb(direction: Direction) -> &'static str {
    match direction {
        Direction::Up => "ran",
        Direction::Down => "undid",
    }
}

/// `3`, `1 to 12` (consecutive, either way), or `1, 4, 7`.
fn version_span(versions: &[u64]) -> String {
    let consecutive = versions.windows(2).all(|w| w[0].abs_diff(w[1]) == 1)
        && versions.windows(3).all(|w| (w[0] < w[1]) == (w[1] < w[2]));
    match versions {
        [] => String::new(),
        [one] => one.to_string(),
        [first, .., last] if consecutive => format!("{first} to {last}"),
        _ => versions
            .iter()
            .map(u64::to_string)
            .collect::<Vec<_>>()
            .join(", "),
    }
}

fn done_verb(direction: Direction) -> &'static str {
    match direction {
        Direction::Up => "applied",
        Direction::Down => "rolled back",
    }
}

/// `""` or `"s"`.
pub fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// Whole milliseconds.
pub fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// `3 ms`, `1.2 s`.
pub fn human_duration(duration: Duration) -> String {
    let ms = millis(duration);
    if ms < 1000 {
        format!("{ms} ms")
    } else {
        format!("{:.1} s", duration.as_secs_f64())
    }
}

/// One table cell: its text and the style to show it in.
#[derive(Debug, Clone)]
pub struct Cell {
    text: String,
    style: Option<Style>,
}

impl Cell {
    /// Unstyled text.
    pub fn plain(text: impl Into<String>) -> Self {
        Cell {
            text: text.into(),
            style: None,
        }
    }

    /// Styled text.
    pub fn styled(text: impl Into<String>, style: Style) -> Self {
        Cell {
            text: text.into(),
            style: Some(style),
        }
    }
}

impl Output {
    /// Aligned columns under a heading row, two spaces apart; no trailing spaces.
    ///
    /// Written straight into one string, sized ahead: a status of thousands of rows
    /// costs no allocation per row or cell.
    pub fn table(&self, headings: &[&str], rows: &[Vec<Cell>]) -> String {
        fn width(text: &str) -> usize {
            if text.is_ascii() {
                text.len()
            } else {
                text.chars().count()
            }
        }
        let mut widths: Vec<usize> = headings.iter().map(|h| width(h)).collect();
        for row in rows {
            for (i, cell) in row.iter().enumerate() {
                if let Some(column) = widths.get_mut(i) {
                    *column = (*column).max(width(&cell.text));
                }
            }
        }
        let heading_row: Vec<Cell> = headings
            .iter()
            .map(|h| Cell::styled(*h, Style::Bold))
            .collect();
        let line_len: usize = widths.iter().map(|w| w + 2).sum::<usize>() + 1;
        let mut out = String::with_capacity(line_len * (rows.len() + 1));
        for row in std::iter::once(&heading_row).chain(rows) {
            let line_start = out.len();
            let last = row.len().saturating_sub(1);
            for (i, cell) in row.iter().enumerate() {
                let column = widths.get(i).copied().unwrap_or(0);
                let pad = if i == last {
                    0
                } else {
                    column.saturating_sub(width(&cell.text)) + 2
                };
                match cell.style {
                    Some(style) if self.color => out.push_str(&self.paint(style, &cell.text)),
                    _ => out.push_str(&cell.text),
                }
                out.extend(std::iter::repeat_n(' ', pad));
            }
            let kept = out[line_start..].trim_end().len();
            out.truncate(line_start + kept);
            out.push('\n');
        }
        out.pop();
        out
    }
}

#[derive(Serialize)]
struct ReportDoc<'a> {
    direction: &'static str,
    dry_run: bool,
    steps: Vec<StepDoc<'a>>,
    total_ms: u64,
    newer_applied: Vec<NewerDoc<'a>>,
}

/// An applied migration newer than every migration of the folder, allowed by
/// `--allow-newer`: its version and its name in the history.
#[derive(Serialize)]
pub struct NewerDoc<'a> {
    version: u64,
    name: &'a str,
}

/// The applied migrations newer than every migration of the folder among `warnings`.
pub fn newer_docs(warnings: &[terrace::Warning]) -> Vec<NewerDoc<'_>> {
    warnings
        .iter()
        .filter_map(|warning| match warning {
            terrace::Warning::NewerApplied { version, name, .. } => Some(NewerDoc {
                version: *version,
                name,
            }),
            _ => None,
        })
        .collect()
}

#[derive(Serialize)]
struct StepDoc<'a> {
    version: u64,
    name: &'a str,
    duration_ms: u64,
    noop: bool,
}

#[derive(Serialize)]
struct PlanDoc<'a> {
    direction: &'static str,
    dry_run: bool,
    steps: Vec<PlannedDoc<'a>>,
}

#[derive(Serialize)]
struct PlannedDoc<'a> {
    version: u64,
    name: &'a str,
    transactional: bool,
    sql: Option<&'a str>,
    noop: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_spans() {
        assert_eq!(version_span(&[3]), "3");
        assert_eq!(version_span(&[1, 2, 3]), "1 to 3");
        assert_eq!(version_span(&[5, 4]), "5 to 4");
        assert_eq!(version_span(&[1, 4, 7]), "1, 4, 7");
        assert_eq!(version_span(&[1, 2, 1]), "1, 2, 1");
    }

    fn plain() -> Output {
        Output {
            json: false,
            color: false,
            error_color: false,
            live: Live::new(false),
            verbosity: Verbosity::Normal,
            warnings: std::cell::RefCell::default(),
        }
    }

    #[test]
    fn tables_align_without_trailing_spaces() {
        let table = plain().table(
            &["VERSION", "NAME", "STATE"],
            &[
                vec![
                    Cell::plain("1"),
                    Cell::plain("create_projects"),
                    Cell::plain("applied"),
                ],
                vec![Cell::plain("10"), Cell::plain(""), Cell::plain("")],
            ],
        );
        assert_eq!(
            table,
            "VERSION  NAME             STATE\n\
             1        create_projects  applied\n\
             10"
        );
    }

    #[test]
    fn table_widths_count_characters_and_trailing_blanks_go() {
        let table = plain().table(
            &["A", "B"],
            &[
                vec![Cell::plain("été"), Cell::plain("x  ")],
                vec![Cell::plain("abcd"), Cell::styled("y", Style::Good)],
            ],
        );
        assert_eq!(table, "A     B\nété   x\nabcd  y");
    }

    #[test]
    fn colour_only_when_asked() {
        assert_eq!(paint(false, Style::Bad, "x"), "x");
        assert_eq!(paint(true, Style::Bad, "x"), "\x1b[31mx\x1b[0m");
        assert!(!color_wanted(false));
    }

    #[test]
    fn durations() {
        assert_eq!(human_duration(Duration::from_micros(400)), "0 ms");
        assert_eq!(human_duration(Duration::from_millis(25)), "25 ms");
        assert_eq!(human_duration(Duration::from_millis(1260)), "1.3 s");
    }

    #[test]
    fn repeated_causes_are_shown_once() {
        let err = anyhow::Error::new(std::io::Error::other("disk full"))
            .context("disk full")
            .context("cannot write");
        assert_eq!(dedup_chain(&err), ["cannot write", "disk full"]);
        let err = anyhow::Error::new(std::io::Error::other(
            "ERROR: relation \"x\" does not exist\nDETAIL: none",
        ))
        .context("ERROR: relation \"x\" does not exist (SQLSTATE 42P01); detail: none")
        .context("migration 1 (x) failed");
        assert_eq!(
            dedup_chain(&err),
            [
                "migration 1 (x) failed",
                "ERROR: relation \"x\" does not exist (SQLSTATE 42P01); detail: none"
            ]
        );
    }
}
