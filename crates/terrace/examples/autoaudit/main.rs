//! AutoAudit: an application that brings its SQLite database up to date every time it
//! opens it, as the tracker Terrace grew from did.
//!
//! ```text
//! cargo run --example autoaudit -- PATH
//! ```
//!
//! opens (creating it if needed) the compliance database at PATH, applies the pending
//! migrations and prints the migration status. [`compliance`] holds the part an
//! application would copy: the base tables, the migrations and the one call that
//! runs them.

mod compliance;

use compliance::ComplianceDatabase;
use rusqlite::Connection;
use std::error::Error;
use std::ffi::OsString;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use terrace::{Report, RowState, Status};

const USAGE: &str = "\
usage: autoaudit PATH

Opens the AutoAudit compliance database at PATH (a SQLite file, created if missing),
applies every pending migration and prints the migration status.";

/// The tables whose columns are shown, to make the migrations' work visible.
const AUDITED_TABLES: [&str; 3] = ["projects", "compliance_checks", "visual_verifications"];

/// What the command line asks for.
enum Command {
    Open(PathBuf),
    Help,
}

fn main() -> ExitCode {
    let command = match parse_args(std::env::args_os().skip(1)) {
        Ok(command) => command,
        Err(message) => {
            let _ = writeln!(io::stderr(), "error: {message}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let outcome = match command {
        Command::Help => writeln!(io::stdout(), "{USAGE}").map_err(|e| OutputError(e).into()),
        Command::Open(path) => open_and_report(&path),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        // The reader went away (`autoaudit db | head -1`): nothing is left to tell.
        Err(error) if is_broken_pipe(&*error) => ExitCode::SUCCESS,
        Err(error) => {
            report_error(&*error);
            ExitCode::FAILURE
        }
    }
}

/// Reads the arguments: one PATH, or `-h` / `--help`.
fn parse_args(args: impl Iterator<Item = OsString>) -> Result<Command, String> {
    let mut path = None;
    for arg in args {
        if arg == "-h" || arg == "--help" {
            return Ok(Command::Help);
        }
        if arg.to_string_lossy().starts_with('-') {
            return Err(format!(
                "unknown option '{}' (a path that starts with '-' can be written ./{0})",
                arg.to_string_lossy()
            ));
        }
        if path.is_some() {
            return Err(format!(
                "unexpected argument '{}': give one PATH",
                arg.to_string_lossy()
            ));
        }
        path = Some(PathBuf::from(arg));
    }
    path.map(Command::Open)
        .ok_or_else(|| "missing PATH, the database file to open".to_owned())
}

fn open_and_report(path: &Path) -> Result<(), Box<dyn Error>> {
    let mut db = ComplianceDatabase::open(path)?;
    let status = db.status()?;
    let mut tables = Vec::with_capacity(AUDITED_TABLES.len());
    for table in AUDITED_TABLES {
        tables.push((table, column_names(db.connection(), table)?));
    }
    write_report(
        &mut io::stdout().lock(),
        path,
        db.migrated_on_open(),
        &status,
        &tables,
    )
    .map_err(|e| OutputError(e).into())
}

/// What one open did and found.
fn write_report(
    out: &mut impl Write,
    path: &Path,
    ran: &Report,
    status: &Status,
    tables: &[(&str, Vec<String>)],
) -> io::Result<()> {
    if ran.count() == 0 {
        writeln!(out, "{}: up to date, no migration ran", path.display())?;
    } else {
        let versions: Vec<String> = ran.versions().iter().map(u64::to_string).collect();
        writeln!(
            out,
            "{}: ran {} migration(s): {}",
            path.display(),
            ran.count(),
            versions.join(", ")
        )?;
    }
    write_status(out, status)?;
    writeln!(out, "schema:")?;
    for (table, columns) in tables {
        writeln!(out, "  {table}: {}", columns.join(", "))?;
    }
    out.flush()
}

/// `applied N, pending M`, then one line per migration, then any problem.
fn write_status(out: &mut impl Write, status: &Status) -> io::Result<()> {
    writeln!(
        out,
        "applied {}, pending {}",
        status.applied_count(),
        status.pending_count()
    )?;
    for applied in &status.applied {
        let row = &applied.row;
        let state = match row.state {
            RowState::Applied => "applied",
            RowState::Started => "dirty (interrupted run)",
            RowState::Reverting => "dirty (interrupted rollback)",
        };
        let at = row.applied_at.as_deref().unwrap_or("at an unknown time");
        let note = match (&row.checksum, applied.checksum_ok) {
            (_, false) => ", changed since it was applied",
            (None, true) => ", adopted without a checksum",
            (Some(_), true) => "",
        };
        writeln!(
            out,
            "  {:>4}  {:<20} {state} {at}{note}",
            row.version, row.name
        )?;
    }
    for pending in &status.pending {
        writeln!(
            out,
            "  {:>4}  {:<20} pending",
            pending.version, pending.name
        )?;
    }
    for problem in &status.problems {
        writeln!(out, "  problem: {problem}")?;
    }
    Ok(())
}

/// A table's column names, in order.
fn column_names(conn: &Connection, table: &str) -> rusqlite::Result<Vec<String>> {
    let mut statement = conn.prepare("SELECT name FROM pragma_table_info(?1) ORDER BY cid")?;
    let names = statement.query_map([table], |row| row.get(0))?;
    names.collect()
}

/// Why writing to standard output failed, with the I/O error as its cause.
#[derive(Debug)]
struct OutputError(io::Error);

impl std::fmt::Display for OutputError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("cannot write to standard output")
    }
}

impl Error for OutputError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        Some(&self.0)
    }
}

fn is_broken_pipe(error: &(dyn Error + 'static)) -> bool {
    error
        .downcast_ref::<OutputError>()
        .is_some_and(|e| e.0.kind() == io::ErrorKind::BrokenPipe)
}

/// Prints `error: …` and then each cause on a line of its own.
fn report_error(error: &dyn Error) {
    let mut err = io::stderr().lock();
    let _ = writeln!(err, "error: {error}");
    let mut source = error.source();
    while let Some(cause) = source {
        let _ = writeln!(err, "  caused by: {cause}");
        source = cause.source();
    }
}
