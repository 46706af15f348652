//! The command line as clap parses it: global options, one subcommand each with its
//! own arguments. Nothing here reads the environment or a file; that is
//! [`config`](crate::config)'s job.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// Versioned, checksummed database schema migrations.
#[derive(Debug, Parser)]
#[command(
    name = "terrace",
    version,
    after_help = "Settings come from the flags, then the environment (DATABASE_URL, TERRACE_DIR, \
                  TERRACE_TABLE, TERRACE_LOCK_TIMEOUT; those not set are read from a .env file in the current folder or a parent), \
                  then terrace.toml in the current folder or a parent folder.\n\
                  Exit codes: 0 success, 1 a migration, validation or database error, 2 a usage error."
)]
pub struct Cli {
    /// Options every command accepts.
    #[command(flatten)]
    pub global: Global,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command accepts, before or after the command name.
#[derive(Debug, Args)]
#[command(next_help_heading = "Global options")]
pub struct Global {
    /// Database URL: sqlite:PATH (or a file path), postgres://USER@HOST/DB or
    /// mysql://USER@HOST/DB [default: $DATABASE_URL, then `database` in terrace.toml]
    #[arg(long, global = true, value_name = "URL")]
    pub database: Option<String>,

    /// Folder of migration files [default: $TERRACE_DIR, then `dir` in terrace.toml, then
    /// migrations]
    #[arg(long, global = true, value_name = "DIR")]
    pub dir: Option<PathBuf>,

    /// Tracking table [default: $TERRACE_TABLE, then `table` in terrace.toml, then
    /// schema_migrations]
    #[arg(long, global = true, value_name = "NAME")]
    pub table: Option<String>,

    /// Keep retrying a database server that refuses connections for up to this many
    /// seconds (one that is still starting)
    #[arg(long, global = true, value_name = "SECONDS", default_value_t = 0)]
    pub wait: u64,

    /// Give up after this many seconds when another run holds the migration lock
    /// [default: $TERRACE_LOCK_TIMEOUT, then `lock_timeout` in terrace.toml, then 300]
    #[arg(long, global = true, value_name = "SECONDS")]
    pub lock_timeout: Option<u64>,

    /// The migration lock on a server: auto (a lease on a Galera node, the session lock
    /// elsewhere), session, or lease (behind a pooler in transaction mode) [default:
    /// $TERRACE_LOCK, then `lock` in terrace.toml, then auto]
    #[arg(long, global = true, value_name = "KIND", value_parser = parse_lock)]
    pub lock: Option<terrace::LockMode>,

    /// How long a lease lasts unless renewed: a run that was killed blocks the next one
    /// for at most this long [default: $TERRACE_LOCK_LEASE, then `lock_lease` in
    /// terrace.toml, then 60]
    #[arg(long, global = true, value_name = "SECONDS")]
    pub lock_lease: Option<u64>,

    /// Output format: text for people, or one JSON document for scripts
    #[arg(long, global = true, value_enum, default_value_t = Format::Text)]
    pub format: Format,

    /// Print each SQL statement as it runs (text output)
    #[arg(short, long, global = true, conflicts_with = "quiet")]
    pub verbose: bool,

