//! The migration model: one versioned, named change with an up and an optional down.

use crate::schema::Db;
use std::borrow::Cow;
use std::fmt;
use std::path::{Path, PathBuf};

/// What a code migration returns: any error is accepted and reported with the
/// migration's version and name.
pub type CodeResult = Result<(), Box<dyn std::error::Error + Send + Sync>>;

/// A Rust function usable as a migration, with the checksum of its source.
///
/// Made by the `#[terrace::migration]` attribute, which hashes the function's
/// tokens so that editing an applied code migration is detected like editing an
/// applied SQL file.
#[derive(Clone, Copy)]
pub struct CodeFn {
    run: fn(&mut Db<'_>) -> CodeResult,
    checksum: &'static str,
}

impl CodeFn {
    /// Pairs a function with the checksum of its source. The
    /// `#[terrace::migration]` attribute calls this; a hand-written checksum
    /// must change whenever the function's behaviour does.
    pub const fn new(run: fn(&mut Db<'_>) -> CodeResult, checksum: &'static str) -> Self {
        CodeFn { run, checksum }
    }

    /// Calls the function.
    pub fn call(&self, db: &mut Db<'_>) -> CodeResult {
        (self.run)(db)
    }

    /// The checksum of the function's source.
    pub const fn checksum(&self) -> &'static str {
        self.checksum
    }
}

impl fmt::Debug for CodeFn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CodeFn")
            .field("checksum", &self.checksum)
            .finish_non_exhaustive()
    }
}

/// One direction of a migration: SQL text or a Rust function.
#[derive(Debug, Clone)]
pub enum Body {
    /// SQL statements, separated by `;`.
    Sql(Cow<'static, str>),
    /// A Rust function that receives the open connection.
    Code(CodeFn),
    /// Nothing: a down direction whose honest inverse is to do nothing
    /// (`-- migrate:down noop`, [`Migration::with_noop_down`]). Rolling back runs no
    /// SQL and removes the history row.
    Noop,
}

impl Body {
    /// The SQL text, for SQL bodies.
    pub fn sql(&self) -> Option<&str> {
        match self {
            Body::Sql(sql) => Some(sql),
            Body::Code(_) | Body::Noop => None,
        }
    }

    /// Whether it is [`Body::Noop`]: running it does nothing.
    pub fn is_noop(&self) -> bool {
        matches!(self, Body::Noop)
    }
}

/// A single migration.
///
/// Build one with [`Migration::sql`] or [`Migration::code`]; the constructors are
/// `const`, so a list can live in a `static`:
///
/// ```
/// use terrace::{Migration, Migrations, migrations};
/// static MIGRATIONS: Migrations = migrations![
///     Migration::sql(1, "create_projects", "CREATE TABLE projects (id INTEGER PRIMARY KEY);")
///         .with_down("DROP TABLE projects;"),
///     Migration::sql(2, "add_base_url", "ALTER TABLE projects ADD COLUMN base_url TEXT;"),
/// ];
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct Migration {
    pub(crate) version: u64,
    pub(crate) name: Cow<'static, str>,
    pub(crate) up: Body,
    pub(crate) down: Option<Body>,
    pub(crate) checksum: Option<Cow<'static, str>>,
    pub(crate) transactional: bool,
    pub(crate) down_transactional: bool,
    /// For a migration read from a file: the lines of the file on which its up and
    /// down texts start, so that errors name lines of the file.
    pub(crate) file_lines: Option<(usize, usize)>,
    /// For a migration read from a file at run time: the file, so that errors name it.
    pub(crate) path: Option<PathBuf>,
    /// For a migration embedded by `terrace::embed_migrations!`: its file, relative to
    /// the crate's `Cargo.toml`, so that errors name it.
    pub(crate) embedded_path: Option<&'static str>,
    /// For a squashed baseline read from a file: the migrations it stands for (its
    /// `-- terrace:squashed` lines); empty otherwise.
    pub(crate) squashed: Cow<'static, [terrace_format::Squashed]>,
}

impl Migration {
    /// A SQL migration. Its checksum is the SHA-256 of the normalised `up` text.
    pub const fn sql(version: u64, name: &'static str, up: &'static str) -> Self {
        Migration {
            version,
            name: Cow::Borrowed(name),
            up: Body::Sql(Cow::Borrowed(up)),
            down: None,
            checksum: None,
            transactional: true,
            down_transactional: true,
            file_lines: None,
            path: None,
            embedded_path: None,
            squashed: Cow::Borrowed(&[]),
        }
    }

    /// A Rust code migration, made from a function marked with the
    /// `#[terrace::migration]` attribute.
    pub const fn code(version: u64, name: &'static str, up: CodeFn) -> Self {
        Migration {
            version,
            name: Cow::Borrowed(name),
            up: Body::Code(up),
            down: None,
            checksum: Some(Cow::Borrowed(up.checksum)),
            transactional: true,
            down_transactional: true,
            file_lines: None,
            path: None,
            embedded_path: None,
            squashed: Cow::Borrowed(&[]),
        }
    }

    /// Adds a down section in SQL.
    pub const fn with_down(self, down: &'static str) -> Self {
        self.with_down_body(Body::Sql(Cow::Borrowed(down)))
    }

    /// Adds a down step written in Rust.
    pub const fn with_down_code(self, down: CodeFn) -> Self {
        self.with_down_body(Body::Code(down))
    }

