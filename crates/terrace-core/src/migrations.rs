//! A list of migrations and how to run it: tracking table, transaction mode, lock
//! timeout.

use crate::backend::Backend;
use crate::error::Error;
use crate::history::TableName;
use crate::migration::Migration;
use crate::sql_backend::LeaseSlot;
use crate::validate::{Problem, Warning};
use std::borrow::Cow;
use std::path::Path;
use std::sync::OnceLock;
use std::time::Duration;

/// How migrations are grouped into transactions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransactionMode {
    /// One transaction per migration: short locks; the default on servers.
    PerMigration,
    /// One transaction for the whole run, a savepoint per migration: one commit (one
    /// fsync on SQLite); the default on SQLite. A failing migration still rolls back
    /// alone and the ones before it are committed; a process killed mid-run leaves the
    /// database exactly as before the run.
    PerRun,
}

/// What to do when the history records applied migrations newer than every migration
/// of the list: during a rolling deploy, a newer build may have applied them while this
/// one still runs, or restarts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NewerApplied {
    /// Refuse to run, as for any applied migration the list does not hold
    /// ([`Problem::NewerApplied`]). The default.
    #[default]
    Refuse,
    /// Run, provided every migration of the list matches its history row as always:
    /// the newer ones are named in the report's and the status's warnings
    /// ([`Warning::NewerApplied`]) and left alone. A pending migration older than one
    /// of them is still out of order, an applied migration missing below the list's
    /// newest is still missing, and a rollback is refused while they are applied.
    Warn,
}

/// Which migration lock a writing command takes on a database server. SQLite has one
/// lock, its own write lock with a lock file, whatever this says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum LockMode {
    /// The exact session lock where it is sound — PostgreSQL's advisory lock, MySQL's
    /// `GET_LOCK` — and the [`Lease`](LockMode::Lease) where it is not: on a MariaDB
    /// Galera node (`wsrep_on`), whose `GET_LOCK` holds on that node only. The default.
    #[default]
    Auto,
    /// The session lock, even where the lease would be chosen.
    Session,
    /// A lease: a row in a small table beside the tracking table (`<table>_lock`),
    /// which one run at a time can insert, renewed while the run lasts, released when
    /// it ends, and taken over by another run only once it has expired — so a run that
    /// was killed blocks the next one for at most the lease. It holds across a
    /// cluster's nodes and through a pooler that shares server connections between
    /// transactions (PgBouncer's transaction pooling), where a session lock does not.
    Lease,
}

impl LockMode {
    /// The setting's name in configuration (`auto`, `session`, `lease`).
    pub const fn as_str(self) -> &'static str {
        match self {
            LockMode::Auto => "auto",
            LockMode::Session => "session",
            LockMode::Lease => "lease",
        }
    }
}

impl std::str::FromStr for LockMode {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.trim().to_ascii_lowercase().as_str() {
            "auto" => Ok(LockMode::Auto),
            "session" => Ok(LockMode::Session),
            "lease" => Ok(LockMode::Lease),
            _ => Err(format!(
                "unknown lock {text:?}: expected auto, session or lease"
            )),
        }
    }
}

/// The migrations of an application, with the settings to run them.
///
/// Build it from a static list ([`Migrations::new`], or
/// `terrace::embed_migrations!`), from a `Vec`, or from a folder read
/// at run time ([`Migrations::from_dir`]).
#[derive(Debug, Clone)]
pub struct Migrations {
    pub(crate) list: Cow<'static, [Migration]>,
    /// Problems found while reading files, reported by every command that validates.
    pub(crate) file_problems: Vec<Problem>,
    /// What reading the folder found worth a warning.
    warnings: Vec<Warning>,
    pub(crate) table: TableName,
    pub(crate) mode: Option<TransactionMode>,
    pub(crate) lock_timeout: Duration,
    /// Which lock a writing command takes.
    pub(crate) lock_mode: LockMode,
    /// How long a lease lasts unless renewed.
    pub(crate) lock_lease: Duration,
    /// Where a run tells another connection which lease to renew.
    pub(crate) lease_slot: Option<LeaseSlot>,
    /// What applied migrations newer than the list's newest do.
    pub(crate) newer_applied: NewerApplied,
    /// Every version's cumulative checksum in version order, computed at build time by
    /// `embed_migrations!`.
    precomputed_cumulative: Option<&'static [(u64, &'static str)]>,
    /// Every version's cumulative checksum, in version order, computed on first use.
    cumulative: OnceLock<Vec<(u64, String)>>,
    /// Whether [`source_problems`](Migrations::source_problems) is empty, found on
    /// first use: the list does not change.
    sources_valid: OnceLock<bool>,
}

