//! A `terrace migrate` that finds the migration lock held says so on stderr within a
//! second, on every backend, then goes on once the lock is free.

use crate::servers::ScratchDatabase;
use crate::support::Sandbox;
use std::io::{BufRead, BufReader};
use std::process::Child;
use std::sync::mpsc;
use std::time::{Duration, Instant};
use terrace::{ConnectOptions, Connection, DatabaseUrl, Event, Target};

/// Reads a child's stderr line by line as it comes, on a thread of its own.
fn stderr_lines(child: &mut Child) -> mpsc::Receiver<String> {
    let stderr = child.stderr.take().expect("a piped stderr");
    let (send, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if send.send(line).is_err() {
                break;
            }
        }
    });
    lines
}

/// The first line containing `needle` that arrives within `within`, and when.
fn line_within(lines: &mpsc::Receiver<String>, needle: &str, within: Duration) -> String {
    let started = Instant::now();
    let mut seen = Vec::new();
    loop {
        let left = within.saturating_sub(started.elapsed());
        match lines.recv_timeout(left) {
            Ok(line) if line.contains(needle) => return line,
            Ok(line) => seen.push(line),
            Err(_) => panic!("no line with {needle:?} within {within:?}; stderr so far: {seen:?}"),
        }
    }
}

/// The sandbox's SQLite database, for a connection opened outside it.
fn sqlite_url(sandbox: &Sandbox) -> String {
    format!("sqlite:{}", sandbox.db_path().display())
}

/// Runs the sandbox's migrations through the library on `url` in a thread that holds
/// the migration lock from its first migration's start until `release` receives
/// something; returns once the lock is held.
fn hold_lock(
    sandbox: &Sandbox,
    url: &str,
    release: mpsc::Receiver<()>,
) -> std::thread::JoinHandle<()> {
    let migrations = terrace::Migrations::from_dir(sandbox.path().join("migrations")).unwrap();
    let mut conn = Connection::open(
        &DatabaseUrl::parse(url).unwrap(),
        &ConnectOptions::default(),
    )
    .unwrap();
    let (held, holding) = mpsc::channel();
    let thread = std::thread::spawn(move || {
        let mut first = true;
        migrations
            .run_with(&mut conn, Target::Latest, &mut |event| {
                if matches!(event, Event::Started { .. }) && std::mem::take(&mut first) {
                    held.send(()).unwrap();
                    release.recv().unwrap();
                }
            })
            .unwrap();
    });
    holding
        .recv_timeout(Duration::from_secs(30))
        .expect("the holder took the lock");
    thread
}

/// While another run holds the lock, `terrace migrate` (with `args`) announces the
/// wait on stderr within a second, naming `shown`; once the lock is free it finds
/// nothing left to do.
fn announces_the_wait(sandbox: &Sandbox, holder_url: &str, url: &str, shown: &str) -> String {
    let (release, released) = mpsc::channel();
    let holder = hold_lock(sandbox, holder_url, released);

    let args = ["--database", url, "migrate", "--lock-timeout", "300"];
    let mut child = sandbox.command(".", &[], &args).spawn().unwrap();
    let lines = stderr_lines(&mut child);
    let line = line_within(
        &lines,
        "waiting for the migration lock",
        Duration::from_secs(1),
    );
    assert_eq!(
        line,
        format!("waiting for the migration lock on {shown} (held by another run) — up to 5m")
    );

    release.send(()).unwrap();
    holder.join().unwrap();
    let took = line_within(&lines, "took the migration lock", Duration::from_secs(30));
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "{:?}", output);
    took
}

#[test]
fn on_sqlite_a_held_lock_file_is_announced() {
    let sandbox = Sandbox::three_migrations();
    let took = announces_the_wait(
        &sandbox,
        &sqlite_url(&sandbox),
        "sqlite:app.db",
        "sqlite:app.db",
    );
    assert!(took.starts_with("took the migration lock after "), "{took}");
    assert_eq!(sandbox.recorded(), [1, 2, 3]);
}

