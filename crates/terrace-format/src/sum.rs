//! `terrace.sum`: a file in the migrations folder that lists every migration file with
//! its checksum, under a total over all of them.
//!
//! ```text
//! total sha256:<hex of the lines below>
//! 0001_create_projects.sql sha256:<checksum of its up section>
//! 0002_add_base_url.sql sha256:<…>
//! ```
//!
//! Its point is the merge: two branches that each add a migration both change the
//! total on the first line and both add a line after the same last line, so git stops
//! the merge with a conflict in this file instead of silently keeping two migrations
//! with one version. A folder without the file works as before.
//!
//! A file's checksum is its migration's ([`checksum`](crate::checksum())); a file that
//! does not read as a migration (a draft whose up section is still empty, say) has
//! the checksum of its whole text instead. The lines are in version order, then file
//! name order; the total is the checksum of the lines, each ending in a line feed.

use crate::checksum::{CHECKSUM_PREFIX, checksum, sha256_hex};
use crate::folder::{FileProblemKind, Folder};
use crate::name::parse_file_name;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

/// The sum file's name, in the migrations folder.
pub const SUM_FILE: &str = "terrace.sum";

/// The label of the first line, before the total.
const TOTAL_LABEL: &str = "total";

/// One migration file's line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SumEntry {
    /// The file name, such as `0002_add_base_url.sql`.
    pub file_name: String,
    /// The version the name holds.
    pub version: u64,
    /// The checksum (`sha256:<hex>`).
    pub checksum: String,
}

/// What a folder's sum file says, or should say.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sum {
    /// One line per migration file, in version order, then file name order.
    pub entries: Vec<SumEntry>,
}

/// How a sum file differs from its folder, or why it cannot be read.
///
/// Its display does not say the line a problem is on: [`line`](SumProblem::line)
/// does, for `PATH:LINE: problem`.
#[derive(Debug)]
#[non_exhaustive]
pub enum SumProblem {
    /// The file could not be read.
    Unreadable(io::Error),
    /// The file holds git conflict markers: a merge left it unresolved.
    ConflictMarkers {
        /// The line (from 1) of the first marker.
        line: usize,
    },
    /// A line is neither the total nor `FILE sha256:<hex>`, or the total is missing.
    Malformed {
        /// The line (from 1).
        line: usize,
    },
    /// The total does not match the lines: the file was edited by hand.
    Total,
    /// A file's checksum differs from its line.
    Changed {
        /// The migration file.
        file_name: String,
        /// Its version.
        version: u64,
    },
    /// A migration file has no line.
    Unlisted {
        /// The migration file.
        file_name: String,
        /// Its version.
        version: u64,
    },
    /// A line names a file the folder does not hold.
    Extra {
        /// The file the line names.
        file_name: String,
        /// Its version.
        version: u64,
    },
}

impl SumProblem {
    /// The line of the sum file the problem is on, when it is on one.
    pub fn line(&self) -> Option<usize> {
        match self {
            SumProblem::ConflictMarkers { line } | SumProblem::Malformed { line } => Some(*line),
            _ => None,
        }
    }
}

const RUN_SUM: &str = "run `terrace sum` if the change was intended";

impl fmt::Display for SumProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SumProblem::Unreadable(err) => write!(f, "cannot be read: {err}"),
            SumProblem::ConflictMarkers { .. } => write!(
                f,
                "git conflict markers: two branches changed the migrations; give \
                 any migrations that now share a version new numbers with `terrace renumber`, \
                 then rewrite this file with `terrace sum`"
            ),
            SumProblem::Malformed { .. } => write!(
                f,
                "not '{TOTAL_LABEL} sha256:…' first, then 'FILE sha256:…' lines; \
                 rewrite the file with `terrace sum`"
            ),
            SumProblem::Total => write!(
                f,
                "the total on the first line does not match the lines below it (edited by \
                 hand?); {RUN_SUM}"
            ),
            SumProblem::Changed { file_name, version } => write!(
                f,
                "{file_name} (version {version}) differs from its line; {RUN_SUM}"
            ),
            SumProblem::Unlisted { file_name, version } => {
                write!(f, "{file_name} (version {version}) has no line; {RUN_SUM}")
            }
            SumProblem::Extra { file_name, version } => write!(
                f,
                "lists {file_name} (version {version}), which is not in the folder; {RUN_SUM}"
            ),
        }
    }
}

