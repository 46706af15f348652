//! The protocol every contender binary speaks, shared by the bench crate and the peer
//! crates (each includes this file with `#[path]`, since they are separate cargo
//! workspaces that cannot share a library crate across different `libsqlite3-sys`).
//!
//! ```text
//! bench-<tool> [VARIANT] <workload> <n> <db path>
//! ```
//!
//! * `apply`: the file is fresh; apply all `n` migrations; prints the milliseconds from
//!   opening the connection to having closed it.
//! * `noop`: the file holds a database fully migrated by the same tool. Prints
//!   `cold=<ms> median=<ms> calls=<k>`: the first call in the process, then the median
//!   of `k` further calls (`BENCH_NOOP_CALLS`, default 20). Each call opens a fresh
//!   connection, runs the migrate call (nothing to do), then the application's first
//!   query, `SELECT count(*) FROM t1`, on that connection, and closes it.
//! * `info`: applies all `n` migrations (untimed) and prints, on the tool's own
//!   connection, `sqlite=<version> journal_mode=<mode> synchronous=<0..3>`.
//!
//! Everything a tool can prepare before an application would open its database (its
//! static migration list, an async runtime, the floor's known checksums) is prepared
//! before the clock starts.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::time::Instant;

/// The up SQL of migration `i` (1-based): one table and one row. Every tool's files
/// are generated from this text, so every contender executes the same statements.
pub fn up_sql(i: usize) -> String {
    format!(
        "CREATE TABLE t{i} (id INTEGER PRIMARY KEY, v TEXT NOT NULL);\nINSERT INTO t{i} (v) VALUES ('row {i}');"
    )
}

/// The down SQL of migration `i`.
pub fn down_sql(i: usize) -> String {
    format!("DROP TABLE t{i};")
}

/// The snake_case name of migration `i`.
pub fn name(i: usize) -> String {
    format!("create_table_{i}")
}

/// The sizes the generated folders exist for.
pub const SIZES: [usize; 3] = [100, 1000, 10000];

/// The application's first query after the migration check.
pub const FIRST_QUERY: &str = "SELECT count(*) FROM t1";

/// What the process was asked to do.
pub enum Workload {
    Apply,
    Noop,
    Info,
}

/// Parsed command line: `[VARIANT] <workload> <n> <db>`.
pub struct Args {
    pub variant: Option<String>,
    pub workload: Workload,
    pub n: usize,
    pub db: PathBuf,
}

pub fn args() -> Args {
    let mut rest: Vec<String> = std::env::args().skip(1).collect();
    let usage = || -> ! {
        eprintln!(
            "usage: {} [--VARIANT] apply|noop|info <n> <db path>",
            program()
        );
        std::process::exit(2)
    };
    let variant = match rest.first() {
        Some(first) if first.starts_with("--") => Some(rest.remove(0)[2..].to_owned()),
        _ => None,
    };
    if rest.len() != 3 {
        usage();
    }
    let workload = match rest[0].as_str() {
        "apply" => Workload::Apply,
        "noop" => Workload::Noop,
        "info" => Workload::Info,
        _ => usage(),
    };
    let n = rest[1].parse().unwrap_or_else(|_| usage());
    if !SIZES.contains(&n) {
        eprintln!("{}: n must be one of {SIZES:?}", program());
        std::process::exit(2);
    }
    Args {
        variant,
        workload,
        n,
        db: PathBuf::from(&rest[2]),
    }
}

fn program() -> String {
    std::env::args()
        .next()
        .and_then(|p| {
            Path::new(&p)
                .file_name()
                .map(|f| f.to_string_lossy().into_owned())
        })
        .unwrap_or_else(|| "bench".into())
}

/// Stops the process with a message: a contender that fails is a broken measurement.
pub fn fail(what: &str, error: impl std::fmt::Display) -> ! {
    eprintln!("{}: {what}: {error}", program());
    std::process::exit(1)
}

/// Milliseconds taken by `f`.
pub fn time_ms(f: impl FnOnce()) -> f64 {
    let start = Instant::now();
    f();
    start.elapsed().as_secs_f64() * 1e3
}

/// Runs the apply workload and prints its time.
pub fn report_apply(f: impl FnOnce()) {
    let ms = time_ms(f);
    println!("{ms:.4}");
}

/// Runs the no-op workload: one cold call, then `BENCH_NOOP_CALLS` warm calls. `call`
/// returns the first query's result, which must be 1.
pub fn report_noop(mut call: impl FnMut() -> i64) {
    let calls: usize = std::env::var("BENCH_NOOP_CALLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    let mut count = 0;
    let cold = time_ms(|| count = call());
    if count != 1 {
        fail(
            "first query",
            format!("expected 1 row in t1, found {count}"),
        );
    }
    let mut warm: Vec<f64> = (0..calls).map(|_| time_ms(|| count = call())).collect();
    println!(
        "cold={cold:.4} median={:.4} calls={calls}",
        median(&mut warm).unwrap_or(f64::NAN)
    );
}

/// Prints the `info` line.
pub fn report_info(sqlite: &str, journal_mode: &str, synchronous: i64) {
    println!("sqlite={sqlite} journal_mode={journal_mode} synchronous={synchronous}");
}

pub fn median(values: &mut [f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    Some(if values.len() % 2 == 1 {
        values[mid]
    } else {
        (values[mid - 1] + values[mid]) / 2.0
    })
}

/// Lowercase hex SHA-256, as Terrace and the floor store checksums.
pub fn sha256_hex(text: &str) -> String {
    use sha2::Digest as _;
    let digest = sha2::Sha256::digest(text.as_bytes());
    let mut hex = String::with_capacity(64);
    for byte in digest {
        hex.push(char::from(b"0123456789abcdef"[usize::from(byte >> 4)]));
        hex.push(char::from(b"0123456789abcdef"[usize::from(byte & 15)]));
    }
    hex
}
