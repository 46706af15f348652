//! `bench split`: how fast Terrace splits a section into statements, at 1, 10 and
//! 100 MB of mixed statements, in each dialect; and, for scale, how long SQLite takes
//! to run the same text on an in-memory database, statement by statement after the
//! split as Terrace runs it, and through the `sqlite3` shell (its parsing and the work
//! the statements do).
//!
//! Splitting must be linear: the MB/s should hold as the size grows tenfold.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use terrace_format::{Dialect, split_statements};

pub struct Options {
    /// Section sizes, in MB (10^6 bytes).
    pub sizes: Vec<usize>,
    /// Timed splits per size and dialect; the median is reported.
    pub rounds: usize,
    /// Whether to time SQLite running each section too.
    pub sqlite: bool,
}

impl Options {
    pub fn parse(args: &[String]) -> Result<Options, String> {
        let mut options = Options {
            sizes: vec![1, 10, 100],
            rounds: 5,
            sqlite: true,
        };
        let mut args = args.iter();
        while let Some(flag) = args.next() {
            let mut value = || {
                args.next()
                    .cloned()
                    .ok_or_else(|| format!("{flag} needs a value"))
            };
            let number = |v: &str| {
                v.parse::<usize>()
                    .ok()
                    .filter(|&n| n > 0)
                    .ok_or_else(|| format!("{flag}: not a positive number: {v}"))
            };
            match flag.as_str() {
                "--mb" => {
                    options.sizes = value()?.split(',').map(number).collect::<Result<_, _>>()?;
                }
                "--rounds" => options.rounds = number(&value()?)?,
                "--no-sqlite" => options.sqlite = false,
                other => return Err(format!("unknown option {other}")),
            }
        }
        Ok(options)
    }
}

const DIALECTS: [(Dialect, &str); 3] = [
    (Dialect::Sqlite, "SQLite"),
    (Dialect::Postgres, "PostgreSQL"),
    (Dialect::Mysql, "MySQL"),
];