    /// Marks the down direction as a no-op (`-- migrate:down noop` in a file): rolling
    /// the migration back runs nothing and removes its history row. For a migration
    /// whose honest inverse is nothing, such as a backfill whose rows may stay; a
    /// migration without any down still refuses to be rolled back.
    pub const fn with_noop_down(self) -> Self {
        self.with_down_body(Body::Noop)
    }

    const fn with_down_body(mut self, down: Body) -> Self {
        // A const fn cannot drop the old value; it is `None` for every migration the
        // constructors make, and forgetting `None` frees nothing.
        std::mem::forget(self.down.replace(down));
        self
    }

    /// Runs the up section outside a transaction (`-- migrate:up transaction:false`),
    /// for statements such as PostgreSQL's `CREATE INDEX CONCURRENTLY`. Such a
    /// migration is recorded as started before it runs, so an interruption leaves an
    /// explicit dirty state rather than a silent half-change.
    pub const fn without_transaction(mut self) -> Self {
        self.transactional = false;
        self
    }

    /// Runs the down section outside a transaction.
    pub const fn without_down_transaction(mut self) -> Self {
        self.down_transactional = false;
        self
    }

    /// Supplies a checksum computed ahead of time (by `terrace::embed_migrations!`), so none
    /// is computed at run time. It must equal what [`Migration::checksum`] would
    /// compute.
    #[doc(hidden)]
    pub const fn with_precomputed_checksum(mut self, checksum: &'static str) -> Self {
        std::mem::forget(self.checksum.replace(Cow::Borrowed(checksum)));
        self
    }

    /// Marks a migration as a squashed baseline standing for these migrations (its
    /// file's `-- terrace:squashed` lines, set by `terrace::embed_migrations!`).
    #[doc(hidden)]
    pub const fn with_squashed(mut self, squashed: &'static [terrace_format::Squashed]) -> Self {
        std::mem::forget(std::mem::replace(
            &mut self.squashed,
            Cow::Borrowed(squashed),
        ));
        self
    }

    /// Marks a migration as read from a file whose up and down texts start on these
    /// lines, so that a failing statement is named by its line of the file (set by
    /// `terrace::embed_migrations!`).
    #[doc(hidden)]
    pub const fn with_file_lines(mut self, up: usize, down: usize) -> Self {
        self.file_lines = Some((up, down));
        self
    }

    /// Marks a migration as embedded from this file (relative to the crate's
    /// `Cargo.toml`), so that errors name it (set by `terrace::embed_migrations!`).
    #[doc(hidden)]
    pub const fn with_embedded_path(mut self, path: &'static str) -> Self {
        self.embedded_path = Some(path);
        self
    }

    /// The line of its file on which a section starts, for a migration read from a
    /// file.
    pub(crate) fn file_line(&self, direction: crate::plan::Direction) -> Option<usize> {
        let (up, down) = self.file_lines?;
        Some(match direction {
            crate::plan::Direction::Up => up,
            crate::plan::Direction::Down => down,
        })
    }

    pub(crate) fn from_file(file: terrace_format::MigrationFile) -> Self {
        let sections = file.sections;
        Migration {
            version: file.version,
            name: Cow::Owned(file.name),
            up: Body::Sql(Cow::Owned(sections.up)),
            down: match sections.down {
                Some(down) => Some(Body::Sql(Cow::Owned(down))),
                None if sections.down_noop => Some(Body::Noop),
                None => None,
            },
            checksum: Some(Cow::Owned(file.checksum)),
            transactional: sections.transactional,
            down_transactional: sections.down_transactional,
            file_lines: Some((sections.up_line, sections.down_line)),
            path: Some(file.path),
            embedded_path: None,
            squashed: Cow::Owned(sections.squashed),
        }
    }

    /// The file it was read from, for a migration read from a folder at run time
    /// ([`Migrations::from_dir`](crate::Migrations::from_dir)): the folder as given,
    /// joined with the file name; for one embedded by `terrace::embed_migrations!`, its
    /// file relative to the crate's `Cargo.toml`.
    pub fn path(&self) -> Option<&Path> {
        self.path
            .as_deref()
            .or_else(|| self.embedded_path.map(Path::new))
    }

    /// The version.
    pub fn version(&self) -> u64 {
        self.version
    }

    /// The descriptive name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The up direction.
    pub fn up(&self) -> &Body {
        &self.up
    }

    /// The down direction, if there is one.
    pub fn down(&self) -> Option<&Body> {
        self.down.as_ref()
    }

    /// Whether the up direction runs inside a transaction.
    pub fn is_transactional(&self) -> bool {
        self.transactional
    }

    /// Whether the down direction runs inside a transaction.
    pub fn is_down_transactional(&self) -> bool {
        self.down_transactional
    }

    /// The migrations this one stands for, for a squashed baseline read from a file
    /// (its `-- terrace:squashed` lines, written by `terrace squash`): a database whose
    /// history records them is recognised as having applied it. Empty otherwise.
    pub fn squashed(&self) -> &[terrace_format::Squashed] {
        &self.squashed
    }

    /// The checksum recorded when this migration is applied: `sha256:` and the hex
    /// SHA-256 of the normalised up text, or of a code migration's tokens.
    pub fn checksum(&self) -> Cow<'_, str> {
        match (&self.checksum, &self.up) {
            (Some(known), _) => Cow::Borrowed(known),
            (None, Body::Sql(sql)) => Cow::Owned(terrace_format::checksum(sql)),
            (None, Body::Code(code)) => Cow::Borrowed(code.checksum),
            // No constructor makes an up direction that does nothing.
            (None, Body::Noop) => Cow::Owned(terrace_format::checksum("")),
        }
    }
}
