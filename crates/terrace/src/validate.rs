//! Validation: every reason not to run, found before anything executes.
//!
//! [`check_sources`] looks at the migrations alone; [`check_history`] compares them with
//! the tracking table's rows. Both are pure and return every problem at once.

use crate::history::{AppliedMigration, RowState};
use crate::migration::Migration;
use std::fmt;
use std::path::PathBuf;
use terrace_format::NameProblem;

/// One reason the migrations or the history are not fit to run.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Problem {
    /// A migration file could not be read as a migration.
    File {
        /// The file at fault.
        path: PathBuf,
        /// What is wrong with it.
        detail: String,
    },
    /// Two or more migrations share a version.
    DuplicateVersion {
        /// The shared version.
        version: u64,
        /// The names of the migrations that share it.
        names: Vec<String>,
    },
    /// Versions are missing from the sequence (which starts at 1).
    Gap {
        /// The first missing version.
        from: u64,
        /// The last missing version.
        to: u64,
    },
    /// A migration's name is not descriptive snake_case.
    BadName {
        /// The migration's version.
        version: u64,
        /// The name as given.
        name: String,
        /// Why it was refused.
        problem: NameProblem,
    },
    /// The history records a migration that no longer exists.
    Missing {
        /// The applied version.
        version: u64,
        /// The name it was applied under.
        name: String,
    },
    /// An applied migration has changed since it was applied.
    ChecksumMismatch {
        /// The migration's version.
        version: u64,
        /// Its name.
        name: String,
        /// The checksum in the history.
        recorded: String,
        /// The checksum of the migration now.
        current: String,
    },
    /// An applied migration was applied under another name.
    NameMismatch {
        /// The migration's version.
        version: u64,
        /// The name in the history.
        recorded: String,
        /// The name now.
        current: String,
    },
    /// A migration started outside a transaction and never completed.
    Dirty {
        /// The migration's version.
        version: u64,
        /// Its name.
        name: String,
        /// Which direction was interrupted.
        state: RowState,
    },
    /// A pending migration is older than one already applied.
    OutOfOrder {
        /// The pending version.
        version: u64,
        /// Its name.
        name: String,
        /// The newest applied version.
        latest_applied: u64,
    },
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::File { path, detail } => write!(f, "{}: {detail}", path.display()),
            Problem::DuplicateVersion { version, names } => {
                write!(
                    f,
                    "version {version} is used by more than one migration: {}",
                    names.join(", ")
                )
            }
            Problem::Gap { from, to } if from == to => {
                write!(
                    f,
                    "version {from} is missing: versions must run 1, 2, 3, … without gaps"
                )
            }
            Problem::Gap { from, to } => write!(
                f,
                "versions {from} to {to} are missing: versions must run 1, 2, 3, … without gaps"
            ),
            Problem::BadName {
                version,
                name,
                problem,
            } => {
                write!(f, "migration {version} '{name}': {problem}")
            }
            Problem::Missing { version, name } => write!(
                f,
                "migration {version} ({name}) is recorded as applied but no longer exists; restore it"
            ),
            Problem::ChecksumMismatch { version, name, .. } => write!(
                f,
                "migration {version} ({name}) was edited after it was applied (checksum differs); revert the edit, or accept it with `terrace repair`"
            ),
            Problem::NameMismatch {
                version,
                recorded,
                current,
            } => write!(
                f,
                "migration {version} was applied as '{recorded}' but is now named '{current}'; rename it back, or accept it with `terrace repair`"
            ),
            Problem::Dirty {
                version,
                name,
                state,
            } => match state {
                RowState::Reverting => write!(
                    f,
                    "migration {version} ({name}) is dirty: its rollback started outside a transaction and never \
                     finished; redo by hand what its down section undid, so that it is fully applied, then run \
                     `terrace repair`"
                ),
                _ => write!(
                    f,
                    "migration {version} ({name}) is dirty: it started outside a transaction and never finished; \
                     undo by hand what it changed, so that it is not applied at all, then run `terrace repair`"
                ),
            },
            Problem::OutOfOrder {
                version,
                name,
                latest_applied,
            } => write!(
                f,
                "migration {version} ({name}) is pending but {latest_applied} is already applied; \
                 give it a version after {latest_applied}"
            ),
        }
    }
}

/// Sorted `(version, index into the list)` pairs.
pub(crate) fn index_by_version(list: &[Migration]) -> Vec<(u64, usize)> {
    let mut index: Vec<(u64, usize)> = list
        .iter()
        .enumerate()
        .map(|(i, m)| (m.version, i))
        .collect();
    if !index.is_sorted() {
        index.sort_unstable();
    }
    index
}

/// Problems with the migrations themselves: duplicates, gaps, bad names.
pub fn check_sources(list: &[Migration]) -> Vec<Problem> {
    let mut problems = Vec::new();
    for migration in list {
        if let Err(problem) = terrace_format::check_name(&migration.name) {
            problems.push(Problem::BadName {
                version: migration.version,
                name: migration.name.to_string(),
                problem,
            });
        }
    }
    let index = index_by_version(list);
    let mut expected = 1u64;
    let mut i = 0;
    while i < index.len() {
        let version = index[i].0;
        let run = index[i..].iter().take_while(|(v, _)| *v == version).count();
        if version > expected {
            problems.push(Problem::Gap {
                from: expected,
                to: version - 1,
            });
        }
        if run > 1 {
            problems.push(Problem::DuplicateVersion {
                version,
                names: index[i..i + run]
                    .iter()
                    .map(|&(_, m)| list[m].name.to_string())
                    .collect(),
            });
        }
        expected = version.saturating_add(1);
        i += run;
    }
    problems
}

