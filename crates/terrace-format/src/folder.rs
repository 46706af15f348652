//! Reading a folder of migration files.
//!
//! Every `*.sql` file directly inside the folder is a migration; other files, hidden
//! files and subfolders are ignored. Every file is read and every problem collected,
//! so one run reports them all.

use crate::checksum::checksum;
use crate::name::{NameProblem, parse_file_name};
use crate::sections::{Sections, SectionsError, parse_sections};
use std::fmt;
use std::path::{Path, PathBuf};

/// One well-formed migration file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationFile {
    /// The file's path (the folder joined with its file name).
    pub path: PathBuf,
    /// The version, from the file name.
    pub version: u64,
    /// The descriptive name, from the file name.
    pub name: String,
    /// The up and down sections.
    pub sections: Sections,
    /// The checksum of the up section.
    pub checksum: String,
}

/// A file in the folder that could not be read as a migration.
#[derive(Debug)]
pub struct FileProblem {
    /// The file at fault.
    pub path: PathBuf,
    /// What is wrong with it.
    pub kind: FileProblemKind,
}

/// What is wrong with a migration file.
#[derive(Debug)]
pub enum FileProblemKind {
    /// The file name is not `NNNN_descriptive_name.sql`.
    Name(NameProblem),
    /// The file is not valid UTF-8.
    InvalidUtf8 {
        /// Byte offset of the first invalid sequence.
        offset: usize,
    },
    /// The file's markers are wrong.
    Sections(SectionsError),
    /// The file could not be read.
    Io(std::io::Error),
}

impl fmt::Display for FileProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.kind)
    }
}

impl fmt::Display for FileProblemKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FileProblemKind::Name(problem) => problem.fmt(f),
            FileProblemKind::InvalidUtf8 { offset } => {
                write!(f, "not valid UTF-8 (at byte {offset})")
            }
            FileProblemKind::Sections(problem) => problem.fmt(f),
            FileProblemKind::Io(err) => write!(f, "cannot be read: {err}"),
        }
    }
}

/// The result of reading a folder: the good files, sorted by version, and every
/// problem found.
#[derive(Debug, Default)]
pub struct Folder {
    /// The migration files that parsed, sorted by version (then file name).
    pub files: Vec<MigrationFile>,
    /// The files that did not, sorted by path.
    pub problems: Vec<FileProblem>,
}

/// Reads one migration file whose name has already been found to end in `.sql`.
pub fn read_file(path: &Path) -> Result<MigrationFile, FileProblem> {
    let problem = |kind| FileProblem {
        path: path.to_owned(),
        kind,
    };
    let file_name = path
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| problem(FileProblemKind::Name(NameProblem::NotSnakeCase)))?;
    let (version, name) =
        parse_file_name(file_name).map_err(|p| problem(FileProblemKind::Name(p)))?;
    let bytes = read_bytes(path).map_err(|e| problem(FileProblemKind::Io(e)))?;
    let text = String::from_utf8(bytes).map_err(|e| {
        problem(FileProblemKind::InvalidUtf8 {
            offset: e.utf8_error().valid_up_to(),
        })
    })?;
    let sections = parse_sections(&text).map_err(|e| problem(FileProblemKind::Sections(e)))?;
    Ok(MigrationFile {
        path: path.to_owned(),
        version,
        name: name.to_owned(),
        checksum: checksum(&sections.up),
        sections,
    })
}

/// A file's bytes. Reading through `Take` skips the size query `fs::read` makes: one
/// system call fewer per file, which adds up over thousands of migrations.
fn read_bytes(path: &Path) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut bytes = Vec::with_capacity(8 * 1024);
    std::fs::File::open(path)?
        .take(u64::MAX)
        .read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// Reads files in order, spread over the machine's cores when there are many.
fn read_files(paths: &[PathBuf]) -> Vec<Result<MigrationFile, FileProblem>> {
    const FILES_PER_THREAD: usize = 128;
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(paths.len() / FILES_PER_THREAD);
    if threads <= 1 {
        return paths.iter().map(|p| read_file(p)).collect();
    }
    let chunk = paths.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let workers: Vec<_> = paths
            .chunks(chunk)
            .map(|part| {
                let work = move || part.iter().map(|p| read_file(p)).collect::<Vec<_>>();
                (part, std::thread::Builder::new().spawn_scoped(scope, work))
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|(part, worker)| match worker {
                Ok(handle) => handle
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
                // No thread to be had: read this part here.
                Err(_) => part.iter().map(|p| read_file(p)).collect(),
            })
            .collect()
    })
}

