//! Turns the measurements into the markdown that `bench/run` prints and saves.

use crate::harness::median;
use crate::measure::{Contender, Options, Results};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::path::Path;
use std::process::Command;

/// A command's trimmed stdout, or "" if it cannot run.
pub fn command_output(program: &str, args: &[&str]) -> String {
    Command::new(program)
        .args(args)
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default()
}

fn ms(value: Option<f64>) -> String {
    match value {
        None => "—".into(),
        Some(v) if v >= 1000.0 => format!("{:.2} s", v / 1000.0),
        Some(v) if v >= 100.0 => format!("{v:.0} ms"),
        Some(v) if v >= 10.0 => format!("{v:.1} ms"),
        Some(v) if v >= 1.0 => format!("{v:.2} ms"),
        Some(v) => format!("{:.0} µs", v * 1000.0),
    }
}

fn us(value: Option<f64>) -> String {
    match value {
        None => "—".into(),
        Some(v) if v >= 100.0 => format!("{v:.0} µs"),
        Some(v) => format!("{v:.1} µs"),
    }
}

fn ratio(value: Option<f64>) -> String {
    value.map_or_else(|| "—".into(), |r| format!("{r:.2}×"))
}

fn mib(kib: Option<f64>) -> String {
    kib.map_or_else(|| "—".into(), |k| format!("{:.1} MiB", k / 1024.0))
}

fn median_of(values: impl Iterator<Item = f64>) -> Option<f64> {
    let mut v: Vec<f64> = values.collect();
    median(&mut v)
}

fn div(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => Some(a / b),
        _ => None,
    }
}

/// Per-round ratios a/b where both rounds succeeded.
fn paired(a: &[Option<f64>], b: &[Option<f64>]) -> Vec<f64> {
    a.iter().zip(b).filter_map(|(a, b)| div(*a, *b)).collect()
}

fn lock_versions(lock: &Path) -> BTreeMap<String, Vec<String>> {
    let mut versions: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let Ok(text) = fs::read_to_string(lock) else {
        return versions;
    };
    let mut name = None;
    for line in text.lines() {
        if let Some(v) = line.strip_prefix("name = ") {
            name = Some(v.trim_matches('"').to_owned());
        } else if let Some(v) = line.strip_prefix("version = ")
            && let Some(n) = name.take()
        {
            versions
                .entry(n)
                .or_default()
                .push(v.trim_matches('"').to_owned());
        }
    }
    versions
}

fn machine(options: &Options) -> String {
    let cpuinfo = fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| {
            l.strip_prefix("model name")
                .map(|r| r.trim_start_matches([' ', '\t', ':']).to_owned())
        })
        .unwrap_or_else(|| "unknown".into());
    let meminfo = fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let memory = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
        .map_or_else(
            || "unknown".into(),
            |kib| format!("{:.1} GiB", kib / 1024.0 / 1024.0),
        );
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let tmp = options.tmp.to_string_lossy().into_owned();
    let df = command_output("df", &["-hT", &tmp]);
    let disk = df.lines().nth(1).map_or_else(String::new, |l| {
        let f: Vec<&str> = l.split_whitespace().collect();
        if f.len() >= 7 {
            format!(
                "{} ({}, {} total, {} free), mounted on {}",
                f[0], f[1], f[2], f[4], f[6]
            )
        } else {
            l.to_owned()
        }
    });
    format!(
        "- CPU: {cores} × {model}\n- Memory: {memory}\n- Databases: `{tmp}` on {disk}\n- Kernel: {}\n- Toolchain: {}\n",
        command_output("uname", &["-sr"]),
        command_output("rustc", &["--version"]),
    )
}

