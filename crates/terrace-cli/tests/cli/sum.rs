//! `terrace.sum`: written by `init`, `new`, `renumber` and `sum`, checked by
//! `validate`, warned about by `migrate` and `status`; and the git conflict it exists
//! for.

use crate::support::{ADD_BASE_URL, CREATE_PROJECTS, Sandbox};
use std::path::Path;
use std::process::Command;

fn sum_text(sandbox: &Sandbox) -> String {
    std::fs::read_to_string(sandbox.path().join("migrations/terrace.sum")).unwrap()
}

/// Two migrations and a sum file that matches them; no database configured.
fn summed() -> Sandbox {
    let sandbox = Sandbox::empty();
    sandbox.migration("0001_create_projects.sql", CREATE_PROJECTS, None);
    sandbox.migration("0002_add_base_url.sql", ADD_BASE_URL, None);
    let run = sandbox.run(&["sum"]);
    assert_eq!(
        run.ok().stdout,
        "wrote migrations/terrace.sum: 2 migration files\n"
    );
    sandbox
}

#[test]
fn init_creates_it_unless_told_not_to() {
    let sandbox = Sandbox::empty();
    let run = sandbox.run(&["init"]);
    assert!(
        run.ok().stdout.contains("created migrations/terrace.sum"),
        "{}",
        run.stdout
    );
    assert_eq!(sum_text(&sandbox).lines().count(), 1);
    assert!(sum_text(&sandbox).starts_with("total sha256:"));

    let sandbox = Sandbox::empty();
    let doc = sandbox
        .run(&["init", "--no-sum", "--format", "json"])
        .ok()
        .json();
    assert_eq!(doc["sum"], serde_json::Value::Null);
    assert!(sandbox.files("migrations").is_empty());
    // A folder without one works as before.
    sandbox.run(&["new", "create_projects"]).ok();
    assert_eq!(sandbox.files("migrations"), ["0001_create_projects.sql"]);

    let sandbox = Sandbox::empty();
    let doc = sandbox.run(&["init", "--format", "json"]).ok().json();
    assert_eq!(doc["sum"], "migrations/terrace.sum");
}

#[test]
fn new_rewrites_it() {
    let sandbox = summed();
    let before = sum_text(&sandbox);
    let run = sandbox.run(&["new", "add_owner"]);
    assert!(
        run.ok()
            .stderr
            .contains("note: rewrote migrations/terrace.sum"),
        "{}",
        run.stderr
    );
    let after = sum_text(&sandbox);
    assert_ne!(before.lines().next(), after.lines().next());
    assert_eq!(after.lines().count(), 4);
    assert!(
        after
            .lines()
            .nth(3)
            .unwrap()
            .starts_with("0003_add_owner.sql sha256:"),
        "{after}"
    );
    let doc = sandbox
        .run(&["new", "add_owner_index", "--format", "json"])
        .ok()
        .json();
    assert_eq!(doc["sum"], "migrations/terrace.sum");
    assert!(sum_text(&sandbox).contains("0004_add_owner_index.sql sha256:"));
}

#[test]
fn validate_fails_on_a_changed_file_naming_it() {
    let sandbox = summed();
    sandbox.run(&["validate"]).ok();
    sandbox.migration(
        "0002_add_base_url.sql",
        "ALTER TABLE projects ADD COLUMN base_url VARCHAR(200);",
        None,
    );
    let run = sandbox.run(&["validate"]);
    assert_eq!(
        run.code(1).stderr,
        "error: validation failed, nothing was changed:\n  \
         - migrations/terrace.sum: 0002_add_base_url.sql (version 2) differs from its line; \
         run `terrace sum` if the change was intended\n"
    );
    let doc = sandbox
        .run(&["validate", "--format", "json"])
        .code(1)
        .json();
    assert_eq!(doc["valid"], false);
    assert_eq!(
        doc["problems"],
        serde_json::json!([
            "migrations/terrace.sum: 0002_add_base_url.sql (version 2) differs from its line; \
             run `terrace sum` if the change was intended"
        ])
    );
    sandbox.run(&["sum"]).ok();
    sandbox.run(&["validate"]).ok();
}

#[test]
fn validate_fails_on_a_missing_and_an_extra_line() {
    let sandbox = summed();
    sandbox.migration(
        "0003_add_owner.sql",
        "ALTER TABLE projects ADD COLUMN owner TEXT;",
        None,
    );
    let run = sandbox.run(&["validate"]);
    assert!(
        run.code(1).stderr.contains(
            "migrations/terrace.sum: 0003_add_owner.sql (version 3) has no line; run `terrace \
             sum` if the change was intended"
        ),
        "{}",
        run.stderr
    );
    sandbox.run(&["sum"]).ok();
    std::fs::remove_file(sandbox.path().join("migrations/0003_add_owner.sql")).unwrap();
    let doc = sandbox
        .run(&["validate", "--format", "json"])
        .code(1)
        .json();
    assert_eq!(
        doc["problems"],
        serde_json::json!([
            "migrations/terrace.sum: lists 0003_add_owner.sql (version 3), which is not in the \
             folder; run `terrace sum` if the change was intended"
        ])
    );
}

