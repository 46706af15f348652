//! Giving migrations new version numbers, as after a merge that brought two migrations
//! with one version: which files move where ([`plan_named`], [`plan_sequential`], pure)
//! and the renames themselves ([`apply`]).
//!
//! A file keeps its name and takes the folder's padding ([`numbering::width`]). A
//! migration a database has applied — its version and name are in the history — never
//! moves.

use crate::numbering::{self, NumberedFile};
use std::fmt;
use std::io;
use std::path::Path;

/// One file to rename.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Move {
    /// The file name now.
    pub from: String,
    /// The file name it gets.
    pub to: String,
    /// The version now.
    pub from_version: u64,
    /// The version it gets.
    pub to_version: u64,
}

/// Why no moves could be planned.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RenumberError {
    /// A file named to move is not a migration file of the folder.
    NotAMigration {
        /// The file as named.
        file: String,
    },
    /// A file named to move is applied to the database.
    Applied {
        /// The file.
        file: String,
        /// Its version.
        version: u64,
    },
    /// Migrations share versions and nothing says which of them should move: no
    /// database was given, or it has applied none of them.
    Collisions {
        /// The file names of each version held by more than one file.
        groups: Vec<(u64, Vec<String>)>,
        /// Whether a database was consulted.
        with_database: bool,
    },
    /// Versions are missing between files, and no database was given to say which
    /// files may move.
    Gaps {
        /// The missing versions, as inclusive ranges.
        missing: Vec<(u64, u64)>,
    },
    /// The versions would run past the largest one.
    NoNextVersion,
}

impl fmt::Display for RenumberError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RenumberError::NotAMigration { file } => write!(
                f,
                "{file} is not a migration file of the migrations folder \
                 (NNNN_descriptive_name.sql)"
            ),
            RenumberError::Applied { file, version } => write!(
                f,
                "{file} (version {version}) is applied to the database, so its version cannot \
                 change; move the other migration of that version instead"
            ),
            RenumberError::Collisions {
                groups,
                with_database,
            } => {
                f.write_str("migrations share a version:")?;
                for (version, files) in groups {
                    write!(f, "\n  version {version}: {}", files.join(", "))?;
                }
                if *with_database {
                    f.write_str(
                        "\nthe database has applied none of them, so name the file(s) to move: \
                         `terrace renumber FILE…`",
                    )
                } else {
                    f.write_str(
                        "\nname the file(s) to move (`terrace renumber FILE…`), or give the \
                         --database of a shared database, whose applied migrations stay",
                    )
                }
            }
            RenumberError::Gaps { missing } => {
                let missing: Vec<String> = missing
                    .iter()
                    .map(|(from, to)| match from == to {
                        true => from.to_string(),
                        false => format!("{from} to {to}"),
                    })
                    .collect();
                write!(
                    f,
                    "versions are missing: {}; name the file(s) to move (`terrace renumber \
                     FILE…`), or give the --database of a shared database, whose applied \
                     migrations stay",
                    missing.join(", ")
                )
            }
            RenumberError::NoNextVersion => {
                f.write_str("the folder's highest version leaves no next version")
            }
        }
    }
}

impl std::error::Error for RenumberError {}

/// What a database has applied: the version and name of each history row.
pub type Applied = [(u64, String)];

fn is_applied(file: &NumberedFile, applied: &Applied) -> bool {
    applied
        .iter()
        .any(|(version, name)| *version == file.version && Some(name) == file.name.as_ref())
}

/// Moves `files` (in order) to the versions from `next` on, skipping those already
/// there.
fn lay_out<'a>(
    files: impl IntoIterator<Item = &'a NumberedFile>,
    mut next: u64,
    width: usize,
) -> Result<Vec<Move>, RenumberError> {
    let mut moves = Vec::new();
    for file in files {
        let Some(name) = &file.name else {
            return Err(RenumberError::NotAMigration {
                file: file.file_name.clone(),
            });
        };
        if file.version != next {
            moves.push(Move {
                from: file.file_name.clone(),
                to: numbering::file_name(next, width, name),
                from_version: file.version,
                to_version: next,
            });
        }
        next = next.checked_add(1).ok_or(RenumberError::NoNextVersion)?;
    }
    Ok(moves)
}