impl Sum {
    /// The sum of a folder: a line for each migration file, and for each file named
    /// like one that does not read as a migration but whose text could be read.
    pub fn of_folder(folder: &Folder) -> Sum {
        let mut entries: Vec<SumEntry> = folder
            .files
            .iter()
            .filter_map(|file| {
                Some(SumEntry {
                    file_name: file.path.file_name()?.to_str()?.to_owned(),
                    version: file.version,
                    checksum: file.checksum.clone(),
                })
            })
            .collect();
        for problem in &folder.problems {
            if matches!(
                problem.kind,
                FileProblemKind::Name(_)
                    | FileProblemKind::NotAFile { .. }
                    | FileProblemKind::TooLarge
                    | FileProblemKind::Io(_)
            ) {
                continue;
            }
            let Some(file_name) = problem.path.file_name().and_then(|n| n.to_str()) else {
                continue;
            };
            let (Ok((version, _)), Ok(bytes)) =
                (parse_file_name(file_name), std::fs::read(&problem.path))
            else {
                continue;
            };
            entries.push(SumEntry {
                file_name: file_name.to_owned(),
                version,
                checksum: checksum(&String::from_utf8_lossy(&bytes)),
            });
        }
        entries.sort_by(|a, b| (a.version, &a.file_name).cmp(&(b.version, &b.file_name)));
        Sum { entries }
    }

    /// The lines below the total, each ending in a line feed.
    fn lines(&self) -> String {
        let mut text = String::new();
        for entry in &self.entries {
            text.push_str(&entry.file_name);
            text.push(' ');
            text.push_str(&entry.checksum);
            text.push('\n');
        }
        text
    }

    /// The total: the checksum of every line.
    pub fn total(&self) -> String {
        sha256_hex(&[self.lines().as_bytes()])
    }

    /// The file's text.
    pub fn render(&self) -> String {
        let lines = self.lines();
        let total = sha256_hex(&[lines.as_bytes()]);
        format!("{TOTAL_LABEL} {total}\n{lines}")
    }

    /// Reads a sum file's text, checking its total.
    pub fn parse(text: &str) -> Result<Sum, SumProblem> {
        let text = crate::checksum::unify_line_endings(text);
        let mut total = None;
        let mut entries = Vec::new();
        for (index, line) in text.lines().enumerate() {
            let number = index + 1;
            if ["<<<<<<<", "=======", ">>>>>>>", "|||||||"]
                .iter()
                .any(|marker| line.starts_with(marker))
            {
                return Err(SumProblem::ConflictMarkers { line: number });
            }
            if line.trim().is_empty() {
                continue;
            }
            let malformed = SumProblem::Malformed { line: number };
            let (label, sum) = line.split_once(' ').ok_or(malformed)?;
            if !is_checksum(sum) {
                return Err(SumProblem::Malformed { line: number });
            }
            if total.is_none() {
                if label != TOTAL_LABEL {
                    return Err(SumProblem::Malformed { line: number });
                }
                total = Some(sum.to_owned());
                continue;
            }
            let (version, _) =
                parse_file_name(label).map_err(|_| SumProblem::Malformed { line: number })?;
            entries.push(SumEntry {
                file_name: label.to_owned(),
                version,
                checksum: sum.to_owned(),
            });
        }
        let Some(total) = total else {
            return Err(SumProblem::Malformed { line: 1 });
        };
        let sum = Sum { entries };
        if sum.total() != total {
            return Err(SumProblem::Total);
        }
        Ok(sum)
    }