#[test]
fn migrate_and_status_warn_and_go_on() {
    let sandbox = summed();
    sandbox.migration(
        "0003_add_owner.sql",
        "ALTER TABLE projects ADD COLUMN owner TEXT;",
        None,
    );
    let warning = "warning: migrations/terrace.sum: 0003_add_owner.sql (version 3) has no line; \
                   run `terrace sum` if the change was intended\n";
    let db = ["--database", "sqlite:app.db"];
    let run = sandbox.run(&[&db[..], &["migrate"]].concat());
    assert!(run.ok().stderr.contains(warning), "{}", run.stderr);
    assert_eq!(sandbox.recorded(), [1, 2, 3]);
    let run = sandbox.run(&[&db[..], &["status"]].concat());
    assert!(run.ok().stderr.contains(warning), "{}", run.stderr);
    let doc = sandbox
        .run(&[&db[..], &["status", "--format", "json"]].concat())
        .ok()
        .json();
    assert_eq!(doc["warnings"][0], warning["warning: ".len()..].trim_end());
}

#[test]
fn sum_and_renumber_rewrite_a_file_with_conflict_markers() {
    let sandbox = summed();
    let good = sum_text(&sandbox);
    sandbox.write(
        "migrations/terrace.sum",
        &format!("<<<<<<< HEAD\n{good}=======\n{good}>>>>>>> other\n"),
    );
    let run = sandbox.run(&["validate"]);
    assert!(
        run.code(1)
            .stderr
            .contains("migrations/terrace.sum:1: git conflict markers"),
        "{}",
        run.stderr
    );
    sandbox.run(&["renumber"]).ok();
    assert_eq!(sum_text(&sandbox), good);
    sandbox.write("migrations/terrace.sum", "<<<<<<< HEAD\n");
    sandbox.run(&["sum"]).ok();
    assert_eq!(sum_text(&sandbox), good);
}

/// `git` in `dir`, which must succeed; its output.
fn git(dir: &Path, args: &[&str]) -> String {
    let output = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("HOME", dir)
        .output()
        .expect("run git");
    assert!(
        output.status.success(),
        "git {args:?}\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Two branches each add migration 3 with `terrace new`: git stops the merge with a
/// conflict in terrace.sum, and `terrace renumber` plus `terrace sum` resolve it.
#[test]
fn two_branches_adding_one_version_conflict_in_git() {
    let sandbox = Sandbox::empty();
    let dir = sandbox.path();
    git(dir, &["init", "-q", "-b", "main"]);
    git(dir, &["config", "user.name", "Terrace Tests"]);
    git(dir, &["config", "user.email", "tests@terrace.invalid"]);
    git(dir, &["config", "commit.gpgsign", "false"]);
    sandbox.run(&["init"]).ok();
    sandbox.migration("0001_create_projects.sql", CREATE_PROJECTS, None);
    sandbox.migration("0002_add_base_url.sql", ADD_BASE_URL, None);
    sandbox.run(&["sum"]).ok();
    git(dir, &["add", "."]);
    git(dir, &["commit", "-q", "-m", "two migrations"]);

    let add = |branch: &str, name: &str, sql: &str| {
        git(dir, &["checkout", "-q", "-b", branch, "main"]);
        let path = sandbox.run(&["new", name]).ok().stdout.trim().to_owned();
        let template = std::fs::read_to_string(dir.join(&path)).unwrap();
        let filled = template.replacen("-- migrate:up\n", &format!("-- migrate:up\n{sql}\n"), 1);
        std::fs::write(dir.join(&path), filled).unwrap();
        sandbox.run(&["sum"]).ok();
        sandbox.run(&["validate"]).ok();
        git(dir, &["add", "."]);
        git(dir, &["commit", "-q", "-m", name]);
        path
    };
    let owner = add(
        "owner",
        "add_owner",
        "ALTER TABLE projects ADD COLUMN owner TEXT;",
    );
    let archived = add(
        "archived",
        "add_archived",
        "ALTER TABLE projects ADD COLUMN archived INTEGER;",
    );
    assert_eq!(
        (owner.as_str(), archived.as_str()),
        (
            "migrations/0003_add_owner.sql",
            "migrations/0003_add_archived.sql"
        )
    );

    git(dir, &["checkout", "-q", "main"]);
    git(dir, &["merge", "-q", "owner"]);
    let merge = Command::new("git")
        .args(["merge", "archived"])
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("HOME", dir)
        .output()
        .unwrap();
    assert!(!merge.status.success(), "the merge must stop");
    let said = String::from_utf8_lossy(&merge.stdout);
    assert!(
        said.contains("CONFLICT (content): Merge conflict in migrations/terrace.sum"),
        "{said}"
    );
    let conflicted = git(dir, &["diff", "--name-only", "--diff-filter=U"]);
    assert_eq!(conflicted.trim(), "migrations/terrace.sum");
    // Both files of version 3 came through; validate stops on the conflict.
    assert!(dir.join(&owner).is_file() && dir.join(&archived).is_file());
    sandbox.run(&["validate"]).code(1);

    sandbox.run(&["renumber", &archived]).ok();
    sandbox.run(&["sum"]).ok();
    let run = sandbox.run(&["validate"]);
    assert!(
        run.ok().stdout.contains("valid: 4 migrations"),
        "{}",
        run.stdout
    );
    assert!(
        sandbox
            .files("migrations")
            .contains(&"0004_add_archived.sql".to_owned())
    );
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "-m", "merge archived"]);
    let sandbox_db = sandbox.run(&["--database", "sqlite:app.db", "migrate"]);
    sandbox_db.ok();
}
