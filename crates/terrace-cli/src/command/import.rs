//! `terrace import --from TOOL SOURCE_DIR [--out DIR] [--overwrite] [--dry-run]`:
//! converts another tool's migrations folder into Terrace's, and with `--database`
//! adopts the tool's history there (its table is only read; Terrace's is written by
//! the library's `baseline`).

use crate::cli::{Global, ImportArgs};
use crate::config::Config;
use crate::connect::Access;
use crate::failure::Failure;
use crate::import::source::{ReadContext, refusal, shown};
use crate::import::{Down, adopt, foreign, writer};
use crate::output::{Output, plural};
use serde::Serialize;
use std::path::Path;
use std::process::ExitCode;

#[derive(Serialize)]
struct ImportDoc<'a> {
    from: &'a str,
    source: String,
    out: String,
    dry_run: bool,
    map_file: String,
    migrations: Vec<MigrationDoc<'a>>,
    adopted: Option<AdoptedDoc<'a>>,
}

#[derive(Serialize)]
struct MigrationDoc<'a> {
    version: u64,
    name: &'a str,
    file: &'a str,
    old_id: &'a str,
    source_file: String,
    transactional: bool,
    /// `sql`, `noop` or `none`.
    down: &'static str,
}

#[derive(Serialize)]
struct AdoptedDoc<'a> {
    table: &'a str,
    recorded: Vec<RecordedDoc<'a>>,
}

#[derive(Serialize)]
struct RecordedDoc<'a> {
    version: u64,
    name: &'a str,
}

