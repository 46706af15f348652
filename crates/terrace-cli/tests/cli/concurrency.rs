//! Several `terrace migrate` processes started at once on one database.

use crate::support::Sandbox;
use std::time::{Duration, Instant};

#[test]
fn racing_processes_apply_each_migration_once() {
    let sandbox = Sandbox::three_migrations();
    for i in 4..=12 {
        sandbox.migration(
            &format!("{i:04}_add_column_{i}.sql"),
            &format!("ALTER TABLE projects ADD COLUMN c{i} TEXT;"),
            None,
        );
    }
    let children: Vec<_> = (0..4)
        .map(|_| sandbox.command(".", &[], &["migrate"]).spawn().unwrap())
        .collect();
    let mut announced = Vec::new();
    for child in children {
        let output = child.wait_with_output().unwrap();
        let stdout = String::from_utf8(output.stdout).unwrap();
        assert!(
            output.status.success(),
            "{stdout}{}",
            String::from_utf8_lossy(&output.stderr)
        );
        // One transaction per run on SQLite: what a process applied is what its
        // "committed" lines announce.
        for span in stdout.lines().filter_map(|l| l.strip_prefix("committed ")) {
            match span.split_once(" to ") {
                Some((first, last)) => {
                    announced.extend(first.parse::<i64>().unwrap()..=last.parse().unwrap())
                }
                None => announced.push(span.parse::<i64>().unwrap()),
            }
        }
    }
    announced.sort_unstable();
    assert_eq!(
        announced,
        (1..=12).collect::<Vec<i64>>(),
        "each migration is reported applied exactly once"
    );
    assert_eq!(sandbox.recorded(), (1..=12).collect::<Vec<i64>>());
}

/// Runs `terrace ARGS` while another connection holds SQLite's write lock: it must give
/// up on its own, well before the default five minutes.
fn blocked_run(sandbox: &Sandbox, env: &[(&str, &str)], args: &[&str]) -> (Duration, String) {
    let started = Instant::now();
    let mut child = sandbox.command(".", env, args).spawn().unwrap();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > Duration::from_secs(60) {
            child.kill().unwrap();
            panic!("{args:?} still waits for the lock after a minute");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let elapsed = started.elapsed();
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    (elapsed, stderr)
}

#[test]
fn a_held_lock_fails_after_the_lock_timeout() {
    let sandbox = Sandbox::three_migrations();
    sandbox.run(&["migrate", "--to", "1"]).ok();
    let holder = sandbox.open_db();
    holder.execute_batch("BEGIN IMMEDIATE").unwrap();

    let (elapsed, stderr) = blocked_run(&sandbox, &[], &["migrate", "--lock-timeout", "1"]);
    // The lock timeout bounds the whole wait, whatever the connection's own busy
    // timeout.
    assert!(elapsed < Duration::from_secs(4), "{elapsed:?}");
    assert!(
        stderr.contains("was not free within the lock timeout of 1s: another run held it")
            && stderr.contains("hint: wait for the other run to finish"),
        "{stderr}"
    );
    // The environment and terrace.toml feed the same setting (see config.rs's tests):
    // one blocked run through terrace.toml shows the setting reaches the library.
    sandbox.write(
        "terrace.toml",
        "database = \"sqlite:app.db\"\nlock_timeout = 1\n",
    );
    let (elapsed, _) = blocked_run(&sandbox, &[], &["rollback"]);
    assert!(elapsed < Duration::from_secs(4), "{elapsed:?}");

    drop(holder);
    sandbox.run(&["migrate", "--lock-timeout", "1"]).ok();
    assert_eq!(sandbox.recorded(), [1, 2, 3]);
    let run = sandbox.run_with(".", &[("TERRACE_LOCK_TIMEOUT", "soon")], &["migrate"]);
    run.code(2);
    assert!(
        run.stderr.contains("TERRACE_LOCK_TIMEOUT"),
        "{}",
        run.stderr
    );
}
