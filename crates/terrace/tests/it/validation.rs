//! Every validation failure is reported at once and leaves the file byte-identical.

use crate::backends::backend_test;
use crate::support::{Scratch, copy_fixture};
use terrace::{Error, Problem};

/// Applies the basic fixture, then breaks the folder with `damage`, and checks that
/// run, rollback, baseline and validate all refuse without changing a byte.
fn refused_without_change(damage: impl FnOnce(&Scratch)) -> Vec<Problem> {
    checked_without_change(damage, RollbackToo::Refused)
}

/// As [`refused_without_change`], for damage to pending migrations only (1 and 2 are
/// applied): a rollback runs only applied migrations' down sections, so it is planned
/// despite the problems, while every other command refuses.
fn refused_except_for_rollback(damage: impl FnOnce(&Scratch)) -> Vec<Problem> {
    checked_without_change(damage, RollbackToo::Planned)
}

/// What a rollback does with the damage.
enum RollbackToo {
    Refused,
    Planned,
}

fn checked_without_change(damage: impl FnOnce(&Scratch), rollback: RollbackToo) -> Vec<Problem> {
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
    match rollback {
        RollbackToo::Refused => assert!(
            migrations
                .rollback(&mut scratch.open(), terrace::Target::Steps(1))
                .is_err()
        ),
        RollbackToo::Planned => {
            let plan = migrations
                .plan_rollback(&mut scratch.open(), terrace::Target::Steps(1))
                .unwrap();
            assert_eq!(plan.steps()[0].migration().version(), 2);
        }
    }
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
    let problems = refused_except_for_rollback(|s| {
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
    let problems = refused_except_for_rollback(|s| {
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
    });
    assert!(
        problems
            .iter()
            .any(|p| matches!(p, Problem::Missing { version: 2, name } if name == "add_base_url")),
        "{problems:?}"
    );
    // The newest files gone: applied migrations newer than every one left, refused by
    // default as a newer build's.
    let problems = refused_without_change(|s| {
        std::fs::remove_file(s.migrations_dir().join("0002_add_base_url.sql")).unwrap();
        std::fs::remove_file(s.migrations_dir().join("0003_create_checks.sql")).unwrap();
    });
    assert!(
        matches!(
            &problems[..],
            [
                Problem::NewerApplied {
                    version: 2,
                    latest_known: 1,
                    ..
                },
                ..
            ]
        ),
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
            .run_to(&mut db.connect(), terrace::Target::Version(2))
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

#[test]
fn a_nul_byte_is_refused_naming_file_and_line() {
    let problems = refused_except_for_rollback(|s| {
        s.write(
            "0003_create_checks.sql",
            "-- migrate:up\nCREATE TABLE checks (id INTEGER);\0\nCREATE TABLE never (id INTEGER);\n",
        );
    });
    let text: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
    assert_eq!(problems.len(), 1, "{text:#?}");
    assert!(
        text[0].contains("0003_create_checks.sql:2: ") && text[0].contains("NUL"),
        "{text:#?}"
    );
}

#[test]
fn a_duplicated_applied_version_is_reported_once_without_history_noise() {
    let problems = refused_without_change(|s| {
        s.write(
            "0002_add_other_url.sql",
            "-- migrate:up\nALTER TABLE projects ADD COLUMN other_url TEXT;\n",
        );
    });
    assert!(
        matches!(&problems[..], [Problem::DuplicateVersion { version: 2, names }] if names.len() == 2),
        "{problems:#?}"
    );
}

/// Runs `read` on another thread and fails if it does not return within a minute.
#[cfg(unix)]
fn within_a_minute<T: Send + 'static>(read: impl FnOnce() -> T + Send + 'static) -> T {
    let (send, receive) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = send.send(read());
    });
    receive
        .recv_timeout(std::time::Duration::from_secs(60))
        .expect("reading the folder must not hang")
}

#[cfg(unix)]
#[test]
fn a_fifo_named_like_a_migration_is_refused_not_read() {
    let scratch = Scratch::new();
    copy_fixture(&scratch, "basic");
    let fifo = scratch.migrations_dir().join("0004_add_fifo.sql");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    let dir = scratch.migrations_dir();
    let migrations = within_a_minute(move || terrace::Migrations::from_dir(dir).unwrap());
    let problems = migrations.source_problems();
    assert!(
        matches!(&problems[..], [Problem::File { path, detail, .. }]
            if path.ends_with("0004_add_fifo.sql") && detail.contains("not a regular file")),
        "{problems:#?}"
    );
}

#[cfg(unix)]
#[test]
fn a_link_to_a_device_is_refused_and_a_link_to_a_file_is_read() {
    let scratch = Scratch::new();
    copy_fixture(&scratch, "basic");
    let dir = scratch.migrations_dir();
    std::os::unix::fs::symlink("/dev/zero", dir.join("0005_add_zeros.sql")).unwrap();
    std::fs::rename(
        dir.join("0003_create_checks.sql"),
        scratch.dir.path().join("elsewhere.sql"),
    )
    .unwrap();
    std::os::unix::fs::symlink(
        scratch.dir.path().join("elsewhere.sql"),
        dir.join("0003_create_checks.sql"),
    )
    .unwrap();
    let migrations = within_a_minute(move || terrace::Migrations::from_dir(dir).unwrap());
    let versions: Vec<u64> = migrations.list().iter().map(|m| m.version()).collect();
    assert_eq!(versions, [1, 2, 3]);
    let problems = migrations.source_problems();
    assert!(
        matches!(&problems[..], [Problem::File { path, detail, .. }]
            if path.ends_with("0005_add_zeros.sql") && detail.contains("not a regular file")),
        "{problems:#?}"
    );
}

#[test]
fn a_file_over_the_size_limit_is_refused() {
    let scratch = Scratch::new();
    copy_fixture(&scratch, "basic");
    let path = scratch.migrations_dir().join("0004_add_huge.sql");
    let file = std::fs::File::create(&path).unwrap();
    // A sparse file: no disk space is used for its zeros.
    file.set_len(terrace::format::MAX_FILE_SIZE + 1).unwrap();
    let problems = scratch.migrations().source_problems();
    assert!(
        matches!(&problems[..], [Problem::File { path, detail, .. }]
            if path.ends_with("0004_add_huge.sql") && detail.contains("64 MiB")),
        "{problems:#?}"
    );
}

#[test]
fn files_that_look_like_migrations_but_are_ignored_are_warned_about() {
    let scratch = Scratch::new();
    copy_fixture(&scratch, "basic");
    scratch.write("0004_add_upper.SQL", "-- migrate:up\nSELECT 1;");
    scratch.write("0005_add_notepad.sql.txt", "-- migrate:up\nSELECT 1;");
    scratch.write("0006_add_bare", "-- migrate:up\nSELECT 1;");
    // Backups and notes are ignored silently.
    scratch.write("0003_create_checks.sql.bak", "-- migrate:up\nSELECT 1;");
    scratch.write("README.md", "notes");
    scratch.write("schema.SQL", "SELECT 1;");
    let migrations = scratch.migrations();
    assert!(migrations.source_problems().is_empty());
    let warnings: Vec<String> = migrations
        .warnings()
        .iter()
        .map(|w| w.to_string())
        .collect();
    assert_eq!(warnings.len(), 3, "{warnings:#?}");
    assert!(
        warnings[0].contains("0004_add_upper.SQL") && warnings[0].contains("0004_add_upper.sql")
    );
    assert!(warnings[1].contains("0005_add_notepad.sql.txt"));
    assert!(warnings[2].contains("0006_add_bare"));
    assert!(matches!(
        migrations.warnings()[0],
        terrace::Warning::IgnoredFile { .. }
    ));
}

#[test]
fn an_empty_folder_is_a_warning_for_a_new_database_and_a_problem_for_an_old_one() {
    let scratch = Scratch::new();
    scratch.migrations_dir();
    let migrations = scratch.migrations();
    assert!(
        matches!(migrations.warnings(), [terrace::Warning::NoMigrations { dir }] if *dir == scratch.migrations_dir()),
        "{:?}",
        migrations.warnings()
    );
    // A brand-new project: nothing to do, nothing wrong.
    migrations.run(&mut scratch.open()).unwrap();
    migrations.validate(&mut scratch.open()).unwrap();

    // A database with history, pointed at an empty folder.
    copy_fixture(&scratch, "basic");
    scratch.migrations().run(&mut scratch.open()).unwrap();
    for entry in std::fs::read_dir(scratch.migrations_dir()).unwrap() {
        std::fs::remove_file(entry.unwrap().path()).unwrap();
    }
    let before = scratch.bytes();
    let problems = match scratch.migrations().run(&mut scratch.open()) {
        Err(Error::Invalid { problems }) => problems,
        other => panic!("expected a validation error, got {other:?}"),
    };
    assert!(
        matches!(&problems[0], Problem::NoMigrations { dir, applied: 3 } if *dir == scratch.migrations_dir()),
        "{problems:#?}"
    );
    assert!(problems[0].to_string().contains("migrations"));
    assert_eq!(scratch.bytes(), before);
}

backend_test!(a_crlf_file_is_executed_as_written, |db| {
    db.write(
        "0001_create_notes.sql",
        "-- migrate:up\r\nCREATE TABLE notes (body VARCHAR(40));\r\nINSERT INTO notes (body) VALUES ('line1\r\nline2');\r\n",
    );
    let migrations = db.migrations();
    migrations.run(&mut db.connect()).unwrap();
    assert_eq!(db.strings("SELECT body FROM notes"), ["line1\r\nline2"]);
    // The checksum still ignores line endings.
    let lf = terrace::Migration::sql(
        1,
        "create_notes",
        "CREATE TABLE notes (body VARCHAR(40));\nINSERT INTO notes (body) VALUES ('line1\nline2');",
    );
    assert_eq!(migrations.list()[0].checksum(), lf.checksum());
});

backend_test!(
    a_file_that_begins_and_commits_its_own_transaction_is_refused,
    |db| {
        db.write(
            "0001_create_a.sql",
            "-- migrate:up\nBEGIN;\nCREATE TABLE a (id INTEGER);\nCOMMIT;\n",
        );
        let problems = match db.migrations().run(&mut db.connect()) {
            Err(Error::Invalid { problems }) => problems,
            other => panic!("expected a validation error, got {other:?}"),
        };
        let text: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
        assert_eq!(problems.len(), 1, "{text:#?}");
        assert!(
            text[0].contains("0001_create_a.sql:2: ")
                && text[0].contains("BEGIN")
                && text[0].contains("transaction:false"),
            "{text:#?}"
        );
        assert!(db.tables().is_empty(), "{:?}", db.tables());
    }
);

backend_test!(client_commands_are_refused_naming_file_and_line, |db| {
    // What pg_dump writes around a plain dump, and a mysql routine file.
    db.write(
        "0001_create_a.sql",
        "-- migrate:up\n\\restrict 6P3XkQ\nCREATE TABLE a (id INTEGER);\n\\unrestrict 6P3XkQ\n",
    );
    db.write(
            "0002_create_b.sql",
            "-- migrate:up\nCREATE TABLE b (id INTEGER);\n\nDELIMITER //\nCREATE TABLE c (id INTEGER)//\nDELIMITER ;\n",
        );
    let problems = match db.migrations().run(&mut db.connect()) {
        Err(Error::Invalid { problems }) => problems,
        other => panic!("expected a validation error, got {other:?}"),
    };
    let text: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
    assert_eq!(problems.len(), 2, "{text:#?}");
    assert!(
        text[0].contains("0001_create_a.sql:2: '\\restrict 6P3XkQ'")
            && text[0].contains("remove the line"),
        "{text:#?}"
    );
    assert!(
        text[1].contains("0002_create_b.sql:4: 'DELIMITER //'")
            && text[1].contains("end each statement with ';'"),
        "{text:#?}"
    );
    assert!(db.tables().is_empty(), "{:?}", db.tables());
});

#[test]
fn client_commands_in_a_list_built_in_code_are_refused() {
    let scratch = Scratch::new();
    let list = vec![
        terrace::Migration::sql(
            1,
            "create_a",
            "CREATE TABLE a (id INTEGER);\n\\connect other\n",
        ),
        terrace::Migration::sql(2, "create_b", "CREATE TABLE b (id INTEGER);")
            .with_down("DELIMITER $$\nDROP TABLE b$$\n"),
    ];
    let migrations = terrace::Migrations::from_vec(list);
    let problems = match migrations.run(&mut scratch.open()) {
        Err(Error::Invalid { problems }) => problems,
        other => panic!("expected a validation error, got {other:?}"),
    };
    let text: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
    assert_eq!(problems.len(), 2, "{text:#?}");
    assert!(
        text[0].contains("migration 1 (create_a): line 2 of its up section: '\\connect other'"),
        "{text:#?}"
    );
    assert!(
        text[1].contains("migration 2 (create_b): line 1 of its down section: 'DELIMITER $$'"),
        "{text:#?}"
    );
    assert!(matches!(
        problems[0],
        Problem::ClientCommand {
            version: 1,
            line: 2,
            ..
        }
    ));
}

#[test]
fn a_down_marker_inside_a_string_literal_is_refused_naming_both_lines() {
    let problems = refused_except_for_rollback(|s| {
        s.write(
            "0003_create_checks.sql",
            "-- migrate:up\nCREATE TABLE checks (body TEXT);\nINSERT INTO checks VALUES ('first\n-- migrate:down\nsecond');\n",
        );
    });
    let text: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
    assert_eq!(problems.len(), 1, "{text:#?}");
    assert!(
        text[0].contains("0003_create_checks.sql:4: the '-- migrate:down' marker is inside a string literal opened at line 3"),
        "{text:#?}"
    );
}
