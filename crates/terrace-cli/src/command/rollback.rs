//! `terrace rollback [--steps N | --to V] [--dry-run]` (alias `down`): runs down
//! sections, newest first; one migration unless told otherwise. The library refuses
//! before changing anything if a migration in range has no down section, or while the
//! database holds applied migrations newer than every file of the folder (a newer
//! build's: only it can undo them, and a rollback starts with the newest). Where
//! `terrace.toml` says `protected = true` only `--dry-run` runs.

use crate::cli::RollbackArgs;
use crate::config::Config;
use crate::connect::Access;
use crate::output::Output;
use std::process::ExitCode;
use terrace::Target;

/// Runs `rollback`.
pub fn run(args: &RollbackArgs, config: &Config, out: &Output) -> anyhow::Result<ExitCode> {
    if !args.dry_run {
        config.refuse_if_protected("roll back")?;
    }
    let database = config.location()?;
    let mut migrations = config.migrations()?;
    crate::banner::announce(config, &database, out);
    out.warn(migrations.warnings());
    let target = match (args.to, args.steps) {
        (Some(keep), _) => Target::Version(keep),
        (None, steps) => Target::Steps(steps.unwrap_or(1)),
    };
    if args.dry_run {
        let mut conn = database.open_read_only(out)?;
        let plan = migrations.plan_rollback(&mut conn, target)?;
        out.plan(&plan)?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut conn = database.open(Access::ReadWrite)?;
    let _keeper = database.keep_lease(&mut migrations);
    let report = migrations.rollback_with(&mut conn, target, &mut |event| {
        out.lock_wait(&database, event);
        out.progress(event);
    })?;
    out.report(&report, None)?;
    Ok(ExitCode::SUCCESS)
}