    /// How `recorded` (a sum file's) differs from this sum (the folder's): every file
    /// changed, without a line, or listed but absent, in version order.
    pub fn differences(&self, recorded: &Sum) -> Vec<SumProblem> {
        let mut problems = Vec::new();
        for entry in &self.entries {
            match recorded
                .entries
                .iter()
                .find(|r| r.file_name == entry.file_name)
            {
                Some(line) if line.checksum == entry.checksum => {}
                Some(_) => problems.push(SumProblem::Changed {
                    file_name: entry.file_name.clone(),
                    version: entry.version,
                }),
                None => problems.push(SumProblem::Unlisted {
                    file_name: entry.file_name.clone(),
                    version: entry.version,
                }),
            }
        }
        for line in &recorded.entries {
            if !self.entries.iter().any(|e| e.file_name == line.file_name) {
                problems.push(SumProblem::Extra {
                    file_name: line.file_name.clone(),
                    version: line.version,
                });
            }
        }
        problems.sort_by_key(|p| match p {
            SumProblem::Changed { version, .. }
            | SumProblem::Unlisted { version, .. }
            | SumProblem::Extra { version, .. } => *version,
            _ => 0,
        });
        problems
    }
}

/// Whether `text` is `sha256:` and 64 lowercase hex digits.
fn is_checksum(text: &str) -> bool {
    text.strip_prefix(CHECKSUM_PREFIX).is_some_and(|hex| {
        hex.len() == 64 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    })
}

/// The path of `dir`'s sum file.
pub fn sum_path(dir: &Path) -> PathBuf {
    dir.join(SUM_FILE)
}

/// Checks `dir`'s sum file against the folder as read: no problem when the folder has
/// no sum file or the file matches.
pub fn check_sum(dir: &Path, folder: &Folder) -> Vec<SumProblem> {
    let text = match std::fs::read(sum_path(dir)) {
        Ok(bytes) => bytes,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Vec::new(),
        Err(err) => return vec![SumProblem::Unreadable(err)],
    };
    match Sum::parse(&String::from_utf8_lossy(&text)) {
        Ok(recorded) => Sum::of_folder(folder).differences(&recorded),
        Err(problem) => vec![problem],
    }
}

