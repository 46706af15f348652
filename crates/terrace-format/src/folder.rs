//! Reading a folder of migration files.
//!
//! Every `*.sql` entry directly inside the folder is a migration; other files, hidden
//! files and subfolders are ignored. A migration must be a regular file (or a link to
//! one) of at most [`MAX_FILE_SIZE`] bytes: a FIFO, a device or a socket named like a
//! migration is a problem, never opened. Every file is read and every problem
//! collected, so one run reports them all.
//!
//! A file that was evidently meant as a migration but is not read (`0002_add_x.SQL`,
//! `0002_add_x.sql.txt`, `0002_add_x`) is listed in [`Folder::ignored`], so that the
//! caller can warn about it. Backups such as `0002_add_x.sql.bak` are ignored silently.

use crate::checksum::checksum;
use crate::name::{NameProblem, parse_file_name};
use crate::scan::client_command;
use crate::sections::{Sections, SectionsError, line_at, parse_sections};
use crate::statements::transaction_control;
use std::fmt;
use std::path::{Path, PathBuf};

/// The largest migration file read: 64 MiB. A larger file is a problem, not read, so
/// that a mistaken entry cannot exhaust memory.
pub const MAX_FILE_SIZE: u64 = 64 * 1024 * 1024;

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
#[non_exhaustive]
pub enum FileProblemKind {
    /// The file name is not `NNNN_descriptive_name.sql`.
    Name(NameProblem),
    /// The file is not valid UTF-8.
    InvalidUtf8 {
        /// Byte offset of the first invalid sequence.
        offset: usize,
    },
    /// The file holds a NUL byte, at which databases stop reading SQL.
    Nul {
        /// The line (from 1) of the first NUL.
        line: usize,
    },
    /// The file's markers are wrong.
    Sections(SectionsError),
    /// A section run inside a transaction holds a statement that starts, ends or marks
    /// one (`BEGIN`, `COMMIT`, …; see [`transaction_control`]).
    TransactionControl {
        /// The line of the file on which the statement starts.
        line: usize,
        /// The statement's first line.
        statement: String,
        /// `"up"` or `"down"`.
        section: &'static str,
    },
    /// A section holds a line for a database's command-line client, not its server: a
    /// psql meta-command such as `\connect` or `\restrict`, or a mysql `DELIMITER`
    /// line (see [`client_command`]).
    ClientCommand {
        /// The line of the file on which it stands.
        line: usize,
        /// The line, trimmed.
        command: String,
        /// What to do about it.
        fix: &'static str,
    },
    /// The entry is not a regular file (nor a link to one).
    NotAFile {
        /// What it is instead, such as `a FIFO`.
        kind: &'static str,
    },
    /// The file is larger than [`MAX_FILE_SIZE`].
    TooLarge,
    /// The file could not be read.
    Io(std::io::Error),
}

/// `PATH:LINE: detail` when the problem is on a line (the form editors and terminals
/// open at that line), else `PATH: detail`.
impl fmt::Display for FileProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write(&self.path, f)
    }
}

impl FileProblem {
    /// The problem as its `Display` shows it, with the path shown relative to `base`
    /// when the file is inside it (as `migrations/0003_x.sql:12: …`).
    pub fn relative_to<'a>(&'a self, base: &'a Path) -> impl fmt::Display + 'a {
        struct Relative<'a>(&'a FileProblem, &'a Path);
        impl fmt::Display for Relative<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                let path = self.0.path.strip_prefix(self.1).unwrap_or(&self.0.path);
                self.0.write(path, f)
            }
        }
        Relative(self, base)
    }

    fn write(&self, path: &Path, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind.line() {
            Some(line) => write!(f, "{}:{line}: {}", path.display(), self.kind.detail()),
            None => write!(f, "{}: {}", path.display(), self.kind),
        }
    }
}

impl FileProblemKind {
    /// The line of the file (from 1) the problem is on, when it is on one.
    pub fn line(&self) -> Option<usize> {
        match self {
            FileProblemKind::Nul { line }
            | FileProblemKind::TransactionControl { line, .. }
            | FileProblemKind::ClientCommand { line, .. } => Some(*line),
            FileProblemKind::Sections(problem) => problem.line(),
            _ => None,
        }
    }

    /// What is wrong, without the `line N: ` the display starts with when the problem
    /// is on a line (which [`line`](Self::line) gives).
    pub fn detail(&self) -> String {
        let text = self.to_string();
        match self.line() {
            Some(line) => match text.strip_prefix(&format!("line {line}: ")) {
                Some(rest) => rest.to_owned(),
                None => text,
            },
            None => text,
        }
    }
}

