//! `bench measure`: spawns every measurement as its own process, interleaved by round,
//! and collects the numbers the report turns into tables.

use crate::harness;
use crate::report;
use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::{self, Read as _};
use std::os::unix::process::ExitStatusExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, ExitStatus, Stdio};
use std::time::Instant;

/// The parts of a run.
pub const PARTS: [&str; 6] = ["info", "apply", "noop", "cli", "fsync", "features"];

pub struct Options {
    pub rounds: usize,
    pub big_rounds: usize,
    pub sizes: Vec<usize>,
    pub calls: usize,
    pub only: BTreeSet<String>,
    pub out: PathBuf,
    pub tmp: PathBuf,
    pub terrace_cli: PathBuf,
    pub tools: PathBuf,
    /// Where `bench/run` put the CLI built with each feature set (and its `list`).
    pub feature_builds: PathBuf,
    /// Rounds of the `features` part (start-up differences are small: many rounds).
    pub feature_rounds: usize,
}

impl Options {
    pub fn parse(args: &[String]) -> Result<Options, String> {
        let bench = crate::bench_dir();
        let mut options = Options {
            rounds: 7,
            big_rounds: 3,
            sizes: harness::SIZES.to_vec(),
            calls: 20,
            only: PARTS.iter().map(|p| p.to_string()).collect(),
            out: bench.join("results/latest.md"),
            tmp: bench.join("target/runs"),
            terrace_cli: bench.join("../target/release/terrace"),
            tools: bench.join("tools/bin"),
            feature_builds: bench.join("target/cli-features"),
            feature_rounds: 31,
        };
        let mut args = args.iter();
        while let Some(flag) = args.next() {
            let mut value = || {
                args.next()
                    .cloned()
                    .ok_or_else(|| format!("{flag} needs a value"))
            };
            let number = |v: String| {
                v.parse::<usize>()
                    .map_err(|_| format!("{flag}: not a number: {v}"))
            };
            match flag.as_str() {
                "--rounds" => options.rounds = number(value()?)?,
                "--big-rounds" => options.big_rounds = number(value()?)?,
                "--calls" => options.calls = number(value()?)?,
                "--n" => {
                    options.sizes = value()?
                        .split(',')
                        .map(|n| {
                            let n = n.trim().replace('_', "");
                            match n.parse::<usize>() {
                                Ok(n) if harness::SIZES.contains(&n) => Ok(n),
                                _ => Err(format!("--n: {n} is not one of {:?}", harness::SIZES)),
                            }
                        })
                        .collect::<Result<_, _>>()?;
                    options.sizes.sort_unstable();
                    options.sizes.dedup();
                }
                "--only" => {
                    options.only = value()?.split(',').map(|p| p.trim().to_owned()).collect();
                    if let Some(bad) = options.only.iter().find(|p| !PARTS.contains(&p.as_str())) {
                        return Err(format!("--only: unknown part {bad} (parts: {PARTS:?})"));
                    }
                }
                "--out" => options.out = value()?.into(),
                "--tmp" => options.tmp = value()?.into(),
                "--terrace-cli" => options.terrace_cli = value()?.into(),
                "--tools" => options.tools = value()?.into(),
                "--feature-builds" => options.feature_builds = value()?.into(),
                "--feature-rounds" => options.feature_rounds = number(value()?)?,
                _ => return Err(format!("unknown option {flag}")),
            }
        }
        if options.rounds == 0 || options.big_rounds == 0 || options.feature_rounds == 0 {
            return Err("rounds must be at least 1".into());
        }
        Ok(options)
    }

    pub fn rounds_for(&self, n: usize) -> usize {
        if n >= 10_000 {
            self.big_rounds
        } else {
            self.rounds
        }
    }

    fn wants(&self, part: &str) -> bool {
        self.only.contains(part)
    }
}

/// One program measured in the apply and no-op workloads.
pub struct Contender {
    pub name: &'static str,
    pub bin: PathBuf,
    pub variant: Option<&'static str>,
    /// Measured in the no-op workload too.
    pub noop: bool,
    /// What it does about transactions, from its source and documentation (checked
    /// against the fsync counts of the `fsync` part).
    pub transactions: &'static str,
    /// The crates whose versions the report lists for it.
    pub crates: &'static [&'static str],
    /// The Cargo.lock that pins them.
    pub lock: PathBuf,
}

