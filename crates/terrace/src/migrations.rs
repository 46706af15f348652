//! The application's migrations, run on its own connection: blocking drivers through
//! [`Database`], async ones through [`AsyncDatabase`](crate::AsyncDatabase).

use crate::backend::{AsyncDatabase, Database};
use crate::error::Error;
use crate::{
    Event, HistorySnapshot, LockMode, Migration, NewerApplied, Plan, Problem, RepairReport, Report,
    ResetReport, Status, TableName, Target, TransactionMode, Warning,
};
use std::path::Path;
use std::time::Duration;
use terrace_core::block_on;

/// The migrations of an application, with the settings to run them.
///
/// Build it from a static list ([`Migrations::new`], or
/// [`embed_migrations!`](crate::embed_migrations)), from a `Vec`, or from a folder read
/// at run time ([`Migrations::from_dir`]). What it holds — the list, the tracking table,
/// problems found without a database — is read through [`list`](Migrations::list),
/// [`table`](Migrations::table), [`warnings`](Migrations::warnings) and
/// [`source_problems`](Migrations::source_problems).
#[derive(Debug, Clone)]
pub struct Migrations(terrace_core::Migrations);

impl Migrations {
    /// How long to wait for another runner's lock unless told otherwise.
    pub const DEFAULT_LOCK_TIMEOUT: Duration = terrace_core::Migrations::DEFAULT_LOCK_TIMEOUT;

    /// The longest lock timeout: 24 days, just under the longest wait SQLite's busy
    /// timeout can express.
    pub const MAX_LOCK_TIMEOUT: Duration = terrace_core::Migrations::MAX_LOCK_TIMEOUT;

    /// How long a [lease](LockMode::Lease) lasts unless renewed: 60 seconds.
    pub const DEFAULT_LOCK_LEASE: Duration = terrace_core::Migrations::DEFAULT_LOCK_LEASE;

    /// A static list, in any order (it is validated when run). In a `static`, build it
    /// with [`migrations!`](macro@crate::migrations), or pass a list that is itself a
    /// `static` or `const`.
    pub const fn new(list: &'static [Migration]) -> Self {
        Migrations(terrace_core::Migrations::new(list))
    }

