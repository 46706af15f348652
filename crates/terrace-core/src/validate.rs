//! Validation: every reason not to run, found before anything executes.
//!
//! [`check_sources`] looks at the migrations alone; [`check_history`] compares them with
//! the tracking table's rows. Both are pure and return every problem at once.

use crate::history::{HistoryRow, RowState};
use crate::migration::Migration;
use crate::migrations::NewerApplied;
use crate::plan::Direction;
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
        /// The line of the file (from 1) the problem is on, when it is on one.
        line: Option<usize>,
        /// What is wrong with it (without the line).
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
    /// The history records a migration newer than every migration of the list: most
    /// likely a newer build applied it (a rolling deploy). Refused unless the list
    /// allows it ([`NewerApplied::Warn`]), when it is a [`Warning::NewerApplied`].
    NewerApplied {
        /// The applied version.
        version: u64,
        /// The name it was applied under.
        name: String,
        /// The newest version of the list.
        latest_known: u64,
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
    /// A migration started outside a transaction and never completed, yet later
    /// migrations are applied: nothing can tell whether its work is in the database.
    DirtyBelowApplied {
        /// The migration's version.
        version: u64,
        /// Its name.
        name: String,
        /// Which direction was interrupted.
        state: RowState,
        /// The newest applied version.
        latest_applied: u64,
    },
    /// The history's migration at a version differs from the file's in both name and
    /// checksum: another migration took the same number (two branches each added it),
    /// which no edit or rename explains.
    Replaced {
        /// The version both claim.
        version: u64,
        /// The name the history holds.
        recorded: String,
        /// The name of the migration at that version now.
        current: String,
        /// Where the applied migration is now, if the list holds it under another
        /// version (same name and checksum).
        now_at: Option<u64>,
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
    /// A migration's SQL holds a NUL byte, at which databases stop reading SQL. (In a
    /// file, this is a [`Problem::File`] naming it.)
    Nul {
        /// The migration's version.
        version: u64,
        /// Its name.
        name: String,
        /// The section: up or down.
        direction: Direction,
        /// The line of the section (from 1) holding the first NUL.
        line: usize,
    },
    /// A section run inside a transaction holds a statement that starts, ends or marks
    /// one, such as `BEGIN` or `COMMIT` (see
    /// [`transaction_control`](terrace_format::transaction_control)). (In a file, this
    /// is a [`Problem::File`] naming it.)
    TransactionControl {
        /// The migration's version.
        version: u64,
        /// Its name.
        name: String,
        /// The section: up or down.
        direction: Direction,
        /// The line of the section on which the statement starts.
        line: usize,
        /// The statement's first line.
        statement: String,
    },
    /// A section holds a line for a database's command-line client, not its server: a
    /// psql meta-command (a line starting with `\`) or a mysql `DELIMITER` line (see
    /// [`client_command`](terrace_format::client_command)). (In a file, this is a
    /// [`Problem::File`] naming it.)
    ClientCommand {
        /// The migration's version.
        version: u64,
        /// Its name.
        name: String,
        /// The section: up or down.
        direction: Direction,
        /// The line of the section on which it stands.
        line: usize,
        /// The line, trimmed.
        command: String,
    },
    /// A squashed baseline (a migration with `-- terrace:squashed` lines) that does not
    /// fit the list or the history: its lines do not list versions 1 to its own, a
    /// migration it stands for is still in the list, the history records one of them
    /// differently, or the history holds some of them but not all.
    Squash {
        /// The version at fault: the baseline's, or the migration's it stands for.
        version: u64,
        /// The name at fault.
        name: String,
        /// What is wrong, and what to do.
        detail: String,
    },
    /// The migrations folder holds no migration, but the history records some: most
    /// likely the wrong folder.
    NoMigrations {
        /// The folder.
        dir: PathBuf,
        /// How many migrations the history records.
        applied: usize,
    },
}

/// Something worth saying that does not stop a command: the migrations may not be what
/// was meant.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Warning {
    /// A file that looks like a migration was not read, such as `0002_add_x.SQL`.
    IgnoredFile {
        /// The file.
        path: PathBuf,
        /// The name it would be read under.
        rename_to: String,
    },
    /// The migrations folder holds no migration at all.
    NoMigrations {
        /// The folder.
        dir: PathBuf,
    },
    /// The folder's `terrace.sum` does not match its migration files, or cannot be
    /// read (see [`terrace_format::sum`]).
    Sum {
        /// The sum file.
        path: PathBuf,
        /// The line of the sum file at fault, when there is one.
        line: Option<usize>,
        /// What differs (naming the migration file), and what to do.
        detail: String,
    },
    /// The history records a migration newer than every migration of the list, which
    /// the list allows ([`NewerApplied::Warn`]): it was left alone.
    NewerApplied {
        /// The applied version.
        version: u64,
        /// The name it was applied under, from its history row.
        name: String,
        /// The newest version of the list.
        latest_known: u64,
    },
    /// A history row's checksum is from no algorithm Terrace knows (not `sha256:…`;
    /// edited by hand, say): an edit to its migration cannot be detected.
    UnknownChecksum {
        /// The row's version.
        version: u64,
        /// The name it was applied under.
        name: String,
        /// The checksum it records.
        checksum: String,
    },
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Warning::IgnoredFile { path, rename_to } => terrace_format::IgnoredFile {
                path: path.clone(),
                rename_to: rename_to.clone(),
            }
            .fmt(f),
            Warning::NoMigrations { dir } => write!(
                f,
                "{} holds no migration (files named like 0001_create_users.sql)",
                dir.display()
            ),
            Warning::NewerApplied {
                version,
                name,
                latest_known,
            } => write!(
                f,
                "migration {version} ({name}) is applied but unknown to these migrations, whose \
                 newest is {latest_known}: a newer build applied it; left alone, as newer applied \
                 migrations are allowed"
            ),
            Warning::UnknownChecksum {
                version,
                name,
                checksum,
            } => write!(
                f,
                "migration {version} ({name}) is recorded with checksum {checksum:?}, from no \
                 algorithm Terrace knows: an edit to its file cannot be detected; `terrace \
                 repair` records the file's checksum"
            ),
            // Shown as a file's problem is, `PATH:LINE:` when on a line.
            Warning::Sum { path, line, detail } => Problem::File {
                path: path.clone(),
                line: *line,
                detail: detail.clone(),
            }
            .fmt(f),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            // `PATH:LINE:`, the form editors and terminals open at that line.
            Problem::File {
                path,
                line: Some(line),
                detail,
            } => write!(f, "{}:{line}: {detail}", path.display()),
            Problem::File {
                path,
                line: None,
                detail,
            } => write!(f, "{}: {detail}", path.display()),
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
            Problem::NewerApplied {
                version,
                name,
                latest_known,
            } => write!(
                f,
                "migration {version} ({name}) is recorded as applied but is newer than every \
                 migration here (the newest is {latest_known}): a newer build applied it; deploy \
                 that build, or, while both run during a rolling deploy, allow it with \
                 --allow-newer (`allow_newer = true` in terrace.toml, `NewerApplied::Warn` in the \
                 library)"
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
            Problem::DirtyBelowApplied {
                version,
                name,
                state,
                latest_applied,
            } => write!(
                f,
                "migration {version} ({name}) is dirty ({}) although migrations up to {latest_applied} \
                 are applied after it; whether its work is in the database cannot be told, so repair will \
                 not clear it: finish by hand what it started, then mark it done with \
                 `UPDATE <tracking table> SET state = 'applied' WHERE version = {version}`",
                state.as_str()
            ),
            Problem::Replaced {
                version,
                recorded,
                current,
                now_at,
            } => {
                write!(
                    f,
                    "migration {version} was applied as '{recorded}', but version {version} is now \
                     '{current}' with other contents: two migrations took number {version}; this is not \
                     an edit, and repair will not accept it. "
                )?;
                match now_at {
                    Some(moved) => write!(
                        f,
                        "'{recorded}' is now version {moved}: give it back version {version} and move \
                         '{current}' to the next free version"
                    ),
                    None => write!(
                        f,
                        "restore '{recorded}' as version {version} and move '{current}' to the next \
                         free version"
                    ),
                }
            }
            Problem::OutOfOrder {
                version,
                name,
                latest_applied,
            } => write!(
                f,
                "migration {version} ({name}) is pending but {latest_applied} is already applied; \
                 give it a version after {latest_applied}"
            ),
            Problem::Nul {
                version,
                name,
                direction,
                line,
            } => write!(
                f,
                "migration {version} ({name}): line {line} of its {} section: a NUL byte, \
                 where databases stop reading SQL so that what follows would silently not run; \
                 remove it",
                direction.as_str()
            ),
            Problem::TransactionControl {
                version,
                name,
                direction,
                line,
                statement,
            } => write!(
                f,
                "migration {version} ({name}): line {line} of its {section} section: '{statement}' \
                 controls the transaction Terrace runs the section in; remove it, or run the \
                 section outside a transaction ('-- migrate:{section} transaction:false' in a \
                 file)",
                section = direction.as_str()
            ),
            Problem::ClientCommand {
                version,
                name,
                direction,
                line,
                command,
            } => write!(
                f,
                "migration {version} ({name}): line {line} of its {} section: '{command}' is a \
                 command of the database's command-line client (psql or mysql), not SQL, and the \
                 server would refuse it; {}",
                direction.as_str(),
                terrace_format::ClientCommand {
                    text: command,
                    line: *line
                }
                .fix()
            ),
            Problem::Squash {
                version,
                name,
                detail,
            } => write!(f, "migration {version} ({name}): {detail}"),
            Problem::NoMigrations { dir, applied } => write!(
                f,
                "{} holds no migration, but the history records {applied} applied; \
                 is this the right migrations folder?",
                dir.display()
            ),
        }
    }
}