    /// Print only errors (a JSON document is still printed)
    #[arg(short, long, global = true)]
    pub quiet: bool,
}

/// `--lock`'s value.
fn parse_lock(text: &str) -> Result<terrace::LockMode, String> {
    text.parse()
}

/// How results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    // Plain comments, not doc comments: clap would print these as a long help list.
    // Lines and tables for people.
    Text,
    // One JSON document on stdout.
    Json,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create the migrations folder, its terrace.sum, a commented terrace.toml and, in a
    /// cargo package, a build.rs that watches the folder
    Init(InitArgs),
    /// Write the next migration file, with up and down sections to fill in
    #[command(visible_alias = "add")]
    New(NewArgs),
    /// Give migrations that share a version after a merge the next free versions;
    /// applied ones stay
    ///
    /// With FILEs: moves those migrations, in their order, after the highest version
    /// of the other files. Without: with a database (--database, DATABASE_URL or
    /// terrace.toml), moves every migration it has not applied that shares its version
    /// or is not above its highest applied version, so the folder is sequential again;
    /// without one, only says what collides. A migration the database has applied is
    /// never moved. Rewrites terrace.sum when the folder has one.
    Renumber(RenumberArgs),
    /// Rewrite terrace.sum from the migration files (after a merge conflict in it, or an
    /// intended edit)
    ///
    /// terrace.sum lists every migration file with its checksum under a total of them
    /// all, so that git reports a conflict when two branches each add a migration.
    /// `init` creates it, `new` and `renumber` rewrite it, `validate` fails when it
    /// differs from the files, `migrate` and `status` warn.
    Sum,
    /// Apply pending migrations, printing a line as each one finishes
    #[command(visible_alias = "up")]
    Migrate(MigrateArgs),
    /// Run down sections, newest first (one migration unless told otherwise)
    #[command(visible_aliases = ["down", "revert"])]
    Rollback(RollbackArgs),
    /// Show applied and pending migrations and every problem found
    #[command(visible_alias = "info")]
    Status(StatusArgs),
    /// Show the tracking table, oldest first
    History,
    /// Check the migrations and the history without changing anything
    Validate(ValidateArgs),
    /// Check the migrations' SQL for risky statements (destructive, locking, missing
    /// down sections), without a database
    ///
    /// Each finding has a stable code, a severity and the safe alternative (docs/lint.md
    /// lists the rules). The dialect is --dialect's, else the configured database's
    /// (nothing is opened). A finding is suppressed by `-- terrace:allow CODE [reason]`
    /// on the line before its statement or at the end of it, or for the whole file
    /// before `-- migrate:up`. Exits with 1 when an error remains (or, with
    /// --deny-warnings, a warning).
    Lint(LintArgs),
    /// Adopt an existing database: record migrations 1 to VERSION as applied without
    /// running them
    Baseline(BaselineArgs),
    /// Accept edited migrations' checksums and clear interrupted runs, saying what changed
    Repair,
    /// Forget the migration history: drops only the tracking table, the schema stays
    /// (development databases only)
    ///
    /// The schema is not touched: tables, columns and data stay as they are, so the next
    /// `migrate` would run every migration again on top of them. To adopt the existing
    /// schema instead, run `terrace baseline VERSION` with the last version it has. To
    /// undo migrations, use `terrace rollback`. Refused without --yes, and always where
    /// terrace.toml says `protected = true`.
    Reset(ResetArgs),
    /// Convert another tool's migrations folder into Terrace's, and adopt its history
    /// with --database
    ///
    /// Reads SOURCE_DIR as the tool keeps it, renumbers its migrations 1..N in the
    /// tool's order and writes them, with an import-map.toml of old ids, to the
    /// migrations folder (or --out). With --database, the tool's tracking table there is
    /// read (never changed) and every migration it applied is recorded as applied in
    /// Terrace's table, without running it.
    Import(ImportArgs),
    /// Rehearse pending migrations on a copy of the database: up, down and up again,
    /// schemas compared; the database is not touched
    ///
    /// A SQLite database is copied with SQLite's online backup API; a PostgreSQL one as
    /// a new database with it as the template (`CREATE DATABASE … TEMPLATE`), or,
    /// while another session is connected to it, table by table; a MySQL one as a new
    /// database with a copy of each table, routine, view and trigger. For each pending
    /// migration in order: its up runs, then its down (a migration without one is
    /// reported as irreversible), whose schema must equal the one before the up, then
    /// its up again, whose schema must equal the first up's. An up marked `-- migrate:up
    /// idempotent` then runs a second time and must succeed and leave the schema as it
    /// was. Prints each migration's time, the rows its up changed (where the database
    /// counts them) and every failed check with its statement or schema differences;
    /// exits with 1 if any check failed. The copy is deleted afterwards unless --keep.
    Test(TestArgs),
    /// Print the database's schema as SQL, or compare it with another database or with
    /// what the migrations build
    #[command(subcommand)]
    Schema(SchemaCommand),
    /// Replace migrations 1 to VERSION, once every database has applied them, by one
    /// baseline migration: the schema they build
    ///
    /// Applies migrations 1 to VERSION to a scratch database (a temporary SQLite file,
    /// or a database on the same server, dropped afterwards), writes its schema as
    /// VERSION's baseline file, removes their files and rewrites terrace.sum if the
    /// folder has one. The baseline lists the migrations it replaces, so databases that
    /// applied them keep their history and validate; a new database runs the baseline.
    /// Refused unless the configured database has applied every one of them.
    /// --dry-run prints what would be written and removed.
    Squash(SquashArgs),
    /// Migrate, check or validate many databases as one job (a database per tenant)
    ///
    /// The targets come from a file of URLs (--targets), a glob of SQLite files
    /// (--glob), the databases of a server matching a pattern (--databases, on the
    /// server of --database) or the schemas of a PostgreSQL database (--schemas); the
    /// migrations folder is the same for all. Targets run in
    /// parallel, each under its own migration lock; one failing does not stop the
    /// others (unless --fail-fast). A JSON-lines report (--report) records each
    /// finished target; --resume skips the targets it records as done with the same
    /// migrations. Exits with 1 if any target failed.
    Fleet(FleetArgs),
    /// Print a shell completion script
    Completions(CompletionsArgs),
}