#[test]
fn on_sqlite_another_writer_is_announced() {
    let sandbox = Sandbox::three_migrations();
    sandbox.run(&["migrate", "--to", "1"]).ok();
    let holder = sandbox.open_db();
    holder.execute_batch("BEGIN IMMEDIATE").unwrap();

    let mut child = sandbox
        .command(".", &[], &["migrate", "--lock-timeout", "90"])
        .spawn()
        .unwrap();
    let lines = stderr_lines(&mut child);
    let line = line_within(
        &lines,
        "waiting for the migration lock",
        Duration::from_secs(1),
    );
    assert_eq!(
        line,
        "waiting for the migration lock on sqlite:app.db (held by another run) — up to 1m 30s"
    );
    holder.execute_batch("ROLLBACK").unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "{:?}", output);
    assert_eq!(sandbox.recorded(), [1, 2, 3]);
}

#[test]
fn in_json_the_wait_is_on_stderr_and_stdout_stays_one_document() {
    let sandbox = Sandbox::three_migrations();
    let (release, released) = mpsc::channel();
    let holder = hold_lock(&sandbox, &sqlite_url(&sandbox), released);
    let mut child = sandbox
        .command(".", &[], &["migrate", "--format", "json"])
        .spawn()
        .unwrap();
    let lines = stderr_lines(&mut child);
    line_within(
        &lines,
        "waiting for the migration lock",
        Duration::from_secs(1),
    );
    release.send(()).unwrap();
    holder.join().unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success());
    let document: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(document["steps"], serde_json::json!([]));
}

#[test]
fn quiet_runs_do_not_announce_the_wait() {
    let sandbox = Sandbox::three_migrations();
    let (release, released) = mpsc::channel();
    let holder = hold_lock(&sandbox, &sqlite_url(&sandbox), released);
    let child = sandbox
        .command(".", &[], &["-q", "migrate"])
        .spawn()
        .unwrap();
    // Long enough for a notice to have come, had there been one.
    std::thread::sleep(Duration::from_millis(1500));
    release.send(()).unwrap();
    holder.join().unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success());
    assert_eq!(String::from_utf8_lossy(&output.stderr), "");
}

#[test]
#[cfg_attr(
    not(terrace_test_postgres),
    ignore = "TERRACE_TEST_POSTGRES_URL was not set when the tests were built"
)]
fn on_postgres_a_held_lock_is_announced_without_the_password() {
    let db = ScratchDatabase::new("TERRACE_TEST_POSTGRES_URL");
    // The test server trusts every local connection: a password is accepted and
    // ignored, and must not be shown.
    let url = db.url.replacen("://postgres@", "://postgres:s3cret@", 1);
    assert_ne!(url, db.url, "the test URL has the expected shape");
    let sandbox = Sandbox::three_migrations();
    let shown = url.replace(":s3cret@", ":***@");
    announces_the_wait(&sandbox, &url, &url, &shown);
    let run = sandbox.run(&["--database", &db.url, "status", "--check"]);
    run.ok();
}

#[test]
#[cfg_attr(
    not(terrace_test_mysql),
    ignore = "TERRACE_TEST_MYSQL_URL was not set when the tests were built"
)]
fn on_mysql_a_held_lock_is_announced() {
    let db = ScratchDatabase::new("TERRACE_TEST_MYSQL_URL");
    let sandbox = Sandbox::three_migrations();
    announces_the_wait(&sandbox, &db.url, &db.url, &db.url);
    sandbox
        .run(&["--database", &db.url, "status", "--check"])
        .ok();
}

#[test]
fn baseline_repair_and_reset_announce_the_wait_too() {
    for args in [&["baseline", "1"][..], &["repair"], &["reset", "--yes"]] {
        let sandbox = Sandbox::three_migrations();
        let holder = sandbox.open_db();
        holder.execute_batch("BEGIN IMMEDIATE").unwrap();
        let mut child = sandbox.command(".", &[], args).spawn().unwrap();
        let lines = stderr_lines(&mut child);
        let line = line_within(
            &lines,
            "waiting for the migration lock",
            Duration::from_secs(1),
        );
        assert!(
            line.ends_with("(held by another run) — up to 5m"),
            "{args:?}: {line}"
        );
        holder.execute_batch("ROLLBACK").unwrap();
        let output = child.wait_with_output().unwrap();
        assert!(output.status.success(), "{args:?}: {output:?}");
    }
}
