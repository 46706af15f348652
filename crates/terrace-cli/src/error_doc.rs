//! The JSON document of an error (`--format json`): a stable `kind`, the message, the
//! hint, and whichever of version, name, file, line, statement, the database's codes
//! and the migrations applied before the failure apply. docs/json-errors.md describes
//! every field and kind.

use crate::failure::{self, Failure};
use serde::Serialize;
use std::error::Error as StdError;
use std::path::Path;

/// One error, as scripts read it. Fields that do not apply are left out.
#[derive(Debug, Default, Serialize)]
pub struct ErrorDoc {
    /// A stable snake_case name for what went wrong.
    pub kind: &'static str,
    /// The whole message on one line: the error and its causes, `: ` between them.
    pub message: String,
    /// The same text as `message`, under the name documents had before `kind`.
    pub error: String,
    /// What the user can do about it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
    /// The migration at fault.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<u64>,
    /// Its name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `up` or `down`, for a failure while running a migration.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub direction: Option<&'static str>,
    /// The migration's file, as it would be opened from the current folder.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// The line of `file` at fault.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    /// The first line of the failing statement, cut short.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub statement: Option<String>,
    /// The SQLSTATE a PostgreSQL or MySQL server gave.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sqlstate: Option<String>,
    /// The error number: MySQL's, or SQLite's extended result code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<i64>,
    /// SQLite's name for `code`, such as `SQLITE_CONSTRAINT_UNIQUE`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code_name: Option<&'static str>,
    /// Whether the failure left the migration dirty (it ran outside a transaction).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dirty: Option<bool>,
    /// The migrations this command applied (or rolled back) before the failure.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub applied: Option<Vec<Step>>,
    /// Each problem of a validation (or repair) error, as one line of text.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<String>,
    /// Each problem of a validation (or repair) error, with its kind and location.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<ProblemDoc>,
}

/// A migration that ran.
#[derive(Debug, Serialize)]
pub struct Step {
    version: u64,
    name: String,
}

/// One problem of a validation error.
#[derive(Debug, Serialize)]
pub struct ProblemDoc {
    kind: &'static str,
    message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    version: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    line: Option<usize>,
}

impl ErrorDoc {
    /// The document of an error whose messages (outermost first) and hint are already
    /// rendered; `hide` hides passwords in any other text it takes from the error.
    pub fn new(
        err: &anyhow::Error,
        messages: &[String],
        hint: Option<String>,
        hide: &dyn Fn(&str) -> String,
    ) -> Self {
        let message = messages.join(": ");
        let mut doc = ErrorDoc {
            kind: "error",
            error: message.clone(),
            message,
            hint,
            ..ErrorDoc::default()
        };
        for cause in err.chain() {
            if let Some(failure) = cause.downcast_ref::<Failure>() {
                doc.kind = failure.name();
                break;
            }
            if let Some(error) = cause.downcast_ref::<terrace::Error>() {
                doc.describe(error, hide);
                break;
            }
        }
        doc
    }

    /// A usage error that has only a message and a hint (a refused argument).
    pub fn usage(message: String, hint: Option<String>) -> Self {
        ErrorDoc {
            kind: "usage",
            error: message.clone(),
            message,
            hint,
            ..ErrorDoc::default()
        }
    }

    /// Fills in the kind and fields of a library error.
    fn describe(&mut self, error: &terrace::Error, hide: &dyn Fn(&str) -> String) {
        use terrace::Error as E;
        self.kind = match error {
            E::ReadFolder { .. } => "read_folder",
            E::FleetFile { .. } => "fleet_file",
            E::Invalid { problems } => {
                self.problems_of(problems, hide);
                let only_checksums = problems
                    .iter()
                    .all(|p| matches!(p, terrace::Problem::ChecksumMismatch { .. }));
                if only_checksums {
                    "checksum_mismatch"
                } else {
                    "validation"
                }
            }
            E::RepairRefused { problems } => {
                self.problems_of(problems, hide);
                "repair_refused"
            }
            E::MigrationFailed {
                version,
                name,
                direction,
                statement,
                file,
                line,
                dirty,
                applied,
                source,
                ..
            } => {
                self.migration(*version, name);
                self.direction = Some(direction.as_str());
                if let Some(file) = file {
                    self.file = Some(shown(file));
                }
                self.line = *line;
                self.statement = statement.as_deref().map(hide);
                self.dirty = Some(*dirty);
                self.applied = Some(
                    applied
                        .iter()
                        .map(|(version, name)| Step {
                            version: *version,
                            name: name.clone(),
                        })
                        .collect(),
                );
                self.driver_codes(source.as_ref());
                "migration_failed"
            }
            E::TransactionEnded {
                version,
                name,
                direction,
                ..
            } => {
                self.migration(*version, name);
                self.direction = Some(direction.as_str());
                "transaction_ended"
            }
            E::NotRecorded {
                version,
                name,
                direction,
                source,
                ..
            } => {
                self.migration(*version, name);
                self.direction = Some(direction.as_str());
                self.driver_codes(source.as_ref());
                "not_recorded"
            }
            E::LockTimeout { .. } => "lock_timeout",
            E::ReadOnlyReplica { .. } => "read_only_replica",
            E::Irreversible { .. } => "irreversible",
            E::RollbackPastNewer { .. } => "rollback_past_newer",
            E::UnknownTarget { version } => {
                self.version = Some(*version);
                "unknown_target"
            }
            E::RollbackNeedsTarget => "usage",
            E::ForeignTable { .. } => "foreign_table",
            E::UnknownTable { .. } => "unknown_table",
            E::InvalidTableName { .. } => "invalid_table_name",
            E::HistoryNotEmpty { .. } => "history_not_empty",
            E::UnsupportedUrl { .. } => "unsupported_url",
            E::Connect { source, .. } => {
                self.driver_codes(source.as_ref());
                "connect"
            }
            E::Database { source, .. } => {
                self.driver_codes(source.as_ref());
                "database"
            }
            _ => "error",
        };
    }

