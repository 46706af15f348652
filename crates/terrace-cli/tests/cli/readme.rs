//! The README's walkthrough, run as written: the commands a new user copies first must
//! work, in that order, on a new folder.

use crate::support::Sandbox;

/// The README, read from the workspace root.
fn readme() -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md");
    std::fs::read_to_string(path).unwrap()
}

/// The fenced block of `language` that follows the heading `heading`.
fn block_after(text: &str, heading: &str, language: &str) -> Vec<String> {
    let (_, rest) = text
        .split_once(&format!("\n{heading}\n"))
        .unwrap_or_else(|| panic!("the README has no heading {heading:?}"));
    let (_, rest) = rest
        .split_once(&format!("```{language}\n"))
        .unwrap_or_else(|| panic!("no ```{language} block after {heading:?}"));
    let (block, _) = rest.split_once("```").unwrap();
    block.lines().map(str::to_owned).collect()
}

/// A command line without its trailing `# comment`, split into words.
fn words(line: &str) -> Vec<String> {
    let code = line.split_once(" #").map_or(line, |(code, _)| code);
    code.split_whitespace().map(str::to_owned).collect()
}

#[test]
fn the_readme_stays_short_and_opens_with_the_walkthrough() {
    let text = readme();
    assert!(
        text.lines().count() < 300,
        "the README has {} lines: move reference detail to docs/",
        text.lines().count()
    );
    let first_heading = text.lines().find(|l| l.starts_with("## ")).unwrap();
    assert_eq!(first_heading, "## Ten lines to a migrated database");
    // Its set-up commands for a fresh clone are still the two CI runs.
    let setup = block_after(&text, "## Try it from this repository", "sh");
    assert_eq!(
        setup,
        [
            "cargo run --example autoaudit -- autoaudit.db",
            "cargo test --workspace"
        ]
    );
    let ci =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../.ci/run")).unwrap();
    assert!(ci.contains("cargo test --workspace"));
}

#[test]
fn the_walkthrough_runs_as_written() {
    let text = readme();
    let heading = "## Ten lines to a migrated database";
    let commands = block_after(&text, heading, "sh");
    let migration = block_after(&text, heading, "sql").join("\n") + "\n";
    let sandbox = Sandbox::empty();

    let mut ran = Vec::new();
    for line in &commands {
        let words = words(line);
        match words.first().map(String::as_str) {
            // Installing is what the test binary already is.
            Some("cargo") => assert_eq!(words[..3], ["cargo", "install", "--locked"]),
            // The edit the user makes: the example file shown below the commands.
            Some("$EDITOR") => {
                sandbox.write(&words[1], &migration);
            }
            Some("terrace") => {
                let args: Vec<&str> = words[1..].iter().map(String::as_str).collect();
                let run = sandbox.run(&args);
                run.ok();
                ran.push((args.join(" "), run));
            }
            other => panic!("unexpected walkthrough line {other:?}: {line}"),
        }
    }
    let names: Vec<&str> = ran.iter().map(|(args, _)| args.as_str()).collect();
    assert_eq!(
        names,
        [
            "--database sqlite:app.db init",
            "new create_users",
            "sum",
            "migrate",
            "status",
            "rollback",
            "migrate"
        ]
    );
    // The comments tell the truth: the file `new` wrote, the table the migration made.
    assert!(ran[1].1.all().contains("0001_create_users.sql"));
    assert!(ran[4].1.stdout.contains("1 applied, 0 pending"));
    // With the sum file written again after the edit, nothing warns.
    for (args, run) in &ran {
        assert!(!run.all().contains("warning"), "{args}:\n{}", run.all());
    }
    assert_eq!(sandbox.recorded(), [1]);
    let conn = sandbox.open_db();
    let tables: i64 = conn
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'users'",
            [],
            |row| row.get(0),
        )
        .unwrap();
    assert_eq!(tables, 1);
}