impl Contender {
    fn command(&self, workload: &str, n: usize, db: &Path) -> Command {
        let mut command = Command::new(&self.bin);
        if let Some(variant) = self.variant {
            command.arg(format!("--{variant}"));
        }
        command.arg(workload).arg(n.to_string()).arg(db);
        command
    }
}

pub fn contenders() -> Vec<Contender> {
    let bench = crate::bench_dir();
    let own = bench.join("target/release");
    let sync = bench.join("peers/sync/target/release");
    let sqlx = bench.join("peers/sqlx/target/release");
    let own_lock = bench.join("Cargo.lock");
    let sync_lock = bench.join("peers/sync/Cargo.lock");
    let sqlx_lock = bench.join("peers/sqlx/Cargo.lock");
    let c = |name, bin: PathBuf, variant, noop, transactions, crates, lock: &PathBuf| Contender {
        name,
        bin,
        variant,
        noop,
        transactions,
        crates,
        lock: lock.clone(),
    };
    vec![
        c(
            "floor",
            own.join("bench-floor"),
            None,
            true,
            "one per migration (SQL + history row)",
            &["rusqlite", "libsqlite3-sys"],
            &own_lock,
        ),
        c(
            "floor_run",
            own.join("bench-floor"),
            Some("run"),
            false,
            "one per run, SAVEPOINT per migration",
            &["rusqlite", "libsqlite3-sys"],
            &own_lock,
        ),
        c(
            "terrace",
            own.join("bench-terrace"),
            None,
            true,
            "per-run (SQLite default): one per run, savepoint per migration",
            &["terrace", "rusqlite", "libsqlite3-sys"],
            &own_lock,
        ),
        c(
            "terrace_per_migration",
            own.join("bench-terrace"),
            Some("per-migration"),
            false,
            "TransactionMode::PerMigration: one per migration",
            &["terrace", "rusqlite", "libsqlite3-sys"],
            &own_lock,
        ),
        c(
            "rusqlite_migration",
            sync.join("bench-rusqlite_migration"),
            None,
            true,
            "one for all pending; state in PRAGMA user_version, no history rows, no checksums",
            &["rusqlite_migration", "rusqlite", "libsqlite3-sys"],
            &sync_lock,
        ),
        c(
            "refinery",
            sync.join("bench-refinery"),
            None,
            true,
            "one per migration (default, not grouped)",
            &["refinery", "refinery-core", "rusqlite", "libsqlite3-sys"],
            &sync_lock,
        ),
        c(
            "sqlx",
            sqlx.join("bench-sqlx"),
            None,
            true,
            "one per migration",
            &["sqlx", "sqlx-sqlite", "tokio", "libsqlite3-sys"],
            &sqlx_lock,
        ),
        c(
            "terrace_sqlx",
            sqlx.join("bench-terrace-sqlx"),
            None,
            true,
            "per-run (SQLite default), through the sqlx-sqlite adapter on sqlx's connection",
            &["terrace", "sqlx", "sqlx-sqlite", "tokio", "libsqlite3-sys"],
            &sqlx_lock,
        ),
        c(
            "diesel_migrations",
            sync.join("bench-diesel"),
            None,
            true,
            "one per migration (run_in_transaction default); no checksums",
            &["diesel", "diesel_migrations", "libsqlite3-sys"],
            &sync_lock,
        ),
        c(
            "terrace@peers-sqlite",
            sync.join("bench-terrace"),
            None,
            true,
            "the `terrace` program built on the peers' rusqlite/SQLite, for a comparison on one SQLite build",
            &["terrace", "rusqlite", "libsqlite3-sys"],
            &sync_lock,
        ),
        c(
            "floor@peers-sqlite",
            sync.join("bench-floor"),
            None,
            true,
            "control: `floor` built on the peers' rusqlite/SQLite",
            &["rusqlite", "libsqlite3-sys"],
            &sync_lock,
        ),
        c(
            "floor_run@peers-sqlite",
            sync.join("bench-floor"),
            Some("run"),
            false,
            "control: `floor_run` built on the peers' rusqlite/SQLite",
            &["rusqlite", "libsqlite3-sys"],
            &sync_lock,
        ),
    ]
}