impl Problem {
    /// The versions the problem is about: one migration's, a gap's, or for a file that
    /// could not be read, the one its name gives. `None` for a problem about the
    /// folder or the history as a whole, or a file whose name gives no version.
    pub(crate) fn versions(&self) -> Option<std::ops::RangeInclusive<u64>> {
        let version = match self {
            Problem::File { path, .. } => file_version(path)?.0,
            Problem::Gap { from, to } => return Some(*from..=*to),
            Problem::NoMigrations { .. } => return None,
            Problem::DuplicateVersion { version, .. }
            | Problem::BadName { version, .. }
            | Problem::Missing { version, .. }
            | Problem::NewerApplied { version, .. }
            | Problem::ChecksumMismatch { version, .. }
            | Problem::NameMismatch { version, .. }
            | Problem::Dirty { version, .. }
            | Problem::DirtyBelowApplied { version, .. }
            | Problem::Replaced { version, .. }
            | Problem::OutOfOrder { version, .. }
            | Problem::Nul { version, .. }
            | Problem::TransactionControl { version, .. }
            | Problem::ClientCommand { version, .. }
            | Problem::Squash { version, .. } => *version,
        };
        Some(version..=version)
    }
}

/// The version and name a migration file's name gives, if it gives them.
pub(crate) fn file_version(path: &std::path::Path) -> Option<(u64, String)> {
    let file_name = path.file_name()?.to_str()?;
    let (version, name) = terrace_format::parse_file_name(file_name).ok()?;
    Some((version, name.to_owned()))
}