/// Moves the files named (by file name), in their current order, to the versions after
/// the highest of the other files (and of the history).
///
/// ```
/// use terrace_format::numbering::NumberedFile;
/// use terrace_format::renumber::plan_named;
/// let file = |v: u64, name: &str| NumberedFile {
///     file_name: format!("{v:04}_{name}.sql"), version: v, digits: 4, name: Some(name.into()),
/// };
/// let folder = [file(1, "create_users"), file(2, "add_email"), file(2, "add_phone")];
/// let moves = plan_named(&folder, &["0002_add_phone.sql".to_owned()], &[]).unwrap();
/// assert_eq!(moves[0].to, "0003_add_phone.sql");
/// ```
pub fn plan_named(
    files: &[NumberedFile],
    named: &[String],
    applied: &Applied,
) -> Result<Vec<Move>, RenumberError> {
    let mut moving = Vec::new();
    for file_name in named {
        let file = files
            .iter()
            .find(|f| &f.file_name == file_name && f.name.is_some())
            .ok_or_else(|| RenumberError::NotAMigration {
                file: file_name.clone(),
            })?;
        if is_applied(file, applied) {
            return Err(RenumberError::Applied {
                file: file.file_name.clone(),
                version: file.version,
            });
        }
        if !moving.contains(&file) {
            moving.push(file);
        }
    }
    moving.sort_by(|a, b| (a.version, &a.file_name).cmp(&(b.version, &b.file_name)));
    let highest = files
        .iter()
        .filter(|f| !moving.contains(f))
        .map(|f| f.version)
        .chain(applied.iter().map(|(version, _)| *version))
        .max()
        .unwrap_or(0);
    let next = highest.checked_add(1).ok_or(RenumberError::NoNextVersion)?;
    lay_out(moving, next, numbering::width(files))
}

/// Makes the folder sequential again.
///
/// With a database's history (`applied`), its applied migrations stay where they are;
/// the others follow the highest applied version in their order, except that every one
/// that shares its version with another file, or is not above the highest applied
/// version, goes last. Versions shared only by migrations the database has not applied
/// are refused: nothing says which of them should move.
///
/// Without a database nothing can be known to be safe to move: shared versions and
/// gaps are refused, naming them, and a sequential folder needs no move.
pub fn plan_sequential(
    files: &[NumberedFile],
    applied: Option<&Applied>,
) -> Result<Vec<Move>, RenumberError> {
    let migrations: Vec<&NumberedFile> = files.iter().filter(|f| f.name.is_some()).collect();
    let shared = |file: &NumberedFile| {
        migrations
            .iter()
            .filter(|f| f.version == file.version)
            .count()
            > 1
    };
    let collisions = |among: &[&NumberedFile]| {
        let mut groups: Vec<(u64, Vec<String>)> = Vec::new();
        for file in among.iter().filter(|f| shared(f)) {
            match groups.last_mut() {
                Some((version, names)) if *version == file.version => {
                    names.push(file.file_name.clone());
                }
                _ => groups.push((file.version, vec![file.file_name.clone()])),
            }
        }
        groups
    };
    let Some(applied) = applied else {
        let groups = collisions(&migrations);
        if !groups.is_empty() {
            return Err(RenumberError::Collisions {
                groups,
                with_database: false,
            });
        }
        let mut missing = Vec::new();
        let mut expected = 1;
        for file in &migrations {
            if file.version > expected {
                missing.push((expected, file.version - 1));
            }
            expected = file.version.saturating_add(1);
        }
        if !missing.is_empty() {
            return Err(RenumberError::Gaps { missing });
        }
        return Ok(Vec::new());
    };
    let highest = applied.iter().map(|(v, _)| *v).max().unwrap_or(0);
    let pending: Vec<&NumberedFile> = migrations
        .iter()
        .copied()
        .filter(|f| !is_applied(f, applied))
        .collect();
    let (staying, moving): (Vec<&NumberedFile>, Vec<&NumberedFile>) = pending
        .iter()
        .partition(|f| f.version > highest && !shared(f));
    let undecided: Vec<&NumberedFile> = moving
        .iter()
        .copied()
        .filter(|f| f.version > highest)
        .collect();
    let groups = collisions(&undecided);
    if !groups.is_empty() {
        return Err(RenumberError::Collisions {
            groups,
            with_database: true,
        });
    }
    let next = highest.checked_add(1).ok_or(RenumberError::NoNextVersion)?;
    lay_out(
        staying.into_iter().chain(moving),
        next,
        numbering::width(files),
    )
}

/// A rename that failed, and where that left the files.
#[derive(Debug)]
pub struct RenameError {
    /// The rename that failed, `FROM → TO`.
    pub failed: String,
    /// Why.
    pub source: io::Error,
    /// The renames done before it, which could not be undone (`FROM → TO`, so `TO` is
    /// where the file is now): empty when every file is back under its old name.
    pub stranded: Vec<String>,
}