/// What a child process did.
pub struct Outcome {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
    pub wall_ms: f64,
    pub max_rss_kib: i64,
    /// Minor page faults of the child.
    pub minor_faults: i64,
    /// CPU time of the child, user and system, in ms.
    pub cpu_ms: f64,
}

impl Outcome {
    pub fn ok(&self) -> bool {
        self.status.success()
    }

    pub fn describe_failure(&self) -> String {
        let tail: String = self
            .stderr
            .trim()
            .lines()
            .rev()
            .take(3)
            .collect::<Vec<_>>()
            .join(" / ");
        format!("{} ({tail})", self.status)
    }
}

/// Runs a command to its end, measuring its wall time (spawn to reaped) and its peak
/// resident set size (`wait4`'s rusage of that child alone).
pub fn execute(command: &mut Command, capture_stdout: bool) -> io::Result<Outcome> {
    command.stdin(Stdio::null()).stderr(Stdio::piped());
    command.stdout(if capture_stdout {
        Stdio::piped()
    } else {
        Stdio::null()
    });
    let start = Instant::now();
    let mut child = command.spawn()?;
    let mut stdout = String::new();
    let mut stderr = String::new();
    if let Some(mut out) = child.stdout.take() {
        out.read_to_string(&mut stdout)?;
    }
    if let Some(mut err) = child.stderr.take() {
        err.read_to_string(&mut stderr)?;
    }
    let pid = child.id() as libc::pid_t;
    let mut raw_status: libc::c_int = 0;
    // SAFETY: a zeroed rusage is a valid value for wait4 to fill in.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: `pid` is our own unreaped child; the pointers are to live locals.
        let r = unsafe { libc::wait4(pid, &mut raw_status, 0, &mut usage) };
        if r == pid {
            break;
        }
        let error = io::Error::last_os_error();
        if error.kind() != io::ErrorKind::Interrupted {
            return Err(error);
        }
    }
    let wall_ms = start.elapsed().as_secs_f64() * 1e3;
    Ok(Outcome {
        status: ExitStatus::from_raw(raw_status),
        stdout,
        stderr,
        wall_ms,
        max_rss_kib: usage.ru_maxrss,
        minor_faults: usage.ru_minflt,
        cpu_ms: (usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) as f64 * 1e3
            + (usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) as f64 / 1e3,
    })
}

/// One apply measurement.
#[derive(Clone, Copy)]
pub struct ApplySample {
    pub ms: f64,
    pub max_rss_kib: i64,
}

/// One no-op process: its first call and the median of its warm calls.
#[derive(Clone, Copy)]
pub struct NoopSample {
    pub cold_ms: f64,
    pub warm_ms: f64,
}

/// A CLI row: what it runs.
pub struct Cli {
    pub name: &'static str,
    pub program: PathBuf,
    /// Arguments; `{db}` and `{dir}` are replaced.
    pub args: Vec<String>,
    /// Whose database (and folder) it reads.
    pub tool: &'static str,
    pub env: Vec<(String, String)>,
    pub note: &'static str,
}

/// The terrace CLI built with one feature set, and its start-up measurements.
pub struct FeatureBuild {
    /// Its name in `bench/run`'s list (`sqlite`, `postgres`, …).
    pub name: String,
    /// What `--features` got after `--no-default-features` (empty: SQLite only).
    pub features: String,
    /// The binary's size in bytes.
    pub size: u64,
    /// `terrace --version` per round: wall time (ms), minor page faults, CPU time
    /// (ms).
    pub version: Vec<Option<(f64, f64, f64)>>,
    /// `terrace status` on 1,000 applied, per round: wall time (ms).
    pub status: Vec<Option<f64>>,
}