/// Reads every migration file in `dir`.
///
/// Fails only when the folder itself cannot be listed; problems with single files are
/// collected in [`Folder::problems`].
pub fn read_folder(dir: &Path) -> std::io::Result<Folder> {
    let mut paths = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let file_name = entry.file_name();
        let lossy = file_name.to_string_lossy();
        if lossy.starts_with('.') || !lossy.ends_with(".sql") || entry.file_type()?.is_dir() {
            continue;
        }
        paths.push(entry.path());
    }
    // One folder: comparing the whole paths' bytes orders them by file name, and is
    // far cheaper than `Path`'s component-wise comparison.
    paths.sort_unstable_by(|a, b| a.as_os_str().cmp(b.as_os_str()));
    let mut folder = Folder::default();
    for read in read_files(&paths) {
        match read {
            Ok(file) => folder.files.push(file),
            Err(problem) => folder.problems.push(problem),
        }
    }
    folder.files.sort_by_key(|f| f.version);
    Ok(folder)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(files: &[(&str, &[u8])]) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "terrace-format-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("sub.sql")).unwrap();
        for (name, body) in files {
            std::fs::write(dir.join(name), body).unwrap();
        }
        dir
    }

    #[test]
    fn reads_and_reports_everything() {
        let dir = scratch(&[
            ("0002_add_b.sql", b"-- migrate:up\nALTER TABLE a ADD b;\n"),
            (
                "0001_create_a.sql",
                b"-- migrate:up\nCREATE TABLE a (x);\n-- migrate:down\nDROP TABLE a;",
            ),
            ("0003_Bad.sql", b"-- migrate:up\nSELECT 1;"),
            ("0004_no_marker.sql", b"SELECT 1;"),
            ("0005_binary_junk.sql", b"-- migrate:up\n\xff\xfe"),
            ("README.md", b"not a migration"),
            (".0006_hidden.sql", b"ignored"),
        ]);
        let folder = read_folder(&dir).unwrap();
        let versions: Vec<_> = folder
            .files
            .iter()
            .map(|f| (f.version, f.name.as_str()))
            .collect();
        assert_eq!(versions, [(1, "create_a"), (2, "add_b")]);
        assert_eq!(
            folder.files[0].sections.down.as_deref(),
            Some("DROP TABLE a;")
        );
        let problems: Vec<_> = folder.problems.iter().map(|p| p.to_string()).collect();
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert!(problems[0].contains("0003_Bad.sql") && problems[0].contains("snake_case"));
        assert!(problems[1].contains("0004_no_marker.sql") && problems[1].contains("line 1"));
        assert!(problems[2].contains("0005_binary_junk.sql") && problems[2].contains("UTF-8"));
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn many_files_are_read_in_parallel_and_kept_in_order() {
        let files: Vec<(String, Vec<u8>)> = (1..=700)
            .map(|v| {
                let body = if v == 350 {
                    b"no marker".to_vec()
                } else {
                    format!("-- migrate:up\nCREATE TABLE t{v} (id INT);").into_bytes()
                };
                (format!("{v:04}_create_table_{v}.sql"), body)
            })
            .collect();
        let named: Vec<(&str, &[u8])> = files
            .iter()
            .map(|(n, b)| (n.as_str(), b.as_slice()))
            .collect();
        let dir = scratch(&named);
        let folder = read_folder(&dir).unwrap();
        let versions: Vec<u64> = folder.files.iter().map(|f| f.version).collect();
        let expected: Vec<u64> = (1..=700).filter(|&v| v != 350).collect();
        assert_eq!(versions, expected);
        assert_eq!(folder.problems.len(), 1);
        assert!(
            folder.problems[0]
                .to_string()
                .contains("0350_create_table_350.sql")
        );
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn missing_folder_is_an_error() {
        assert!(read_folder(Path::new("/nonexistent/terrace/migrations")).is_err());
    }
}
