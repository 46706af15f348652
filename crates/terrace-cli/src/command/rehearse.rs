//! `terrace test [--keep]`: rehearses the pending migrations on a copy of the
//! database, never on the original. The copy (`copy.rs`) is made with SQLite's online
//! backup API, on PostgreSQL as a database with the original as its template (else
//! table by table, `table_copy.rs`), on MySQL as a database with a copy of each table,
//! view, trigger and routine; on it, each pending migration in order is applied,
//! rolled back and applied again, the schema read from the catalog (`crate::schema`)
//! before and after each step and compared, and an up marked `idempotent` is run a
//! second time; the rows each up changed are counted where the database counts them
//! (`changes.rs`). The copy is deleted afterwards unless `--keep`.

use crate::cli::TestArgs;
use crate::command::schema::read;
use crate::config::Config;
use crate::connect::Access;
use crate::output::{Output, Style, human_duration, millis, plural};
use crate::schema::diff::{self, Difference};
use crate::schema::model::Schema;
use copy::Scratch;
use serde::Serialize;

mod changes;
mod copy;
#[cfg(any(feature = "postgres", feature = "mysql"))]
mod table_copy;
use std::process::ExitCode;
use std::time::{Duration, Instant};
use terrace::format::{Dialect, parse_sections, split_statements};
use terrace::{Body, ConnectOptions, Connection, Migration, Target};

/// One check made on one migration, and what it found.
#[derive(Debug, Serialize)]
struct Check {
    /// `up`, `down restores the schema`, `up again`, `idempotent up`, …
    check: &'static str,
    passed: bool,
    /// What went wrong: the error (with its statement) or the schema differences.
    #[serde(skip_serializing_if = "Option::is_none")]
    failure: Option<String>,
}

/// Everything found about one migration.
#[derive(Debug, Serialize)]
struct Rehearsal {
    version: u64,
    name: String,
    /// How long its first up ran, in milliseconds.
    up_ms: u64,
    /// The rows its first up inserted, updated and deleted, where the database
    /// counts them (`changes.rs`); `null` where unknown.
    rows_changed: Option<u64>,
    /// Why a check was left out (`irreversible: down not rehearsed`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    notes: Vec<&'static str>,
    checks: Vec<Check>,
}

impl Rehearsal {
    fn passed(&self) -> bool {
        self.checks.iter().all(|c| c.passed)
    }

    fn pass(&mut self, check: &'static str) {
        self.checks.push(Check {
            check,
            passed: true,
            failure: None,
        });
    }

    fn fail(&mut self, check: &'static str, failure: String) {
        self.checks.push(Check {
            check,
            passed: false,
            failure: Some(failure),
        });
    }

    /// Records whether `now` equals `expected`, the check failing with the differences.
    fn compare(&mut self, check: &'static str, now: &Schema, expected: &Schema) {
        let differences = diff::diff(now, expected);
        if differences.is_empty() {
            self.pass(check);
        } else {
            self.fail(check, describe(&differences));
        }
    }
}

#[derive(Serialize)]
struct TestDoc<'a> {
    passed: bool,
    /// How the copy was made: `backup`, `template` or `tables`.
    copied: &'static str,
    /// Pending migrations after one that failed to run, so not rehearsed.
    not_rehearsed: usize,
    /// The copy left for inspection (`--keep`).
    #[serde(skip_serializing_if = "Option::is_none")]
    copy: Option<String>,
    migrations: &'a [Rehearsal],
}