impl Migrations {
    /// How long to wait for another runner's lock unless told otherwise.
    pub const DEFAULT_LOCK_TIMEOUT: Duration = Duration::from_secs(300);

    /// The longest lock timeout: 24 days, just under the longest wait SQLite's busy
    /// timeout can express.
    pub const MAX_LOCK_TIMEOUT: Duration = Duration::from_secs(24 * 24 * 60 * 60);

    /// How long a [lease](LockMode::Lease) lasts unless renewed: a run killed while
    /// holding it blocks the next one for at most this long.
    pub const DEFAULT_LOCK_LEASE: Duration = Duration::from_secs(60);

    /// The shortest lease: one second.
    pub const MIN_LOCK_LEASE: Duration = Duration::from_secs(1);

    /// A static list, in any order (it is validated when run). In a `static`, build it
    /// with `terrace::migrations!`, or pass a list that is itself a
    /// `static` or `const`.
    pub const fn new(list: &'static [Migration]) -> Self {
        Migrations {
            list: Cow::Borrowed(list),
            file_problems: Vec::new(),
            warnings: Vec::new(),
            table: TableName::DEFAULT,
            mode: None,
            lock_timeout: Self::DEFAULT_LOCK_TIMEOUT,
            lock_mode: LockMode::Auto,
            lock_lease: Self::DEFAULT_LOCK_LEASE,
            lease_slot: None,
            newer_applied: NewerApplied::Refuse,
            precomputed_cumulative: None,
            cumulative: OnceLock::new(),
            sources_valid: OnceLock::new(),
        }
    }