/// Everything measured.
#[derive(Default)]
pub struct Results {
    /// (n, contender) → one entry per round (None: that process failed).
    pub apply: BTreeMap<(usize, String), Vec<Option<ApplySample>>>,
    pub noop: BTreeMap<(usize, String), Vec<Option<NoopSample>>>,
    pub cli: BTreeMap<String, Vec<Option<f64>>>,
    pub cli_rows: Vec<(String, String)>,
    /// The CLI built with each feature set, in the order of `bench/run`'s list.
    pub features: Vec<FeatureBuild>,
    /// contender → (fsyncs per migration applying N = 100, fsyncs per no-op call)
    pub fsync: BTreeMap<String, (Option<f64>, Option<f64>)>,
    /// contender → `sqlite=… journal_mode=… synchronous=…`
    pub info: BTreeMap<String, BTreeMap<String, String>>,
    pub notes: Vec<String>,
    pub load: Vec<f64>,
    pub compilers_seen: BTreeSet<String>,
    pub started: String,
    pub seconds: f64,
}

struct Run {
    options: Options,
    contenders: Vec<Contender>,
    generated: PathBuf,
    /// Fully migrated databases, (contender, n) → path.
    bases: BTreeMap<(String, usize), PathBuf>,
    scratch_counter: usize,
    results: Results,
}

pub fn run(options: Options) -> ExitCode {
    match Run::new(options).and_then(Run::all) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench measure: {e}");
            ExitCode::FAILURE
        }
    }
}

fn progress(message: impl AsRef<str>) {
    eprintln!("[bench] {}", message.as_ref());
}

impl Run {
    fn new(options: Options) -> io::Result<Run> {
        let bench = crate::bench_dir();
        let generated = bench.join("generated");
        if !generated.join("terrace/100").is_dir() {
            return Err(io::Error::other(
                "generated/ is missing: run `bench gen` (bench/run does)",
            ));
        }
        // Old databases from an interrupted run are of no use.
        let _ = fs::remove_dir_all(&options.tmp);
        fs::create_dir_all(options.tmp.join("base"))?;
        fs::create_dir_all(options.tmp.join("m"))?;
        let mut results = Results {
            started: report::command_output("date", &["-u", "+%Y-%m-%d %H:%M UTC"]),
            ..Results::default()
        };
        let mut contenders = contenders();
        contenders.retain(|c| {
            let present = c.bin.is_file();
            if !present {
                results.notes.push(format!(
                    "`{}` skipped: {} is not built.",
                    c.name,
                    c.bin.display()
                ));
            }
            present
        });
        Ok(Run {
            options,
            contenders,
            generated,
            bases: BTreeMap::new(),
            scratch_counter: 0,
            results,
        })
    }

    fn all(mut self) -> io::Result<()> {
        let started = Instant::now();
        self.sample_load();
        if self.options.wants("info") {
            self.info()?;
        }
        let sizes = self.options.sizes.clone();
        for &n in &sizes {
            if self.options.wants("apply") {
                self.apply(n)?;
            }
            if self.options.wants("noop") {
                self.noop(n)?;
            }
        }
        if self.options.wants("cli") {
            self.cli()?;
        }
        if self.options.wants("fsync") {
            self.fsync()?;
        }
        if self.options.wants("features") {
            self.features()?;
        }
        self.sample_load();
        self.results.seconds = started.elapsed().as_secs_f64();
        let markdown = report::render(&self.options, &self.contenders, &self.results);
        print!("{markdown}");
        if let Some(parent) = self.options.out.parent() {
            fs::create_dir_all(parent)?;
        }
        fs::write(&self.options.out, &markdown)?;
        progress(format!("written to {}", self.options.out.display()));
        let _ = fs::remove_dir_all(&self.options.tmp);
        Ok(())
    }

    /// A fresh, empty folder for one measurement; the database path inside it.
    fn scratch(&mut self) -> io::Result<PathBuf> {
        self.scratch_counter += 1;
        let dir = self
            .options
            .tmp
            .join("m")
            .join(self.scratch_counter.to_string());
        fs::create_dir_all(&dir)?;
        Ok(dir.join("db.sqlite"))
    }

    fn discard(db: &Path) {
        if let Some(dir) = db.parent() {
            let _ = fs::remove_dir_all(dir);
        }
    }

