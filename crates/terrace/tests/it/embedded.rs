//! Migrations embedded at compile time match the same folder read at run time.

use crate::support::{Scratch, fixtures, recorded_versions};
use terrace::{Migration, Migrations, embed_migrations};

static EMBEDDED: Migrations = embed_migrations!("tests/fixtures/basic");

#[terrace::migration]
fn add_owner(db: &mut terrace::Db<'_>) -> terrace::CodeResult {
    db.add_column_if_missing("projects", "owner", "TEXT")?;
    Ok(())
}

static WITH_CODE: Migrations = embed_migrations!(
    "tests/fixtures/basic",
    [Migration::code(4, "add_owner", add_owner)]
);

/// The same files with a `terrace.sum` that matches them: accepted as they are.
static SUMMED: Migrations = embed_migrations!("tests/fixtures/summed");

#[test]
fn a_folder_with_a_matching_sum_file_embeds_as_without_one() {
    let checksums = |list: &Migrations| -> Vec<String> {
        list.list()
            .iter()
            .map(|m| m.checksum().into_owned())
            .collect()
    };
    assert_eq!(checksums(&SUMMED), checksums(&EMBEDDED));
    let at_run_time = Migrations::from_dir(fixtures("summed")).unwrap();
    assert!(
        at_run_time.warnings().is_empty(),
        "{:?}",
        at_run_time.warnings()
    );
}

#[test]
fn a_sum_file_that_differs_is_a_warning_at_run_time() {
    let scratch = Scratch::new();
    crate::support::copy_fixture(&scratch, "summed");
    let dir = scratch.migrations_dir();
    let sum = dir.join("terrace.sum");
    let text = std::fs::read_to_string(&sum).unwrap();
    let edited: String = text
        .lines()
        .filter(|line| !line.starts_with("0003_"))
        .map(|line| format!("{line}\n"))
        .collect();
    std::fs::write(&sum, edited).unwrap();
    let migrations = Migrations::from_dir(&dir).unwrap();
    assert!(
        matches!(migrations.warnings(), [terrace::Warning::Sum { path, line: None, .. }] if *path == sum),
        "{:?}",
        migrations.warnings()
    );
    assert_eq!(
        migrations.warnings()[0].to_string(),
        format!(
            "{}: the total on the first line does not match the lines below it (edited by \
             hand?); run `terrace sum` if the change was intended",
            sum.display()
        )
    );
    // Only a warning: the migrations run.
    let mut conn = scratch.open();
    migrations.run(&mut conn).unwrap();
}

#[test]
fn embedded_list_equals_the_folder_read_at_run_time() {
    let at_run_time = Migrations::from_dir(fixtures("basic")).unwrap();
    assert_eq!(EMBEDDED.list().len(), 3);
    for (embedded, read) in EMBEDDED.list().iter().zip(at_run_time.list()) {
        assert_eq!(embedded.version(), read.version());
        assert_eq!(embedded.name(), read.name());
        assert_eq!(embedded.checksum(), read.checksum());
        assert_eq!(embedded.up().sql(), read.up().sql());
        assert_eq!(
            embedded.down().and_then(|d| d.sql()),
            read.down().and_then(|d| d.sql())
        );
    }
}

#[test]
fn a_database_migrated_from_files_validates_against_the_embedded_list() {
    let scratch = Scratch::new();
    crate::support::copy_fixture(&scratch, "basic");
    let mut conn = scratch.open();
    scratch.migrations().run(&mut conn).unwrap();
    EMBEDDED.validate(&mut conn).unwrap();
    assert_eq!(WITH_CODE.run(&mut conn).unwrap().versions(), [4]);
    assert_eq!(recorded_versions(&conn), [1, 2, 3, 4]);
}

#[test]
fn an_embedded_migration_names_a_failing_statement_by_its_line_of_the_file() {
    let scratch = Scratch::new();
    let mut conn = scratch.open();
    EMBEDDED
        .run_to(&mut conn, terrace::Target::Version(1))
        .unwrap();
    conn.execute_batch("DROP TABLE projects;").unwrap();
    let at_run_time = Migrations::from_dir(fixtures("basic")).unwrap();
    for list in [&EMBEDDED, &at_run_time] {
        match list.rollback(&mut conn, terrace::Target::Steps(1)) {
            // The down section starts on line 7 of 0001_create_projects.sql.
            Err(terrace::Error::MigrationFailed { line, .. }) => assert_eq!(line, Some(7)),
            other => panic!("{other:?}"),
        }
    }
}

/// `basic` squashed to 2 by `terrace squash --to 2`.
static SQUASHED: Migrations = embed_migrations!("tests/fixtures/squashed");

#[test]
fn an_embedded_squashed_baseline_recognises_the_history_it_stands_for() {
    let at_run_time = Migrations::from_dir(fixtures("squashed")).unwrap();
    assert_eq!(
        SQUASHED.list()[0].squashed(),
        at_run_time.list()[0].squashed()
    );
    assert_eq!(SQUASHED.list()[0].squashed().len(), 2);

    // Applied 1 and 2 from the files before the squash: recognised, 3 runs.
    let scratch = Scratch::new();
    let mut conn = scratch.open();
    EMBEDDED
        .run_to(&mut conn, terrace::Target::Version(2))
        .unwrap();
    SQUASHED.validate(&mut conn).unwrap();
    SQUASHED.run(&mut conn).unwrap();
    assert_eq!(recorded_versions(&conn), [1, 2, 3]);

    // A new database runs the baseline, then 3.
    let fresh = Scratch::new();
    let mut conn = fresh.open();
    SQUASHED.run(&mut conn).unwrap();
    assert_eq!(recorded_versions(&conn), [2, 3]);
}
