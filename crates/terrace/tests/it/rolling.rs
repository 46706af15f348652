//! Rolling deploys: an older build beside applied migrations only a newer build knows.

use crate::backends::backend_test;
use terrace::{Error, Migration, Migrations, NewerApplied, Problem, Target, Warning};

/// The newer build's migrations: three, each with a down section.
fn newer_build() -> Migrations {
    Migrations::from_vec(vec![
        Migration::sql(1, "create_items", "CREATE TABLE items (id INTEGER)")
            .with_down("DROP TABLE items"),
        Migration::sql(2, "create_tags", "CREATE TABLE tags (id INTEGER)")
            .with_down("DROP TABLE tags"),
        Migration::sql(3, "create_notes", "CREATE TABLE notes (id INTEGER)")
            .with_down("DROP TABLE notes"),
    ])
}

/// The older build: the newer build's first `known` migrations.
fn older_build(known: usize) -> Migrations {
    Migrations::from_vec(newer_build().list()[..known].to_vec())
}

backend_test!(
    an_older_build_refuses_newer_applied_migrations_by_default,
    |db| {
        newer_build().run(&mut db.connect()).unwrap();
        let older = older_build(2);
        let before = db.snapshot();
        let err = older.run(&mut db.connect()).unwrap_err();
        let Error::Invalid { problems } = &err else {
            panic!("{err:?}");
        };
        assert_eq!(
            problems[..],
            [Problem::NewerApplied {
                version: 3,
                name: "create_notes".into(),
                latest_known: 2
            }]
        );
        let message = err.to_string();
        assert!(
            message.contains("migration 3 (create_notes)") && message.contains("--allow-newer"),
            "the refusal names the migration and the setting: {message}"
        );
        assert!(matches!(
            older.validate(&mut db.connect()),
            Err(Error::Invalid { .. })
        ));
        let status = older.status(&mut db.connect()).unwrap();
        assert_eq!(status.newer_applied().count(), 0);
        assert!(!status.is_up_to_date());
        assert_eq!(db.snapshot(), before, "nothing changed");
    }
);

backend_test!(
    an_older_build_runs_beside_newer_applied_migrations_when_allowed,
    |db| {
        newer_build().run(&mut db.connect()).unwrap();
        let older = older_build(2).with_newer_applied(NewerApplied::Warn);
        let before = db.snapshot();
        let report = older.run(&mut db.connect()).unwrap();
        assert!(report.steps.is_empty(), "nothing to apply");
        assert_eq!(
            report.newer_applied().collect::<Vec<_>>(),
            [(3, "create_notes")]
        );
        assert_eq!(
            report.warnings,
            [Warning::NewerApplied {
                version: 3,
                name: "create_notes".into(),
                latest_known: 2
            }]
        );
        assert!(
        report.warnings[0].to_string().starts_with(
            "migration 3 (create_notes) is applied but unknown to these migrations, whose newest is 2"
        ),
        "{}",
        report.warnings[0]
    );
        assert_eq!(db.snapshot(), before, "nothing changed");

        let status = older.status(&mut db.connect()).unwrap();
        assert!(status.problems.is_empty(), "{:?}", status.problems);
        assert_eq!(
            status.newer_applied().collect::<Vec<_>>(),
            [(3, "create_notes")]
        );
        assert!(status.is_up_to_date());
        let newest = status.applied.last().unwrap();
        assert_eq!(newest.row.version, 3);
        assert!(!newest.checksum_ok, "a newer migration cannot be verified");
        older.validate(&mut db.connect()).unwrap();
        assert!(
            older
                .plan(&mut db.connect(), Target::Latest)
                .unwrap()
                .is_empty()
        );
    }
);

backend_test!(
    allowed_newer_migrations_still_need_the_known_ones_to_match,
    |db| {
        newer_build().run(&mut db.connect()).unwrap();
        // The older build's migration 2 differs from what was applied: an edit.
        let edited = Migrations::from_vec(vec![
            newer_build().list()[0].clone(),
            Migration::sql(2, "create_tags", "CREATE TABLE tags (id BIGINT)"),
        ])
        .with_newer_applied(NewerApplied::Warn);
        let err = edited.run(&mut db.connect()).unwrap_err();
        assert!(
            matches!(&err, Error::Invalid { problems } if matches!(problems[..], [Problem::ChecksumMismatch { version: 2, .. }])),
            "{err:?}"
        );
    }
);

backend_test!(
    a_pending_migration_below_a_newer_applied_one_is_not_applied,
    |db| {
        // The newer build applied 1, 2 and 3; the history then lost 2 (by hand): the older
        // build knows 2 but must not apply it beneath 3.
        newer_build().run(&mut db.connect()).unwrap();
        db.execute("DELETE FROM schema_migrations WHERE version = 2");
        let older = older_build(2).with_newer_applied(NewerApplied::Warn);
        let before = db.snapshot();
        let err = older.run(&mut db.connect()).unwrap_err();
        assert!(
            matches!(&err, Error::Invalid { problems } if matches!(problems[..], [Problem::OutOfOrder { version: 2, latest_applied: 3, .. }])),
            "{err:?}"
        );
        assert_eq!(db.snapshot(), before, "nothing changed");
    }
);

backend_test!(a_missing_migration_in_the_middle_stays_an_error, |db| {
    // Version 2 is applied but this list lacks it while it knows 3: not a newer
    // build's migration, a missing one.
    newer_build().run(&mut db.connect()).unwrap();
    let all = newer_build();
    let gapped = Migrations::from_vec(vec![all.list()[0].clone(), all.list()[2].clone()])
        .with_newer_applied(NewerApplied::Warn);
    let err = gapped.run(&mut db.connect()).unwrap_err();
    let Error::Invalid { problems } = &err else {
        panic!("{err:?}");
    };
    assert!(
        problems
            .iter()
            .any(|p| matches!(p, Problem::Missing { version: 2, .. })),
        "{problems:?}"
    );
    let status = gapped.status(&mut db.connect()).unwrap();
    assert_eq!(status.newer_applied().count(), 0);
});

backend_test!(
    a_rollback_refuses_while_newer_migrations_are_applied,
    |db| {
        newer_build().run(&mut db.connect()).unwrap();
        for older in [
            older_build(2),
            older_build(2).with_newer_applied(NewerApplied::Warn),
        ] {
            let before = db.snapshot();
            for target in [Target::Steps(1), Target::Version(1), Target::Version(0)] {
                let err = older.rollback(&mut db.connect(), target).unwrap_err();
                assert!(
                    matches!(&err, Error::RollbackPastNewer { migrations } if migrations == &[(3, "create_notes".to_string())]),
                    "{target:?}: {err:?}"
                );
                assert!(
                    older.plan_rollback(&mut db.connect(), target).is_err(),
                    "the dry run refuses too"
                );
            }
            assert_eq!(
                older
                    .rollback(&mut db.connect(), Target::Steps(1))
                    .unwrap_err()
                    .to_string(),
                "cannot roll back: 3 (create_notes) was applied by a newer build and unknown here, \
             and a rollback starts with the newest; roll back with that build"
            );
            assert_eq!(db.snapshot(), before, "nothing changed");
        }
        // Once the newer build has rolled its migration back, the older one can go on.
        newer_build()
            .rollback(&mut db.connect(), Target::Steps(1))
            .unwrap();
        let report = older_build(2)
            .rollback(&mut db.connect(), Target::Steps(1))
            .unwrap();
        assert_eq!(report.versions(), [2]);
        assert_eq!(db.versions(), [1]);
    }
);