    /// Records the load average and whether compilers run beside us (noise).
    fn sample_load(&mut self) {
        if let Ok(load) = fs::read_to_string("/proc/loadavg")
            && let Some(first) = load.split_whitespace().next().and_then(|v| v.parse().ok())
        {
            self.results.load.push(first);
        }
        if let Ok(entries) = fs::read_dir("/proc") {
            for entry in entries.flatten() {
                if let Ok(comm) = fs::read_to_string(entry.path().join("comm")) {
                    let comm = comm.trim();
                    if ["rustc", "cc1", "cc1plus", "ld", "cargo"].contains(&comm) {
                        self.results.compilers_seen.insert(comm.to_owned());
                    }
                }
            }
        }
    }

    fn info(&mut self) -> io::Result<()> {
        progress("info: SQLite version and durability settings of each contender");
        for i in 0..self.contenders.len() {
            let db = self.scratch()?;
            let outcome = execute(&mut self.contenders[i].command("info", 100, &db), true)?;
            let name = self.contenders[i].name.to_owned();
            if outcome.ok() {
                let fields = outcome
                    .stdout
                    .split_whitespace()
                    .filter_map(|kv| kv.split_once('='))
                    .map(|(k, v)| (k.to_owned(), v.to_owned()))
                    .collect();
                self.results.info.insert(name, fields);
            } else {
                self.results.notes.push(format!(
                    "`{name}` info failed: {}",
                    outcome.describe_failure()
                ));
            }
            Self::discard(&db);
        }
        Ok(())
    }

    /// Checks, outside any timing, that an applied database holds every table and row.
    fn verify_applied(db: &Path, n: usize) -> Result<(), String> {
        let conn =
            rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
                .map_err(|e| e.to_string())?;
        let tables: i64 = conn
            .query_row(
                "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name GLOB 't[0-9]*'",
                [],
                |r| r.get(0),
            )
            .map_err(|e| e.to_string())?;
        let rows: i64 = conn
            .query_row(&format!("SELECT count(*) FROM t{n}"), [], |r| r.get(0))
            .map_err(|e| e.to_string())?;
        if tables == n as i64 && rows == 1 {
            Ok(())
        } else {
            Err(format!("found {tables} tables and {rows} rows in t{n}"))
        }
    }

    fn apply(&mut self, n: usize) -> io::Result<()> {
        let rounds = self.options.rounds_for(n);
        for round in 0..rounds {
            progress(format!("apply N={n}: round {}/{rounds}", round + 1));
            for i in 0..self.contenders.len() {
                let db = self.scratch()?;
                let outcome = execute(&mut self.contenders[i].command("apply", n, &db), true)?;
                let name = self.contenders[i].name.to_owned();
                let sample = if !outcome.ok() {
                    self.results.notes.push(format!(
                        "`{name}` apply N={n} round {} failed: {}",
                        round + 1,
                        outcome.describe_failure()
                    ));
                    None
                } else if let Err(problem) = Self::verify_applied(&db, n) {
                    self.results.notes.push(format!(
                        "`{name}` apply N={n} round {}: wrong result: {problem}",
                        round + 1
                    ));
                    None
                } else {
                    outcome.stdout.trim().parse().ok().map(|ms| ApplySample {
                        ms,
                        max_rss_kib: outcome.max_rss_kib,
                    })
                };
                let entry = self.results.apply.entry((n, name.clone())).or_default();
                entry.resize(round, None);
                entry.push(sample);
                let key = (name.clone(), n);
                if sample.is_some() && !self.bases.contains_key(&key) {
                    let base = self
                        .options
                        .tmp
                        .join("base")
                        .join(format!("{name}-{n}.sqlite"));
                    fs::rename(&db, &base)?;
                    self.bases.insert(key, base);
                }
                Self::discard(&db);
            }
            self.sample_load();
        }
        Ok(())
    }

    /// The migrated database of a tool (its own apply's output), made if missing.
    fn base(&mut self, contender: usize, n: usize) -> io::Result<Option<PathBuf>> {
        let name = self.contenders[contender].name.to_owned();
        if let Some(path) = self.bases.get(&(name.clone(), n)) {
            return Ok(Some(path.clone()));
        }
        progress(format!("preparing a migrated N={n} database for {name}"));
        let base = self
            .options
            .tmp
            .join("base")
            .join(format!("{name}-{n}.sqlite"));
        let outcome = execute(
            &mut self.contenders[contender].command("apply", n, &base),
            true,
        )?;
        if outcome.ok() && Self::verify_applied(&base, n).is_ok() {
            self.bases.insert((name, n), base.clone());
            Ok(Some(base))
        } else {
            self.results.notes.push(format!(
                "`{name}`: could not prepare a migrated N={n} database: {}",
                outcome.describe_failure()
            ));
            Ok(None)
        }
    }