    /// Supplies every version's cumulative checksum in version order, computed ahead of
    /// time by `terrace::embed_migrations!`. It must equal what the
    /// list gives at run time.
    #[doc(hidden)]
    pub const fn with_precomputed_cumulative_checksums(
        mut self,
        checksums: &'static [(u64, &'static str)],
    ) -> Self {
        self.precomputed_cumulative = Some(checksums);
        self
    }

    /// Every version's cumulative checksum (see
    /// [`cumulative_checksum`](terrace_format::cumulative_checksum)), in version order.
    pub(crate) fn cumulative_checksums(&self) -> &[(u64, String)] {
        self.cumulative.get_or_init(|| {
            let mut previous: Option<String> = None;
            crate::validate::index_by_version(&self.list)
                .into_iter()
                .map(|(version, i)| {
                    let migration = &self.list[i];
                    let next = terrace_format::cumulative_checksum(
                        previous.as_deref(),
                        version,
                        migration.name(),
                        &migration.checksum(),
                    );
                    previous = Some(next.clone());
                    (version, next)
                })
                .collect()
        })
    }

    /// The cumulative checksum of one version.
    pub(crate) fn cumulative_checksum(&self, version: u64) -> &str {
        if let Some(known) = self.precomputed_cumulative {
            return known
                .binary_search_by_key(&version, |(v, _)| *v)
                .map_or("", |at| known[at].1);
        }
        let all = self.cumulative_checksums();
        all.binary_search_by_key(&version, |(v, _)| *v)
            .map_or("", |at| all[at].1.as_str())
    }

    /// A list built at run time.
    pub fn from_vec(list: Vec<Migration>) -> Self {
        Migrations {
            list: Cow::Owned(list),
            ..Migrations::new(&[])
        }
    }

    /// Reads every `NNNN_name.sql` file of a folder.
    ///
    /// Fails only if the folder cannot be listed. A malformed file does not stop the
    /// reading: it is kept as a problem that every command reports (with all others)
    /// before it changes anything. Only regular files (or links to them) of at most
    /// [`MAX_FILE_SIZE`](terrace_format::MAX_FILE_SIZE) bytes are read; anything else
    /// named like a migration is such a problem. Files that look like migrations but
    /// are not read, and a folder with no migration at all, are
    /// [warnings](Migrations::warnings), as is a `terrace.sum` in the folder that does
    /// not match its files; an empty folder is a problem when the history records
    /// applied migrations.
    pub fn from_dir(dir: impl AsRef<Path>) -> Result<Self, Error> {
        let dir = dir.as_ref();
        let folder = terrace_format::read_folder(dir).map_err(|source| Error::ReadFolder {
            path: dir.to_owned(),
            source,
        })?;
        let sum_path = terrace_format::sum::sum_path(dir);
        let sum_warnings = terrace_format::check_sum(dir, &folder)
            .into_iter()
            .map(|problem| Warning::Sum {
                path: sum_path.clone(),
                line: problem.line(),
                detail: problem.to_string(),
            });
        let file_problems = folder
            .problems
            .into_iter()
            .map(|p| Problem::File {
                line: p.kind.line(),
                detail: p.kind.detail(),
                path: p.path,
            })
            .collect::<Vec<_>>();
        let mut warnings: Vec<Warning> = folder
            .ignored
            .into_iter()
            .map(|file| Warning::IgnoredFile {
                path: file.path,
                rename_to: file.rename_to,
            })
            .chain(sum_warnings)
            .collect();
        if folder.files.is_empty() && file_problems.is_empty() {
            warnings.push(Warning::NoMigrations {
                dir: dir.to_owned(),
            });
        }
        Ok(Migrations {
            file_problems,
            warnings,
            ..Migrations::from_vec(folder.files.into_iter().map(Migration::from_file).collect())
        })
    }

    /// What reading the folder found that does not stop a command but may not be what
    /// was meant: files that look like migrations but were not read
    /// (`0002_add_x.SQL`), or a folder with no migration at all. Empty for lists not
    /// read from a folder.
    pub fn warnings(&self) -> &[Warning] {
        &self.warnings
    }

    /// Uses another tracking table (validated: letters, digits, `_`, optionally
    /// `schema.table`).
    pub fn with_table(mut self, name: &str) -> Result<Self, Error> {
        self.table = TableName::parse(name)?;
        Ok(self)
    }

    /// Overrides the backend's default transaction mode.
    pub const fn with_transaction_mode(mut self, mode: TransactionMode) -> Self {
        self.mode = Some(mode);
        self
    }

    /// [`with_transaction_mode`](Migrations::with_transaction_mode) in place.
    #[doc(hidden)]
    pub const fn set_transaction_mode(&mut self, mode: TransactionMode) {
        self.mode = Some(mode);
    }

    /// [`with_lock_timeout`](Migrations::with_lock_timeout) in place.
    #[doc(hidden)]
    pub const fn set_lock_timeout(&mut self, timeout: Duration) {
        self.lock_timeout = if timeout.as_secs() > Self::MAX_LOCK_TIMEOUT.as_secs() {
            Self::MAX_LOCK_TIMEOUT
        } else {
            timeout
        };
    }

    /// Whether applied migrations newer than every migration of the list stop a command
    /// ([`NewerApplied::Refuse`], the default) or only warn ([`NewerApplied::Warn`]),
    /// for builds that run side by side with newer ones during a rolling deploy.
    pub const fn with_newer_applied(mut self, newer: NewerApplied) -> Self {
        self.newer_applied = newer;
        self
    }

    /// [`with_newer_applied`](Migrations::with_newer_applied) in place.
    #[doc(hidden)]
    pub const fn set_newer_applied(&mut self, newer: NewerApplied) {
        self.newer_applied = newer;
    }

    /// [`with_precomputed_cumulative_checksums`](Migrations::with_precomputed_cumulative_checksums)
    /// in place.
    #[doc(hidden)]
    pub const fn set_precomputed_cumulative_checksums(
        &mut self,
        checksums: &'static [(u64, &'static str)],
    ) {
        self.precomputed_cumulative = Some(checksums);
    }

    /// How long to wait for another runner to release the migration lock, at most
    /// [`MAX_LOCK_TIMEOUT`](Migrations::MAX_LOCK_TIMEOUT) (a longer one is taken as
    /// that).
    pub const fn with_lock_timeout(mut self, timeout: Duration) -> Self {
        self.lock_timeout = if timeout.as_secs() > Self::MAX_LOCK_TIMEOUT.as_secs() {
            Self::MAX_LOCK_TIMEOUT
        } else {
            timeout
        };
        self
    }

    /// Which migration lock a writing command takes on a server ([`LockMode::Auto`]
    /// unless told otherwise).
    pub const fn with_lock(mut self, mode: LockMode) -> Self {
        self.lock_mode = mode;
        self
    }

    /// [`with_lock`](Migrations::with_lock) in place.
    #[doc(hidden)]
    pub const fn set_lock(&mut self, mode: LockMode) {
        self.lock_mode = mode;
    }

    /// How long a [lease](LockMode::Lease) lasts unless renewed
    /// ([`DEFAULT_LOCK_LEASE`](Migrations::DEFAULT_LOCK_LEASE) unless told otherwise; at
    /// least [`MIN_LOCK_LEASE`](Migrations::MIN_LOCK_LEASE), a shorter one is taken as
    /// that). A run renews its lease itself only outside transactions, between
    /// migrations; a transaction that lasts longer than the lease (one migration, or
    /// the whole run under [`TransactionMode::PerRun`]) may lose it to another run,
    /// unless another connection renews it meanwhile.
    pub const fn with_lock_lease(mut self, lease: Duration) -> Self {
        self.set_lock_lease(lease);
        self
    }

    /// [`with_lock_lease`](Migrations::with_lock_lease) in place.
    #[doc(hidden)]
    pub const fn set_lock_lease(&mut self, lease: Duration) {
        self.lock_lease = if lease.as_secs() < Self::MIN_LOCK_LEASE.as_secs() {
            Self::MIN_LOCK_LEASE
        } else if lease.as_secs() > Self::MAX_LOCK_TIMEOUT.as_secs() {
            Self::MAX_LOCK_TIMEOUT
        } else {
            lease
        };
    }

    /// The lock a writing command takes, and the lease's length.
    pub fn lock(&self) -> (LockMode, Duration) {
        (self.lock_mode, self.lock_lease)
    }

    /// Has each run tell `slot` the token of the lease it holds, so that another
    /// connection can renew it while a long step runs.
    #[doc(hidden)]
    pub fn set_lease_slot(&mut self, slot: LeaseSlot) {
        self.lease_slot = Some(slot);
    }

    /// Hands a backend the lock settings before a writing command.
    pub(crate) fn configure_lock(&self, backend: &mut dyn Backend) {
        backend.configure_lock(self.lock_mode, self.lock_lease);
        if let Some(slot) = &self.lease_slot {
            backend.configure_lease_slot(slot.clone());
        }
    }

    /// The migrations, in the order given.
    pub fn list(&self) -> &[Migration] {
        &self.list
    }

    /// The tracking table.
    pub fn table(&self) -> &TableName {
        &self.table
    }

    /// Whether [`source_problems`](Migrations::source_problems) is empty, worked out
    /// once.
    pub(crate) fn sources_valid(&self) -> bool {
        *self
            .sources_valid
            .get_or_init(|| self.source_problems().is_empty())
    }

    /// Every problem found without a database: unreadable files, duplicate versions,
    /// gaps, bad names.
    pub fn source_problems(&self) -> Vec<Problem> {
        let mut problems = self.file_problems.clone();
        problems.extend(crate::validate::check_sources(&self.list));
        problems
    }
}
