//! Edited applied migrations are detected, SQL and code alike.

use crate::support::Scratch;
use terrace::{Error, Migration, Migrations, Problem};

#[terrace::migration]
fn backfill_v1(db: &mut terrace::Db<'_>) -> terrace::CodeResult {
    db.execute("UPDATE projects SET total = 1")?;
    Ok(())
}

#[terrace::migration]
fn backfill_v2(db: &mut terrace::Db<'_>) -> terrace::CodeResult {
    db.execute("UPDATE projects SET total = 2")?;
    Ok(())
}

// The same tokens as `backfill_v1`, laid out and commented differently.
#[rustfmt::skip]
#[terrace::migration]
fn backfill_v1_reformatted(db: &mut terrace::Db<'_>) -> terrace::CodeResult {
    // a comment does not change the checksum
    db.execute(  "UPDATE projects SET total = 1"  )?;


    Ok(())
}

fn list(backfill: terrace::CodeFn) -> Migrations {
    Migrations::from_vec(vec![
        Migration::sql(
            1,
            "create_projects",
            "CREATE TABLE projects (id INTEGER, total INTEGER);",
        ),
        Migration::code(2, "backfill_totals", backfill),
    ])
}

#[test]
fn an_edited_applied_code_migration_is_detected() {
    let scratch = Scratch::new();
    let mut conn = scratch.open();
    list(backfill_v1).run(&mut conn).unwrap();
    list(backfill_v1).validate(&mut conn).unwrap();
    let before = scratch.bytes();
    match list(backfill_v2).run(&mut conn) {
        Err(Error::Invalid { problems }) => {
            assert!(
                matches!(
                    &problems[..],
                    [Problem::ChecksumMismatch { version: 2, .. }]
                ),
                "{problems:?}"
            )
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(scratch.bytes(), before);
    let status = list(backfill_v2).status(&mut conn).unwrap();
    assert!(!status.applied[1].checksum_ok && status.applied[0].checksum_ok);
}

#[test]
fn code_checksums_ignore_comments_and_layout_but_not_tokens() {
    assert_eq!(backfill_v1.checksum(), backfill_v1_reformatted.checksum());
    assert_ne!(backfill_v1.checksum(), backfill_v2.checksum());
    assert!(backfill_v1.checksum().starts_with("sha256:"));
}

#[test]
fn repair_accepts_an_intended_edit_and_says_so() {
    let scratch = Scratch::new();
    let mut conn = scratch.open();
    list(backfill_v1).run(&mut conn).unwrap();
    let report = list(backfill_v2).repair(&mut conn).unwrap();
    assert_eq!(report.changes.len(), 1);
    assert_eq!(
        report.changes[0].to_string(),
        "migration 2 (backfill_totals): accepted its current checksum"
    );
    list(backfill_v2).validate(&mut conn).unwrap();
    assert!(list(backfill_v1).validate(&mut conn).is_err());
}
