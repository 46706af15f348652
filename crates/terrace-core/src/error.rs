//! The one error type of the library.

use crate::plan::Direction;
use crate::validate::Problem;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

/// A boxed error from a database driver or a code migration.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Everything that can go wrong. Match on the variant; the fields name the version,
/// migration, file or statement at fault.
///
/// `Debug` prints the message and its causes, one `caused by:` line each, so that a
/// `main` returning this error prints something a person can read. The causes are the
/// drivers' own errors: a PostgreSQL server error's chain holds its
/// `postgres::error::DbError` (with the SQLSTATE), a MySQL one its `mysql::MySqlError`.
#[derive(thiserror::Error)]
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
        render_statement(*direction, statement.as_deref(), file.as_deref(), *line, *position, *dirty),
    )]
    MigrationFailed {
        /// Its version.
        version: u64,
        /// Its name.
        name: String,
        /// Whether it was applied or rolled back.
        direction: Direction,
        /// The first line of the failing statement, cut to 100 characters (`None` for a
        /// code migration).
        statement: Option<String>,
        /// The migration's file, for a migration read from a folder at run time (see
        /// [`Migration::path`](crate::Migration::path)); `line` is a line of it.
        file: Option<PathBuf>,
        /// The line of the failing statement: a line of the migration's file when it
        /// was read from one (at run time or by `embed_migrations!`), otherwise of its
        /// section's text.
        line: Option<usize>,
        /// The failing statement's number in its section (from 1) and how many
        /// statements the section holds (`None` for a code migration). Outside a
        /// transaction, the statements before it ran and stay.
        position: Option<(usize, usize)>,
        /// Whether the failure left the migration dirty (it ran outside a transaction).
        dirty: bool,
        /// The migrations this run applied (or, in a rollback, rolled back) before this
        /// one, as version and name, in the order they ran: committed, they stay so.
        /// Filled in by every run and rollback
        /// ([`Migrations::run_with`](crate::Migrations::run_with),
        /// [`Migrations::rollback_with`](crate::Migrations::rollback_with)).
        applied: Vec<(u64, String)>,
        /// The database's or the code migration's error.
        #[source]
        source: BoxError,
    },
    /// A migration ended the transaction it ran in (its SQL or code ran `COMMIT` or
    /// `ROLLBACK`): what it did before that is committed, it is not recorded, and no
    /// later migration ran.
    #[error(
        "migration {version} ({name}) ended the transaction it runs in (a COMMIT or ROLLBACK of its own): \
         what it did before that is committed or lost{}, and it is not recorded as applied; check what it \
         changed and undo it by hand, then remove its transaction control, or run it outside Terrace's \
         transaction with `-- migrate:up transaction:false`",
        render_earlier(earlier)
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
        /// The migrations before it in the same transaction (one transaction per run),
        /// whose work and history rows shared its fate: committed or lost with it.
        earlier: Vec<u64>,
    },
    /// A migration ran completely outside a transaction, but writing that to the history
    /// failed: its row still says it started (or, for a rollback, reverting). Nothing
    /// is to be undone; the history is to be brought in line with what ran.
    #[error("{}", render_not_recorded(*version, name, *direction, table))]
    NotRecorded {
        /// Its version.
        version: u64,
        /// Its name.
        name: String,
        /// Whether it was applied or rolled back.
        direction: Direction,
        /// The tracking table.
        table: String,
        /// Why the history write failed.
        #[source]
        source: BoxError,
    },
    /// Another run held the migration lock for longer than the lock timeout. Taking it
    /// is the first thing a writing command does, so nothing was changed — unless it
    /// was a later transaction of a run that commits migration by migration that
    /// waited (on SQLite, for another writer), where those committed before stay
    /// applied.
    #[error(
        "the migration lock on table {table} was not free within the lock timeout of {}: another run \
         held it (or, on SQLite, another connection writing to the database held its write lock); \
         try again when it has finished, or raise the lock timeout",
        render_duration(*waited)
    )]
    LockTimeout {
        /// The tracking table whose lock was asked for.
        table: String,
        /// How long this run waited (the lock timeout).
        waited: Duration,
    },
    /// A writing command was pointed at a read-only replica (a PostgreSQL hot standby,
    /// a MySQL or MariaDB server with `read_only`); found before anything ran, so
    /// nothing was changed. Reading commands (`status`) work there.
    #[error("this is a read-only replica ({reason}); migrate the primary")]
    ReadOnlyReplica {
        /// What gave it away (`pg_is_in_recovery() is true`, `read_only is ON`).
        reason: String,
    },
    /// A rollback would pass migrations that cannot be reversed; nothing was changed.
    #[error(
        "cannot roll back: {} no down section",
        render_migrations(migrations, "has", "have")
    )]
    Irreversible {
        /// Version and name of each migration in range without a down section.
        migrations: Vec<(u64, String)>,
    },
    /// A rollback would start with applied migrations newer than every migration of
    /// the list: a newer build applied them, and only it knows how to undo them;
    /// nothing was changed.
    #[error(
        "cannot roll back: {} applied by a newer build and unknown here, and a rollback \
         starts with the newest; roll back with that build",
        render_migrations(migrations, "was", "were")
    )]
    RollbackPastNewer {
        /// Version and name (from the history) of each newer applied migration.
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
    /// A fleet's targets file or report could not be read or written.
    #[error("cannot {action} {}", path.display())]
    FleetFile {
        /// What Terrace was doing: `read the targets file`, `write the report`, ...
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
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

/// The longest statement excerpt an error quotes, in characters.
pub(crate) const EXCERPT_CHARS: usize = 100;

/// A statement's first line as an error quotes it: cut to [`EXCERPT_CHARS`], with `…`
/// where it was cut.
pub(crate) fn excerpt(first_line: &str) -> String {
    match first_line.char_indices().nth(EXCERPT_CHARS) {
        Some((cut, _)) => format!("{}…", first_line[..cut].trim_end()),
        None => first_line.to_owned(),
    }
}

impl Error {
    /// Records, on a [`MigrationFailed`](Error::MigrationFailed), the migrations the
    /// run completed before it.
    pub(crate) fn with_applied(self, done: &[crate::report::StepReport]) -> Self {
        match self {
            Error::MigrationFailed {
                version,
                name,
                direction,
                statement,
                file,
                line,
                position,
                dirty,
                source,
                ..
            } => Error::MigrationFailed {
                version,
                name,
                direction,
                statement,
                file,
                line,
                position,
                dirty,
                applied: done
                    .iter()
                    .map(|step| (step.version, step.name.clone()))
                    .collect(),
                source,
            },
            other => other,
        }
    }

    /// A database error while doing `action` ("reading table schema_migrations"), as
    /// the backends report one.
    #[doc(hidden)]
    pub fn database(action: impl Into<String>, source: impl Into<BoxError>) -> Self {
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

fn render_earlier(earlier: &[u64]) -> String {
    match earlier {
        [] => String::new(),
        [one] => format!(" (so is migration {one}, run before it in the same transaction)"),
        _ => format!(
            " (so are migrations {}, run before it in the same transaction)",
            earlier
                .iter()
                .map(u64::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

fn render_refusal(problems: &[Problem]) -> String {
    render_list("repair refused, nothing was changed:".to_owned(), problems)
}

impl fmt::Debug for Error {
    /// The message, then each cause on a line of its own.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_with_causes(self, f)
    }
}

/// Writes an error's message, then each cause on a line of its own (`caused by: …`):
/// the `Debug` of Terrace's public errors, so that a `main` returning one prints what
/// a person can read. `{:#?}` prints the same; the fields are the variant's, to match.
#[doc(hidden)]
pub fn write_with_causes(
    error: &(dyn std::error::Error + 'static),
    f: &mut fmt::Formatter<'_>,
) -> fmt::Result {
    write!(f, "{error}")?;
    let mut cause = error.source();
    while let Some(error) = cause {
        write!(f, "\ncaused by: {error}")?;
        cause = error.source();
    }
    Ok(())
}

/// An error's message followed by each cause not already in the text,
/// `: `-separated, on one line (a line break in a message becomes `; `): for a
/// report that holds one line per failure.
pub fn one_line(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(error) = cause {
        let line = error.to_string();
        if !text.contains(&line) {
            text.push_str(": ");
            text.push_str(&line);
        }
        cause = error.source();
    }
    text.replace('\n', "; ")
}

fn render_statement(
    direction: Direction,
    statement: Option<&str>,
    file: Option<&std::path::Path>,
    line: Option<usize>,
    position: Option<(usize, usize)>,
    dirty: bool,
) -> String {
    let section = direction.as_str();
    // Outside a transaction what ran before the failure stays: say how much that is.
    let before = match position {
        Some((number, of)) if dirty => {
            let ran = match number {
                0 | 1 => "no statement before it ran".to_owned(),
                2 => "statement 1 ran".to_owned(),
                n => format!("statements 1..{} ran", n - 1),
            };
            format!(" at statement {number} of {of} ({ran}),")
        }
        _ => String::new(),
    };
    match (statement, line) {
        // `PATH:LINE`, the form editors and terminals open at that line.
        (Some(statement), Some(line)) => match file {
            Some(file) => format!(
                "{before} at {}:{line}, in its {section} section: {statement}",
                file.display()
            ),
            None => format!("{before} at line {line}, in its {section} section: {statement}"),
        },
        (Some(statement), None) => format!("{before} in its {section} section: {statement}"),
        _ => {
            let mut text = match direction {
                Direction::Down => " while rolling back".to_owned(),
                Direction::Up => String::new(),
            };
            if dirty {
                text.push_str(
                    " outside a transaction: what it changed before it failed was not undone",
                );
            }
            text
        }
    }
}

fn render_not_recorded(version: u64, name: &str, direction: Direction, table: &str) -> String {
    match direction {
        Direction::Up => format!(
            "migration {version} ({name}) ran completely, but recording it in table {table} failed, \
             so its row still says it started; nothing is to be undone: mark it applied with \
             `UPDATE {table} SET state = 'applied' WHERE version = {version}` \
             (`terrace repair` would count it as not applied and run it again)"
        ),
        Direction::Down => format!(
            "migration {version} ({name}) was rolled back completely, but removing its row from \
             table {table} failed, so the row still says reverting; nothing is to be redone: \
             remove it with `DELETE FROM {table} WHERE version = {version}` \
             (`terrace repair` would count it as applied again)"
        ),
    }
}

fn render_duration(duration: Duration) -> String {
    if duration.subsec_millis() == 0 {
        format!("{}s", duration.as_secs())
    } else {
        format!("{:.1}s", duration.as_secs_f64())
    }
}

/// `3 (add_x) has` or `3 (add_x), 4 (add_y) have`: the migrations, then the verb that
/// agrees with how many there are (`one` or `many`).
fn render_migrations(migrations: &[(u64, String)], one: &str, many: &str) -> String {
    let names: Vec<String> = migrations
        .iter()
        .map(|(version, name)| format!("{version} ({name})"))
        .collect();
    let verb = if names.len() == 1 { one } else { many };
    format!("{} {verb}", names.join(", "))
}

#[cfg(test)]
mod tests {
    use super::one_line;
    use std::fmt;

    /// An error with a message and perhaps a cause.
    #[derive(Debug)]
    struct Layer(&'static str, Option<Box<Layer>>);

    impl fmt::Display for Layer {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(self.0)
        }
    }

    impl std::error::Error for Layer {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            self.1.as_deref().map(|e| e as _)
        }
    }

    #[test]
    fn one_line_holds_each_cause_once_and_no_line_break() {
        let driver = Layer("ERROR: boom\nDETAIL: why", None);
        let middle = Layer(
            "statement failed: ERROR: boom\nDETAIL: why",
            Some(Box::new(driver)),
        );
        let top = Layer("migration 2 failed", Some(Box::new(middle)));
        assert_eq!(
            one_line(&top),
            "migration 2 failed: statement failed: ERROR: boom; DETAIL: why"
        );
    }
}