    /// Version and name, and the file, if the migrations folder has one for them.
    fn migration(&mut self, version: u64, name: &str) {
        self.version = Some(version);
        self.name = Some(name.to_owned());
        self.file = failure::migration_file(version, name).map(|path| shown(&path));
    }

    fn problems_of(&mut self, problems: &[terrace::Problem], hide: &dyn Fn(&str) -> String) {
        self.problems = problems.iter().map(|p| hide(&p.to_string())).collect();
        self.details = problems.iter().map(|p| problem_doc(p, hide)).collect();
        // One problem: its location is the error's.
        if let [only] = self.details.as_slice() {
            self.version = only.version;
            self.name.clone_from(&only.name);
            self.file.clone_from(&only.file);
            self.line = only.line;
        }
    }

    /// The SQLSTATE and error number of the database's error, wherever in the chain.
    fn driver_codes(&mut self, source: &(dyn StdError + 'static)) {
        let mut cause = Some(source);
        while let Some(error) = cause {
            if self.sqlite_codes(error) || postgres_codes(self, error) || mysql_codes(self, error) {
                return;
            }
            cause = error.source();
        }
    }

    fn sqlite_codes(&mut self, error: &(dyn StdError + 'static)) -> bool {
        let code = match error.downcast_ref::<rusqlite::Error>() {
            Some(
                rusqlite::Error::SqliteFailure(code, _)
                | rusqlite::Error::SqlInputError { error: code, .. },
            ) => *code,
            Some(_) => return false,
            None => match error.downcast_ref::<rusqlite::ffi::Error>() {
                Some(code) => *code,
                None => return false,
            },
        };
        self.code = Some(i64::from(code.extended_code));
        self.code_name = sqlite_code_name(code.extended_code);
        true
    }
}

#[cfg(feature = "postgres")]
fn postgres_codes(doc: &mut ErrorDoc, error: &(dyn StdError + 'static)) -> bool {
    match error.downcast_ref::<postgres::error::DbError>() {
        Some(db) => {
            doc.sqlstate = Some(db.code().code().to_owned());
            true
        }
        None => false,
    }
}

#[cfg(not(feature = "postgres"))]
fn postgres_codes(_: &mut ErrorDoc, _: &(dyn StdError + 'static)) -> bool {
    false
}

#[cfg(feature = "mysql")]
fn mysql_codes(doc: &mut ErrorDoc, error: &(dyn StdError + 'static)) -> bool {
    let server = match error.downcast_ref::<mysql::Error>() {
        Some(mysql::Error::MySqlError(server)) => server,
        Some(_) => return false,
        None => match error.downcast_ref::<mysql::MySqlError>() {
            Some(server) => server,
            None => return false,
        },
    };
    doc.sqlstate = Some(server.state.clone());
    doc.code = Some(i64::from(server.code));
    true
}

#[cfg(not(feature = "mysql"))]
fn mysql_codes(_: &mut ErrorDoc, _: &(dyn StdError + 'static)) -> bool {
    false
}

/// A path as the user would open it: relative to the current folder when it is under
/// it.
pub fn shown(path: &Path) -> String {
    let relative = std::env::current_dir()
        .ok()
        .and_then(|cwd| path.strip_prefix(cwd).ok().map(Path::to_owned));
    relative.as_deref().unwrap_or(path).display().to_string()
}

/// A validation problem's kind and location.
fn problem_doc(problem: &terrace::Problem, hide: &dyn Fn(&str) -> String) -> ProblemDoc {
    use terrace::Problem as P;
    let mut doc = ProblemDoc {
        kind: "other",
        message: hide(&problem.to_string()),
        version: None,
        name: None,
        file: None,
        line: None,
    };
    let mut migration = |kind, version: u64, name: &str| {
        doc.version = Some(version);
        doc.name = Some(name.to_owned());
        doc.file = failure::migration_file(version, name).map(|path| shown(&path));
        kind
    };
    let kind = match problem {
        P::File { path, line, .. } => {
            doc.file = Some(shown(path));
            doc.line = *line;
            "file"
        }
        P::DuplicateVersion { version, .. } => {
            doc.version = Some(*version);
            "duplicate_version"
        }
        P::Gap { .. } => "gap",
        P::BadName { version, name, .. } => migration("bad_name", *version, name),
        P::Missing { version, name } => {
            doc.version = Some(*version);
            doc.name = Some(name.clone());
            "missing"
        }
        P::NewerApplied { version, name, .. } => {
            doc.version = Some(*version);
            doc.name = Some(name.clone());
            "newer_applied"
        }
        P::ChecksumMismatch { version, name, .. } => migration("checksum_mismatch", *version, name),
        P::NameMismatch {
            version, current, ..
        } => migration("name_mismatch", *version, current),
        P::Dirty { version, name, .. } => migration("dirty", *version, name),
        P::DirtyBelowApplied { version, name, .. } => {
            migration("dirty_below_applied", *version, name)
        }
        P::Replaced {
            version, current, ..
        } => migration("replaced", *version, current),
        P::OutOfOrder { version, name, .. } => migration("out_of_order", *version, name),
        P::Nul { version, name, .. } => migration("nul", *version, name),
        P::TransactionControl { version, name, .. } => {
            migration("transaction_control", *version, name)
        }
        P::ClientCommand { version, name, .. } => migration("client_command", *version, name),
        P::NoMigrations { dir, .. } => {
            doc.file = Some(shown(dir));
            "no_migrations"
        }
        _ => "other",
    };
    doc.kind = kind;
    doc
}

/// SQLite's name for a result code: the extended name where it has a common one, else
/// the primary code's.
fn sqlite_code_name(extended: i32) -> Option<&'static str> {
    let name = match extended {
        275 => "SQLITE_CONSTRAINT_CHECK",
        787 => "SQLITE_CONSTRAINT_FOREIGNKEY",
        1299 => "SQLITE_CONSTRAINT_NOTNULL",
        1555 => "SQLITE_CONSTRAINT_PRIMARYKEY",
        2067 => "SQLITE_CONSTRAINT_UNIQUE",
        1032 => "SQLITE_READONLY_DBMOVED",
        _ => match extended & 0xff {
            1 => "SQLITE_ERROR",
            2 => "SQLITE_INTERNAL",
            3 => "SQLITE_PERM",
            4 => "SQLITE_ABORT",
            5 => "SQLITE_BUSY",
            6 => "SQLITE_LOCKED",
            7 => "SQLITE_NOMEM",
            8 => "SQLITE_READONLY",
            9 => "SQLITE_INTERRUPT",
            10 => "SQLITE_IOERR",
            11 => "SQLITE_CORRUPT",
            12 => "SQLITE_NOTFOUND",
            13 => "SQLITE_FULL",
            14 => "SQLITE_CANTOPEN",
            15 => "SQLITE_PROTOCOL",
            17 => "SQLITE_SCHEMA",
            18 => "SQLITE_TOOBIG",
            19 => "SQLITE_CONSTRAINT",
            20 => "SQLITE_MISMATCH",
            21 => "SQLITE_MISUSE",
            22 => "SQLITE_NOLFS",
            23 => "SQLITE_AUTH",
            25 => "SQLITE_RANGE",
            26 => "SQLITE_NOTADB",
            _ => return None,
        },
    };
    Some(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_codes_are_named() {
        assert_eq!(sqlite_code_name(1), Some("SQLITE_ERROR"));
        assert_eq!(sqlite_code_name(2067), Some("SQLITE_CONSTRAINT_UNIQUE"));
        // SQLITE_IOERR_READ: the primary code's name.
        assert_eq!(sqlite_code_name(266), Some("SQLITE_IOERR"));
        assert_eq!(sqlite_code_name(999), None);
    }

    #[test]
    fn a_failure_is_named_by_its_kind() {
        let hide = |text: &str| text.to_owned();
        let err = anyhow::Error::new(Failure::usage("bad"));
        let doc = ErrorDoc::new(&err, &["bad".to_owned()], None, &hide);
        assert_eq!((doc.kind, doc.message.as_str()), ("usage", "bad"));
        let err = anyhow::Error::new(Failure::refused("no").named("connect"));
        assert_eq!(ErrorDoc::new(&err, &[], None, &hide).kind, "connect");
        let err = anyhow::Error::new(terrace::Error::LockTimeout {
            table: "t".to_owned(),
            waited: std::time::Duration::from_secs(1),
        });
        assert_eq!(ErrorDoc::new(&err, &[], None, &hide).kind, "lock_timeout");
    }
}
