//! Several `terrace migrate` processes started at once on one database.

use crate::support::Sandbox;

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