    /// A fresh copy of a migrated database.
    fn copy_of(&mut self, base: &Path) -> io::Result<PathBuf> {
        let db = self.scratch()?;
        fs::copy(base, &db)?;
        Ok(db)
    }

    fn noop(&mut self, n: usize) -> io::Result<()> {
        let rounds = self.options.rounds_for(n);
        let which: Vec<usize> = (0..self.contenders.len())
            .filter(|&i| self.contenders[i].noop)
            .collect();
        let mut bases = BTreeMap::new();
        for &i in &which {
            if let Some(base) = self.base(i, n)? {
                bases.insert(i, base);
            }
        }
        for round in 0..rounds {
            progress(format!("no-op N={n}: round {}/{rounds}", round + 1));
            for &i in &which {
                let Some(base) = bases.get(&i).cloned() else {
                    continue;
                };
                let db = self.copy_of(&base)?;
                let mut command = self.contenders[i].command("noop", n, &db);
                command.env("BENCH_NOOP_CALLS", self.options.calls.to_string());
                let outcome = execute(&mut command, true)?;
                let name = self.contenders[i].name.to_owned();
                let sample = if outcome.ok() {
                    parse_noop(&outcome.stdout)
                } else {
                    self.results.notes.push(format!(
                        "`{name}` no-op N={n} round {} failed: {}",
                        round + 1,
                        outcome.describe_failure()
                    ));
                    None
                };
                let entry = self.results.noop.entry((n, name)).or_default();
                entry.resize(round, None);
                entry.push(sample);
                Self::discard(&db);
            }
            self.sample_load();
        }
        Ok(())
    }

    fn clis(&self) -> Vec<Cli> {
        let bench = crate::bench_dir();
        let tools = &self.options.tools;
        let args = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        vec![
            Cli {
                name: "minimal rusqlite program",
                program: bench.join("target/release/bench-status-rusqlite"),
                args: args(&["{db}"]),
                tool: "terrace",
                env: vec![],
                note: "open, SELECT the whole history, print the count",
            },
            Cli {
                name: "minimal program reading the folder too",
                program: bench.join("target/release/bench-status-rusqlite"),
                args: args(&["--with-files", "{dir}", "{db}"]),
                tool: "terrace",
                env: vec![],
                note: "the same, and also read and SHA-256 every file of the folder",
            },
            Cli {
                name: "terrace status",
                program: self.options.terrace_cli.clone(),
                args: args(&["--database", "sqlite:{db}", "--dir", "{dir}", "status"]),
                tool: "terrace",
                env: vec![],
                note: "`terrace --database sqlite:DB --dir DIR status`",
            },
            Cli {
                name: "sqlx-cli",
                program: tools.join("sqlx"),
                args: args(&[
                    "migrate",
                    "info",
                    "--database-url",
                    "sqlite:{db}",
                    "--source",
                    "{dir}",
                ]),
                tool: "sqlx",
                env: vec![],
                note: "`sqlx migrate info --database-url sqlite:DB --source DIR`",
            },
            Cli {
                name: "diesel_cli",
                program: tools.join("diesel"),
                args: args(&[
                    "migration",
                    "list",
                    "--database-url",
                    "{db}",
                    "--migration-dir",
                    "{dir}",
                ]),
                tool: "diesel_migrations",
                env: vec![],
                note: "`diesel migration list --database-url DB --migration-dir DIR`",
            },
            Cli {
                name: "refinery_cli",
                program: tools.join("refinery"),
                args: args(&["migrate", "-e", "BENCH_DATABASE_URL", "-p", "{dir}"]),
                tool: "refinery",
                env: vec![("BENCH_DATABASE_URL".into(), "sqlite://{db}".into())],
                note: "`refinery migrate -e BENCH_DATABASE_URL -p DIR` (nothing to do: it has no status command)",
            },
        ]
    }

