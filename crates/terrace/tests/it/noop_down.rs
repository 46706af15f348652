//! `-- migrate:down noop` and `Migration::with_noop_down`: a rollback that runs nothing
//! and removes the history row.

use crate::backends::backend_test;
use crate::support::{Scratch, copy_fixture, fixtures, recorded_versions};
use terrace::{Body, Error, Event, Migration, Migrations, Target, embed_migrations};

static EMBEDDED: Migrations = embed_migrations!("tests/fixtures/noop_down");

/// Rolls back one step, counting the statements run.
fn roll_back_one(
    migrations: &Migrations,
    db: &crate::backends::TestDb,
) -> (terrace::Report, usize) {
    let mut statements = 0;
    let report = migrations
        .rollback_with(&mut db.connect(), Target::Steps(1), &mut |event| {
            if let Event::Statement { .. } = event {
                statements += 1;
            }
        })
        .unwrap();
    (report, statements)
}

backend_test!(a_noop_down_removes_the_row_and_runs_nothing, |db| {
    for file in ["0001_create_items.sql", "0002_add_first_item.sql"] {
        let text = std::fs::read_to_string(fixtures("noop_down").join(file)).unwrap();
        db.write(file, &text);
    }
    let migrations = db.migrations();
    assert!(matches!(migrations.list()[1].down(), Some(Body::Noop)));
    migrations.run(&mut db.connect()).unwrap();

    let plan = migrations
        .plan_rollback(&mut db.connect(), Target::Version(0))
        .unwrap();
    let noop: Vec<bool> = plan.steps().iter().map(|s| s.is_noop()).collect();
    assert_eq!(
        noop,
        [true, false],
        "the dry run shows the no-op, not a refusal"
    );

    let (report, statements) = roll_back_one(&migrations, db);
    assert_eq!(report.versions(), [2]);
    assert!(report.steps[0].noop);
    assert_eq!(statements, 0, "no SQL ran");
    assert_eq!(db.versions(), [1]);
    assert_eq!(db.count("SELECT COUNT(*) FROM items"), 1, "the row stays");

    // Applied again, then all the way back.
    migrations.run(&mut db.connect()).unwrap();
    assert_eq!(db.count("SELECT COUNT(*) FROM items"), 2);
    let report = migrations
        .rollback(&mut db.connect(), Target::Version(0))
        .unwrap();
    assert_eq!(report.versions(), [2, 1]);
    assert_eq!(
        report.steps.iter().map(|s| s.noop).collect::<Vec<_>>(),
        [true, false]
    );
    assert!(db.versions().is_empty());
    assert!(!db.table_exists("items"));
});

backend_test!(with_noop_down_on_a_migration_built_in_code, |db| {
    let migrations = Migrations::from_vec(vec![
        Migration::sql(1, "create_items", "CREATE TABLE items (id INTEGER)")
            .with_down("DROP TABLE items"),
        Migration::sql(2, "add_first_item", "INSERT INTO items (id) VALUES (1)").with_noop_down(),
    ]);
    migrations.run(&mut db.connect()).unwrap();
    let (report, statements) = roll_back_one(&migrations, db);
    assert!(report.steps[0].noop);
    assert_eq!(statements, 0);
    assert_eq!(db.versions(), [1]);
    assert_eq!(db.count("SELECT COUNT(*) FROM items"), 1);
});

backend_test!(without_a_down_a_rollback_is_still_refused, |db| {
    let migrations = Migrations::from_vec(vec![
        Migration::sql(1, "create_items", "CREATE TABLE items (id INTEGER)"),
        Migration::sql(2, "add_first_item", "INSERT INTO items (id) VALUES (1)").with_noop_down(),
    ]);
    migrations.run(&mut db.connect()).unwrap();
    let err = migrations
        .rollback(&mut db.connect(), Target::Version(0))
        .unwrap_err();
    assert!(
        matches!(&err, Error::Irreversible { migrations } if migrations == &[(1, "create_items".to_string())]),
        "{err:?}"
    );
    assert_eq!(db.versions(), [1, 2], "nothing changed");
});

#[test]
fn embedded_noop_downs_equal_the_folder_read_at_run_time() {
    let at_run_time = Migrations::from_dir(fixtures("noop_down")).unwrap();
    for (embedded, read) in EMBEDDED.list().iter().zip(at_run_time.list()) {
        assert_eq!(embedded.checksum(), read.checksum());
        assert_eq!(
            embedded.down().map(Body::is_noop),
            read.down().map(Body::is_noop)
        );
    }
    assert!(matches!(EMBEDDED.list()[1].down(), Some(Body::Noop)));

    let scratch = Scratch::new();
    copy_fixture(&scratch, "noop_down");
    let mut conn = scratch.open();
    EMBEDDED.run(&mut conn).unwrap();
    let report = EMBEDDED.rollback(&mut conn, Target::Steps(1)).unwrap();
    assert!(report.steps[0].noop);
    assert_eq!(recorded_versions(&conn), [1]);
    at_run_time.validate(&mut conn).unwrap();
}

#[test]
fn the_marker_keeps_the_checksum_of_a_file_without_a_down_section() {
    // The checksum covers the up section alone: marking the down section as a no-op,
    // like any edit of the down section, leaves it as it was, so an applied migration
    // may gain the marker.
    let scratch = Scratch::new();
    scratch.write(
        "0001_create_items.sql",
        "-- migrate:up\nCREATE TABLE items (id INTEGER);\n",
    );
    let mut conn = scratch.open();
    scratch.migrations().run(&mut conn).unwrap();
    scratch.write(
        "0001_create_items.sql",
        "-- migrate:up\nCREATE TABLE items (id INTEGER);\n-- migrate:down noop\n",
    );
    scratch.migrations().validate(&mut conn).unwrap();
    assert!(
        scratch
            .migrations()
            .rollback(&mut conn, Target::Steps(1))
            .unwrap()
            .steps[0]
            .noop
    );
}