/// A section of at least `bytes` bytes that SQLite runs: one table, then groups of
/// inserts with `;` and quotes in their strings, an update with `CASE … END`, comments
/// holding `;`, and a trigger with a `BEGIN … END` body that is created and dropped.
/// Returns the text and its number of statements.
pub fn section(bytes: usize) -> (String, usize) {
    use std::fmt::Write as _;
    let mut sql = String::with_capacity(bytes + 1024);
    sql.push_str("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL, \"end\" INT);\n");
    let mut statements = 1;
    let mut group = 0usize;
    while sql.len() < bytes {
        let (a, b) = (2 * group, 2 * group + 1);
        // Writing to a String cannot fail.
        let _ = write!(
            sql,
            "-- group {group}: two rows; an update\n\
             INSERT INTO t (id, v, \"end\") VALUES ({a}, 'row {a}; it''s', {a});\n\
             INSERT INTO t (id, v, \"end\") VALUES ({b}, 'row {b} -- not a comment', {b});\n\
             /* even rows; marked */ UPDATE t SET v = CASE WHEN id % 2 = 0 THEN 'even;' ELSE v END WHERE id = {a};\n\
             CREATE TRIGGER t_{group} AFTER UPDATE ON t FOR EACH ROW BEGIN\n  \
               UPDATE t SET \"end\" = NEW.\"end\" + 1 WHERE id = NEW.id AND 0;\n  \
               SELECT CASE WHEN NEW.id > 0 THEN 1 ELSE 0 END;\n\
             END;\n\
             DROP TRIGGER t_{group};\n"
        );
        statements += 5;
        group += 1;
    }
    (sql, statements)
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn mb_per_s(bytes: usize, time: Duration) -> f64 {
    bytes as f64 / 1e6 / time.as_secs_f64()
}

pub fn run(options: Options) -> ExitCode {
    println!(
        "Splitting a section into statements: median of {} rounds, MB/s (1 MB = 10^6 bytes)\n",
        options.rounds
    );
    let mut header = String::from("| size | statements |");
    let mut rule = String::from("|---:|---:|");
    for (_, name) in DIALECTS {
        header.push_str(&format!(" {name} |"));
        rule.push_str("---:|");
    }
    if options.sqlite {
        header.push_str(" split + SQLite runs each | `sqlite3` shell runs it |");
        rule.push_str("---:|---:|");
    }
    println!("{header}\n{rule}");
    for &mb in &options.sizes {
        let (sql, statements) = section(mb * 1_000_000);
        let mut row = format!("| {mb} MB | {statements} |");
        for (dialect, name) in DIALECTS {
            let mut times = Vec::with_capacity(options.rounds);
            for _ in 0..options.rounds {
                let start = Instant::now();
                let found = split_statements(&sql, dialect).len();
                times.push(start.elapsed());
                // The section's triggers are SQLite's and MySQL's `BEGIN … END`
                // bodies; PostgreSQL has none, and psql splits inside them too.
                if found != statements && dialect != Dialect::Postgres {
                    eprintln!("bench split: {name} found {found} statements, not {statements}");
                    return ExitCode::FAILURE;
                }
            }
            let time = median(times);
            row.push_str(&format!(
                " {:.0} MB/s ({:.3} s) |",
                mb_per_s(sql.len(), time),
                time.as_secs_f64()
            ));
        }
        if options.sqlite {
            let times = run_in_sqlite(&sql)
                .map_err(|e| format!("sqlite: {e}"))
                .and_then(|ours| Ok((ours, run_in_sqlite3_shell(&sql)?)));
            match times {
                Ok((ours, shell)) => {
                    row.push_str(&format!(
                        " {:.1} MB/s ({:.2} s) |",
                        mb_per_s(sql.len(), ours),
                        ours.as_secs_f64()
                    ));
                    match shell {
                        Some(shell) => row.push_str(&format!(
                            " {:.1} MB/s ({:.2} s) |",
                            mb_per_s(sql.len(), shell),
                            shell.as_secs_f64()
                        )),
                        None => row.push_str(" no `sqlite3` on the PATH |"),
                    }
                }
                Err(e) => {
                    eprintln!("bench split: {e}");
                    return ExitCode::FAILURE;
                }
            }
        }
        println!("{row}");
    }
    ExitCode::SUCCESS
}

/// How long Terrace's way takes: split `sql`, then have SQLite run each statement on a
/// new in-memory database, in one transaction.
fn run_in_sqlite(sql: &str) -> rusqlite::Result<Duration> {
    let conn = rusqlite::Connection::open_in_memory()?;
    let start = Instant::now();
    conn.execute_batch("BEGIN")?;
    for statement in split_statements(sql, Dialect::Sqlite) {
        conn.execute_batch(statement.text)?;
    }
    conn.execute_batch("COMMIT")?;
    Ok(start.elapsed())
}

/// How long the `sqlite3` shell takes to run `sql` from its standard input on an
/// in-memory database, start-up included; `None` when there is no `sqlite3` on the
/// `PATH`.
fn run_in_sqlite3_shell(sql: &str) -> Result<Option<Duration>, String> {
    use std::io::Write as _;
    use std::process::{Command, Stdio};
    let path = crate::bench_dir().join("target/split-section.sql");
    let mut file = std::fs::File::create(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    file.write_all(b"BEGIN;\n")
        .and_then(|()| file.write_all(sql.as_bytes()))
        .and_then(|()| file.write_all(b"\nCOMMIT;\n"))
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let input = std::fs::File::open(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let start = Instant::now();
    let status = match Command::new("sqlite3")
        .args(["-bail", ":memory:"])
        .stdin(input)
        .stdout(Stdio::null())
        .status()
    {
        Ok(status) => status,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("sqlite3: {e}")),
    };
    let time = start.elapsed();
    let _ = std::fs::remove_file(&path);
    if !status.success() {
        return Err(format!("sqlite3 failed on the section: {status}"));
    }
    Ok(Some(time))
}
