//! Every validation failure is reported at once and leaves the file byte-identical.

use crate::backends::backend_test;
use crate::support::{Scratch, copy_fixture};
use terrace::{Error, Problem};

/// Applies the basic fixture, then breaks the folder with `damage`, and checks that
/// run, rollback, baseline and validate all refuse without changing a byte.
fn refused_without_change(damage: impl FnOnce(&Scratch)) -> Vec<Problem> {
    let scratch = Scratch::new();
    copy_fixture(&scratch, "basic");
    std::fs::remove_file(scratch.migrations_dir().join("0003_create_checks.sql")).unwrap();
    scratch.migrations().run(&mut scratch.open()).unwrap();
    copy_fixture(&scratch, "basic");
    damage(&scratch);
    let before = scratch.bytes();
    let migrations = scratch.migrations();
    let problems = match migrations.run(&mut scratch.open()) {
        Err(Error::Invalid { problems }) => problems,
        other => panic!("expected a validation error, got {other:?}"),
    };
    assert!(matches!(
        migrations.validate(&mut scratch.open()),
        Err(Error::Invalid { .. })
    ));
    assert!(
        migrations
            .plan(&mut scratch.open(), terrace::Target::Latest)
            .is_err()
    );
    assert!(
        migrations
            .rollback(&mut scratch.open(), terrace::Target::Steps(1))
            .is_err()
    );
    assert_eq!(
        migrations.status(&mut scratch.open()).unwrap().problems,
        problems
    );
    assert_eq!(
        scratch.bytes(),
        before,
        "validation failures must not change the file"
    );
    problems
}

#[test]
fn duplicate_version() {
    let problems = refused_without_change(|s| {
        s.write(
            "0003_create_other.sql",
            "-- migrate:up\nCREATE TABLE other (id INTEGER);",
        );
    });
    assert!(
        matches!(&problems[..], [Problem::DuplicateVersion { version: 3, names }] if names.len() == 2)
    );
}

#[test]
fn gap() {
    let problems = refused_without_change(|s| {
        s.write(
            "0006_create_other.sql",
            "-- migrate:up\nCREATE TABLE other (id INTEGER);",
        );
    });
    assert_eq!(problems, [Problem::Gap { from: 4, to: 5 }]);
    assert!(
        problems[0]
            .to_string()
            .contains("versions 4 to 5 are missing")
    );
}

#[test]
fn bad_names_and_malformed_files_are_all_reported_together() {
    let problems = refused_without_change(|s| {
        s.write("0004_migration_4.sql", "-- migrate:up\nSELECT 1;");
        s.write("0005_Add-Thing.sql", "-- migrate:up\nSELECT 1;");
        s.write("0006_no_marker.sql", "CREATE TABLE x (id INTEGER);");
        std::fs::write(
            s.migrations_dir().join("0007_not_utf8.sql"),
            b"-- migrate:up\n\xff\xfe;",
        )
        .unwrap();
        s.write(
            "0008_odd_marker.sql",
            "-- migrate:up\nSELECT 1;\n-- migrate:sideways\n",
        );
    });
    let text: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
    assert_eq!(problems.len(), 5, "{text:#?}");
    for needle in [
        "0004_migration_4.sql",
        "0005_Add-Thing.sql",
        "0006_no_marker.sql",
        "0007_not_utf8.sql",
        "0008_odd_marker.sql",
    ] {
        assert!(
            text.iter().any(|t| t.contains(needle)),
            "{needle} not named in {text:#?}"
        );
    }
}

#[test]
fn applied_migration_missing_from_the_folder() {
    let problems = refused_without_change(|s| {
        std::fs::remove_file(s.migrations_dir().join("0002_add_base_url.sql")).unwrap();
        std::fs::remove_file(s.migrations_dir().join("0003_create_checks.sql")).unwrap();
    });
    assert!(
        problems
            .iter()
            .any(|p| matches!(p, Problem::Missing { version: 2, name } if name == "add_base_url")),
        "{problems:?}"
    );
}

#[test]
fn edited_applied_sql_file() {
    let problems = refused_without_change(|s| {
        s.write(
            "0002_add_base_url.sql",
            "-- migrate:up\nALTER TABLE projects ADD COLUMN base_url VARCHAR(200);\n",
        );
    });
    assert!(
        matches!(
            &problems[..],
            [Problem::ChecksumMismatch { version: 2, .. }]
        ),
        "{problems:?}"
    );
    assert!(problems[0].to_string().contains("terrace repair"));
}

#[test]
fn renamed_applied_migration() {
    let problems = refused_without_change(|s| {
        let dir = s.migrations_dir();
        std::fs::rename(
            dir.join("0002_add_base_url.sql"),
            dir.join("0002_add_project_url.sql"),
        )
        .unwrap();
    });
    assert!(
        matches!(&problems[..], [Problem::NameMismatch { version: 2, .. }]),
        "{problems:?}"
    );
}

#[test]
fn editing_only_the_down_section_or_line_endings_is_not_an_edit() {
    let scratch = Scratch::new();
    copy_fixture(&scratch, "basic");
    scratch.migrations().run(&mut scratch.open()).unwrap();
    scratch.write(
        "0002_add_base_url.sql",
        "\u{feff}-- a new comment\r\n-- migrate:up\r\nALTER TABLE projects ADD COLUMN base_url TEXT;\r\n\r\n\r\n-- migrate:down\r\nSELECT 'changed';\r\n",
    );
    scratch.migrations().validate(&mut scratch.open()).unwrap();
}

#[test]
fn validation_errors_render_one_line_each() {
    let problems = refused_without_change(|s| {
        s.write("0002_add_base_url.sql", "-- migrate:up\nSELECT 'edited';");
        s.write("0005_create_other.sql", "-- migrate:up\nSELECT 1;");
    });
    let message = Error::Invalid { problems }.to_string();
    assert!(
        message.starts_with("validation found 2 problems, nothing was changed:"),
        "{message}"
    );
    assert_eq!(message.lines().count(), 3, "{message}");
}

backend_test!(
    an_edited_applied_file_stops_every_command_and_changes_nothing,
    |db| {
        copy_fixture(&db.scratch, "basic");
        db.migrations()
            .run_to(&mut db.connect(), terrace::Target::Version(2), &mut |_| {})
            .unwrap();
        db.write(
            "0002_add_base_url.sql",
            "-- migrate:up\nALTER TABLE projects ADD COLUMN base_url VARCHAR(200);\n",
        );
        let before = db.snapshot();
        let migrations = db.migrations();
        match migrations.run(&mut db.connect()) {
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
        assert!(migrations.validate(&mut db.connect()).is_err());
        assert!(
            migrations
                .rollback(&mut db.connect(), terrace::Target::Steps(1))
                .is_err()
        );
        assert_eq!(db.snapshot(), before);
        let status = migrations.status(&mut db.connect()).unwrap();
        assert!(status.applied[0].checksum_ok && !status.applied[1].checksum_ok);
    }
);