    fn cli(&mut self) -> io::Result<()> {
        const N: usize = 1000;
        let rounds = self.options.rounds_for(N);
        let mut rows = Vec::new();
        for cli in self.clis() {
            if !cli.program.is_file() {
                self.results.notes.push(format!(
                    "CLI `{}` skipped: {} is not installed (bench/run installs peer CLIs into bench/tools unless --no-install; see its log).",
                    cli.name,
                    cli.program.display()
                ));
                continue;
            }
            let Some(index) = self.contenders.iter().position(|c| c.name == cli.tool) else {
                self.results.notes.push(format!(
                    "CLI `{}` skipped: `{}` is not built",
                    cli.name, cli.tool
                ));
                continue;
            };
            let Some(base) = self.base(index, N)? else {
                continue;
            };
            let dir = self
                .generated
                .join(match cli.tool {
                    "diesel_migrations" => "diesel",
                    other => other,
                })
                .join(N.to_string());
            rows.push((cli, base, dir));
        }
        for round in 0..rounds {
            progress(format!("CLI status N={N}: round {}/{rounds}", round + 1));
            for (cli, base, dir) in &rows {
                let db = self.copy_of(base)?;
                let fill = |s: &String| {
                    s.replace("{db}", &db.to_string_lossy())
                        .replace("{dir}", &dir.to_string_lossy())
                };
                let mut command = Command::new(&cli.program);
                command
                    .args(cli.args.iter().map(fill))
                    .current_dir(db.parent().unwrap_or(Path::new(".")));
                for (k, v) in &cli.env {
                    command.env(k, fill(v));
                }
                let outcome = execute(&mut command, false)?;
                let sample = if outcome.ok() {
                    Some(outcome.wall_ms)
                } else {
                    self.results.notes.push(format!(
                        "CLI `{}` round {} failed: {}",
                        cli.name,
                        round + 1,
                        outcome.describe_failure()
                    ));
                    None
                };
                let entry = self.results.cli.entry(cli.name.to_owned()).or_default();
                entry.resize(round, None);
                entry.push(sample);
                Self::discard(&db);
            }
            self.sample_load();
        }
        for (cli, _, _) in &rows {
            let version = if cli.name.starts_with("minimal") {
                "bench crate".to_owned()
            } else {
                let out = Command::new(&cli.program)
                    .arg("--version")
                    .stderr(Stdio::null())
                    .output();
                out.map(|o| {
                    let text = String::from_utf8_lossy(&o.stdout).into_owned();
                    text.lines().next().unwrap_or("").trim().to_owned()
                })
                .unwrap_or_default()
            };
            self.results
                .cli_rows
                .push((cli.name.to_owned(), format!("{}; {version}", cli.note)));
        }
        Ok(())
    }

    /// The CLI's start-up cost per compiled-in driver: each build of `bench/run`'s
    /// feature list, interleaved round by round, runs `--version` (start-up alone) and
    /// `status` on 1,000 applied (Terrace's folder and database).
    fn features(&mut self) -> io::Result<()> {
        const N: usize = 1000;
        let dir = self.options.feature_builds.clone();
        let Ok(list) = fs::read_to_string(dir.join("list")) else {
            self.results.notes.push(format!(
                "Feature builds skipped: {} has no list (bench/run builds them).",
                dir.display()
            ));
            return Ok(());
        };
        let mut builds: Vec<(FeatureBuild, PathBuf)> = Vec::new();
        for line in list.lines().filter(|l| !l.trim().is_empty()) {
            let (name, features) = line.split_once('=').unwrap_or((line, ""));
            let program = dir.join(format!("terrace-{name}"));
            match fs::metadata(&program) {
                Ok(meta) => builds.push((
                    FeatureBuild {
                        name: name.to_owned(),
                        features: features.to_owned(),
                        size: meta.len(),
                        version: Vec::new(),
                        status: Vec::new(),
                    },
                    program,
                )),
                Err(_) => self.results.notes.push(format!(
                    "Feature build `{name}` skipped: {} is missing.",
                    program.display()
                )),
            }
        }
        let Some(index) = self.contenders.iter().position(|c| c.name == "terrace") else {
            self.results
                .notes
                .push("Feature builds skipped: `terrace` is not built".into());
            return Ok(());
        };
        let Some(base) = self.base(index, N)? else {
            return Ok(());
        };
        let folder = self.generated.join("terrace").join(N.to_string());
        let rounds = self.options.feature_rounds;
        for round in 0..rounds {
            if round % 10 == 0 {
                progress(format!("feature builds: round {}/{rounds}", round + 1));
            }
            for (build, program) in &mut builds {
                let outcome = execute(Command::new(&*program).arg("--version"), false)?;
                build.version.push(outcome.ok().then_some((
                    outcome.wall_ms,
                    outcome.minor_faults as f64,
                    outcome.cpu_ms,
                )));
                let db = self.copy_of(&base)?;
                let mut command = Command::new(&*program);
                command
                    .arg("--database")
                    .arg(format!("sqlite:{}", db.display()))
                    .arg("--dir")
                    .arg(&folder)
                    .arg("status");
                let outcome = execute(&mut command, false)?;
                if !outcome.ok() {
                    self.results.notes.push(format!(
                        "Feature build `{}` status, round {}, failed: {}",
                        build.name,
                        round + 1,
                        outcome.describe_failure()
                    ));
                }
                build.status.push(outcome.ok().then_some(outcome.wall_ms));
                Self::discard(&db);
            }
            self.sample_load();
        }
        self.results.features = builds.into_iter().map(|(build, _)| build).collect();
        Ok(())
    }

