//! The one error type of the library.

use crate::plan::Direction;
use crate::validate::Problem;
use std::path::PathBuf;

/// A boxed error from a database driver or a code migration.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Everything that can go wrong. Match on the variant; the fields name the version,
/// migration, file or statement at fault.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The migrations folder could not be read.
    #[error("cannot read the migrations folder {}", path.display())]
    ReadFolder {
        /// The folder.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// Validation found problems; nothing was changed.
    #[error("{}", render_problems(problems))]
    Invalid {
        /// Every problem found.
        problems: Vec<Problem>,
    },
    /// `repair` found history it must not rewrite; nothing was changed.
    #[error("{}", render_refusal(problems))]
    RepairRefused {
        /// What repair will not accept, each with what to do instead.
        problems: Vec<Problem>,
    },
    /// A migration failed; it was rolled back (or, outside a transaction, left dirty),
    /// the migrations before it stay applied and none after it ran.
    #[error(
        "migration {version} ({name}) failed{}",
        render_statement(*direction, statement.as_deref(), *line),
    )]
    MigrationFailed {
        /// Its version.
        version: u64,
        /// Its name.
        name: String,
        /// Whether it was applied or rolled back.
        direction: Direction,
        /// The first line of the failing statement (`None` for a code migration).
        statement: Option<String>,
        /// The line of the failing statement within its section.
        line: Option<usize>,
        /// Whether the failure left the migration dirty (it ran outside a transaction).
        dirty: bool,
        /// The database's or the code migration's error.
        #[source]
        source: BoxError,
    },
    /// A migration ended the transaction it ran in (its SQL or code ran `COMMIT` or
    /// `ROLLBACK`): what it did before that is committed, it is not recorded, and no
    /// later migration ran.
    #[error(
        "migration {version} ({name}) ended the transaction it runs in (a COMMIT or ROLLBACK of its own): \
         what it did before that is committed or lost, and it is not recorded as applied; check what it \
         changed and undo it by hand, then remove its transaction control, or run it outside Terrace's \
         transaction with `-- migrate:up transaction:false`"
    )]
    TransactionEnded {
        /// Its version.
        version: u64,
        /// Its name.
        name: String,
        /// The direction it ran in.
        direction: Direction,
        /// How the migration failed after ending its transaction, if it did.
        #[source]
        source: Option<Box<Error>>,
    },
    /// A rollback would pass migrations that cannot be reversed; nothing was changed.
    #[error(
        "cannot roll back: {} no down section",
        render_irreversible(migrations)
    )]
    Irreversible {
        /// Version and name of each migration in range without a down section.
        migrations: Vec<(u64, String)>,
    },
    /// The target version is not a known (or, for a rollback, applied) migration.
    #[error("version {version} is not a known migration to target")]
    UnknownTarget {
        /// The version asked for.
        version: u64,
    },
    /// A rollback was asked for without saying how far.
    #[error("a rollback needs a target: a number of steps or a version to keep")]
    RollbackNeedsTarget,
    /// The tracking table belongs to another migration tool.
    #[error(
        "table {table} looks like {tool}'s migration history (columns: {}); Terrace will not touch it: \
         choose another table name for Terrace, or move the other tool's table away",
        columns.join(", ")
    )]
    ForeignTable {
        /// The table.
        table: String,
        /// The tool it looks like.
        tool: &'static str,
        /// Its columns.
        columns: Vec<String>,
    },
    /// The tracking table exists with columns Terrace does not recognise.
    #[error(
        "table {table} exists but is not a migration history (columns: {}); choose another table name for Terrace",
        columns.join(", ")
    )]
    UnknownTable {
        /// The table.
        table: String,
        /// Its columns.
        columns: Vec<String>,
    },
    /// The tracking table's name is not a valid identifier.
    #[error("invalid table name '{name}': use letters, digits and '_', optionally as schema.table")]
    InvalidTableName {
        /// The name given.
        name: String,
    },
    /// `baseline` on a database whose history is not empty.
    #[error("cannot baseline: the history already holds {applied} migration(s)")]
    HistoryNotEmpty {
        /// How many rows the history holds.
        applied: usize,
    },
    /// A database URL that no compiled-in backend can open.
    #[error("cannot use database URL '{url}': {reason} (supported: {})", supported.join(", "))]
    UnsupportedUrl {
        /// The URL, with any password hidden.
        url: String,
        /// What is wrong with it.
        reason: String,
        /// The URL schemes this build supports.
        supported: Vec<&'static str>,
    },
    /// The database could not be opened.
    #[error("cannot connect to {url}")]
    Connect {
        /// The URL, with any password hidden.
        url: String,
        /// The driver's error, with any password removed.
        #[source]
        source: BoxError,
    },
    /// The database failed while Terrace was doing something other than running a
    /// migration.
    #[error("database error while {action}")]
    Database {
        /// What Terrace was doing.
        action: String,
        /// The driver's error.
        #[source]
        source: BoxError,
    },
}

impl Error {
    pub(crate) fn database(action: impl Into<String>, source: impl Into<BoxError>) -> Self {
        Error::Database {
            action: action.into(),
            source: source.into(),
        }
    }
}

fn render_problems(problems: &[Problem]) -> String {
    let header = match problems.len() {
        1 => String::from("validation failed, nothing was changed:"),
        n => format!("validation found {n} problems, nothing was changed:"),
    };
    render_list(header, problems)
}

fn render_list(mut out: String, problems: &[Problem]) -> String {
    for problem in problems {
        out.push_str("\n  - ");
        out.push_str(&problem.to_string());
    }
    out
}

fn render_refusal(problems: &[Problem]) -> String {
    render_list("repair refused, nothing was changed:".to_owned(), problems)
}

fn render_statement(direction: Direction, statement: Option<&str>, line: Option<usize>) -> String {
    let section = direction.as_str();
    match (statement, line) {
        (Some(statement), Some(line)) => {
            format!(" at line {line} of its {section} section: {statement}")
        }
        (Some(statement), None) => format!(" in its {section} section: {statement}"),
        _ if direction == Direction::Down => " while rolling back".to_owned(),
        _ => String::new(),
    }
}

fn render_irreversible(migrations: &[(u64, String)]) -> String {
    let names: Vec<String> = migrations
        .iter()
        .map(|(version, name)| format!("{version} ({name})"))
        .collect();
    let verb = if names.len() == 1 { "has" } else { "have" };
    format!("{} {verb}", names.join(", "))
}