/// Runs `test`.
pub fn run(args: &TestArgs, config: &Config, out: &Output) -> anyhow::Result<ExitCode> {
    let database = config.location()?;
    let mut migrations = config.migrations()?;
    // On MySQL the copy is this command's alone and no pooler stands in front of it:
    // the session lock, whatever the setting, so that no lease row is written there
    // and counted among the rows a migration changed. (PostgreSQL keeps the setting,
    // which a pooler may need; its counts leave the lease table out.)
    if database.url().scheme() == terrace::Scheme::Mysql {
        migrations = migrations.with_lock(terrace::LockMode::Session);
    }
    crate::banner::announce(config, &database, out);
    out.warn(migrations.warnings());
    let table = migrations.table().as_str().to_owned();
    let copy = Scratch::make(&database, &table, args.keep)?;
    let mut conn = Connection::open(
        copy.url(),
        &ConnectOptions {
            wait: Duration::ZERO,
            access: Access::ReadWrite,
        },
    )?;
    let status = migrations.status(&mut conn)?;
    let mut previous = status
        .applied
        .iter()
        .map(|a| a.row.version)
        .max()
        .unwrap_or(0);
    let mut rehearsals = Vec::new();
    for pending in &status.pending {
        let Some(migration) = migrations
            .list()
            .iter()
            .find(|m| m.version() == pending.version)
        else {
            continue;
        };
        let (rehearsal, go_on) = rehearse(&migrations, &mut conn, &table, migration, previous)?;
        rehearsals.push(rehearsal);
        if !go_on {
            break;
        }
        previous = migration.version();
    }
    drop(conn);
    let kept = args.keep.then(|| copy.to_string());
    let how = copy.how().clone();
    copy.remove()?;
    let not_rehearsed = status.pending.len() - rehearsals.len();
    let passed = rehearsals.iter().all(Rehearsal::passed);
    if out.is_json() {
        out.json(&TestDoc {
            passed,
            copied: how.name(),
            not_rehearsed,
            copy: kept,
            migrations: &rehearsals,
        })?;
    } else {
        print(out, &rehearsals, not_rehearsed, &how, kept)?;
    }
    Ok(if passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Applies, rolls back and applies again one migration on the copy, whose newest
/// applied version is `previous`. Also says whether the copy is in a state to go on
/// with the next migration (this one applied).
fn rehearse(
    migrations: &terrace::Migrations,
    conn: &mut Connection,
    table: &str,
    migration: &Migration,
    previous: u64,
) -> anyhow::Result<(Rehearsal, bool)> {
    let version = migration.version();
    let mut rehearsal = Rehearsal {
        version,
        name: migration.name().to_owned(),
        up_ms: 0,
        rows_changed: None,
        notes: Vec::new(),
        checks: Vec::new(),
    };
    let before = read(conn, table)?;
    let counted = changes::read(conn, table);
    let started = Instant::now();
    if let Err(e) = migrations.run_to(conn, Target::Version(version)) {
        rehearsal.fail("up", terrace::error_line(&e));
        return Ok((rehearsal, false));
    }
    rehearsal.up_ms = millis(started.elapsed());
    rehearsal.rows_changed = counted
        .zip(changes::read(conn, table))
        .and_then(|(was, now)| changes::between(&was, &now, history_writes(conn, migration)));
    rehearsal.pass("up");
    let after = read(conn, table)?;
    match migration.down() {
        None => rehearsal.notes.push("irreversible: down not rehearsed"),
        // Leaving the up's changes is what a no-op down declares: the schema cannot
        // come back, and the up cannot run again on top of it.
        Some(Body::Noop) => rehearsal.notes.push("down is a no-op: down not rehearsed"),
        Some(_) => {
            if let Err(e) = migrations.rollback(conn, Target::Version(previous)) {
                rehearsal.fail("down", terrace::error_line(&e));
                return Ok((rehearsal, false));
            }
            rehearsal.pass("down");
            rehearsal.compare("down restores the schema", &read(conn, table)?, &before);
            if let Err(e) = migrations.run_to(conn, Target::Version(version)) {
                rehearsal.fail("up again", terrace::error_line(&e));
                return Ok((rehearsal, false));
            }
            rehearsal.pass("up again");
            rehearsal.compare(
                "up again gives the same schema",
                &read(conn, table)?,
                &after,
            );
        }
    }
    if let Some(sql) = idempotent_up(migration) {
        match run_again(conn, &sql) {
            Ok(()) => {
                rehearsal.pass("idempotent up runs twice");
                rehearsal.compare(
                    "idempotent up leaves the schema",
                    &read(conn, table)?,
                    &after,
                );
            }
            Err(failure) => rehearsal.fail("idempotent up runs twice", failure),
        }
    }
    Ok((rehearsal, true))
}

/// The tracking table's rows a run writes for one up: its row, and first a row
/// marking it started where it runs outside a transaction (always on MySQL, whose DDL
/// is not transactional).
fn history_writes(conn: &Connection, migration: &Migration) -> u64 {
    let transactional =
        crate::import::foreign::dialect(conn) != Dialect::Mysql && migration.is_transactional();
    if transactional { 1 } else { 2 }
}

/// The up SQL of a migration whose file marks it `-- migrate:up idempotent`.
fn idempotent_up(migration: &Migration) -> Option<String> {
    let Body::Sql(sql) = migration.up() else {
        return None;
    };
    let text = std::fs::read_to_string(migration.path()?).ok()?;
    parse_sections(&text)
        .ok()
        .filter(|sections| sections.idempotent)
        .map(|_| sql.to_string())
}

/// Runs an up's statements again, outside the tracking table; the error names the
/// statement that failed.
fn run_again(conn: &mut Connection, sql: &str) -> Result<(), String> {
    let dialect = match conn {
        Connection::Sqlite(_) => Dialect::Sqlite,
        #[cfg(feature = "mysql")]
        Connection::Mysql(_) => Dialect::Mysql,
        #[allow(unreachable_patterns, reason = "depends on the backends compiled in")]
        _ => Dialect::Postgres,
    };
    for statement in split_statements(sql, dialect) {
        let result: Result<(), Box<dyn std::error::Error>> = match conn {
            Connection::Sqlite(conn) => conn.execute_batch(statement.text).map_err(Into::into),
            #[cfg(feature = "postgres")]
            Connection::Postgres(client) => {
                client.batch_execute(statement.text).map_err(Into::into)
            }
            #[cfg(feature = "mysql")]
            Connection::Mysql(conn) => {
                mysql::prelude::Queryable::query_drop(conn, statement.text).map_err(Into::into)
            }
            #[allow(unreachable_patterns, reason = "depends on the backends compiled in")]
            _ => Err("this backend's copies are not rehearsed".into()),
        };
        result.map_err(|e| {
            format!(
                "line {} of the up section: {}: {e}",
                statement.line,
                statement.first_line()
            )
        })?;
    }
    Ok(())
}

/// The text output: a line per migration, a line per failed check, a summary.
fn print(
    out: &Output,
    rehearsals: &[Rehearsal],
    not_rehearsed: usize,
    how: &copy::How,
    kept: Option<String>,
) -> anyhow::Result<()> {
    if let copy::How::Tables {
        instead_of_template: Some(why),
    } = how
    {
        out.note(&format!(
            "copied table by table: the database cannot be a template ({why})"
        ));
    }
    if rehearsals.is_empty() {
        out.print("nothing to rehearse: no pending migration")?;
    }
    for rehearsal in rehearsals {
        let verdict = if rehearsal.passed() {
            out.paint(Style::Good, "ok    ")
        } else {
            out.paint(Style::Bad, "FAILED")
        };
        let passed = rehearsal.checks.iter().filter(|c| c.passed).count();
        let rows = rehearsal
            .rows_changed
            .map(|n| {
                format!(
                    ", {n} row{} changed",
                    plural(usize::try_from(n).unwrap_or(2))
                )
            })
            .unwrap_or_default();
        out.print_result(&format!(
            "{verdict} {} {}  {} check{} passed, up {}{rows}",
            rehearsal.version,
            rehearsal.name,
            passed,
            plural(passed),
            human_duration(Duration::from_millis(rehearsal.up_ms))
        ))?;
        for note in &rehearsal.notes {
            out.print_result(&format!("       {}", out.paint(Style::Warn, note)))?;
        }
        for check in &rehearsal.checks {
            if let Some(failure) = &check.failure {
                out.print_result(&format!(
                    "       {}: {failure}",
                    out.paint(Style::Bad, check.check)
                ))?;
            }
        }
    }
    if not_rehearsed > 0 {
        out.print_result(&format!(
            "{not_rehearsed} later migration{} not rehearsed: the copy cannot go on after the one above",
            plural(not_rehearsed)
        ))?;
    }
    let failed = rehearsals.iter().filter(|r| !r.passed()).count();
    if failed > 0 {
        out.print_result(&format!(
            "{failed} of {} migration{} failed the rehearsal; the database was not touched",
            rehearsals.len(),
            plural(rehearsals.len())
        ))?;
    } else if !rehearsals.is_empty() {
        out.print(&format!(
            "{} migration{} rehearsed on a copy ({}); the database was not touched",
            rehearsals.len(),
            plural(rehearsals.len()),
            how.describe()
        ))?;
    }
    if let Some(path) = kept {
        out.note(&format!("the copy is kept at {path}"));
    }
    Ok(())
}

/// Schema differences in one line: `table t: only after the down; …`.
fn describe(differences: &[Difference]) -> String {
    let parts: Vec<String> = differences
        .iter()
        .map(|d| {
            let how = match d.change {
                "extra" => "left over".to_owned(),
                "missing" => "missing".to_owned(),
                _ => d
                    .details
                    .iter()
                    .map(|detail| format!("{} differs", detail.attribute))
                    .collect::<Vec<_>>()
                    .join(", "),
            };
            format!("{} {} {how}", d.kind, d.name)
        })
        .collect();
    parts.join("; ")
}