    /// Supplies every version's cumulative checksum in version order, computed ahead of
    /// time by [`embed_migrations!`](crate::embed_migrations).
    #[doc(hidden)]
    pub const fn with_precomputed_cumulative_checksums(
        mut self,
        checksums: &'static [(u64, &'static str)],
    ) -> Self {
        self.0.set_precomputed_cumulative_checksums(checksums);
        self
    }

    /// A list built at run time.
    pub fn from_vec(list: Vec<Migration>) -> Self {
        Migrations(terrace_core::Migrations::from_vec(list))
    }

    /// Reads every `NNNN_name.sql` file of a folder.
    ///
    /// Fails only if the folder cannot be listed. A malformed file does not stop the
    /// reading: it is kept as a problem that every command reports (with all others)
    /// before it changes anything. Only regular files (or links to them) of at most
    /// [`MAX_FILE_SIZE`](terrace_format::MAX_FILE_SIZE) bytes are read; anything else
    /// named like a migration is such a problem. Files that look like migrations but
    /// are not read, and a folder with no migration at all, are
    /// [warnings](Migrations::warnings); an empty folder is a problem when
    /// the history records applied migrations.
    pub fn from_dir(dir: impl AsRef<Path>) -> Result<Self, Error> {
        terrace_core::Migrations::from_dir(dir).map(Migrations)
    }

    /// Uses another tracking table (validated: letters, digits, `_`, optionally
    /// `schema.table`).
    pub fn with_table(self, name: &str) -> Result<Self, Error> {
        self.0.with_table(name).map(Migrations)
    }

    /// Overrides the backend's default transaction mode.
    pub const fn with_transaction_mode(mut self, mode: TransactionMode) -> Self {
        self.0.set_transaction_mode(mode);
        self
    }

    /// How long to wait for another runner to release the migration lock, at most
    /// [`MAX_LOCK_TIMEOUT`](Migrations::MAX_LOCK_TIMEOUT) (a longer one is taken as
    /// that).
    pub const fn with_lock_timeout(mut self, timeout: Duration) -> Self {
        self.0.set_lock_timeout(timeout);
        self
    }

    /// Which migration lock a writing command takes on a server: [`LockMode::Auto`]
    /// (the default) takes a session lock where it is exact and a lease on a MariaDB
    /// Galera node; [`LockMode::Lease`] is needed behind a pooler that shares server
    /// connections between transactions (PgBouncer's transaction pooling), which
    /// cannot be detected.
    pub const fn with_lock(mut self, mode: LockMode) -> Self {
        self.0.set_lock(mode);
        self
    }

    /// How long a lease lasts unless renewed
    /// ([`DEFAULT_LOCK_LEASE`](Migrations::DEFAULT_LOCK_LEASE), 60 seconds, unless told
    /// otherwise; at least one second): a run killed while holding it blocks the next
    /// one for at most this long. A run renews it itself only outside transactions,
    /// between migrations, so without a
    /// [`LeaseKeeper`](crate::connection::LeaseKeeper) it must outlast the longest
    /// transaction: the longest migration, or the whole run under
    /// [`TransactionMode::PerRun`].
    pub const fn with_lock_lease(mut self, lease: Duration) -> Self {
        self.0.set_lock_lease(lease);
        self
    }

    /// The lock a writing command takes on a server, and a lease's length.
    pub fn lock(&self) -> (LockMode, Duration) {
        self.0.lock()
    }

    /// Has each run tell `slot` the token of the lease it holds, which another
    /// connection renews.
    pub(crate) fn set_lease_slot(&mut self, slot: terrace_core::sql_backend::LeaseSlot) {
        self.0.set_lease_slot(slot);
    }

    /// Whether applied migrations newer than every migration of the list stop a command
    /// ([`NewerApplied::Refuse`], the default) or only warn ([`NewerApplied::Warn`]),
    /// for builds that run side by side with newer ones during a rolling deploy.
    pub const fn with_newer_applied(mut self, newer: NewerApplied) -> Self {
        self.0.set_newer_applied(newer);
        self
    }

    /// The migrations, in the order given.
    pub fn list(&self) -> &[Migration] {
        self.0.list()
    }

    /// The tracking table.
    pub fn table(&self) -> &TableName {
        self.0.table()
    }

    /// What reading the folder found that does not stop a command but may not be what
    /// was meant: files that look like migrations but were not read
    /// (`0002_add_x.SQL`), or a folder with no migration at all. Empty for lists not
    /// read from a folder.
    pub fn warnings(&self) -> &[Warning] {
        self.0.warnings()
    }

    /// Every problem found without a database: unreadable files, duplicate versions,
    /// gaps, bad names.
    pub fn source_problems(&self) -> Vec<Problem> {
        self.0.source_problems()
    }

    /// Applies every pending migration.
    ///
    /// Validates the migrations and the history first — duplicate versions, gaps, bad
    /// names, missing or edited applied migrations, dirty rows — and changes nothing if
    /// any problem is found.
    pub fn run(&self, db: &mut impl Database) -> Result<Report, Error> {
        block_on(self.0.run(&mut *db.backend()?))
    }

    /// Applies pending migrations up to `target`.
    pub fn run_to(&self, db: &mut impl Database, target: Target) -> Result<Report, Error> {
        block_on(self.0.run_to(&mut *db.backend()?, target))
    }

    /// [`run_to`](Migrations::run_to), calling `observer` as each step starts and
    /// finishes.
    pub fn run_with(
        &self,
        db: &mut impl Database,
        target: Target,
        observer: &mut dyn FnMut(&Event<'_>),
    ) -> Result<Report, Error> {
        block_on(self.0.run_with(&mut *db.backend()?, target, observer))
    }

    /// Rolls back applied migrations, newest first, running their down sections.
    /// Refuses before changing anything if a migration in range has no down, or if
    /// validation finds a problem; one about pending migrations only (such as a draft
    /// whose up section is still empty) does not stop a rollback, which runs none of
    /// them.
    pub fn rollback(&self, db: &mut impl Database, target: Target) -> Result<Report, Error> {
        block_on(self.0.rollback(&mut *db.backend()?, target))
    }

    /// [`rollback`](Migrations::rollback), calling `observer` as each step starts and
    /// finishes.
    pub fn rollback_with(
        &self,
        db: &mut impl Database,
        target: Target,
        observer: &mut dyn FnMut(&Event<'_>),
    ) -> Result<Report, Error> {
        block_on(self.0.rollback_with(&mut *db.backend()?, target, observer))
    }

    /// The dry run: what [`run_to`](Migrations::run_to) would apply, with each
    /// migration's SQL, after the same validation. Writes nothing — not even the
    /// tracking table.
    pub fn plan(&self, db: &mut impl Database, target: Target) -> Result<Plan<'_>, Error> {
        block_on(self.0.plan(&mut *db.backend()?, target))
    }

    /// The dry run of a rollback. Writes nothing.
    pub fn plan_rollback(&self, db: &mut impl Database, target: Target) -> Result<Plan<'_>, Error> {
        block_on(self.0.plan_rollback(&mut *db.backend()?, target))
    }

    /// Applied and pending migrations, and every validation problem. Writes nothing. A
    /// file that could not be read but whose name gives a version not applied (such as
    /// a draft whose up section is still empty) is pending, with its problem.
    pub fn status(&self, db: &mut impl Database) -> Result<Status, Error> {
        block_on(self.0.status(&mut *db.backend()?))
    }

    /// Reads the tracking table as [`status`](Migrations::status) does, refusing
    /// another tool's table, without looking at the list: a list tracked in the same
    /// table, even an empty one, reads what
    /// [`status_of`](Migrations::status_of) then compares with the
    /// migrations. So a program can read the history while it is still reading its
    /// migrations. Writes nothing.
    pub fn read_history(&self, db: &mut impl Database) -> Result<HistorySnapshot, Error> {
        block_on(self.0.read_history(&mut *db.backend()?))
    }

    /// What [`status`](Migrations::status) reports, for a history read ahead by
    /// [`read_history`](Migrations::read_history) (of the same table). Needs no
    /// connection.
    pub fn status_of(&self, history: HistorySnapshot) -> Status {
        self.0.status_of(history)
    }

    /// Runs every check of [`status`](Migrations::status) and fails with all problems
    /// found. Writes nothing.
    pub fn validate(&self, db: &mut impl Database) -> Result<(), Error> {
        block_on(self.0.validate(&mut *db.backend()?))
    }

    /// Adopts an existing database: records migrations 1 to `version` as applied
    /// without running them. Refuses if the history is not empty, or if validation
    /// finds a problem about migrations up to `version` (one about later migrations,
    /// such as a draft, does not stop it).
    pub fn baseline(&self, db: &mut impl Database, version: u64) -> Result<Report, Error> {
        block_on(self.0.baseline(&mut *db.backend()?, version))
    }

    /// [`baseline`](Migrations::baseline), telling `observer` if it has to wait for the
    /// migration lock ([`Event::WaitingForLock`], [`Event::LockAcquired`]).
    pub fn baseline_with(
        &self,
        db: &mut impl Database,
        version: u64,
        observer: &mut dyn FnMut(&Event<'_>),
    ) -> Result<Report, Error> {
        block_on(self.0.baseline_with(&mut *db.backend()?, version, observer))
    }

    /// Accepts the migrations as they are now: records current checksums and names for
    /// applied migrations, and clears the newest dirty row (an interrupted run becomes
    /// pending again; an interrupted rollback counts as applied). Says exactly what it
    /// changed. Refuses, changing nothing, a dirty row with applied migrations after it,
    /// and a version whose name and checksum both differ from the file's (another
    /// migration took its number): see [`Problem::DirtyBelowApplied`] and
    /// [`Problem::Replaced`]. A problem about pending migrations only (such as a draft
    /// whose up section is still empty) does not stop it, and is in the report's
    /// `remaining`.
    ///
    /// [`Problem::DirtyBelowApplied`]: crate::Problem::DirtyBelowApplied
    /// [`Problem::Replaced`]: crate::Problem::Replaced
    pub fn repair(&self, db: &mut impl Database) -> Result<RepairReport, Error> {
        block_on(self.0.repair(&mut *db.backend()?))
    }

    /// [`repair`](Migrations::repair), telling `observer` if it has to wait for the
    /// migration lock ([`Event::WaitingForLock`], [`Event::LockAcquired`]).
    pub fn repair_with(
        &self,
        db: &mut impl Database,
        observer: &mut dyn FnMut(&Event<'_>),
    ) -> Result<RepairReport, Error> {
        block_on(self.0.repair_with(&mut *db.backend()?, observer))
    }

    /// Drops the tracking table, forgetting which migrations were applied (the schema
    /// itself is left as it is). For development databases only.
    pub fn reset_history(&self, db: &mut impl Database) -> Result<ResetReport, Error> {
        block_on(self.0.reset_history(&mut *db.backend()?))
    }

    /// [`reset_history`](Migrations::reset_history), telling `observer` if it has to
    /// wait for the migration lock ([`Event::WaitingForLock`], [`Event::LockAcquired`]).
    pub fn reset_history_with(
        &self,
        db: &mut impl Database,
        observer: &mut dyn FnMut(&Event<'_>),
    ) -> Result<ResetReport, Error> {
        block_on(self.0.reset_history_with(&mut *db.backend()?, observer))
    }

    /// [`run`](Migrations::run) on an async connection.
    pub async fn run_async(&self, db: &mut impl AsyncDatabase) -> Result<Report, Error> {
        self.0.run(&mut *db.backend().await?).await
    }

    /// [`run_to`](Migrations::run_to) on an async connection.
    pub async fn run_to_async(
        &self,
        db: &mut impl AsyncDatabase,
        target: Target,
    ) -> Result<Report, Error> {
        self.0.run_to(&mut *db.backend().await?, target).await
    }

    /// [`run_with`](Migrations::run_with) on an async connection.
    pub async fn run_with_async(
        &self,
        db: &mut impl AsyncDatabase,
        target: Target,
        observer: &mut (dyn FnMut(&Event<'_>) + Send),
    ) -> Result<Report, Error> {
        self.0
            .run_with(&mut *db.backend().await?, target, observer)
            .await
    }

    /// [`rollback`](Migrations::rollback) on an async connection.
    pub async fn rollback_async(
        &self,
        db: &mut impl AsyncDatabase,
        target: Target,
    ) -> Result<Report, Error> {
        self.0.rollback(&mut *db.backend().await?, target).await
    }

    /// [`rollback_with`](Migrations::rollback_with) on an async connection.
    pub async fn rollback_with_async(
        &self,
        db: &mut impl AsyncDatabase,
        target: Target,
        observer: &mut (dyn FnMut(&Event<'_>) + Send),
    ) -> Result<Report, Error> {
        self.0
            .rollback_with(&mut *db.backend().await?, target, observer)
            .await
    }

    /// [`plan`](Migrations::plan) on an async connection.
    pub async fn plan_async(
        &self,
        db: &mut impl AsyncDatabase,
        target: Target,
    ) -> Result<Plan<'_>, Error> {
        self.0.plan(&mut *db.backend().await?, target).await
    }

    /// [`plan_rollback`](Migrations::plan_rollback) on an async connection.
    pub async fn plan_rollback_async(
        &self,
        db: &mut impl AsyncDatabase,
        target: Target,
    ) -> Result<Plan<'_>, Error> {
        self.0
            .plan_rollback(&mut *db.backend().await?, target)
            .await
    }

    /// [`status`](Migrations::status) on an async connection.
    pub async fn status_async(&self, db: &mut impl AsyncDatabase) -> Result<Status, Error> {
        self.0.status(&mut *db.backend().await?).await
    }

    /// [`validate`](Migrations::validate) on an async connection.
    pub async fn validate_async(&self, db: &mut impl AsyncDatabase) -> Result<(), Error> {
        self.0.validate(&mut *db.backend().await?).await
    }

    /// [`baseline`](Migrations::baseline) on an async connection.
    pub async fn baseline_async(
        &self,
        db: &mut impl AsyncDatabase,
        version: u64,
    ) -> Result<Report, Error> {
        self.0.baseline(&mut *db.backend().await?, version).await
    }

    /// [`repair`](Migrations::repair) on an async connection.
    pub async fn repair_async(&self, db: &mut impl AsyncDatabase) -> Result<RepairReport, Error> {
        self.0.repair(&mut *db.backend().await?).await
    }

    /// [`reset_history`](Migrations::reset_history) on an async connection.
    pub async fn reset_history_async(
        &self,
        db: &mut impl AsyncDatabase,
    ) -> Result<ResetReport, Error> {
        self.0.reset_history(&mut *db.backend().await?).await
    }
}
