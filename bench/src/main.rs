//! The benchmark orchestrator.
//!
//! ```text
//! bench gen                       # write generated/<tool>/<N>/… (run before building)
//! bench measure [options]         # run every measurement, print and save the table
//! bench split [options]           # how fast statements are split, in MB/s
//! ```
//!
//! `bench/run` does both, with the builds in between. Every measurement is a process of
//! its own (`bench-<tool> [--variant] <workload> <n> <db>`, see `common/harness.rs`) on
//! a fresh file; contenders are interleaved round by round (A B C A B C …); the tables
//! quote medians and ratios to the floors measured in the same run.

#[path = "../common/harness.rs"]
mod harness;

mod generate;
mod measure;
mod report;
mod split;

use std::path::PathBuf;
use std::process::ExitCode;

const USAGE: &str = "\
usage: bench gen
       bench measure [--rounds R] [--big-rounds R] [--n 100,1000,10000] [--calls K]
                     [--only apply,noop,cli,fsync,features,info] [--out FILE]
                     [--tmp DIR] [--terrace-cli PATH] [--tools DIR]
                     [--feature-builds DIR] [--feature-rounds R]

  --rounds R       interleaved rounds for N < 10000 (default 7)
  --big-rounds R   rounds for N >= 10000 (default 3: per-migration tools take minutes)
  --n LIST         which N to measure (default 100,1000,10000)
  --calls K        warm no-op calls per process after the cold one (default 20)
  --only LIST      parts to run (default all): info, apply, noop, cli, fsync, features
  --out FILE       where to write the markdown (default results/latest.md)
  --tmp DIR        where the databases live (default target/runs; must not be tmpfs)
  --terrace-cli P  the terrace CLI (default ../target/release/terrace)
  --tools DIR      where peer CLIs were installed (default tools/bin)
  --feature-builds DIR  the CLI built per feature set, and its `list`, as bench/run
                   writes them (default target/cli-features)
  --feature-rounds R    rounds of the features part (default 31)

usage: bench split [--mb 1,10,100] [--rounds R] [--no-sqlite]

  --mb LIST        section sizes in MB of mixed statements (default 1,10,100)
  --rounds R       timed splits per size and dialect, median reported (default 5)
  --no-sqlite      skip timing SQLite running each section";

/// The bench folder (this crate's root).
pub fn bench_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("gen") if args.len() == 1 => {
            match generate::generate(&bench_dir().join("generated")) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("bench gen: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Some("measure") => match measure::Options::parse(&args[1..]) {
            Ok(options) => measure::run(options),
            Err(message) => {
                eprintln!("bench measure: {message}\n\n{USAGE}");
                ExitCode::from(2)
            }
        },
        Some("split") => match split::Options::parse(&args[1..]) {
            Ok(options) => split::run(options),
            Err(message) => {
                eprintln!("bench split: {message}\n\n{USAGE}");
                ExitCode::from(2)
            }
        },
        Some("-h" | "--help") => {
            println!("{USAGE}");
            ExitCode::SUCCESS
        }
        _ => {
            eprintln!("{USAGE}");
            ExitCode::from(2)
        }
    }
}