    /// Counts fsync/fdatasync calls with strace: applying N = 100, and one cold no-op call.
    fn fsync(&mut self) -> io::Result<()> {
        const N: usize = 100;
        if Command::new("strace").arg("-V").output().is_err() {
            self.results
                .notes
                .push("fsync counts skipped: strace is not installed.".into());
            return Ok(());
        }
        progress("fsync counts (strace), N=100");
        for i in 0..self.contenders.len() {
            let name = self.contenders[i].name.to_owned();
            let db = self.scratch()?;
            let apply = self
                .strace_fsyncs(i, "apply", &db)?
                .map(|c| c as f64 / N as f64);
            Self::discard(&db);
            let noop = if self.contenders[i].noop {
                match self.base(i, N)? {
                    Some(base) => {
                        let db = self.copy_of(&base)?;
                        let count = self.strace_fsyncs(i, "noop", &db)?;
                        Self::discard(&db);
                        count.map(|c| c as f64)
                    }
                    None => None,
                }
            } else {
                None
            };
            self.results.fsync.insert(name, (apply, noop));
        }
        Ok(())
    }

    fn strace_fsyncs(
        &mut self,
        contender: usize,
        workload: &str,
        db: &Path,
    ) -> io::Result<Option<u64>> {
        let trace = db.with_extension("strace");
        let inner = self.contenders[contender].command(workload, 100, db);
        let mut command = Command::new("strace");
        command
            .args([
                "-f",
                "-qq",
                "-c",
                "-e",
                "trace=fsync,fdatasync,sync_file_range",
                "-o",
            ])
            .arg(&trace)
            .arg(inner.get_program())
            .args(inner.get_args())
            .env("BENCH_NOOP_CALLS", "0");
        let outcome = execute(&mut command, true)?;
        if !outcome.ok() {
            self.results.notes.push(format!(
                "`{}` fsync count ({workload}) failed: {}",
                self.contenders[contender].name,
                outcome.describe_failure()
            ));
            return Ok(None);
        }
        let text = fs::read_to_string(&trace).unwrap_or_default();
        let total = text
            .lines()
            .find(|l| l.trim_end().ends_with("total"))
            .and_then(|l| l.split_whitespace().nth(3))
            .and_then(|calls| calls.parse().ok())
            .unwrap_or(0);
        Ok(Some(total))
    }
}

fn parse_noop(stdout: &str) -> Option<NoopSample> {
    let mut cold = None;
    let mut warm = None;
    for field in stdout.split_whitespace() {
        match field.split_once('=') {
            Some(("cold", v)) => cold = v.parse().ok(),
            Some(("median", v)) => warm = v.parse().ok(),
            _ => {}
        }
    }
    Some(NoopSample {
        cold_ms: cold?,
        warm_ms: warm?,
    })
}