/// The `schema` subcommands.
#[derive(Debug, Subcommand)]
pub enum SchemaCommand {
    /// Print the schema as deterministic SQL (or, with --format json, its model), read
    /// from the catalog; writes nothing to the database
    ///
    /// Tables (columns with types, defaults and nullability, primary, foreign and
    /// unique keys, checks), indexes, views and triggers; on PostgreSQL also enum
    /// types, sequences and functions. The tracking table is left out. The same schema
    /// always prints the same bytes, and the SQL recreates it in an empty database.
    Dump(DumpArgs),
    /// Compare the database's schema with another database's (--to) or with the
    /// schema the migrations build (--migrations: drift)
    ///
    /// --migrations applies the migrations folder to a scratch database (a temporary
    /// SQLite file, or a database on the same server, dropped afterwards) and compares.
    /// Differences are printed per object: `extra` (only in the database),
    /// `missing` (only in the other), `changed` (with the attributes that differ).
    Diff(DiffArgs),
}

/// Arguments of `squash`.
#[derive(Debug, Args)]
pub struct SquashArgs {
    /// The last migration the baseline replaces (1 to VERSION)
    #[arg(long, value_name = "VERSION")]
    pub to: u64,

    /// Show the baseline that would be written and the files it would replace; change
    /// nothing
    #[arg(long)]
    pub dry_run: bool,
}

/// Arguments of `schema dump`.
#[derive(Debug, Args)]
pub struct DumpArgs {
    /// Write the dump to this file instead of stdout
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

/// Arguments of `schema diff`.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("other").required(true).args(["to", "migrations"])))]
pub struct DiffArgs {
    /// Compare with the database at this URL
    #[arg(long, value_name = "URL")]
    pub to: Option<String>,

    /// Compare with a scratch database built by applying the migrations folder
    #[arg(long)]
    pub migrations: bool,

    /// Exit with 1 when the schemas differ
    #[arg(long)]
    pub check: bool,
}

/// Arguments of `fleet`.
#[derive(Debug, Args)]
pub struct FleetArgs {
    /// What to do to each target.
    #[command(subcommand)]
    pub command: FleetCommand,
}

/// The fleet commands.
#[derive(Debug, Subcommand)]
pub enum FleetCommand {
    /// Apply pending migrations to every target
    Migrate(FleetTargets),
    /// Count each target's pending migrations and problems; changes nothing
    Status(FleetTargets),
    /// Check each target's history against the migrations; changes nothing
    Validate(FleetTargets),
}

/// The targets of a fleet command and how to run them.
#[derive(Debug, Args)]
pub struct FleetTargets {
    /// A file of database URLs or SQLite paths, one a line; blank lines and lines
    /// starting with # are skipped; relative paths are relative to the file
    #[arg(long, value_name = "FILE", conflicts_with_all = ["glob", "databases", "schemas"],
          required_unless_present_any = ["glob", "databases", "schemas"])]
    pub targets: Option<PathBuf>,

    /// The SQLite files matching a pattern (tenants/*.db; wildcards in the file name)
    #[arg(long, value_name = "PATTERN", conflicts_with_all = ["databases", "schemas"])]
    pub glob: Option<String>,

    /// Every database whose name matches this SQL LIKE pattern (tenant_%) on the
    /// PostgreSQL or MySQL server of --database
    #[arg(long, value_name = "PATTERN", conflicts_with = "schemas")]
    pub databases: Option<String>,

    /// Every schema whose name matches this SQL LIKE pattern (tenant_%) in the
    /// PostgreSQL database of --database: its migrations run with the search_path set to
    /// it, tracked in the tracking table of that schema
    #[arg(long, value_name = "PATTERN")]
    pub schemas: Option<String>,

    /// How many targets run at once [default: the number of processors, 2 to 16]
    #[arg(long, short = 'j', value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub jobs: Option<u32>,

    /// Stop starting targets after the first failure
    #[arg(long)]
    pub fail_fast: bool,

    /// Run this many targets first and stop if any of them fails
    #[arg(long, value_name = "K", default_value_t = 0)]
    pub canary: usize,

    /// Write a JSON-lines report of every finished target to FILE (replacing it)
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,

    /// Skip the targets FILE (an earlier job's report) records as done with the same
    /// migrations, and add this job's lines to it (unless --report names another file)
    #[arg(long, value_name = "FILE")]
    pub resume: Option<PathBuf>,
}

/// Arguments of `init`.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// Do not create terrace.sum in the migrations folder
    #[arg(long)]
    pub no_sum: bool,

    /// Require a cargo package around the folder and make its build script watch the
    /// folder (the default does so whenever there is a package)
    #[arg(long, conflicts_with = "no_build_rs")]
    pub build_rs: bool,

    /// Leave the package's build script alone
    #[arg(long)]
    pub no_build_rs: bool,
}