impl fmt::Display for FileProblemKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FileProblemKind::Name(problem) => problem.fmt(f),
            FileProblemKind::InvalidUtf8 { offset } => {
                write!(f, "not valid UTF-8 (at byte {offset})")
            }
            FileProblemKind::Nul { line } => write!(
                f,
                "line {line}: a NUL byte, where databases stop reading SQL so that what follows \
                 would silently not run; remove it"
            ),
            FileProblemKind::Sections(problem) => problem.fmt(f),
            FileProblemKind::TransactionControl {
                line,
                statement,
                section,
            } => write!(
                f,
                "line {line}: '{statement}' controls the transaction Terrace runs the {section} \
                 section in; remove it, or run the section outside a transaction with \
                 '-- migrate:{section} transaction:false'"
            ),
            FileProblemKind::ClientCommand { line, command, fix } => write!(
                f,
                "line {line}: '{command}' is a command of the database's command-line client \
                 (psql or mysql), not SQL, and the server would refuse it; {fix}"
            ),
            FileProblemKind::NotAFile { kind } => write!(
                f,
                "not a regular file ({kind}): a migration must be a file, or a link to one"
            ),
            FileProblemKind::TooLarge => write!(
                f,
                "larger than {} MiB, the most Terrace reads from one migration file",
                MAX_FILE_SIZE / (1024 * 1024)
            ),
            FileProblemKind::Io(err) => write!(f, "cannot be read: {err}"),
        }
    }
}

/// A file that looks like a migration but is not read as one, such as
/// `0002_add_x.SQL`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IgnoredFile {
    /// The file.
    pub path: PathBuf,
    /// The file name it would be read under.
    pub rename_to: String,
}

impl fmt::Display for IgnoredFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: looks like a migration but is ignored, as only names ending in '.sql' are read; \
             rename it to {} if it is one",
            self.path.display(),
            self.rename_to
        )
    }
}

/// The result of reading a folder: the good files, sorted by version, every problem
/// found, and the files that look like migrations but were not read.
#[derive(Debug, Default)]
pub struct Folder {
    /// The migration files that parsed, sorted by version (then file name).
    pub files: Vec<MigrationFile>,
    /// The files that did not, sorted by path.
    pub problems: Vec<FileProblem>,
    /// Files named almost like migrations, which were not read, sorted by path.
    pub ignored: Vec<IgnoredFile>,
}

/// Reads one migration file whose name has already been found to end in `.sql`.
///
/// Anything but a regular file (or a link to one) is refused without being opened.
pub fn read_file(path: &Path) -> Result<MigrationFile, FileProblem> {
    match std::fs::metadata(path) {
        Ok(meta) if meta.is_file() => read_regular_file(path.to_owned(), &mut Vec::new()),
        Ok(meta) => Err(FileProblem {
            path: path.to_owned(),
            kind: FileProblemKind::NotAFile {
                kind: describe(meta.file_type()),
            },
        }),
        Err(err) => Err(FileProblem {
            path: path.to_owned(),
            kind: FileProblemKind::Io(err),
        }),
    }
}

/// What an entry that is not a regular file is, in words.
fn describe(file_type: std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if file_type.is_fifo() {
            return "a FIFO";
        }
        if file_type.is_socket() {
            return "a socket";
        }
        if file_type.is_char_device() {
            return "a character device";
        }
        if file_type.is_block_device() {
            return "a block device";
        }
    }
    if file_type.is_dir() {
        "a folder"
    } else {
        "a special file"
    }
}

/// [`read_file`] for a path known to be a regular file (or a link to one), read into
/// `buffer` (whose allocation is reused from file to file).
fn read_regular_file(path: PathBuf, buffer: &mut Vec<u8>) -> Result<MigrationFile, FileProblem> {
    let parsed = match path.file_name().and_then(|n| n.to_str()) {
        Some(file_name) => parse_file(&path, file_name, buffer),
        None => Err(FileProblemKind::Name(NameProblem::NotSnakeCase)),
    };
    match parsed {
        Ok((version, name, sections)) => Ok(MigrationFile {
            path,
            version,
            name,
            checksum: checksum(&sections.up),
            sections,
        }),
        Err(kind) => Err(FileProblem { path, kind }),
    }
}