/// Problems between the migrations and the history rows (sorted by version): missing
/// migrations, edits, renames, dirty rows, and pending migrations older than applied
/// ones.
pub fn check_history(list: &[Migration], applied: &[AppliedMigration]) -> Vec<Problem> {
    let index = index_by_version(list);
    let find = |version: u64| {
        index
            .binary_search_by_key(&version, |&(v, _)| v)
            .ok()
            .map(|at| &list[index[at].1])
    };
    let mut problems = Vec::new();
    for row in applied {
        if row.state != RowState::Applied {
            problems.push(Problem::Dirty {
                version: row.version,
                name: row.name.clone(),
                state: row.state,
            });
        }
        let Some(migration) = find(row.version) else {
            problems.push(Problem::Missing {
                version: row.version,
                name: row.name.clone(),
            });
            continue;
        };
        if migration.name != row.name {
            problems.push(Problem::NameMismatch {
                version: row.version,
                recorded: row.name.clone(),
                current: migration.name.to_string(),
            });
        }
        // A started row never finished applying: its file may have been fixed since,
        // and that is no edit of an applied migration.
        if let Some(recorded) = row
            .checksum
            .as_ref()
            .filter(|_| row.state != RowState::Started)
        {
            let current = migration.checksum();
            if comparable(recorded, &current) && *recorded != current {
                problems.push(Problem::ChecksumMismatch {
                    version: row.version,
                    name: migration.name.to_string(),
                    recorded: recorded.clone(),
                    current: current.into_owned(),
                });
            }
        }
    }
    if let Some(latest) = applied.iter().map(|r| r.version).max() {
        let mut applied_versions: Vec<u64> = applied.iter().map(|r| r.version).collect();
        applied_versions.sort_unstable();
        for &(version, i) in index.iter().take_while(|(v, _)| *v < latest) {
            if applied_versions.binary_search(&version).is_err() {
                problems.push(Problem::OutOfOrder {
                    version,
                    name: list[i].name.to_string(),
                    latest_applied: latest,
                });
            }
        }
    }
    problems
}

/// Whether two checksums were made by the same algorithm (their prefix up to `:`).
/// A checksum from another algorithm cannot be compared, and is not an edit.
fn comparable(a: &str, b: &str) -> bool {
    a.split_once(':').map(|(p, _)| p) == b.split_once(':').map(|(p, _)| p)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(version: u64, name: &str, checksum: Option<&str>) -> AppliedMigration {
        AppliedMigration {
            version,
            name: name.into(),
            applied_at: None,
            checksum: checksum.map(str::to_owned),
            execution_ms: None,
            state: RowState::Applied,
            cumulative_checksum: None,
        }
    }

    const LIST: &[Migration] = &[
        Migration::sql(1, "create_a", "CREATE TABLE a (x);"),
        Migration::sql(2, "add_b", "ALTER TABLE a ADD b;"),
        Migration::sql(3, "add_c", "ALTER TABLE a ADD c;"),
    ];

    #[test]
    fn a_good_list_has_no_problems() {
        assert!(check_sources(LIST).is_empty());
        assert!(check_sources(&[]).is_empty());
    }

    #[test]
    fn every_source_problem_is_reported() {
        let list = [
            Migration::sql(2, "add_b", "x"),
            Migration::sql(2, "add_b_again", "x"),
            Migration::sql(5, "migration_5", "x"),
        ];
        let problems = check_sources(&list);
        assert_eq!(
            problems,
            [
                Problem::BadName {
                    version: 5,
                    name: "migration_5".into(),
                    problem: NameProblem::NotDescriptive
                },
                Problem::Gap { from: 1, to: 1 },
                Problem::DuplicateVersion {
                    version: 2,
                    names: vec!["add_b".into(), "add_b_again".into()]
                },
                Problem::Gap { from: 3, to: 4 },
            ]
        );
    }

    #[test]
    fn history_problems() {
        let good = LIST[0].checksum().into_owned();
        let applied = [
            row(1, "create_a", Some(&good)),
            row(3, "add_cc", Some("sha256:0000")),
            row(4, "add_d", None),
        ];
        let problems = check_history(LIST, &applied);
        assert_eq!(problems.len(), 4, "{problems:#?}");
        assert!(matches!(
            problems[0],
            Problem::NameMismatch { version: 3, .. }
        ));
        assert!(matches!(
            problems[1],
            Problem::ChecksumMismatch { version: 3, .. }
        ));
        assert!(matches!(problems[2], Problem::Missing { version: 4, .. }));
        assert!(matches!(
            problems[3],
            Problem::OutOfOrder {
                version: 2,
                latest_applied: 4,
                ..
            }
        ));
    }

    #[test]
    fn legacy_and_foreign_algorithm_checksums_are_not_edits() {
        let applied = [row(1, "create_a", None), row(2, "add_b", Some("md5:abc"))];
        assert!(check_history(LIST, &applied).is_empty());
    }

    #[test]
    fn dirty_rows_are_problems() {
        let mut dirty = row(1, "create_a", None);
        dirty.state = RowState::Started;
        let problems = check_history(LIST, &[dirty]);
        assert!(matches!(
            problems[..],
            [Problem::Dirty {
                version: 1,
                state: RowState::Started,
                ..
            }]
        ));
        assert!(problems[0].to_string().contains("terrace repair"));
    }

    #[test]
    fn a_started_row_is_dirty_but_not_edited() {
        let mut started = row(1, "create_a", Some("sha256:0000"));
        started.state = RowState::Started;
        let problems = check_history(LIST, &[started.clone()]);
        assert!(
            matches!(problems[..], [Problem::Dirty { version: 1, .. }]),
            "{problems:?}"
        );
        // An interrupted rollback was applied: an edit since then is one.
        started.state = RowState::Reverting;
        assert_eq!(check_history(LIST, &[started]).len(), 2);
    }
}
