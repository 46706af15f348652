//! Errors the command line raises itself, and how any error becomes an exit code and a
//! hint.
//!
//! Exit codes: 0 success, 1 a migration, validation or database error (or a refusal such
//! as resetting a protected database), 2 a usage error (a bad argument, setting or name).

use std::error::Error as StdError;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::OnceLock;

/// The migrations folder of the command that is running, once its settings are read:
/// for hints that name its files.
static MIGRATIONS_DIR: OnceLock<PathBuf> = OnceLock::new();

/// Remembers the migrations folder the command uses, so that a hint can name files in it.
pub fn remember_migrations_dir(dir: &Path) {
    let _ = MIGRATIONS_DIR.set(dir.to_owned());
}

/// What kind of failure, which decides the exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The command was asked for wrongly: exit 2.
    Usage,
    /// The command could not or would not do what was asked: exit 1.
    Refused,
}

/// An error raised by the command line, with an optional hint and cause.
#[derive(Debug)]
pub struct Failure {
    message: String,
    kind: Kind,
    hint: Option<String>,
    source: Option<Box<dyn StdError + Send + Sync>>,
    /// The stable name of what went wrong, for JSON errors (`connect`, …).
    name: Option<&'static str>,
}

impl Failure {
    /// A usage error (exit 2).
    pub fn usage(message: impl Into<String>) -> Self {
        Failure {
            message: message.into(),
            kind: Kind::Usage,
            hint: None,
            source: None,
            name: None,
        }
    }

    /// A refusal or failure that is not the caller's syntax (exit 1).
    pub fn refused(message: impl Into<String>) -> Self {
        Failure {
            kind: Kind::Refused,
            ..Failure::usage(message)
        }
    }

    /// Adds what the user can do about it.
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// Names what went wrong for JSON errors' `kind` (see docs/json-errors.md), where
    /// `usage` or `refused` would say too little.
    pub fn named(mut self, name: &'static str) -> Self {
        self.name = Some(name);
        self
    }

    /// The `kind` of its JSON error: its name, else `usage` or `refused`.
    pub fn name(&self) -> &'static str {
        self.name.unwrap_or(match self.kind {
            Kind::Usage => "usage",
            Kind::Refused => "refused",
        })
    }

    /// Adds the underlying error.
    pub fn caused_by(mut self, source: impl Into<Box<dyn StdError + Send + Sync>>) -> Self {
        self.source = Some(source.into());
        self
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl StdError for Failure {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn StdError + 'static))
    }
}

/// The exit code for an error.
pub fn exit_code(err: &anyhow::Error) -> ExitCode {
    let usage = err.chain().any(|cause| {
        if let Some(failure) = cause.downcast_ref::<Failure>() {
            return failure.kind == Kind::Usage;
        }
        matches!(
            cause.downcast_ref::<terrace::Error>(),
            Some(
                terrace::Error::InvalidTableName { .. }
                    | terrace::Error::UnknownTarget { .. }
                    | terrace::Error::RollbackNeedsTarget
            )
        )
    });
    ExitCode::from(if usage { 2 } else { 1 })
}

/// Whether the error is only that stdout was closed (`terrace status | head -1`).
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<io::Error>()
            .is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe)
    })
}

/// What the user can do about an error, where there is something useful to say.
pub fn hint(err: &anyhow::Error) -> Option<String> {
    for cause in err.chain() {
        if let Some(failure) = cause.downcast_ref::<Failure>() {
            return failure.hint.clone();
        }
        if let Some(error) = cause.downcast_ref::<terrace::Error>() {
            return library_hint(error);
        }
    }
    None
}

fn library_hint(error: &terrace::Error) -> Option<String> {
    if let Some(hint) = driver_hint(error).or_else(|| validation_hint(error)) {
        return Some(hint);
    }
    let hint = match error {
        terrace::Error::ReadFolder { source, .. } if source.kind() == io::ErrorKind::NotFound => {
            "create it with `terrace init`, or point --dir (TERRACE_DIR, or `dir` in terrace.toml) at the folder"
        }
        terrace::Error::MigrationFailed {
            dirty: true,
            direction: terrace::Direction::Up,
            ..
        } => {
            "it ran outside a transaction and is now dirty: undo by hand what it changed, then run \
             `terrace repair` (it counts as pending again)"
        }
        terrace::Error::MigrationFailed { dirty: true, .. } => {
            "its rollback ran outside a transaction and is now dirty: redo by hand what its down \
             section undid, then run `terrace repair` (it counts as applied again)"
        }
        terrace::Error::Irreversible { .. } => {
            "add a `-- migrate:down` section to each (`-- migrate:down noop` where undoing it \
             means doing nothing), or roll back fewer migrations"
        }
        terrace::Error::RollbackPastNewer { .. } => {
            "roll back with the build (the migrations folder) that applied them"
        }
        terrace::Error::HistoryNotEmpty { .. } => {
            "baseline only adopts a database with no history; see `terrace history`"
        }
        terrace::Error::UnknownTarget { .. } => "see `terrace status` for the versions there are",
        terrace::Error::ReadOnlyReplica { .. } => {
            "point --database (DATABASE_URL) at the primary server; `terrace status` works on \
             a replica"
        }
        terrace::Error::LockTimeout { .. } => {
            "wait for the other run to finish, or wait longer with --lock-timeout SECONDS \
             (TERRACE_LOCK_TIMEOUT, or `lock_timeout` in terrace.toml)"
        }
        _ => return None,
    };
    Some(hint.to_owned())
}