/// Whether a problem concerns applied migrations, and so stops a rollback or a
/// repair. Both work on applied migrations
/// alone, so a problem about migrations none of which is applied — a draft just
/// written by `terrace new`, a pending file with a bad name, a pending migration out
/// of order — does not stop them; every other problem does, an edited or missing
/// applied migration among them. `applied` must be sorted by version.
pub(crate) fn concerns_applied(problem: &Problem, applied: &[HistoryRow]) -> bool {
    let Some(versions) = problem.versions() else {
        return true;
    };
    let first = applied.partition_point(|row| row.version < *versions.start());
    applied
        .get(first)
        .is_some_and(|row| row.version <= *versions.end())
}

/// The files that could not be read as migrations but whose names give a version not
/// applied — a draft whose up section is still empty, say — as `(version, name,
/// problem)`: pending, with the problem that keeps each from running. `applied` must
/// be sorted by version.
pub(crate) fn unreadable_pending<'p>(
    problems: &'p [Problem],
    applied: &'p [HistoryRow],
) -> impl Iterator<Item = (u64, String, &'p Problem)> + 'p {
    problems.iter().filter_map(move |problem| {
        let Problem::File { path, .. } = problem else {
            return None;
        };
        let (version, name) = file_version(path)?;
        let is_applied = applied
            .binary_search_by_key(&version, |row| row.version)
            .is_ok();
        (!is_applied).then_some((version, name, problem))
    })
}

/// Whether a problem stops a baseline up to `version`: one about later migrations
/// only (a draft after it) does not; every other problem does.
pub(crate) fn blocks_baseline(problem: &Problem, version: u64) -> bool {
    problem
        .versions()
        .is_none_or(|versions| *versions.start() <= version)
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

/// Problems with the migrations themselves: duplicates, gaps, bad names, and SQL that
/// holds a NUL byte, a client command (`\connect`, `DELIMITER`) or, in a section run
/// inside a transaction, a statement such as `BEGIN` or `COMMIT`. (Files with those never make it into a list: reading the folder
/// refuses them, naming the file.)
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
        // A checksum supplied ahead of time marks a migration read from a file, at run
        // time or by `embed_migrations!`: the reader checked its SQL already, and a
        // second scan would only cost every start-up its time.
        if migration.checksum.is_none() {
            problems.extend(check_sql(migration));
        }
    }
    let index = index_by_version(list);
    let mut expected = 1u64;
    let mut i = 0;
    while i < index.len() {
        let version = index[i].0;
        let run = index[i..].iter().take_while(|(v, _)| *v == version).count();
        // A squashed baseline stands for the versions its lines list, from 1.
        let start = list[index[i].1]
            .squashed
            .first()
            .map_or(version, |first| first.version.min(version));
        if start > expected {
            problems.push(Problem::Gap {
                from: expected,
                to: start - 1,
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
    problems.extend(check_squashed(list));
    problems
}

/// A squashed baseline's lines must list versions 1 to its own, once each and in
/// order, and no migration it stands for may remain in the list.
fn check_squashed(list: &[Migration]) -> Vec<Problem> {
    let mut problems = Vec::new();
    for baseline in list.iter().filter(|m| !m.squashed.is_empty()) {
        let in_order = baseline
            .squashed
            .iter()
            .zip(1u64..)
            .all(|(entry, expected)| entry.version == expected)
            && baseline.squashed.last().map(|e| e.version) == Some(baseline.version);
        if !in_order {
            problems.push(Problem::Squash {
                version: baseline.version,
                name: baseline.name.to_string(),
                detail: format!(
                    "its '{}' lines must list versions 1 to {}, once each and in order",
                    terrace_format::SQUASHED_PREFIX,
                    baseline.version
                ),
            });
            continue;
        }
        for other in list.iter().filter(|m| m.version < baseline.version) {
            problems.push(Problem::Squash {
                version: other.version,
                name: other.name.to_string(),
                detail: format!(
                    "migration {} ({}) is a squashed baseline standing for versions 1 to {}, \
                     this one among them; remove this file",
                    baseline.version, baseline.name, baseline.version
                ),
            });
        }
    }
    problems
}

/// How a history row relates to the squashed baselines of the list.
pub(crate) enum SquashedRow<'l> {
    /// No baseline stands for it, or it is a baseline's own row.
    Unrelated,
    /// A baseline stands for it, under the name and checksum the row records.
    Recognised,
    /// A baseline stands for its version, but under another name or checksum.
    Differs(&'l Migration, &'l terrace_format::Squashed),
}

/// Whether `row` is one of the migrations a squashed baseline of the list stands for.
pub(crate) fn squashed_row<'l>(list: &'l [Migration], row: &HistoryRow) -> SquashedRow<'l> {
    for baseline in list.iter().filter(|m| !m.squashed.is_empty()) {
        if row.version == baseline.version && row.name == baseline.name {
            return SquashedRow::Unrelated;
        }
        let Some(entry) = baseline.squashed.iter().find(|e| e.version == row.version) else {
            continue;
        };
        let same_checksum = row.checksum.as_deref().is_none_or(|recorded| {
            !comparable(recorded, &entry.checksum) || recorded == entry.checksum
        });
        return if entry.name == row.name && same_checksum {
            SquashedRow::Recognised
        } else {
            SquashedRow::Differs(baseline, entry)
        };
    }
    SquashedRow::Unrelated
}

/// A NUL byte, a client command or transaction control in a migration's SQL sections.
fn check_sql(migration: &Migration) -> impl Iterator<Item = Problem> + '_ {
    let sections = [
        (Direction::Up, Some(&migration.up), migration.transactional),
        (
            Direction::Down,
            migration.down.as_ref(),
            migration.down_transactional,
        ),
    ];
    sections
        .into_iter()
        .filter_map(move |(direction, body, transactional)| {
            let sql = body?.sql()?;
            let version = migration.version;
            let name = || migration.name.to_string();
            if let Some(at) = sql.find('\0') {
                let line = 1 + sql.as_bytes()[..at].iter().filter(|&&b| b == b'\n').count();
                return Some(Problem::Nul {
                    version,
                    name: name(),
                    direction,
                    line,
                });
            }
            if let Some(command) = terrace_format::client_command(sql) {
                return Some(Problem::ClientCommand {
                    version,
                    name: name(),
                    direction,
                    line: command.line,
                    command: command.text.to_owned(),
                });
            }
            let statement = terrace_format::transaction_control(sql).filter(|_| transactional)?;
            Some(Problem::TransactionControl {
                version,
                name: name(),
                direction,
                line: statement.line,
                statement: statement.first_line().to_owned(),
            })
        })
}

