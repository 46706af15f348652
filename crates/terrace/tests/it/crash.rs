//! A process killed at any instant leaves each migration applied and recorded, or
//! neither — or, where DDL cannot be rolled back (MySQL), explicitly dirty.

use crate::backends::{Kind, TestDb, backend_test};
use crate::concurrency::spawn_runner;
use crate::support::schema;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

fn many_migrations(db: &TestDb, count: u64) {
    // On SQLite each migration also writes a few thousand rows, so that a run lasts
    // long enough to be killed in the middle.
    let fill = match db.kind {
        Kind::Sqlite => {
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000) \
                         INSERT INTO t{v} SELECT i, hex(randomblob(40)) FROM n;"
        }
        _ => "INSERT INTO t{v} VALUES ({v}, 'padding');",
    };
    for v in 1..=count {
        db.write(
            &format!("{v:04}_create_table_{v}.sql"),
            &format!(
                "-- migrate:up\nCREATE TABLE t{v} (id INTEGER, pad VARCHAR(100));\n{}",
                fill.replace("{v}", &v.to_string())
            ),
        );
    }
}

/// Checks that history and schema agree; returns how many are applied and which
/// versions are dirty (started, never finished).
fn check(db: &TestDb, count: u64) -> (usize, Vec<u64>) {
    let states: Vec<(u64, String)> = if db.table_exists("schema_migrations") {
        db.strings("SELECT version FROM schema_migrations ORDER BY version")
            .into_iter()
            .zip(db.strings("SELECT state FROM schema_migrations ORDER BY version"))
            .map(|(v, s)| (v.parse().unwrap(), s))
            .collect()
    } else {
        Vec::new()
    };
    let tables = db.tables();
    let mut dirty = Vec::new();
    for v in 1..=count {
        let state = states
            .iter()
            .find(|(version, _)| *version == v)
            .map(|(_, s)| s.as_str());
        let exists = tables.contains(&format!("t{v}"));
        match state {
            Some("applied") => assert!(exists, "migration {v} recorded but its table is missing"),
            None => assert!(
                !exists,
                "table t{v} exists but migration {v} is not recorded"
            ),
            Some(_) => dirty.push(v),
        }
    }
    assert!(
        dirty.is_empty() || db.kind == Kind::Mysql,
        "{:?}: only a backend without transactional DDL may leave dirty rows: {dirty:?}",
        db.kind
    );
    let applied = states.iter().filter(|(_, s)| s == "applied").count();
    (applied, dirty)
}

fn pseudo_random(seed: u64, below: u64) -> u64 {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(7) as u64;
    (nanos ^ seed.wrapping_mul(0x9e37_79b9_7f4a_7c15)) % below
}

backend_test!(killed_runners_leave_each_migration_all_or_nothing, |db| {
    let count = if db.kind == Kind::Sqlite { 300 } else { 120 };
    many_migrations(db, count);
    let mut kills = 0;
    let mut repairs = 0;
    let mut applied = 0;
    for round in 0..6 {
        // One transaction per migration, so each kill lands between or inside them.
        let mut child = spawn_runner(db, Some("per-migration"));
        // Wait until the runner is applying, then kill it a moment later.
        while db.versions().len() <= applied && child.try_wait().unwrap().is_none() {
            std::thread::sleep(Duration::from_millis(1));
        }
        std::thread::sleep(Duration::from_millis(pseudo_random(round, 15)));
        if child.try_wait().unwrap().is_none() {
            child.kill().unwrap(); // SIGKILL
            kills += 1;
        }
        child.wait().unwrap();
        let (now, dirty) = check(db, count);
        if let Some(&version) = dirty.first() {
            // What an operator does: look at the half-done migration, undo it, repair.
            let status = db.migrations().status(&mut db.connect()).unwrap();
            assert_eq!(
                status.dirty().map(|r| r.version).collect::<Vec<_>>(),
                [version]
            );
            db.execute(&format!("DROP TABLE IF EXISTS t{version}"));
            let repair = db.migrations().repair(&mut db.connect()).unwrap();
            assert_eq!(repair.changes.len(), 1, "{:?}", repair.changes);
            check(db, count);
            repairs += 1;
        }
        applied = now;
        if applied == count as usize {
            break;
        }
    }
    eprintln!(
        "crash test, {:?}: {kills} runners killed mid-run, {repairs} dirty states repaired, {applied} of {count} applied before the last run",
        db.kind
    );
    assert!(
        kills >= 2,
        "{:?}: only {kills} runners were killed mid-run",
        db.kind
    );
    let out = spawn_runner(db, None).wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(check(db, count), (count as usize, vec![]));
});

/// Whether a rollback journal is hot: SQLite writes its header's magic number only
/// once the journal is synced, before the first page of the database file changes.
fn is_hot(journal: &Path) -> bool {
    use std::io::Read;
    let mut magic = [0; 8];
    std::fs::File::open(journal).is_ok_and(|mut file| file.read_exact(&mut magic).is_ok())
        && magic != [0; 8]
}

#[test]
fn a_killed_sqlite_run_in_one_transaction_leaves_the_file_as_before() {
    let mut kills = 0;
    let mut hot = 0;
    for round in 0..12 {
        let db = TestDb::new(Kind::Sqlite);
        many_migrations(&db, 300);
        let empty = schema(&db.scratch.open());
        let journal = PathBuf::from(format!("{}-journal", db.scratch.db_path().display()));
        let mut child = spawn_runner(&db, Some("per-run"));
        // Wait until the run's transaction writes (in odd rounds: until its pages
        // began to spill into the file, making the journal hot), then kill it a
        // moment later.
        let started = |journal: &Path| match round % 2 {
            0 => journal.exists(),
            _ => is_hot(journal),
        };
        while !started(&journal) && child.try_wait().unwrap().is_none() {
            std::thread::sleep(Duration::from_millis(1));
        }
        std::thread::sleep(Duration::from_millis(pseudo_random(round, 40)));
        if child.try_wait().unwrap().is_none() {
            child.kill().unwrap();
            kills += 1;
        }
        child.wait().unwrap();
        hot += usize::from(is_hot(&journal));
        // What an operator runs first, on a read-only connection: a hot journal must
        // be rolled back before the file can be read.
        let mut read_only = terrace::Connection::open(
            &terrace::DatabaseUrl::parse(&db.url).unwrap(),
            &terrace::ConnectOptions {
                wait: Duration::ZERO,
                access: terrace::connection::Access::ReadOnly,
            },
        )
        .unwrap();
        let status = db.migrations().status(&mut read_only).unwrap();
        drop(read_only);
        let (applied, _) = check(&db, 300);
        assert!(
            applied == 0 || applied == 300,
            "one transaction applies all or nothing: {applied}"
        );
        assert_eq!(
            status.applied.len(),
            applied,
            "status reads the file as it is"
        );
        if applied == 0 {
            assert_eq!(schema(&db.scratch.open()), empty);
        }
    }
    eprintln!(
        "crash test, sqlite per-run: {kills} of 12 runners killed mid-run, {hot} leaving a hot journal"
    );
    assert!(kills >= 3, "only {kills} runners were killed mid-run");
    assert!(hot >= 3, "only {hot} killed runners left a hot journal");
}