/// A failure the database reported that has a known fix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DriverCause {
    /// A table, index, column or other object the migration creates is already there.
    AlreadyExists,
    /// The statement cannot run inside a transaction block (PostgreSQL).
    #[cfg(feature = "postgres")]
    NeedsNoTransaction,
    /// An enum value is used in the transaction that added it (PostgreSQL).
    #[cfg(feature = "postgres")]
    UncommittedEnumValue,
}

/// The hint for a migration that failed for a reason the database's error code names.
fn driver_hint(error: &terrace::Error) -> Option<String> {
    let terrace::Error::MigrationFailed {
        direction,
        position,
        dirty,
        source,
        ..
    } = error
    else {
        return None;
    };
    let source: &(dyn StdError + 'static) = source.as_ref();
    match (driver_cause(source)?, direction) {
        (DriverCause::AlreadyExists, terrace::Direction::Up) => {
            let baseline = "the database already has this schema (for instance after `terrace \
             reset`, or a database created before Terrace): adopt it with \
             `terrace baseline VERSION`, VERSION the last migration it already has";
            if !dirty {
                return Some(baseline.to_owned());
            }
            // Outside a transaction the failed migration is recorded as dirty, and
            // baseline only adopts a database without history.
            let ran = if matches!(position, Some((1, _))) {
                "nothing of it ran: its first statement failed"
            } else {
                "the statements before the failing one ran and stay"
            };
            Some(format!(
                "{baseline}; first run `terrace repair` to clear the failed migration from the \
                 history ({ran})"
            ))
        }
        #[cfg(feature = "postgres")]
        (DriverCause::NeedsNoTransaction, direction) => Some(format!(
            "this statement cannot run inside a transaction: mark the section \
             `-- migrate:{} transaction:false`, best with this statement alone in its \
             migration (outside a transaction, a failure leaves the statements before it \
             applied)",
            direction.as_str()
        )),
        #[cfg(feature = "postgres")]
        (DriverCause::UncommittedEnumValue, direction) => Some(format!(
            "a new enum value can be used only once the transaction that added it has \
             committed (`ALTER TYPE … ADD VALUE`): use it in a later migration, or mark the \
             section `-- migrate:{} transaction:false`",
            direction.as_str()
        )),
        (DriverCause::AlreadyExists, _) => None,
    }
}

/// What the database's error (anywhere in the chain) says went wrong, when it is a
/// failure with a known fix: matched on the SQLSTATE or error number where the driver
/// gives one, on SQLite's stable message where its code is the generic SQLITE_ERROR.
fn driver_cause(error: &(dyn StdError + 'static)) -> Option<DriverCause> {
    let mut cause = Some(error);
    while let Some(error) = cause {
        if let Some(found) = sqlite_cause(error)
            .or_else(|| postgres_cause(error))
            .or_else(|| mysql_cause(error))
        {
            return Some(found);
        }
        cause = error.source();
    }
    None
}

fn sqlite_cause(error: &(dyn StdError + 'static)) -> Option<DriverCause> {
    let (code, message) = match error.downcast_ref::<rusqlite::Error>()? {
        rusqlite::Error::SqliteFailure(code, Some(message))
        | rusqlite::Error::SqlInputError {
            error: code,
            msg: message,
            ..
        } => (code, message),
        _ => return None,
    };
    let exists = ["table ", "index ", "view ", "trigger "]
        .iter()
        .any(|kind| message.starts_with(kind) && message.ends_with(" already exists"))
        || message.starts_with("duplicate column name: ");
    (code.code == rusqlite::ErrorCode::Unknown && exists).then_some(DriverCause::AlreadyExists)
}

#[cfg(feature = "postgres")]
fn postgres_cause(error: &(dyn StdError + 'static)) -> Option<DriverCause> {
    use postgres::error::SqlState;
    let code = error.downcast_ref::<postgres::error::DbError>()?.code();
    if [
        SqlState::DUPLICATE_TABLE,
        SqlState::DUPLICATE_OBJECT,
        SqlState::DUPLICATE_COLUMN,
        SqlState::DUPLICATE_SCHEMA,
        SqlState::DUPLICATE_FUNCTION,
    ]
    .contains(code)
    {
        Some(DriverCause::AlreadyExists)
    } else if *code == SqlState::ACTIVE_SQL_TRANSACTION {
        Some(DriverCause::NeedsNoTransaction)
    } else if *code == SqlState::UNSAFE_NEW_ENUM_VALUE_USAGE {
        Some(DriverCause::UncommittedEnumValue)
    } else {
        None
    }
}

#[cfg(not(feature = "postgres"))]
fn postgres_cause(_: &(dyn StdError + 'static)) -> Option<DriverCause> {
    None
}

#[cfg(feature = "mysql")]
fn mysql_cause(error: &(dyn StdError + 'static)) -> Option<DriverCause> {
    /// ER_TABLE_EXISTS_ERROR, ER_DUP_FIELDNAME, ER_DUP_KEYNAME.
    const EXISTS: [u16; 3] = [1050, 1060, 1061];
    let code = error.downcast_ref::<mysql::MySqlError>()?.code;
    EXISTS.contains(&code).then_some(DriverCause::AlreadyExists)
}

#[cfg(not(feature = "mysql"))]
fn mysql_cause(_: &(dyn StdError + 'static)) -> Option<DriverCause> {
    None
}

/// The hint for a validation failure with a known fix: a version two files share.
fn validation_hint(error: &terrace::Error) -> Option<String> {
    let terrace::Error::Invalid { problems } = error else {
        return None;
    };
    let (version, names) = problems.iter().find_map(|problem| match problem {
        terrace::Problem::DuplicateVersion { version, names } => Some((*version, names)),
        _ => None,
    })?;
    let mut files = MIGRATIONS_DIR
        .get()
        .map(|dir| files_of(dir, version, names))
        .unwrap_or_default();
    if files.len() < 2 {
        files = names.clone();
    }
    Some(format!(
        "each version belongs to one migration: keep one of {} and renumber the other{} \
         after the highest version, as `terrace new` numbers a new file (it takes the next \
         free number; two branches that each ran it get the same one)",
        files.join(", "),
        if files.len() > 2 { "s" } else { "" }
    ))
}

/// The file of a migration in the command's migrations folder, if there is exactly one.
pub fn migration_file(version: u64, name: &str) -> Option<PathBuf> {
    let dir = MIGRATIONS_DIR.get()?;
    match files_of(dir, version, &[name.to_owned()]).as_slice() {
        [file] => Some(dir.join(file)),
        _ => None,
    }
}

/// The names of the files in the folder for this version and these migrations.
fn files_of(dir: &Path, version: u64, names: &[String]) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<String> = entries
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .filter(|file| {
            terrace::format::parse_file_name(file)
                .is_ok_and(|(v, name)| v == version && names.iter().any(|n| n == name))
        })
        .collect();
    files.sort();
    files
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_errors_exit_with_2_even_under_context() {
        let err = anyhow::Error::new(Failure::usage("bad")).context("while doing something");
        assert_eq!(exit_code(&err), ExitCode::from(2));
        let err = anyhow::Error::new(terrace::Error::UnknownTarget { version: 9 });
        assert_eq!(exit_code(&err), ExitCode::from(2));
    }

    #[test]
    fn other_errors_exit_with_1() {
        let err = anyhow::Error::new(Failure::refused("no"));
        assert_eq!(exit_code(&err), ExitCode::from(1));
        let err = anyhow::Error::new(terrace::Error::HistoryNotEmpty { applied: 2 });
        assert_eq!(exit_code(&err), ExitCode::from(1));
        assert!(hint(&err).is_some());
    }

    #[test]
    fn sqlite_already_exists_is_told_by_its_message_under_the_generic_code() {
        let failure = |code, message: &str| {
            rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(code), Some(message.into()))
        };
        let error = failure(rusqlite::ffi::SQLITE_ERROR, "table t already exists");
        assert_eq!(driver_cause(&error), Some(DriverCause::AlreadyExists));
        let error = failure(rusqlite::ffi::SQLITE_ERROR, "no such table: t");
        assert_eq!(driver_cause(&error), None);
        let error = failure(rusqlite::ffi::SQLITE_CONSTRAINT, "table t already exists");
        assert_eq!(driver_cause(&error), None);
    }

    #[test]
    fn a_failure_keeps_its_hint_and_cause() {
        let err = anyhow::Error::new(
            Failure::usage("bad setting")
                .hint("fix it")
                .caused_by(io::Error::other("deeper")),
        );
        assert_eq!(hint(&err).as_deref(), Some("fix it"));
        assert_eq!(
            err.chain().map(ToString::to_string).collect::<Vec<_>>(),
            ["bad setting", "deeper"]
        );
    }
}
