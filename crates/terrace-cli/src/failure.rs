//! Errors the command line raises itself, and how any error becomes an exit code and a
//! hint.
//!
//! Exit codes: 0 success, 1 a migration, validation or database error (or a refusal such
//! as resetting a protected database), 2 a usage error (a bad argument, setting or name).

use std::error::Error as StdError;
use std::fmt;
use std::io;
use std::process::ExitCode;

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
}

impl Failure {
    /// A usage error (exit 2).
    pub fn usage(message: impl Into<String>) -> Self {
        Failure {
            message: message.into(),
            kind: Kind::Usage,
            hint: None,
            source: None,
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
            "add a `-- migrate:down` section to each, or roll back fewer migrations"
        }
        terrace::Error::HistoryNotEmpty { .. } => {
            "baseline only adopts a database with no history; see `terrace history`"
        }
        terrace::Error::UnknownTarget { .. } => "see `terrace status` for the versions there are",
        terrace::Error::LockTimeout { .. } => {
            "wait for the other run to finish, or wait longer with --lock-timeout SECONDS \
             (TERRACE_LOCK_TIMEOUT, or `lock_timeout` in terrace.toml)"
        }
        _ => return None,
    };
    Some(hint.to_owned())
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