pub fn render(options: &Options, contenders: &[Contender], results: &Results) -> String {
    let mut md = String::new();
    let bench = crate::bench_dir();
    let root = bench.join("..");
    let root = root.to_string_lossy();
    let commit = command_output("git", &["-C", &root, "rev-parse", "--short", "HEAD"]);
    let dirty = command_output(
        "git",
        &["-C", &root, "status", "--porcelain", "--", "crates"],
    );
    let _ = writeln!(md, "## Results of `bench/run` ({})\n", results.started);
    let _ = write!(md, "{}", machine(options));
    let _ = writeln!(
        md,
        "- Terrace: commit {commit}{}",
        if dirty.is_empty() {
            String::new()
        } else {
            format!(
                " plus uncommitted changes in {} file(s) under crates/",
                dirty.lines().count()
            )
        }
    );
    let loads: Vec<String> = results.load.iter().map(|l| format!("{l:.2}")).collect();
    let _ = writeln!(
        md,
        "- Run: {} rounds (N ≥ 10,000: {}), {} warm no-op calls per process, {:.0} s in all; 1-minute load average sampled each round: {}{}\n",
        options.rounds,
        options.big_rounds,
        options.calls,
        results.seconds,
        if loads.is_empty() {
            "—".into()
        } else {
            format!("{}–{}", min_str(&results.load), max_str(&results.load))
        },
        if results.compilers_seen.is_empty() {
            String::new()
        } else {
            format!(
                "; **other builds ran during the run** ({} seen): timings may be noisy",
                results
                    .compilers_seen
                    .iter()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        }
    );

    contenders_table(&mut md, contenders, results);

    for &n in &options.sizes {
        apply_table(&mut md, options, contenders, results, n);
        noop_table(&mut md, options, contenders, results, n);
    }
    across_n(&mut md, options, contenders, results);
    cli_table(&mut md, options, results);
    features_table(&mut md, options, results);
    memory_table(&mut md, options, contenders, results);

    if !results.notes.is_empty() {
        let _ = writeln!(md, "### Notes from this run\n");
        for note in &results.notes {
            let _ = writeln!(md, "- {note}");
        }
        md.push('\n');
    }
    md
}

fn min_str(v: &[f64]) -> String {
    format!("{:.2}", v.iter().cloned().fold(f64::INFINITY, f64::min))
}

fn max_str(v: &[f64]) -> String {
    format!("{:.2}", v.iter().cloned().fold(f64::NEG_INFINITY, f64::max))
}

fn contenders_table(md: &mut String, contenders: &[Contender], results: &Results) {
    let _ = writeln!(md, "### Contenders\n");
    let _ = writeln!(
        md,
        "| contender | crates | SQLite | journal_mode | synchronous | transactions | fsyncs per migration (apply, N = 100) | fsyncs per no-op call |"
    );
    let _ = writeln!(md, "|---|---|---|---|---|---|---:|---:|");
    let mut locks: BTreeMap<&Path, BTreeMap<String, Vec<String>>> = BTreeMap::new();
    for c in contenders {
        let versions = locks
            .entry(&c.lock)
            .or_insert_with(|| lock_versions(&c.lock));
        let crates: Vec<String> = c
            .crates
            .iter()
            .map(|name| match versions.get(*name) {
                Some(v) => format!("{name} {}", v.join("/")),
                None => format!("{name} ?"),
            })
            .collect();
        let info = results.info.get(c.name);
        let field = |k: &str| {
            info.and_then(|i| i.get(k))
                .cloned()
                .unwrap_or_else(|| "—".into())
        };
        let sync = match field("synchronous").as_str() {
            "0" => "OFF".to_owned(),
            "1" => "NORMAL".to_owned(),
            "2" => "FULL".to_owned(),
            "3" => "EXTRA".to_owned(),
            other => other.to_owned(),
        };
        let (apply_fsyncs, noop_fsyncs) =
            results.fsync.get(c.name).copied().unwrap_or((None, None));
        let _ = writeln!(
            md,
            "| {}{} | {} | {} | {} | {} | {} | {} | {} |",
            c.name,
            c.variant.map(|v| format!(" (`--{v}`)")).unwrap_or_default(),
            crates.join(", "),
            field("sqlite"),
            field("journal_mode"),
            sync,
            c.transactions,
            apply_fsyncs.map_or_else(|| "—".into(), |f| format!("{f:.2}")),
            noop_fsyncs.map_or_else(|| "—".into(), |f| format!("{f:.0}")),
        );
    }
    md.push('\n');
}

fn apply_series(results: &Results, n: usize, name: &str) -> Vec<Option<f64>> {
    results
        .apply
        .get(&(n, name.to_owned()))
        .map(|v| v.iter().map(|s| s.map(|s| s.ms)).collect())
        .unwrap_or_default()
}

fn apply_median(results: &Results, n: usize, name: &str) -> Option<f64> {
    median_of(apply_series(results, n, name).into_iter().flatten())
}

fn rss_median(results: &Results, n: usize, name: &str) -> Option<f64> {
    results
        .apply
        .get(&(n, name.to_owned()))
        .and_then(|v| median_of(v.iter().flatten().map(|s| s.max_rss_kib as f64)))
}

fn apply_table(
    md: &mut String,
    options: &Options,
    contenders: &[Contender],
    results: &Results,
    n: usize,
) {
    if !results.apply.keys().any(|(k, _)| *k == n) {
        return;
    }
    let rounds = options.rounds_for(n);
    let _ = writeln!(
        md,
        "### Apply: N = {n}, fresh file, all pending ({rounds} rounds, medians)\n"
    );
    let _ = writeln!(
        md,
        "| contender | median | per migration | × floor | × floor_run | paired ÷ rusqlite_migration | max RSS |"
    );
    let _ = writeln!(md, "|---|---:|---:|---:|---:|---:|---:|");
    let floor = apply_median(results, n, "floor");
    let floor_run = apply_median(results, n, "floor_run");
    let reference = apply_series(results, n, "rusqlite_migration");
    for c in contenders {
        let series = apply_series(results, n, c.name);
        if series.is_empty() {
            continue;
        }
        let m = median_of(series.iter().flatten().copied());
        let failed = series.iter().filter(|s| s.is_none()).count();
        let _ = writeln!(
            md,
            "| {}{} | {} | {} | {} | {} | {} | {} |",
            c.name,
            if failed > 0 {
                format!(" ({failed} failed)")
            } else {
                String::new()
            },
            ms(m),
            us(m.map(|m| m * 1000.0 / n as f64)),
            ratio(div(m, floor)),
            ratio(div(m, floor_run)),
            ratio(median_of(paired(&series, &reference).into_iter())),
            mib(rss_median(results, n, c.name)),
        );
    }
    md.push('\n');
    let terrace = apply_series(results, n, "terrace");
    let per_migration = apply_series(results, n, "terrace_per_migration");
    let pairs = paired(&terrace, &reference);
    if !pairs.is_empty() {
        let list: Vec<String> = pairs.iter().map(|r| format!("{r:.2}")).collect();
        let _ = writeln!(
            md,
            "- terrace ÷ rusqlite_migration, median of paired ratios: **{}** (per round: {}; target ≤ 1.00)",
            ratio(median_of(pairs.iter().copied())),
            list.join(", ")
        );
    }
    let same_sqlite = paired(
        &apply_series(results, n, "terrace@peers-sqlite"),
        &reference,
    );
    if !same_sqlite.is_empty() {
        let list: Vec<String> = same_sqlite.iter().map(|r| format!("{r:.2}")).collect();
        let _ = writeln!(
            md,
            "- terrace@peers-sqlite ÷ rusqlite_migration (one SQLite build for both), median of paired ratios: **{}** (per round: {})",
            ratio(median_of(same_sqlite.iter().copied())),
            list.join(", ")
        );
    }
    let pairs = paired(&terrace, &apply_series(results, n, "floor_run"));
    if !pairs.is_empty() {
        let _ = writeln!(
            md,
            "- terrace ÷ floor_run, median of paired ratios: **{}** (target ≤ 1.20)",
            ratio(median_of(pairs.into_iter()))
        );
    }
    let pairs = paired(&per_migration, &apply_series(results, n, "floor"));
    if !pairs.is_empty() {
        let _ = writeln!(
            md,
            "- terrace_per_migration ÷ floor, median of paired ratios: **{}** (target ≤ 1.20)",
            ratio(median_of(pairs.into_iter()))
        );
    }
    md.push('\n');
}

fn noop_series(results: &Results, n: usize, name: &str, cold: bool) -> Vec<Option<f64>> {
    results
        .noop
        .get(&(n, name.to_owned()))
        .map(|v| {
            v.iter()
                .map(|s| s.map(|s| if cold { s.cold_ms } else { s.warm_ms }))
                .collect()
        })
        .unwrap_or_default()
}

fn noop_median(results: &Results, n: usize, name: &str, cold: bool) -> Option<f64> {
    median_of(noop_series(results, n, name, cold).into_iter().flatten())
}

fn noop_table(
    md: &mut String,
    options: &Options,
    contenders: &[Contender],
    results: &Results,
    n: usize,
) {
    if !results.noop.keys().any(|(k, _)| *k == n) {
        return;
    }
    let _ = writeln!(
        md,
        "### No-op start-up check + first query: N = {n} applied ({} rounds; {} warm calls per process)\n",
        options.rounds_for(n),
        options.calls
    );
    let _ = writeln!(
        md,
        "| contender | warm: median per call | × no-op floor | paired ÷ no-op floor | cold: first call in the process | × no-op floor (cold) |"
    );
    let _ = writeln!(md, "|---|---:|---:|---:|---:|---:|");
    let floor_warm = noop_median(results, n, "floor", false);
    let floor_cold = noop_median(results, n, "floor", true);
    let floor_series = noop_series(results, n, "floor", false);
    for c in contenders.iter().filter(|c| c.noop) {
        let warm = noop_series(results, n, c.name, false);
        if warm.is_empty() {
            continue;
        }
        let w = noop_median(results, n, c.name, false);
        let cold = noop_median(results, n, c.name, true);
        let failed = warm.iter().filter(|s| s.is_none()).count();
        let _ = writeln!(
            md,
            "| {}{} | {} | {} | {} | {} | {} |",
            c.name,
            if failed > 0 {
                format!(" ({failed} failed)")
            } else {
                String::new()
            },
            ms(w),
            ratio(div(w, floor_warm)),
            ratio(median_of(paired(&warm, &floor_series).into_iter())),
            ms(cold),
            ratio(div(cold, floor_cold)),
        );
    }
    md.push('\n');
}

fn across_n(md: &mut String, options: &Options, contenders: &[Contender], results: &Results) {
    if options.sizes.len() < 2 || (results.apply.is_empty() && results.noop.is_empty()) {
        return;
    }
    let sizes = &options.sizes;
    let _ = writeln!(
        md,
        "### Across N (medians): apply cost per migration, no-op (warm) per call\n"
    );
    let mut header = String::from("| contender |");
    let mut rule = String::from("|---|");
    for n in sizes {
        let _ = write!(header, " apply/migration N={n} |");
        rule.push_str("---:|");
    }
    for n in sizes {
        let _ = write!(header, " no-op N={n} |");
        rule.push_str("---:|");
    }
    let _ = writeln!(md, "{header}\n{rule}");
    for c in contenders {
        let mut line = format!("| {} |", c.name);
        for &n in sizes {
            let _ = write!(
                line,
                " {} |",
                us(apply_median(results, n, c.name).map(|m| m * 1000.0 / n as f64))
            );
        }
        for &n in sizes {
            let _ = write!(
                line,
                " {} |",
                if c.noop {
                    ms(noop_median(results, n, c.name, false))
                } else {
                    "—".into()
                }
            );
        }
        let _ = writeln!(md, "{line}");
    }
    md.push('\n');
}

fn cli_table(md: &mut String, options: &Options, results: &Results) {
    if results.cli.is_empty() {
        return;
    }
    let _ = writeln!(
        md,
        "### CLI status: cold start, whole process, 1,000 applied ({} rounds, medians)\n",
        options.rounds_for(1000)
    );
    let _ = writeln!(
        md,
        "| program | median | × minimal rusqlite program | × minimal program reading the folder | what runs |"
    );
    let _ = writeln!(md, "|---|---:|---:|---:|---|");
    let reference = results
        .cli
        .get("minimal rusqlite program")
        .and_then(|v| median_of(v.iter().flatten().copied()));
    let with_files = results
        .cli
        .get("minimal program reading the folder too")
        .and_then(|v| median_of(v.iter().flatten().copied()));
    for (name, what) in &results.cli_rows {
        let m = results
            .cli
            .get(name)
            .and_then(|v| median_of(v.iter().flatten().copied()));
        let _ = writeln!(
            md,
            "| {name} | {} | {} | {} | {what} |",
            ms(m),
            ratio(div(m, reference)),
            ratio(div(m, with_files))
        );
    }
    md.push('\n');
}

/// The CLI's start-up cost per compiled-in driver: each feature build against the
/// first of the list (SQLite only).
fn features_table(md: &mut String, options: &Options, results: &Results) {
    let Some(first) = results.features.first() else {
        return;
    };
    let _ = writeln!(
        md,
        "### CLI start-up per compiled-in driver ({} rounds, medians)\n",
        options.feature_rounds
    );
    let _ = writeln!(
        md,
        "The terrace CLI built with each feature set of `bench/run`'s list \
         (`--no-default-features --features …`), interleaved round by round. \
         Δ: the median over rounds of this build's time minus `{}`'s in the same round.\n",
        first.name
    );
    let _ = writeln!(
        md,
        "| build | features | binary | `--version` | Δ `--version` | its CPU time | Δ CPU | page faults | `status`, 1,000 applied | Δ `status` |"
    );
    let _ = writeln!(md, "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    let version = |b: &crate::measure::FeatureBuild| -> Vec<Option<f64>> {
        b.version.iter().map(|v| v.map(|(ms, _, _)| ms)).collect()
    };
    let cpu = |b: &crate::measure::FeatureBuild| -> Vec<Option<f64>> {
        b.version.iter().map(|v| v.map(|(_, _, ms)| ms)).collect()
    };
    let delta = |a: &[Option<f64>], b: &[Option<f64>]| {
        median_of(a.iter().zip(b).filter_map(|(a, b)| Some((*a)? - (*b)?)))
    };
    let signed = |value: Option<f64>| match value {
        None => "—".to_owned(),
        Some(v) if v < 0.0 => format!("−{}", ms(Some(-v))),
        Some(v) => format!("+{}", ms(Some(v))),
    };
    for build in &results.features {
        let v = median_of(version(build).into_iter().flatten());
        let faults = median_of(build.version.iter().flatten().map(|(_, f, _)| *f));
        let c = median_of(cpu(build).into_iter().flatten());
        let st = median_of(build.status.iter().flatten().copied());
        let features = if build.features.is_empty() {
            "(none: SQLite only)".to_owned()
        } else {
            format!("`{}`", build.features)
        };
        let _ = writeln!(
            md,
            "| {} | {features} | {:.1} MiB | {} | {} | {} | {} | {} | {} | {} |",
            build.name,
            build.size as f64 / (1024.0 * 1024.0),
            ms(v),
            signed(delta(&version(build), &version(first))),
            ms(c),
            signed(delta(&cpu(build), &cpu(first))),
            faults.map_or_else(|| "—".into(), |f| format!("{f:.0}")),
            ms(st),
            signed(delta(&build.status, &first.status)),
        );
    }
    md.push('\n');
}

fn memory_table(md: &mut String, options: &Options, contenders: &[Contender], results: &Results) {
    let Some(&big) = options.sizes.iter().max() else {
        return;
    };
    let small = options.sizes[0];
    if big == small || !results.apply.keys().any(|(k, _)| *k == big) {
        return;
    }
    let _ = writeln!(
        md,
        "### Peak memory: apply at N = {big} (max RSS of the process, median)\n"
    );
    let _ = writeln!(
        md,
        "| contender | max RSS at N = {big} | at N = {small} | growth |"
    );
    let _ = writeln!(md, "|---|---:|---:|---:|");
    for c in contenders {
        let b = rss_median(results, big, c.name);
        if b.is_none() {
            continue;
        }
        let s = rss_median(results, small, c.name);
        let growth = match (b, s) {
            (Some(b), Some(s)) => format!("+{:.1} MiB", (b - s) / 1024.0),
            _ => "—".into(),
        };
        let _ = writeln!(md, "| {} | {} | {} | {growth} |", c.name, mib(b), mib(s));
    }
    md.push('\n');
}