/// The history rows (sorted by version) newer than every migration of the list: none
/// when the list is empty, where every row is simply missing.
pub(crate) fn newer_applied<'h>(list: &[Migration], applied: &'h [HistoryRow]) -> &'h [HistoryRow] {
    let Some(latest_known) = list.iter().map(|m| m.version).max() else {
        return &[];
    };
    &applied[applied.partition_point(|row| row.version <= latest_known)..]
}

/// What `newer` makes of the rows newer than every migration of the list: a problem
/// each ([`NewerApplied::Refuse`]), or a warning each ([`NewerApplied::Warn`]).
pub(crate) fn newer_applied_warnings(
    list: &[Migration],
    applied: &[HistoryRow],
    newer: NewerApplied,
) -> Vec<Warning> {
    if newer == NewerApplied::Refuse {
        return Vec::new();
    }
    let latest_known = list.iter().map(|m| m.version).max().unwrap_or(0);
    newer_applied(list, applied)
        .iter()
        .map(|row| Warning::NewerApplied {
            version: row.version,
            name: row.name.clone(),
            latest_known,
        })
        .collect()
}

/// A warning for each history row whose checksum is from no algorithm Terrace knows
/// (a row without one, adopted or from an older table, is not such a row).
pub(crate) fn unknown_checksum_warnings(applied: &[HistoryRow]) -> Vec<Warning> {
    applied
        .iter()
        .filter_map(|row| {
            let checksum = row.checksum.as_deref()?;
            (!checksum.starts_with(terrace_format::CHECKSUM_PREFIX)).then(|| {
                Warning::UnknownChecksum {
                    version: row.version,
                    name: row.name.clone(),
                    checksum: checksum.to_owned(),
                }
            })
        })
        .collect()
}