/// Arguments of `renumber`.
#[derive(Debug, Args)]
pub struct RenumberArgs {
    /// Migration files to move to the next free versions (paths, or file names in the
    /// migrations folder)
    #[arg(value_name = "FILE")]
    pub files: Vec<PathBuf>,

    /// Print the renames and change nothing
    #[arg(long)]
    pub dry_run: bool,
}

/// Arguments of `new`.
#[derive(Debug, Args)]
pub struct NewArgs {
    /// What the migration does, in snake_case (add_base_url)
    pub name: String,
}

/// Arguments of `migrate`.
#[derive(Debug, Args)]
pub struct MigrateArgs {
    /// Apply pending migrations up to and including this version
    #[arg(long, value_name = "VERSION")]
    pub to: Option<u64>,

    /// Print what would be applied, with its SQL, and change nothing
    #[arg(long)]
    pub dry_run: bool,

    /// Applied migrations newer than every migration here.
    #[command(flatten)]
    pub newer: NewerArgs,

    /// Lint the pending migrations first and stop, before anything runs, on an error
    /// finding [default: `lint` in terrace.toml, then false]
    #[arg(long, conflicts_with = "no_lint")]
    pub lint: bool,

    /// Do not lint first, whatever terrace.toml says
    #[arg(long)]
    pub no_lint: bool,
}

/// `--allow-newer`, for the commands that compare the history with the migrations.
#[derive(Debug, Args)]
pub struct NewerArgs {
    /// Run even though the database holds applied migrations newer than every migration
    /// here (a newer build's, during a rolling deploy): warn, naming them, and leave them
    /// alone [default: `allow_newer` in terrace.toml, then false]
    #[arg(long)]
    pub allow_newer: bool,
}

/// Arguments of `rollback`.
#[derive(Debug, Args)]
pub struct RollbackArgs {
    /// Roll back this many migrations, newest first [default: 1]
    #[arg(long, value_name = "N", conflicts_with = "to",
          value_parser = clap::value_parser!(u64).range(1..))]
    pub steps: Option<u64>,

    /// Roll back every migration newer than this version, keeping it applied (0: all)
    #[arg(long, value_name = "VERSION")]
    pub to: Option<u64>,

    /// Print what would be rolled back, with its SQL, and change nothing
    #[arg(long)]
    pub dry_run: bool,
}

/// Arguments of `status`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Exit with 1 if any migration is pending or anything is wrong
    #[arg(long)]
    pub check: bool,

    /// Applied migrations newer than every migration here.
    #[command(flatten)]
    pub newer: NewerArgs,
}

/// Arguments of `validate`.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Applied migrations newer than every migration here.
    #[command(flatten)]
    pub newer: NewerArgs,
}

/// Arguments of `test`.
#[derive(Debug, Args)]
pub struct TestArgs {
    /// Keep the copy (a SQLite file beside the database, or a database on the same
    /// server) and print where it is
    #[arg(long)]
    pub keep: bool,
}

/// Arguments of `lint`.
#[derive(Debug, Args)]
pub struct LintArgs {
    /// The SQL dialect whose rules apply [default: the configured database's]
    #[arg(long, value_enum, value_name = "DIALECT")]
    pub dialect: Option<Dialect>,

    /// Exit with 1 on warnings too
    #[arg(long)]
    pub deny_warnings: bool,
}

/// A SQL dialect, for `lint`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Dialect {
    // Plain comments: clap would print doc comments as a long help list.
    // SQLite.
    Sqlite,
    // PostgreSQL.
    Postgres,
    // MySQL and MariaDB.
    Mysql,
}

/// Arguments of `baseline`.
#[derive(Debug, Args)]
pub struct BaselineArgs {
    /// The last version the database already has
    pub version: u64,
}

/// Arguments of `reset`.
#[derive(Debug, Args)]
pub struct ResetArgs {
    /// Confirm that the migration history may be dropped
    #[arg(long)]
    pub yes: bool,
}

/// Arguments of `import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The tool that wrote SOURCE_DIR
    #[arg(long, value_enum, value_name = "TOOL")]
    pub from: crate::import::Tool,

    /// The tool's migrations folder
    pub source_dir: PathBuf,

    /// Where to write the Terrace migrations [default: the migrations folder]
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,

    /// Replace the .sql files and import-map.toml of a folder that is not empty
    #[arg(long)]
    pub overwrite: bool,

    /// Print what would be written (and recorded) and change nothing
    #[arg(long)]
    pub dry_run: bool,

    /// The tool's tracking table in the database, when it is not the tool's default
    #[arg(long, value_name = "NAME")]
    pub from_table: Option<String>,
}

/// Arguments of `completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to write a completion script for
    pub shell: clap_complete::Shell,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }
}
