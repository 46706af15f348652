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
    assert_eq!(run.stderr, "");

    let run = sandbox.run(&["status"]);
    assert!(!run.stderr.contains("INFO"), "no log unless asked for");
}