/// Problems between the migrations and the history rows (sorted by version): missing
/// migrations, edits, renames, dirty rows, and pending migrations older than applied
/// ones. A row newer than every migration of the list is a [`Problem::NewerApplied`],
/// or, where `newer` allows it, no problem at all (unless it is dirty).
pub fn check_history(
    list: &[Migration],
    applied: &[HistoryRow],
    newer: NewerApplied,
) -> Vec<Problem> {
    let newer_rows = newer_applied(list, applied).len();
    let first_newer = applied.len() - newer_rows;
    let latest_known = list.iter().map(|m| m.version).max().unwrap_or(0);
    let index = index_by_version(list);
    let find = |version: u64| {
        index
            .binary_search_by_key(&version, |&(v, _)| v)
            .ok()
            .map(|at| &list[index[at].1])
    };
    let latest = applied.iter().map(|r| r.version).max();
    // A duplicated version is reported by `check_sources` alone: which of its files
    // the row records is unknown, so comparing the row with either, or calling either
    // out of order, would only add noise.
    let duplicated = |version: u64| {
        index
            .binary_search_by_key(&version, |&(v, _)| v)
            .is_ok_and(|at| {
                index.get(at + 1).is_some_and(|&(v, _)| v == version)
                    || at
                        .checked_sub(1)
                        .is_some_and(|before| index[before].0 == version)
            })
    };
    let mut problems = Vec::new();
    for (at, row) in applied.iter().enumerate() {
        if row.state != RowState::Applied {
            problems.push(match latest {
                Some(latest_applied) if latest_applied > row.version => {
                    Problem::DirtyBelowApplied {
                        version: row.version,
                        name: row.name.clone(),
                        state: row.state,
                        latest_applied,
                    }
                }
                _ => Problem::Dirty {
                    version: row.version,
                    name: row.name.clone(),
                    state: row.state,
                },
            });
        }
        if at >= first_newer {
            if newer == NewerApplied::Refuse {
                problems.push(Problem::NewerApplied {
                    version: row.version,
                    name: row.name.clone(),
                    latest_known,
                });
            }
            continue;
        }
        match squashed_row(list, row) {
            SquashedRow::Unrelated => {}
            SquashedRow::Recognised => continue,
            SquashedRow::Differs(baseline, entry) => {
                problems.push(Problem::Squash {
                    version: row.version,
                    name: row.name.clone(),
                    detail: format!(
                        "the squashed baseline {} ({}) stands for version {} as '{}' with \
                         checksum {}, but the history records it otherwise: this database \
                         did not apply the migrations that were squashed; migrate it from the \
                         files before the squash",
                        baseline.version, baseline.name, entry.version, entry.name, entry.checksum
                    ),
                });
                continue;
            }
        }
        let Some(migration) = find(row.version) else {
            problems.push(Problem::Missing {
                version: row.version,
                name: row.name.clone(),
            });
            continue;
        };
        if duplicated(row.version) {
            continue;
        }
        if row.state == RowState::Started {
            // It never completed: the file may well have been fixed since, and what
            // it was applied as does not matter once it is cleared.
            continue;
        }
        let renamed = migration.name != row.name;
        let current = migration.checksum();
        let edited = row
            .checksum
            .as_deref()
            .is_some_and(|recorded| comparable(recorded, &current) && recorded != current);
        // Without a comparable checksum, a recorded name that another migration of the
        // list carries is evidence enough that the number was taken by another.
        let named_elsewhere = renamed
            && list
                .iter()
                .any(|m| m.name == row.name && m.version != row.version);
        if renamed && (edited || named_elsewhere) {
            let now_at = list
                .iter()
                .find(|m| {
                    m.name == row.name
                        && row
                            .checksum
                            .as_deref()
                            .is_none_or(|recorded| recorded == m.checksum())
                })
                .map(|m| m.version);
            problems.push(Problem::Replaced {
                version: row.version,
                recorded: row.name.clone(),
                current: migration.name.to_string(),
                now_at,
            });
            continue;
        }
        if renamed {
            problems.push(Problem::NameMismatch {
                version: row.version,
                recorded: row.name.clone(),
                current: migration.name.to_string(),
            });
        }
        if edited {
            problems.push(Problem::ChecksumMismatch {
                version: row.version,
                name: migration.name.to_string(),
                recorded: row.checksum.clone().unwrap_or_default(),
                current: current.into_owned(),
            });
        }
    }
    // A baseline whose own version is not applied runs on a database holding some of
    // the migrations it stands for: it would create what they created again.
    for baseline in list.iter().filter(|m| !m.squashed.is_empty()) {
        let has = |version: u64| applied.iter().any(|r| r.version == version);
        if has(baseline.version) {
            continue;
        }
        if let Some(entry) = baseline.squashed.iter().find(|e| has(e.version)) {
            problems.push(Problem::Squash {
                version: baseline.version,
                name: baseline.name.to_string(),
                detail: format!(
                    "a squashed baseline standing for versions 1 to {v}, of which the database \
                     has applied some ({} among them) but not {v}: migrate it to {v} from the \
                     files before the squash",
                    entry.version,
                    v = baseline.version
                ),
            });
        }
    }
    if let Some(latest) = latest {
        let mut applied_versions: Vec<u64> = applied.iter().map(|r| r.version).collect();
        applied_versions.sort_unstable();
        for &(version, i) in index.iter().take_while(|(v, _)| *v < latest) {
            if applied_versions.binary_search(&version).is_err() && !duplicated(version) {
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

    fn row(version: u64, name: &str, checksum: Option<&str>) -> HistoryRow {
        HistoryRow {
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

    /// A squashed baseline at 3 standing for `create_a`, `add_b` and `add_c`, as read
    /// from its file, then a fourth migration.
    fn squashed_list() -> Vec<Migration> {
        let mut baseline = Migration::sql(3, "squashed_1_to_3", "CREATE TABLE a (x, b, c);");
        baseline.squashed = LIST
            .iter()
            .map(|m| terrace_format::Squashed {
                version: m.version,
                name: m.name.to_string().into(),
                checksum: m.checksum().into_owned().into(),
            })
            .collect();
        vec![baseline, Migration::sql(4, "add_d", "ALTER TABLE a ADD d;")]
    }

    #[test]
    fn a_squashed_baseline_stands_for_the_history_it_lists() {
        let list = squashed_list();
        assert_eq!(check_sources(&list), []);
        let original: Vec<HistoryRow> = LIST
            .iter()
            .map(|m| row(m.version, &m.name, Some(&m.checksum())))
            .collect();
        assert_eq!(check_history(&list, &original, NewerApplied::Refuse), []);
        let fresh = [row(3, "squashed_1_to_3", Some(&list[0].checksum()))];
        assert_eq!(check_history(&list, &fresh, NewerApplied::Refuse), []);

        let mut edited = original.clone();
        edited[1].checksum = Some("sha256:other".into());
        assert!(matches!(
            check_history(&list, &edited, NewerApplied::Refuse)[..],
            [Problem::Squash { version: 2, .. }]
        ));
        assert!(matches!(
            check_history(&list, &original[..2], NewerApplied::Refuse)[..],
            [Problem::Squash { version: 3, .. }]
        ));

        let mut kept = squashed_list();
        kept.push(LIST[0].clone());
        assert!(matches!(
            check_sources(&kept)[..],
            [Problem::Squash { version: 1, .. }]
        ));
        let mut short = squashed_list();
        short[0].squashed.to_mut().remove(0);
        // Lines from 2: a gap at 1, and lines not listing 1 to 3.
        assert!(matches!(
            check_sources(&short)[..],
            [
                Problem::Gap { from: 1, to: 1 },
                Problem::Squash { version: 3, .. }
            ]
        ));
    }

    #[test]
    fn only_problems_about_applied_migrations_block_a_rollback_or_repair() {
        let applied = [row(1, "create_a", None), row(3, "add_c", None)];
        let draft = Problem::File {
            line: None,
            path: PathBuf::from("migrations/0004_add_d.sql"),
            detail: "the up section is empty".into(),
        };
        let blocks = |problem: &Problem| concerns_applied(problem, &applied);
        assert!(!blocks(&draft));
        assert!(!blocks(&Problem::Gap { from: 4, to: 6 }));
        assert!(!blocks(&Problem::OutOfOrder {
            version: 2,
            name: "add_b".into(),
            latest_applied: 3
        }));
        assert!(!blocks(&Problem::BadName {
            version: 5,
            name: "migration_5".into(),
            problem: NameProblem::NotDescriptive
        }));
        // About an applied migration, or about no migration in particular: it blocks.
        assert!(blocks(&Problem::File {
            line: None,
            path: PathBuf::from("migrations/0003_add_c.sql"),
            detail: "not valid UTF-8 (at byte 3)".into(),
        }));
        assert!(blocks(&Problem::File {
            line: None,
            path: PathBuf::from("migrations/add_c.sql"),
            detail: "no version".into(),
        }));
        assert!(blocks(&Problem::Gap { from: 2, to: 3 }));
        assert!(blocks(&Problem::ChecksumMismatch {
            version: 1,
            name: "create_a".into(),
            recorded: "sha256:0".into(),
            current: "sha256:1".into()
        }));
        assert!(blocks(&Problem::Missing {
            version: 3,
            name: "add_c".into()
        }));
        assert!(blocks(&Problem::NoMigrations {
            dir: PathBuf::from("migrations"),
            applied: 2
        }));
        assert!(blocks(&Problem::DuplicateVersion {
            version: 3,
            names: vec!["add_c".into(), "add_c_too".into()]
        }));
        assert!(!blocks(&Problem::DuplicateVersion {
            version: 4,
            names: vec!["add_d".into(), "add_d_too".into()]
        }));
    }

    #[test]
    fn unreadable_files_not_applied_are_pending() {
        let file = |name: &str| Problem::File {
            line: None,
            path: PathBuf::from("migrations").join(name),
            detail: "the up section is empty".into(),
        };
        let problems = [
            file("0004_add_d.sql"),
            file("0003_add_c.sql"),
            file("notes.sql"),
            Problem::Gap { from: 5, to: 5 },
        ];
        let applied = [row(1, "create_a", None), row(3, "add_c", None)];
        let pending: Vec<(u64, String)> = unreadable_pending(&problems, &applied)
            .map(|(version, name, problem)| {
                assert_eq!(problem, &problems[0]);
                (version, name)
            })
            .collect();
        assert_eq!(pending, [(4, "add_d".to_owned())]);
    }

    #[test]
    fn only_problems_up_to_its_version_block_a_baseline() {
        let draft = Problem::File {
            line: None,
            path: PathBuf::from("migrations/0004_add_d.sql"),
            detail: "the up section is empty".into(),
        };
        assert!(!blocks_baseline(&draft, 3));
        assert!(blocks_baseline(&draft, 4));
        assert!(blocks_baseline(&Problem::Gap { from: 2, to: 5 }, 3));
        assert!(!blocks_baseline(&Problem::Gap { from: 4, to: 5 }, 3));
        let unnamed = Problem::File {
            line: None,
            path: PathBuf::from("migrations/notes.sql"),
            detail: "no version".into(),
        };
        assert!(blocks_baseline(&unnamed, 1));
    }

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
    fn nul_bytes_and_transaction_control_in_sql_lists() {
        let list = [
            Migration::sql(1, "create_a", "CREATE TABLE a (x);\0 DROP TABLE a;"),
            Migration::sql(2, "create_b", "BEGIN;\nCREATE TABLE b (x);\nCOMMIT;"),
            Migration::sql(3, "create_c", "CREATE TABLE c (x);")
                .with_down("DROP TABLE c;\nCOMMIT;"),
            Migration::sql(4, "create_d", "BEGIN;\nCREATE TABLE d (x);\nCOMMIT;")
                .without_transaction()
                .with_down("SELECT 1;\n\0"),
        ];
        let problems = check_sources(&list);
        assert_eq!(
            problems,
            [
                Problem::Nul {
                    version: 1,
                    name: "create_a".into(),
                    direction: Direction::Up,
                    line: 1
                },
                Problem::TransactionControl {
                    version: 2,
                    name: "create_b".into(),
                    direction: Direction::Up,
                    line: 1,
                    statement: "BEGIN".into()
                },
                Problem::TransactionControl {
                    version: 3,
                    name: "create_c".into(),
                    direction: Direction::Down,
                    line: 2,
                    statement: "COMMIT".into()
                },
                Problem::Nul {
                    version: 4,
                    name: "create_d".into(),
                    direction: Direction::Down,
                    line: 2
                },
            ]
        );
        assert!(
            problems[2]
                .to_string()
                .contains("-- migrate:down transaction:false")
        );
    }

    #[test]
    fn newer_applied_migrations_warn_only_where_allowed() {
        let applied: Vec<HistoryRow> = [(1, "create_a"), (2, "add_b"), (3, "add_c")]
            .into_iter()
            .map(|(v, n)| row(v, n, Some(&LIST[v as usize - 1].checksum())))
            .chain([row(4, "add_d", None), row(5, "add_e", None)])
            .collect();
        let newer = NewerApplied::Warn;
        assert_eq!(newer_applied(LIST, &applied).len(), 2);
        assert!(
            newer_applied(&[], &applied).is_empty(),
            "no list: missing, not newer"
        );
        assert_eq!(check_history(LIST, &applied, newer), []);
        assert_eq!(
            newer_applied_warnings(LIST, &applied, newer),
            [
                Warning::NewerApplied {
                    version: 4,
                    name: "add_d".into(),
                    latest_known: 3
                },
                Warning::NewerApplied {
                    version: 5,
                    name: "add_e".into(),
                    latest_known: 3
                }
            ]
        );
        assert_eq!(
            newer_applied_warnings(LIST, &applied, NewerApplied::Refuse),
            []
        );
        let refused = check_history(LIST, &applied, NewerApplied::Refuse);
        assert!(
            matches!(
                refused[..],
                [
                    Problem::NewerApplied { version: 4, .. },
                    Problem::NewerApplied { version: 5, .. }
                ]
            ),
            "{refused:?}"
        );
        // A dirty newer row is still dirty; a pending migration below a newer row is
        // still out of order; an applied migration missing below the newest known is
        // still missing.
        let mut dirty = applied.clone();
        dirty[4].state = RowState::Started;
        assert!(matches!(
            check_history(LIST, &dirty, newer)[..],
            [Problem::Dirty { version: 5, .. }]
        ));
        let without_2 = [applied[0].clone(), applied[2].clone(), applied[3].clone()];
        assert!(matches!(
            check_history(LIST, &without_2, newer)[..],
            [Problem::OutOfOrder {
                version: 2,
                latest_applied: 4,
                ..
            }]
        ));
        let short_list = [LIST[0].clone(), LIST[2].clone()];
        assert!(matches!(
            check_history(&short_list, &applied, newer)[..],
            [Problem::Missing { version: 2, .. }]
        ));
    }

    #[test]
    fn history_problems() {
        let good = LIST[0].checksum().into_owned();
        let applied = [
            row(1, "create_a", Some(&good)),
            row(3, "add_c", Some("sha256:0000")),
            row(4, "add_d", None),
        ];
        let problems = check_history(LIST, &applied, NewerApplied::Refuse);
        assert_eq!(problems.len(), 3, "{problems:#?}");
        assert!(matches!(
            problems[0],
            Problem::ChecksumMismatch { version: 3, .. }
        ));
        assert!(matches!(
            problems[1],
            Problem::NewerApplied {
                version: 4,
                latest_known: 3,
                ..
            }
        ));
        assert!(matches!(
            problems[2],
            Problem::OutOfOrder {
                version: 2,
                latest_applied: 4,
                ..
            }
        ));

        let renamed = [row(1, "create_table_a", Some(&good))];
        assert!(matches!(
            check_history(LIST, &renamed, NewerApplied::Refuse)[..],
            [Problem::NameMismatch { version: 1, .. }]
        ));
    }

    #[test]
    fn another_migration_at_the_same_version_is_not_an_edit() {
        // The database applied `add_tokens` as 2; the folder's 2 is now another
        // migration, and `add_tokens` was renumbered to 3.
        let list = [
            Migration::sql(1, "create_a", "CREATE TABLE a (x);"),
            Migration::sql(2, "create_invoices", "CREATE TABLE invoices (x);"),
            Migration::sql(3, "add_tokens", "ALTER TABLE a ADD tokens;"),
        ];
        let tokens = list[2].checksum().into_owned();
        let applied = [
            row(1, "create_a", Some(&list[0].checksum())),
            row(2, "add_tokens", Some(&tokens)),
        ];
        let problems = check_history(&list, &applied, NewerApplied::Refuse);
        assert_eq!(
            problems,
            [Problem::Replaced {
                version: 2,
                recorded: "add_tokens".into(),
                current: "create_invoices".into(),
                now_at: Some(3),
            }]
        );
        let message = problems[0].to_string();
        assert!(!message.contains("`terrace repair`"), "{message}");
        assert!(
            message.contains("'add_tokens' is now version 3"),
            "{message}"
        );

        // Without a file holding it elsewhere, the advice is to restore it.
        let problems = check_history(&list[..2], &applied[..], NewerApplied::Refuse);
        assert!(matches!(
            problems[..],
            [Problem::Replaced {
                version: 2,
                now_at: None,
                ..
            }]
        ));
    }

    #[test]
    fn an_adopted_row_whose_name_moved_to_another_version_is_not_a_rename() {
        // Rows adopted from the origin's table carry no checksum.
        let list = [
            Migration::sql(1, "create_a", "CREATE TABLE a (x);"),
            Migration::sql(2, "create_invoices", "CREATE TABLE invoices (x);"),
            Migration::sql(3, "add_tokens", "ALTER TABLE a ADD tokens;"),
        ];
        let applied = [row(1, "create_a", None), row(2, "add_tokens", None)];
        assert!(matches!(
            check_history(&list, &applied, NewerApplied::Refuse)[..],
            [Problem::Replaced {
                version: 2,
                now_at: Some(3),
                ..
            }]
        ));
        // A name no other migration carries is still a plain rename.
        let applied = [row(1, "create_a", None), row(2, "create_bills", None)];
        assert!(matches!(
            check_history(&list, &applied, NewerApplied::Refuse)[..],
            [Problem::NameMismatch { version: 2, .. }]
        ));
    }

    #[test]
    fn a_dirty_row_below_applied_ones_is_not_left_to_repair() {
        let mut dirty = row(2, "add_b", None);
        dirty.state = RowState::Started;
        let problems = check_history(
            LIST,
            &[row(1, "create_a", None), dirty, row(3, "add_c", None)],
            NewerApplied::Refuse,
        );
        assert!(matches!(
            problems[..],
            [Problem::DirtyBelowApplied {
                version: 2,
                latest_applied: 3,
                ..
            }]
        ));
        assert!(!problems[0].to_string().contains("`terrace repair`"));
    }

    #[test]
    fn an_unfinished_row_is_not_called_edited() {
        let mut dirty = row(3, "add_c", Some("sha256:0000"));
        dirty.state = RowState::Started;
        let problems = check_history(
            LIST,
            &[row(1, "create_a", None), row(2, "add_b", None), dirty],
            NewerApplied::Refuse,
        );
        assert!(
            matches!(problems[..], [Problem::Dirty { version: 3, .. }]),
            "{problems:#?}"
        );
    }

    #[test]
    fn a_duplicated_version_is_not_compared_with_its_row() {
        let list = [
            Migration::sql(1, "create_a", "CREATE TABLE a (x);"),
            Migration::sql(2, "add_b", "ALTER TABLE a ADD b;"),
            Migration::sql(2, "add_c", "ALTER TABLE a ADD c;"),
            Migration::sql(2, "add_d", "ALTER TABLE a ADD d;"),
            Migration::sql(3, "add_e", "ALTER TABLE a ADD e;"),
        ];
        let applied = [
            row(1, "create_a", Some(&list[0].checksum())),
            row(2, "add_b", Some(&list[1].checksum())),
            row(3, "add_e", Some("sha256:0000")),
        ];
        let problems = check_history(&list, &applied, NewerApplied::Refuse);
        assert!(
            matches!(
                &problems[..],
                [Problem::ChecksumMismatch { version: 3, .. }]
            ),
            "{problems:#?}"
        );
        let pending_twice = check_history(
            &list,
            &[row(1, "create_a", None), row(3, "add_e", None)],
            NewerApplied::Refuse,
        );
        assert!(pending_twice.is_empty(), "{pending_twice:#?}");
        let mut dirty = row(2, "add_c", None);
        dirty.state = RowState::Started;
        let problems = check_history(
            &list,
            &[row(1, "create_a", None), dirty],
            NewerApplied::Refuse,
        );
        assert!(
            matches!(&problems[..], [Problem::Dirty { version: 2, .. }]),
            "{problems:#?}"
        );
    }

    #[test]
    fn legacy_and_foreign_algorithm_checksums_are_not_edits() {
        let applied = [row(1, "create_a", None), row(2, "add_b", Some("md5:abc"))];
        assert!(check_history(LIST, &applied, NewerApplied::Refuse).is_empty());
    }

    #[test]
    fn a_checksum_from_no_known_algorithm_is_a_warning_naming_the_version() {
        let applied = [
            row(1, "create_a", None),
            row(2, "add_b", Some("edited")),
            row(3, "add_c", Some(&LIST[2].checksum())),
        ];
        let warnings = super::unknown_checksum_warnings(&applied);
        assert_eq!(
            warnings,
            [Warning::UnknownChecksum {
                version: 2,
                name: "add_b".into(),
                checksum: "edited".into(),
            }]
        );
        assert!(
            warnings[0]
                .to_string()
                .starts_with("migration 2 (add_b) is recorded with checksum \"edited\""),
            "{}",
            warnings[0]
        );
    }

    #[test]
    fn dirty_rows_are_problems() {
        let mut dirty = row(1, "create_a", None);
        dirty.state = RowState::Started;
        let problems = check_history(LIST, &[dirty], NewerApplied::Refuse);
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
        let problems = check_history(LIST, &[started.clone()], NewerApplied::Refuse);
        assert!(
            matches!(problems[..], [Problem::Dirty { version: 1, .. }]),
            "{problems:?}"
        );
        // An interrupted rollback was applied: an edit since then is one.
        started.state = RowState::Reverting;
        assert_eq!(
            check_history(LIST, &[started], NewerApplied::Refuse).len(),
            2
        );
    }
}
