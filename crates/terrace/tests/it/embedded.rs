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