/// Runs `import`.
pub fn run(
    args: &ImportArgs,
    global: &Global,
    config: &Config,
    out: &Output,
) -> anyhow::Result<ExitCode> {
    let tool = args.from;
    let source_dir = args.source_dir.as_path();
    let out_dir = args.out.as_deref().unwrap_or(&config.dir);
    if !source_dir.is_dir() {
        return Err(Failure::usage(format!(
            "{} is not a folder: name the folder of {}'s migrations",
            source_dir.display(),
            tool.name()
        ))
        .into());
    }
    if same_folder(source_dir, out_dir) {
        return Err(Failure::usage(format!(
            "{} is both the source and the output folder; write the Terrace migrations elsewhere with --out",
            out_dir.display()
        ))
        .into());
    }
    let foreign_table = args.from_table.as_deref().unwrap_or(tool.default_table());
    // Adopting only when asked on the command line: a DATABASE_URL set for the
    // application must not make a conversion write to its database.
    let database = if global.database.is_some() {
        adopt::check_name(foreign_table)?;
        adopt::check_tables(tool, foreign_table, &config.table)?;
        Some(config.location()?)
    } else {
        if args.from_table.is_some() {
            return Err(Failure::usage("--from-table needs --database").into());
        }
        None
    };
    let replaced = writer::check_out(out_dir, args.overwrite)?;

    let mut conn = match &database {
        Some(database) if args.dry_run => {
            crate::banner::announce(config, database, out);
            Some(database.open_read_only(out)?)
        }
        Some(database) => {
            crate::banner::announce(config, database, out);
            Some(database.open(Access::ReadWrite)?)
        }
        None => None,
    };
    let context = ReadContext {
        dialect: conn.as_ref().map(foreign::dialect),
    };
    let sources = tool
        .read(source_dir, &context)
        .map_err(|problems| refusal(tool, source_dir, &problems))?;
    if sources.is_empty() {
        return Err(Failure::refused(format!(
            "{} holds no {} migration",
            source_dir.display(),
            tool.name()
        ))
        .named("import_refused")
        .into());
    }
    let planned = writer::plan(tool, &sources);
    let map = writer::map_text(tool, source_dir, &planned);
    // What the history says, checked before anything is written.
    let adopt_count = match conn.as_mut() {
        Some(conn) => {
            let applied = adopt::read(tool, conn, foreign_table, &sources)?;
            let count = adopt::plan(tool, foreign_table, &sources, &applied)?;
            refuse_history(conn, &config.table)?;
            Some(count)
        }
        None => None,
    };
    if args.dry_run {
        writer::check(out_dir, &planned, &map)?;
    } else {
        writer::write(out_dir, &planned, &map, &replaced)?;
    }

    let mut recorded: Vec<(u64, String)> = Vec::new();
    if let (Some(conn), Some(count)) = (conn.as_mut(), adopt_count) {
        if args.dry_run || count == 0 {
            recorded = planned
                .iter()
                .take(usize::try_from(count).unwrap_or(usize::MAX))
                .map(|p| (p.version, p.name.clone()))
                .collect();
        } else {
            let migrations = terrace::Migrations::from_dir(out_dir)?.with_table(&config.table)?;
            let location = database.as_ref();
            let report = migrations.baseline_with(conn, count, &mut |event| {
                if let Some(location) = location {
                    out.lock_wait(location, event);
                }
            })?;
            recorded = report
                .steps
                .iter()
                .map(|s| (s.version, s.name.clone()))
                .collect();
        }
    }

    let map_path = out_dir.join(writer::MAP_FILE);
    if out.is_json() {
        out.json(&ImportDoc {
            from: tool.name(),
            source: source_dir.display().to_string(),
            out: out_dir.display().to_string(),
            dry_run: args.dry_run,
            map_file: map_path.display().to_string(),
            migrations: planned
                .iter()
                .map(|p| MigrationDoc {
                    version: p.version,
                    name: &p.name,
                    file: &p.file_name,
                    old_id: &p.source.id,
                    source_file: shown(&p.source.file),
                    transactional: p.source.up_transactional,
                    down: match p.source.down {
                        Down::None => "none",
                        Down::Noop => "noop",
                        Down::Sql(_) => "sql",
                    },
                })
                .collect(),
            adopted: adopt_count.map(|_| AdoptedDoc {
                table: foreign_table,
                recorded: recorded
                    .iter()
                    .map(|(version, name)| RecordedDoc {
                        version: *version,
                        name,
                    })
                    .collect(),
            }),
        })?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut text = String::new();
    for p in &planned {
        let mut notes = Vec::new();
        if !p.source.up_transactional {
            notes.push("transaction:false");
        }
        notes.push(match p.source.down {
            Down::None => "no down",
            Down::Noop => "down: noop",
            Down::Sql(_) => "down",
        });
        text.push_str(&format!(
            "{} <- {} ({} {}; {})\n",
            p.file_name,
            shown(&p.source.file),
            tool.name(),
            p.source.id,
            notes.join(", ")
        ));
    }
    let n = planned.len();
    text.push_str(&format!(
        "{} {n} migration{} and {} to {}",
        if args.dry_run { "would write" } else { "wrote" },
        plural(n),
        writer::MAP_FILE,
        out_dir.display()
    ));
    if let Some(count) = adopt_count {
        text.push('\n');
        for (version, name) in &recorded {
            text.push_str(&format!(
                "{} {version} {name} as applied\n",
                if args.dry_run {
                    "would record"
                } else {
                    "recorded"
                }
            ));
        }
        let count = usize::try_from(count).unwrap_or(usize::MAX);
        text.push_str(&format!(
            "{} {}'s history from {foreign_table}: {count} migration{} {} applied without running {}; {foreign_table} is left as it was",
            if args.dry_run { "would adopt" } else { "adopted" },
            tool.name(),
            plural(count),
            if args.dry_run { "to record as" } else { "recorded as" },
            if count == 1 { "it" } else { "them" },
        ));
    }
    out.print(&text)?;
    Ok(ExitCode::SUCCESS)
}

/// Refuses a database whose Terrace history is not empty: adopting writes a whole
/// history, as `baseline` does.
fn refuse_history(conn: &mut terrace::Connection, table: &str) -> anyhow::Result<()> {
    let rows = terrace::Migrations::from_vec(Vec::new())
        .with_table(table)?
        .status(conn)?
        .applied
        .len();
    if rows == 0 {
        return Ok(());
    }
    Err(Failure::refused(format!(
        "Terrace's table {table} already holds {rows} migration{}; import adopts a history only into an empty one",
        plural(rows)
    ))
    .named("history_not_empty")
    .hint("import into a database Terrace has not migrated yet, or name another table with --table")
    .into())
}

/// Whether two paths name the same existing folder.
fn same_folder(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}
