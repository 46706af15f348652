//! `terrace migrate [--to V] [--dry-run]` (alias `up`): applies pending migrations,
//! printing a line as each finishes, or — as a dry run — prints what would run with its
//! SQL and changes nothing (the database is opened read-only; a SQLite file that does not
//! exist yet is shown as the empty database it would be, and is not created).
//! `--allow-newer` lets it run beside applied migrations newer than every file of the
//! folder (a rolling deploy), naming them in a warning. With `--lint` (or `lint = true`
//! in `terrace.toml`) the pending migrations are linted first, on a read-only
//! connection, and an error finding stops the run before anything changes.

use crate::cli::MigrateArgs;
use crate::config::Config;
use crate::connect::Access;
use crate::output::Output;
use std::process::ExitCode;
use terrace::Target;

/// Runs `migrate`.
pub fn run(args: &MigrateArgs, config: &Config, out: &Output) -> anyhow::Result<ExitCode> {
    let database = config.location()?;
    let mut migrations = config.migrations_allowing(&args.newer)?;
    crate::banner::announce(config, &database, out);
    out.warn(migrations.warnings());
    let target = args.to.map_or(Target::Latest, Target::Version);
    if args.dry_run {
        let mut conn = database.open_read_only(out)?;
        let plan = migrations.plan(&mut conn, target)?;
        out.plan(&plan)?;
        return Ok(ExitCode::SUCCESS);
    }
    // Broken migrations stop the run before anything changes: not even a new SQLite
    // file is created for them.
    let problems = migrations.source_problems();
    if !problems.is_empty() && database.is_missing_file() {
        return Err(terrace::Error::Invalid { problems }.into());
    }
    if (config.lint || args.lint) && !args.no_lint {
        use crate::command::lint::{Pending, before_migrate};
        // A SQLite file not created yet has every migration (up to --to) pending.
        let pending = if database.is_missing_file() {
            Pending::UpTo(args.to)
        } else {
            let mut conn = database.open_read_only(out)?;
            let plan = migrations.plan(&mut conn, target)?;
            Pending::Versions(
                plan.steps()
                    .iter()
                    .map(|s| s.migration().version())
                    .collect(),
            )
        };
        before_migrate(config, database.url().scheme(), &pending, out)?;
    }
    let creating = database.is_missing_file();
    let mut conn = database.open(Access::Create)?;
    if creating && !database.is_missing_file() {
        crate::banner::created(&database, out);
    }
    let _keeper = database.keep_lease(&mut migrations);
    let report = migrations.run_with(&mut conn, target, &mut |event| {
        out.lock_wait(&database, event);
        out.progress(event);
    })?;
    out.warn(&report.warnings);
    out.report(&report, args.to)?;
    Ok(ExitCode::SUCCESS)
}