/// Reads and checks the file at `path`, named `file_name`: its version, name and
/// sections.
fn parse_file(
    path: &Path,
    file_name: &str,
    buffer: &mut Vec<u8>,
) -> Result<(u64, String, Sections), FileProblemKind> {
    let (version, name) = parse_file_name(file_name).map_err(FileProblemKind::Name)?;
    read_bytes(path, buffer).map_err(FileProblemKind::Io)?;
    if buffer.len() as u64 > MAX_FILE_SIZE {
        return Err(FileProblemKind::TooLarge);
    }
    let text = std::str::from_utf8(buffer).map_err(|e| FileProblemKind::InvalidUtf8 {
        offset: e.valid_up_to(),
    })?;
    if let Some(at) = text.find('\0') {
        return Err(FileProblemKind::Nul {
            line: line_at(text, at),
        });
    }
    let sections = parse_sections(text).map_err(FileProblemKind::Sections)?;
    let sections_text = [
        (Some(sections.up.as_str()), sections.up_line),
        (sections.down.as_deref(), sections.down_line),
    ];
    for (sql, first_line) in sections_text {
        if let Some(command) = sql.and_then(client_command) {
            return Err(FileProblemKind::ClientCommand {
                line: first_line + command.line - 1,
                command: command.text.to_owned(),
                fix: command.fix(),
            });
        }
    }
    let down = sections
        .down
        .as_deref()
        .filter(|_| sections.down_transactional);
    let checked = [
        (
            "up",
            Some(sections.up.as_str()),
            sections.transactional,
            sections.up_line,
        ),
        ("down", down, true, sections.down_line),
    ];
    for (section, sql, transactional, first_line) in checked {
        let found = sql.filter(|_| transactional).and_then(transaction_control);
        if let Some(statement) = found {
            return Err(FileProblemKind::TransactionControl {
                line: first_line + statement.line - 1,
                statement: statement.first_line().to_owned(),
                section,
            });
        }
    }
    Ok((version, name.to_owned(), sections))
}

/// Reads a file's bytes into `buffer` (emptied first), up to one byte past
/// [`MAX_FILE_SIZE`]. Reading through `Take` skips the size query `fs::read` makes:
/// one system call fewer per file, which adds up over thousands of migrations.
fn read_bytes(path: &Path, buffer: &mut Vec<u8>) -> std::io::Result<()> {
    use std::io::Read;
    buffer.clear();
    buffer.reserve(8 * 1024);
    std::fs::File::open(path)?
        .take(MAX_FILE_SIZE + 1)
        .read_to_end(buffer)?;
    Ok(())
}

/// Reads the files of one part, in order, with one buffer for all of them.
fn read_part(paths: &[PathBuf]) -> Vec<Result<MigrationFile, FileProblem>> {
    let mut buffer = Vec::new();
    paths
        .iter()
        .map(|path| read_regular_file(path.clone(), &mut buffer))
        .collect()
}

/// Reads files in order, spread over the machine's cores when there are many: the
/// calling thread reads the first part itself and one thread is started for each
/// other part. The results come in parts, in the order of `paths`.
fn read_files(paths: &[PathBuf]) -> Vec<Vec<Result<MigrationFile, FileProblem>>> {
    const FILES_PER_THREAD: usize = 128;
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(paths.len() / FILES_PER_THREAD);
    if threads <= 1 {
        return vec![read_part(paths)];
    }
    let chunk = paths.len().div_ceil(threads);
    let (first, rest) = paths.split_at(chunk.min(paths.len()));
    std::thread::scope(|scope| {
        let workers: Vec<_> = rest
            .chunks(chunk)
            .map(|part| {
                let work = move || read_part(part);
                (part, std::thread::Builder::new().spawn_scoped(scope, work))
            })
            .collect();
        let mut parts = Vec::with_capacity(workers.len() + 1);
        parts.push(read_part(first));
        for (part, worker) in workers {
            parts.push(match worker {
                Ok(handle) => handle
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
                // No thread to be had: read this part here.
                Err(_) => read_part(part),
            });
        }
        parts
    })
}

/// What a folder entry named like a migration turned out to be.
enum Entry {
    /// A regular file, or a link to one: read it.
    File,
    /// A folder, or a link to one: ignore it.
    Folder,
}

/// Classifies an entry without opening it: the listing already knows the type of
/// anything but a link, and a link costs one `stat`.
fn classify(entry: &std::fs::DirEntry) -> Result<Entry, FileProblemKind> {
    let file_type = entry.file_type().map_err(FileProblemKind::Io)?;
    let file_type = if file_type.is_symlink() {
        std::fs::metadata(entry.path())
            .map_err(FileProblemKind::Io)?
            .file_type()
    } else {
        file_type
    };
    if file_type.is_file() {
        Ok(Entry::File)
    } else if file_type.is_dir() {
        Ok(Entry::Folder)
    } else {
        Err(FileProblemKind::NotAFile {
            kind: describe(file_type),
        })
    }
}