impl fmt::Display for RenameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot rename {}: {}", self.failed, self.source)?;
        if self.stranded.is_empty() {
            f.write_str("; every file keeps its old name")
        } else {
            write!(
                f,
                "; these renames could not be undone: {}",
                self.stranded.join(", ")
            )
        }
    }
}

impl std::error::Error for RenameError {}

/// Renames the files of `moves` in `dir`: first each to a hidden temporary name, then
/// each to its new name, so that one file may take another's old name. Every new name
/// is checked first: none may exist unless a file that moves holds it now. On a
/// failure the renames done are undone, newest first.
pub fn apply(dir: &Path, moves: &[Move]) -> Result<(), RenameError> {
    let temporary = |m: &Move| format!(".{}.renumber-{}", m.from, std::process::id());
    let mut steps: Vec<(String, String)> = moves
        .iter()
        .map(|m| (m.from.clone(), temporary(m)))
        .collect();
    steps.extend(moves.iter().map(|m| (temporary(m), m.to.clone())));
    let exists = |name: &str| dir.join(name).symlink_metadata().is_ok();
    for (from, to) in &steps {
        let freed = moves.iter().any(|m| &m.from == to);
        if exists(to) && !freed {
            return Err(RenameError {
                failed: format!("{from} → {to}"),
                source: io::Error::new(io::ErrorKind::AlreadyExists, format!("{to} exists")),
                stranded: Vec::new(),
            });
        }
    }
    let mut done: Vec<&(String, String)> = Vec::new();
    for step in &steps {
        let (from, to) = step;
        let result = if exists(to) {
            Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!("{to} exists"),
            ))
        } else {
            std::fs::rename(dir.join(from), dir.join(to))
        };
        if let Err(source) = result {
            let mut stranded = Vec::new();
            while let Some((back_to, back_from)) = done.pop() {
                if std::fs::rename(dir.join(back_from), dir.join(back_to)).is_err() {
                    stranded.push(format!("{back_to} → {back_from}"));
                }
            }
            return Err(RenameError {
                failed: format!("{from} → {to}"),
                source,
                stranded,
            });
        }
        done.push(step);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(version: u64, name: &str) -> NumberedFile {
        NumberedFile {
            file_name: format!("{version:04}_{name}.sql"),
            version,
            digits: 4,
            name: Some(name.to_owned()),
        }
    }

    fn moves(planned: &[Move]) -> Vec<(&str, &str)> {
        planned
            .iter()
            .map(|m| (m.from.as_str(), m.to.as_str()))
            .collect()
    }

    fn applied(rows: &[(u64, &str)]) -> Vec<(u64, String)> {
        rows.iter().map(|(v, n)| (*v, (*n).to_owned())).collect()
    }

    #[test]
    fn named_files_go_after_the_others_in_their_order() {
        let folder = [
            file(1, "create_users"),
            file(2, "add_email"),
            file(2, "add_phone"),
            file(3, "add_index"),
            file(3, "add_phone_index"),
        ];
        let named = ["0003_add_phone_index.sql", "0002_add_phone.sql"].map(String::from);
        assert_eq!(
            moves(&plan_named(&folder, &named, &[]).unwrap()),
            [
                ("0002_add_phone.sql", "0004_add_phone.sql"),
                ("0003_add_phone_index.sql", "0005_add_phone_index.sql")
            ]
        );
        // The newest file, named, closes the gap below it.
        let folder = [file(1, "create_users"), file(3, "add_email")];
        let named = ["0003_add_email.sql".to_owned()];
        assert_eq!(
            moves(&plan_named(&folder, &named, &[]).unwrap()),
            [("0003_add_email.sql", "0002_add_email.sql")]
        );
        // Already in place: nothing to do.
        let folder = [file(1, "create_users"), file(2, "add_email")];
        let named = ["0002_add_email.sql".to_owned()];
        assert!(plan_named(&folder, &named, &[]).unwrap().is_empty());
    }

    #[test]
    fn named_files_must_be_unapplied_migrations() {
        let folder = [file(1, "create_users"), file(2, "add_email")];
        assert_eq!(
            plan_named(
                &folder,
                &["0002_add_email.sql".to_owned()],
                &applied(&[(2, "add_email")])
            ),
            Err(RenumberError::Applied {
                file: "0002_add_email.sql".into(),
                version: 2
            })
        );
        assert_eq!(
            plan_named(&folder, &["0009_nothing.sql".to_owned()], &[]),
            Err(RenumberError::NotAMigration {
                file: "0009_nothing.sql".into()
            })
        );
    }

    #[test]
    fn the_padding_is_the_folders() {
        let mut short = file(9, "add_email");
        short.file_name = "9_add_email.sql".into();
        short.digits = 1;
        let mut other = file(9, "add_phone");
        other.file_name = "9_add_phone.sql".into();
        other.digits = 1;
        let folder = [file(8, "create_users"), short, other];
        assert_eq!(
            moves(&plan_named(&folder, &["9_add_phone.sql".to_owned()], &[]).unwrap()),
            [("9_add_phone.sql", "10_add_phone.sql")]
        );
    }

    #[test]
    fn without_a_database_only_a_sequential_folder_passes() {
        let sequential = [file(1, "create_users"), file(2, "add_email")];
        assert!(plan_sequential(&sequential, None).unwrap().is_empty());
        let colliding = [
            file(1, "create_users"),
            file(2, "add_email"),
            file(2, "add_phone"),
        ];
        let err = plan_sequential(&colliding, None).unwrap_err();
        assert_eq!(
            err,
            RenumberError::Collisions {
                groups: vec![(
                    2,
                    vec!["0002_add_email.sql".into(), "0002_add_phone.sql".into()]
                )],
                with_database: false
            }
        );
        assert!(err.to_string().contains("--database"), "{err}");
        let gapped = [file(1, "create_users"), file(4, "add_email")];
        assert_eq!(
            plan_sequential(&gapped, None),
            Err(RenumberError::Gaps {
                missing: vec![(2, 3)]
            })
        );
    }

    #[test]
    fn with_a_database_applied_migrations_stay_and_the_rest_follow() {
        let folder = [
            file(1, "create_users"),
            file(2, "add_email"),
            file(2, "add_phone"),
            file(3, "add_index"),
        ];
        let history = applied(&[(1, "create_users"), (2, "add_email")]);
        assert_eq!(
            moves(&plan_sequential(&folder, Some(&history)).unwrap()),
            [("0002_add_phone.sql", "0004_add_phone.sql")]
        );
        // Applied the other way round: the other file moves.
        let history = applied(&[(1, "create_users"), (2, "add_phone")]);
        assert_eq!(
            moves(&plan_sequential(&folder, Some(&history)).unwrap()),
            [("0002_add_email.sql", "0004_add_email.sql")]
        );
        // A gap above the applied ones closes.
        let folder = [file(1, "create_users"), file(3, "add_email")];
        let history = applied(&[(1, "create_users")]);
        assert_eq!(
            moves(&plan_sequential(&folder, Some(&history)).unwrap()),
            [("0003_add_email.sql", "0002_add_email.sql")]
        );
        // Nothing applied shares the version: which one moves is the user's call.
        let folder = [
            file(1, "create_users"),
            file(2, "add_email"),
            file(2, "add_phone"),
        ];
        let history = applied(&[(1, "create_users")]);
        assert!(matches!(
            plan_sequential(&folder, Some(&history)),
            Err(RenumberError::Collisions {
                with_database: true,
                ..
            })
        ));
    }

    #[test]
    fn renames_take_each_others_names_and_never_overwrite() {
        let dir = std::env::temp_dir().join(format!("terrace-renumber-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("0001_a.sql"), "one").unwrap();
        std::fs::write(dir.join("0002_a.sql"), "two").unwrap();
        let swap = |from: &str, to: &str| Move {
            from: from.into(),
            to: to.into(),
            from_version: 0,
            to_version: 0,
        };
        apply(
            &dir,
            &[
                swap("0001_a.sql", "0002_a.sql"),
                swap("0002_a.sql", "0003_a.sql"),
            ],
        )
        .unwrap();
        assert_eq!(
            std::fs::read_to_string(dir.join("0002_a.sql")).unwrap(),
            "one"
        );
        assert_eq!(
            std::fs::read_to_string(dir.join("0003_a.sql")).unwrap(),
            "two"
        );
        assert!(!dir.join("0001_a.sql").exists());

        let err = apply(&dir, &[swap("0003_a.sql", "0002_a.sql")]).unwrap_err();
        assert!(err.to_string().contains("0002_a.sql exists"), "{err}");
        assert!(
            err.to_string().contains("every file keeps its old name"),
            "{err}"
        );
        let err = apply(
            &dir,
            &[
                swap("0002_a.sql", "0004_a.sql"),
                swap("0009_missing.sql", "0005_a.sql"),
            ],
        )
        .unwrap_err();
        assert!(err.to_string().contains("0009_missing.sql"), "{err}");
        assert!(err.stranded.is_empty());
        let mut left: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        left.sort();
        assert_eq!(left, ["0002_a.sql", "0003_a.sql"]);
        std::fs::remove_dir_all(dir).unwrap();
    }
}
