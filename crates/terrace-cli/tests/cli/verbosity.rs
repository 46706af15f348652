//! How much a command says: `-q` only errors, `-v` each statement as it runs, and the
//! library's log on stderr with `TERRACE_LOG` or `RUST_LOG`.

use crate::support::{ADD_BASE_URL, CREATE_PROJECTS, Sandbox};

#[test]
fn quiet_migrate_prints_nothing_on_success_and_still_reports_errors() {
    let sandbox = Sandbox::three_migrations();
    let run = sandbox.run(&["-q", "migrate"]);
    run.ok();
    assert_eq!((run.stdout.as_str(), run.stderr.as_str()), ("", ""));
    assert_eq!(sandbox.recorded(), [1, 2, 3]);

    let run = sandbox.run(&["rollback", "--quiet"]);
    run.ok();
    assert_eq!(run.all(), "");

    sandbox.migration("0004_broken.sql", "CREATE TABLE;", None);
    let run = sandbox.run(&["migrate", "-q"]);
    run.code(1);
    assert_eq!(run.stdout, "");
    assert!(run.stderr.starts_with("error: "), "{}", run.stderr);
}

#[test]
fn quiet_json_still_prints_the_document() {
    let sandbox = Sandbox::three_migrations();
    let run = sandbox.run(&["-q", "--format", "json", "migrate"]);
    run.ok();
    assert_eq!(run.json()["steps"].as_array().map(Vec::len), Some(3));
    assert_eq!(run.stderr, "");
}

#[test]
fn verbose_migrate_prints_each_statement_before_its_migration_is_done() {
    let sandbox = Sandbox::three_migrations();
    let run = sandbox.run(&["migrate", "-v", "--to", "2"]);
    run.ok();
    let stdout = &run.stdout;
    let create = stdout
        .find(CREATE_PROJECTS.trim_end_matches(';'))
        .unwrap_or_else(|| panic!("{stdout}"));
    let add = stdout
        .find(ADD_BASE_URL.trim_end_matches(';'))
        .unwrap_or_else(|| panic!("{stdout}"));
    assert!(stdout.contains("-- migration 1, line 2\n"), "{stdout}");
    assert!(stdout.contains("-- migration 2, line 2\n"), "{stdout}");
    let second_done = stdout.find("2 add_base_url").unwrap();
    assert!(create < add && add < second_done, "{stdout}");

    let quiet = sandbox.run(&["rollback", "--steps", "2"]);
    quiet.ok();
    assert!(!quiet.stdout.contains("-- migration"), "{}", quiet.stdout);
}

#[test]
fn verbose_and_quiet_together_are_a_usage_error() {
    let sandbox = Sandbox::three_migrations();
    sandbox.run(&["-v", "-q", "migrate"]).code(2);
}

#[test]
fn terrace_log_shows_the_librarys_log_on_stderr() {
    let sandbox = Sandbox::three_migrations();
    let run = sandbox.run_with(".", &[("TERRACE_LOG", "debug")], &["migrate", "--to", "1"]);
    run.ok();
    assert!(
        run.stderr.contains("DEBUG") && run.stderr.contains("took the migration lock"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("INFO") && run.stderr.contains("migration complete"),
        "{}",
        run.stderr
    );
    assert!(!run.stdout.contains("DEBUG"), "the log stays off stdout");

    // RUST_LOG works too; TERRACE_LOG wins over it.
    let run = sandbox.run_with(".", &[("RUST_LOG", "info")], &["migrate", "--to", "2"]);
    assert!(run.stderr.contains("migration complete"), "{}", run.stderr);
    let run = sandbox.run_with(
        ".",
        &[("RUST_LOG", "debug"), ("TERRACE_LOG", "off")],
        &["migrate"],
    );
    run.ok();
    assert!(
        !run.stderr.contains("DEBUG") && !run.stderr.contains("INFO"),
        "{}",
        run.stderr
    );

    let run = sandbox.run(&["status"]);
    assert!(!run.stderr.contains("INFO"), "no log unless asked for");
}

/// A migration that runs for about a second on SQLite.
const SLOW: &str = "CREATE TABLE pause AS WITH RECURSIVE n(i) AS \
     (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000000) SELECT count(*) AS c FROM n;";

#[test]
fn on_a_terminal_the_bar_shows_the_running_migrations_time_as_it_grows() {
    let sandbox = Sandbox::three_migrations();
    sandbox.migration("0004_slow.sql", SLOW, None);
    // `script` (util-linux) runs the command on a pseudo-terminal and copies what it
    // shows: stdout and stderr together, as a person would see them.
    let output = std::process::Command::new("script")
        .args([
            "-qfec",
            &format!("'{}' migrate", env!("CARGO_BIN_EXE_terrace")),
            "/dev/null",
        ])
        .current_dir(sandbox.path())
        .env_remove("TERRACE_LOG")
        .env_remove("RUST_LOG")
        .env_remove("DATABASE_URL")
        .output()
        .expect("run script (util-linux)");
    let screen = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{screen}");
    let frames: Vec<&str> = screen
        .split("\r\x1b[2K")
        .filter(|frame| frame.contains("applying 4 slow"))
        .collect();
    // The last of four runs: three finished, the bar three quarters full.
    assert!(
        frames
            .iter()
            .all(|f| f.starts_with("[==================>     ] 3/4  applying 4 slow  ")),
        "{frames:?}"
    );
    // Redrawn while it runs, each time with a later time.
    let times: Vec<f64> = frames
        .iter()
        .filter_map(|f| f.rsplit("  ").next()?.strip_suffix(" s")?.parse().ok())
        .collect();
    // (A tick can come just after the first drawing, in the same tenth of a second.)
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "{times:?}");
    let mut distinct = times.clone();
    distinct.dedup();
    assert!(distinct.len() >= 3, "{frames:?}");
    // Erased before the migration's own line.
    assert!(
        screen.contains("\r\x1b[2K\x1b[32mran\x1b[0m 4 slow"),
        "{screen:?}"
    );

    // Not on a terminal: no bar at all.
    let sandbox = Sandbox::three_migrations();
    sandbox.migration("0004_slow.sql", SLOW, None);
    let run = sandbox.run(&["migrate"]);
    run.ok();
    assert!(!run.all().contains('\r'), "{:?}", run.all());
}

#[test]
fn a_single_migration_gets_a_bar_too() {
    let sandbox = Sandbox::project();
    sandbox.migration("0001_slow.sql", SLOW, None);
    let output = std::process::Command::new("script")
        .args([
            "-qfec",
            &format!("'{}' migrate", env!("CARGO_BIN_EXE_terrace")),
            "/dev/null",
        ])
        .current_dir(sandbox.path())
        .env_remove("TERRACE_LOG")
        .env_remove("RUST_LOG")
        .env_remove("DATABASE_URL")
        .output()
        .expect("run script (util-linux)");
    let screen = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{screen}");
    assert!(
        screen.contains("\r\x1b[2K[>                       ] 0/1  applying 1 slow  0.0 s"),
        "{screen:?}"
    );
}

#[test]
fn quiet_still_prints_what_was_asked_for() {
    let sandbox = Sandbox::project();
    // The path of the new file is the result scripts read: `$EDITOR $(terrace -q new x)`.
    let run = sandbox.run(&["-q", "new", "create_projects"]);
    run.ok();
    assert_eq!(run.stdout.trim(), "migrations/0001_create_projects.sql");
    let run = sandbox.run(&["-q", "completions", "bash"]);
    run.ok();
    assert!(run.stdout.contains("terrace"), "{}", run.stdout);
}
