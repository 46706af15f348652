//! The lease lock on the servers, beyond the scenario suite: a run that loses its
//! lease to another stops before its next migration and leaves the other's lease
//! alone; the automatic choice takes the session lock on a server that is not a
//! Galera node (the cluster tests cover the nodes); a [`LeaseKeeper`] keeps the lease
//! of a run whose one migration lasts longer than it, and no other run of the same
//! list can take that lease for its own.

use crate::backends::{Kind, backend_test};
use std::time::{Duration, Instant};
use terrace::connection::LeaseKeeper;
use terrace::{ConnectOptions, DatabaseUrl, Error, LockMode};

backend_test!(
    a_run_that_lost_its_lease_stops_before_the_next_migration,
    |db| {
        if db.kind == Kind::Sqlite {
            return;
        }
        let pause = match db.kind {
            Kind::Postgres => "SELECT pg_sleep(0.6);",
            _ => "DO SLEEP(0.6);",
        };
        db.write(
            "0001_create_projects.sql",
            "-- migrate:up\nCREATE TABLE projects (id INTEGER);",
        );
        // Another run takes the lease over while this one holds it, as one would after
        // this run's lease expired during a long migration.
        db.write(
            "0002_taken_over.sql",
            &format!(
                "-- migrate:up\nUPDATE schema_migrations_lock SET owner = 'another run';\n{pause}"
            ),
        );
        db.write(
            "0003_create_notes.sql",
            "-- migrate:up\nCREATE TABLE notes (id INTEGER);",
        );
        let migrations = db
            .migrations()
            .with_lock(LockMode::Lease)
            .with_lock_lease(Duration::from_secs(1));
        let err = migrations.run(&mut db.connect()).unwrap_err();
        let text = match &err {
            Error::Database { action, source }
                if action.contains("renewing the migration lease") =>
            {
                source.to_string()
            }
            other => panic!("expected an error renewing the lease, got {other:?}"),
        };
        assert!(
            text.contains("expired and was taken by another run") && text.contains("--lock-lease"),
            "{text}"
        );
        assert_eq!(
            db.versions(),
            [1, 2],
            "nothing ran after the lease was lost"
        );
        assert!(!db.table_exists("notes"));
        assert_eq!(
            db.strings("SELECT owner FROM schema_migrations_lock"),
            ["another run"],
            "the other run's lease is left to it"
        );
    }
);

backend_test!(auto_takes_the_session_lock_on_a_single_server, |db| {
    db.write(
        "0001_create_projects.sql",
        "-- migrate:up\nCREATE TABLE projects (id INTEGER);",
    );
    let report = db
        .migrations()
        .with_lock(LockMode::Auto)
        .run(&mut db.connect())
        .unwrap();
    assert_eq!(report.count(), 1);
    assert!(
        !db.table_exists("schema_migrations_lock"),
        "no lease table: {:?}",
        db.tables()
    );
});

backend_test!(
    a_keeper_holds_the_lease_while_one_migration_outlasts_it,
    |db| {
        let pause = match db.kind {
            Kind::Sqlite => return,
            Kind::Postgres => "SELECT pg_sleep(3.5);",
            Kind::Mysql => "DO SLEEP(3.5);",
        };
        db.write(
            "0001_long.sql",
            &format!("-- migrate:up\nCREATE TABLE projects (id INTEGER);\n{pause}"),
        );
        let url = DatabaseUrl::parse(&db.url).unwrap();
        let lease = Duration::from_secs(1);
        let mut migrations = db
            .migrations()
            .with_lock(LockMode::Lease)
            .with_lock_lease(lease);
        let keeper = LeaseKeeper::start(&url, &ConnectOptions::default(), &mut migrations);
        assert!(keeper.is_some(), "a lease is kept on a server");
        std::thread::scope(|scope| {
            let first = scope.spawn(|| migrations.run(&mut db.connect()));
            // Well past the lease: the second run must still find it held.
            while !db.table_exists("schema_migrations_lock")
                || db.count("SELECT COUNT(*) FROM schema_migrations_lock") == 0
            {
                std::thread::sleep(Duration::from_millis(20));
            }
            std::thread::sleep(2 * lease);
            // The same list, told to the same keeper: each lease taken has a token of
            // its own, so this run does not take the first one's lease for its own.
            let started = Instant::now();
            let second = migrations.run(&mut db.connect()).unwrap();
            let first = first.join().unwrap().unwrap();
            assert_eq!((first.count(), second.count()), (1, 0));
            assert!(
                started.elapsed() >= Duration::from_secs(1),
                "the second run waited for the first: {:?}",
                started.elapsed()
            );
        });
        drop(keeper);
        assert_eq!(db.versions(), [1]);
        assert_eq!(db.count("SELECT COUNT(*) FROM schema_migrations_lock"), 0);
    }
);

/// A MySQL lease is judged in UTC: a run whose session has another time zone (sqlx
/// sets `+00:00`, other drivers keep the server's) neither takes a live lease for an
/// expired one nor waits on an expired one.
#[test]
#[cfg_attr(
    not(terrace_test_mysql),
    ignore = "TERRACE_TEST_MYSQL_URL was not set when the tests were built"
)]
fn a_mysql_lease_is_judged_the_same_in_every_time_zone() {
    crate::backends::with(Kind::Mysql, |db| {
        db.write(
            "0001_create_projects.sql",
            "-- migrate:up\nCREATE TABLE projects (id INTEGER);",
        );
        // Under the lease, which creates its table.
        db.migrations()
            .with_lock(LockMode::Lease)
            .run(&mut db.connect())
            .unwrap();
        db.write(
            "0002_create_notes.sql",
            "-- migrate:up\nCREATE TABLE notes (id INTEGER);",
        );
        // A run in a session twelve hours ahead of UTC, and one twelve hours behind.
        let session = |zone: &str| {
            let opts = mysql::OptsBuilder::from_opts(mysql::Opts::from_url(&db.url).unwrap())
                .init(vec![format!("SET time_zone = '{zone}'")]);
            mysql::Conn::new(opts).unwrap()
        };
        let migrations = db
            .migrations()
            .with_lock(LockMode::Lease)
            .with_lock_timeout(Duration::from_secs(1));
        // Another run holds the lease for ten more minutes.
        db.execute(
            "INSERT INTO schema_migrations_lock VALUES (1, 'another run', 'elsewhere', 7, \
             UTC_TIMESTAMP(6), UTC_TIMESTAMP(6) + INTERVAL 10 MINUTE)",
        );
        let err = migrations.run(&mut session("+12:00")).unwrap_err();
        assert!(matches!(err, Error::LockTimeout { .. }), "{err:?}");
        assert_eq!(db.versions(), [1], "the live lease was not taken");
        // Its lease expired a minute ago.
        db.execute(
            "UPDATE schema_migrations_lock SET expires_at = UTC_TIMESTAMP(6) - INTERVAL 1 MINUTE",
        );
        let report = migrations.run(&mut session("-12:00")).unwrap();
        assert_eq!(report.count(), 1, "the expired lease was taken over");
        assert_eq!(db.versions(), [1, 2]);
    });
}