/// The name a file was evidently meant to have, when it looks like a migration that
/// is not read: a version prefix and `.SQL` in another case, `.sql.txt` (as some
/// editors save), or no extension at all.
fn meant_as_migration(file_name: &str) -> Option<String> {
    let lower = file_name.to_ascii_lowercase();
    let stem_len = if lower.ends_with(".sql") {
        file_name.len() - ".sql".len()
    } else if lower.ends_with(".sql.txt") {
        file_name.len() - ".sql.txt".len()
    } else if !file_name.contains('.') {
        file_name.len()
    } else {
        return None;
    };
    let stem = &file_name[..stem_len];
    let digits = stem.bytes().take_while(u8::is_ascii_digit).count();
    (digits > 0 && stem.as_bytes().get(digits) == Some(&b'_')).then(|| format!("{stem}.sql"))
}

/// Reads every migration file in `dir`.
///
/// Fails only when the folder itself cannot be listed; problems with single files are
/// collected in [`Folder::problems`].
pub fn read_folder(dir: &Path) -> std::io::Result<Folder> {
    let mut paths = Vec::new();
    let mut folder = Folder::default();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let file_name = entry.file_name();
        // The bytes answer these two questions as the lossy text would, without
        // converting every name.
        let bytes = file_name.as_encoded_bytes();
        if bytes.starts_with(b".") {
            continue;
        }
        if !bytes.ends_with(b".sql") {
            if let Some(rename_to) = meant_as_migration(&file_name.to_string_lossy())
                && !matches!(classify(&entry), Ok(Entry::Folder))
            {
                folder.ignored.push(IgnoredFile {
                    path: entry.path(),
                    rename_to,
                });
            }
            continue;
        }
        match classify(&entry) {
            Ok(Entry::File) => paths.push(entry.path()),
            Ok(Entry::Folder) => {}
            Err(kind) => folder.problems.push(FileProblem {
                path: entry.path(),
                kind,
            }),
        }
    }
    // One folder: comparing the whole paths' bytes orders them by file name, and is
    // far cheaper than `Path`'s component-wise comparison.
    paths.sort_unstable_by(|a, b| a.as_os_str().cmp(b.as_os_str()));
    folder.files.reserve_exact(paths.len());
    for read in read_files(&paths).into_iter().flatten() {
        match read {
            Ok(file) => folder.files.push(file),
            Err(problem) => folder.problems.push(problem),
        }
    }
    // Zero-padded names are in version order already; sorting them again would only
    // move every file.
    if !folder.files.is_sorted_by_key(|f| f.version) {
        folder.files.sort_by_key(|f| f.version);
    }
    folder
        .problems
        .sort_by(|a, b| a.path.as_os_str().cmp(b.path.as_os_str()));
    folder
        .ignored
        .sort_by(|a, b| a.path.as_os_str().cmp(b.path.as_os_str()));
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
        assert!(problems[1].contains("0004_no_marker.sql:1: "));
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
    fn nul_bytes_and_transaction_control_are_refused_with_their_line() {
        let dir = scratch(&[
            (
                "0001_create_a.sql",
                b"-- migrate:up\nCREATE TABLE a (x);\0\nCREATE TABLE b (y);\n",
            ),
            (
                "0002_create_b.sql",
                b"-- migrate:up\r\n\r\nCREATE TABLE b (y);\r\nCOMMIT;\r\n",
            ),
            (
                "0003_create_c.sql",
                b"-- migrate:up\nCREATE TABLE c (z);\n-- migrate:down\nBEGIN;\nDROP TABLE c;\nEND;\n",
            ),
            (
                "0004_create_d.sql",
                b"-- migrate:up transaction:false\nBEGIN;\nCREATE TABLE d (z);\nCOMMIT;\n\
                  -- migrate:down transaction:false\nBEGIN;\nDROP TABLE d;\nCOMMIT;\n",
            ),
        ]);
        let folder = read_folder(&dir).unwrap();
        let problems: Vec<_> = folder.problems.iter().map(|p| p.to_string()).collect();
        assert_eq!(problems.len(), 3, "{problems:#?}");
        assert!(
            problems[0].contains("0001_create_a.sql:2: a NUL byte"),
            "{problems:#?}"
        );
        assert!(
            problems[1].contains("0002_create_b.sql:4: 'COMMIT'")
                && problems[1].contains("-- migrate:up transaction:false"),
            "{problems:#?}"
        );
        assert!(
            problems[2].contains("0003_create_c.sql:4: 'BEGIN'")
                && problems[2].contains("-- migrate:down transaction:false"),
            "{problems:#?}"
        );
        // Outside a transaction, the file's own transaction is its business.
        assert_eq!(folder.files.len(), 1);
        assert_eq!(folder.files[0].version, 4);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn client_commands_are_refused_with_their_line() {
        let dir = scratch(&[
            (
                "0001_create_a.sql",
                b"-- migrate:up\n\\restrict 6P3XkQ\nCREATE TABLE a (x);\n\\unrestrict 6P3XkQ\n",
            ),
            (
                "0002_create_p.sql",
                b"-- migrate:up\nSELECT 1;\n-- migrate:down\n\nDELIMITER $$\nDROP PROCEDURE p$$\nDELIMITER ;\n",
            ),
            (
                "0003_create_f.sql",
                b"-- migrate:up transaction:false\nCREATE FUNCTION f() RETURNS text AS $$\n\\x\n$$ LANGUAGE sql;\n",
            ),
        ]);
        let folder = read_folder(&dir).unwrap();
        let problems: Vec<_> = folder.problems.iter().map(|p| p.to_string()).collect();
        assert_eq!(problems.len(), 2, "{problems:#?}");
        assert!(
            problems[0].contains("0001_create_a.sql:2: '\\restrict 6P3XkQ' is a command")
                && problems[0].contains("remove the line"),
            "{problems:#?}"
        );
        assert!(
            problems[1].contains("0002_create_p.sql:5: 'DELIMITER $$' is a command")
                && problems[1].contains("end each statement with ';'"),
            "{problems:#?}"
        );
        // A backslash line inside a function body is the body's business.
        assert_eq!(folder.files.len(), 1);
        assert_eq!(folder.files[0].version, 3);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn names_meant_as_migrations() {
        for (name, meant) in [
            ("0002_add_x.SQL", Some("0002_add_x.sql")),
            ("0002_add_x.Sql", Some("0002_add_x.sql")),
            ("2_add_x.sql.txt", Some("2_add_x.sql")),
            ("0002_add_x.SQL.TXT", Some("0002_add_x.sql")),
            ("0002_add_x", Some("0002_add_x.sql")),
            ("0002_add_x.sql.bak", None),
            ("0002_add_x.sql~", None),
            ("0002_add_x.md", None),
            ("README", None),
            ("schema.SQL", None),
            ("0002-add-x.SQL", None),
        ] {
            assert_eq!(meant_as_migration(name).as_deref(), meant, "{name}");
        }
    }

    #[cfg(unix)]
    #[test]
    fn special_files_are_refused_unopened_and_links_to_files_are_read() {
        let dir = scratch(&[("0001_create_a.sql", b"-- migrate:up\nCREATE TABLE a (x);")]);
        std::os::unix::fs::symlink("/dev/null", dir.join("0002_add_null.sql")).unwrap();
        std::os::unix::fs::symlink(dir.join("0001_create_a.sql"), dir.join("0003_add_link.sql"))
            .unwrap();
        std::os::unix::fs::symlink(dir.join("sub.sql"), dir.join("0004_add_folder.sql")).unwrap();
        std::os::unix::fs::symlink(dir.join("absent"), dir.join("0005_add_dangling.sql")).unwrap();
        std::fs::write(dir.join("0006_add_upper.SQL"), "-- migrate:up\nSELECT 1;").unwrap();
        let folder = read_folder(&dir).unwrap();
        let versions: Vec<u64> = folder.files.iter().map(|f| f.version).collect();
        assert_eq!(versions, [1, 3]);
        let problems: Vec<_> = folder.problems.iter().map(|p| p.to_string()).collect();
        assert_eq!(problems.len(), 2, "{problems:#?}");
        assert!(problems[0].contains("0002_add_null.sql: not a regular file (a character device)"));
        assert!(problems[1].contains("0005_add_dangling.sql: cannot be read"));
        assert_eq!(
            folder.ignored,
            [IgnoredFile {
                path: dir.join("0006_add_upper.SQL"),
                rename_to: "0006_add_upper.sql".into()
            }]
        );
        assert!(matches!(
            read_file(&dir.join("0002_add_null.sql")),
            Err(FileProblem {
                kind: FileProblemKind::NotAFile { .. },
                ..
            })
        ));
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn missing_folder_is_an_error() {
        assert!(read_folder(Path::new("/nonexistent/terrace/migrations")).is_err());
    }
}