/// Writes `dir`'s sum file for the folder as read, replacing any there (whatever it
/// holds, conflict markers included) through a temporary file renamed over it.
pub fn write_sum(dir: &Path, folder: &Folder) -> io::Result<Sum> {
    let sum = Sum::of_folder(folder);
    let path = sum_path(dir);
    let temporary = dir.join(format!(".{SUM_FILE}.{}.tmp", std::process::id()));
    std::fs::write(&temporary, sum.render())?;
    std::fs::rename(&temporary, &path).inspect_err(|_| {
        let _ = std::fs::remove_file(&temporary);
    })?;
    Ok(sum)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(file_name: &str, up: &str) -> SumEntry {
        SumEntry {
            file_name: file_name.to_owned(),
            version: parse_file_name(file_name).unwrap().0,
            checksum: checksum(up),
        }
    }

    fn two() -> Sum {
        Sum {
            entries: vec![
                entry("0001_create_projects.sql", "CREATE TABLE p (id INT);"),
                entry("0002_add_base_url.sql", "ALTER TABLE p ADD u TEXT;"),
            ],
        }
    }

    #[test]
    fn renders_and_parses_back() {
        let text = two().render();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3);
        assert!(lines[0].starts_with("total sha256:"), "{text}");
        assert!(lines[1].starts_with("0001_create_projects.sql sha256:"));
        assert_eq!(Sum::parse(&text).unwrap(), two());
        assert_eq!(Sum::parse(&text.replace('\n', "\r\n")).unwrap(), two());
        let empty = Sum::default().render();
        assert_eq!(empty.lines().count(), 1);
        assert_eq!(Sum::parse(&empty).unwrap(), Sum::default());
    }

    #[test]
    fn adding_a_migration_changes_the_first_line_and_appends_one() {
        let before = two().render();
        let mut three = two();
        three
            .entries
            .push(entry("0003_add_email.sql", "ALTER TABLE p ADD e TEXT;"));
        let after = three.render();
        let (before, after): (Vec<&str>, Vec<&str>) =
            (before.lines().collect(), after.lines().collect());
        assert_ne!(before[0], after[0]);
        assert_eq!(before[1..], after[1..3]);
        assert_eq!(after.len(), 4);
    }

    #[test]
    fn refuses_bad_files_naming_the_line() {
        let good = two().render();
        let edited = good.replace("0002_add_base_url", "0002_add_other_url");
        assert!(matches!(Sum::parse(&edited), Err(SumProblem::Total)));
        let conflict = format!("<<<<<<< HEAD\n{good}=======\n{good}>>>>>>> other\n");
        assert!(matches!(
            Sum::parse(&conflict),
            Err(SumProblem::ConflictMarkers { line: 1 })
        ));
        for (text, at) in [
            ("", 1),
            ("0001_a.sql sha256:00\n", 1),
            ("total sha256:abc\n", 1),
            (&format!("{}junk\n", good), 4),
            (&format!("{}README.md {}\n", good, checksum("")), 4),
        ] {
            match Sum::parse(text) {
                Err(SumProblem::Malformed { line }) => assert_eq!(line, at, "{text}"),
                other => panic!("{text}: {other:?}"),
            }
        }
    }

    #[test]
    fn differences_name_each_file() {
        let folder = Sum {
            entries: vec![
                entry("0001_create_projects.sql", "CREATE TABLE p (id INT);"),
                entry("0002_add_base_url.sql", "ALTER TABLE p ADD url TEXT;"),
                entry("0003_add_email.sql", "ALTER TABLE p ADD e TEXT;"),
            ],
        };
        let mut recorded = two();
        recorded
            .entries
            .push(entry("0004_add_gone.sql", "SELECT 1;"));
        let found: Vec<String> = folder
            .differences(&recorded)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            found,
            [
                "0002_add_base_url.sql (version 2) differs from its line; run `terrace sum` if \
                 the change was intended",
                "0003_add_email.sql (version 3) has no line; run `terrace sum` if the change \
                 was intended",
                "lists 0004_add_gone.sql (version 4), which is not in the folder; run `terrace \
                 sum` if the change was intended",
            ]
        );
        assert!(two().differences(&two()).is_empty());
    }

    #[test]
    fn a_folders_drafts_are_listed_by_their_whole_text() {
        let dir = std::env::temp_dir().join(format!("terrace-sum-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("0001_create_a.sql"),
            "-- migrate:up\nCREATE TABLE a (x);",
        )
        .unwrap();
        std::fs::write(
            dir.join("0002_add_b.sql"),
            "-- migrate:up\n\n-- migrate:down\n",
        )
        .unwrap();
        std::fs::write(dir.join("0003_Bad.sql"), "-- migrate:up\nSELECT 1;").unwrap();
        let folder = crate::read_folder(&dir).unwrap();
        assert!(check_sum(&dir, &folder).is_empty(), "no sum file");
        let sum = write_sum(&dir, &folder).unwrap();
        let names: Vec<&str> = sum.entries.iter().map(|e| e.file_name.as_str()).collect();
        assert_eq!(names, ["0001_create_a.sql", "0002_add_b.sql"]);
        assert_eq!(sum.entries[0].checksum, checksum("CREATE TABLE a (x);"));
        assert_eq!(
            sum.entries[1].checksum,
            checksum("-- migrate:up\n\n-- migrate:down\n")
        );
        assert!(check_sum(&dir, &folder).is_empty());
        std::fs::write(dir.join("0002_add_b.sql"), "-- migrate:up\nSELECT 2;\n").unwrap();
        let edited = crate::read_folder(&dir).unwrap();
        let problems = check_sum(&dir, &edited);
        assert!(
            matches!(&problems[..], [SumProblem::Changed { version: 2, .. }]),
            "{problems:?}"
        );
        std::fs::remove_dir_all(dir).unwrap();
    }
}
