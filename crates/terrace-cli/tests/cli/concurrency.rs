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
    let mut applied_lines = 0;
    for child in children {
        let output = child.wait_with_output().unwrap();
        let stdout = String::from_utf8(output.stdout).unwrap();
        assert!(
            output.status.success(),
            "{stdout}{}",
            String::from_utf8_lossy(&output.stderr)
        );
        applied_lines += stdout
            .lines()
            .filter(|l| l.starts_with("applied ") && l.ends_with(" ms)"))
            .count();
    }
    assert_eq!(
        applied_lines, 12,
        "each migration is reported applied exactly once"
    );
    assert_eq!(sandbox.recorded(), (1..=12).collect::<Vec<i64>>());
}
