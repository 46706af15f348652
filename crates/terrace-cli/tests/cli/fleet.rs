//! `terrace fleet migrate|status|validate`: many SQLite tenants (from a glob and from a
//! targets file), one of them broken, a killed job resumed, a canary, read-only runs
//! that write nothing, and the databases of a PostgreSQL and a MariaDB server matching
//! a pattern, and the schemas of a PostgreSQL database.

use crate::servers::ScratchDatabase;
use crate::support::Sandbox;
use serde_json::Value;
use std::path::Path;
use std::time::{Duration, Instant};
use terrace::Connection;

/// Three migrations; the second and third each add a row to `runs`, so a migration run
/// twice on a tenant would show there.
fn fleet_project(second: &str) -> Sandbox {
    let sandbox = Sandbox::empty();
    std::fs::create_dir(sandbox.path().join("migrations")).unwrap();
    sandbox.migration(
        "0001_create_runs.sql",
        "CREATE TABLE runs (version INTEGER NOT NULL);",
        None,
    );
    sandbox.migration("0002_second.sql", second, None);
    sandbox.migration(
        "0003_third.sql",
        "INSERT INTO runs (version) VALUES (3);",
        None,
    );
    sandbox
}

/// `tenants/tNN.db` for NN in 1..=count, each an existing, empty database.
fn tenants(sandbox: &Sandbox, count: usize) {
    std::fs::create_dir_all(sandbox.path().join("tenants")).unwrap();
    for n in 1..=count {
        let conn = rusqlite::Connection::open(tenant(sandbox, n)).unwrap();
        conn.execute_batch("CREATE TABLE tenant_data (id INTEGER)")
            .unwrap();
    }
}

fn tenant(sandbox: &Sandbox, n: usize) -> std::path::PathBuf {
    sandbox.path().join(format!("tenants/t{n:02}.db"))
}

/// A tenant's recorded versions and its `runs` rows (empty where the table is absent).
fn history(path: &Path) -> (Vec<i64>, Vec<i64>) {
    let conn = rusqlite::Connection::open(path).unwrap();
    let read = |sql: &str| -> Vec<i64> {
        let Ok(mut stmt) = conn.prepare(sql) else {
            return Vec::new();
        };
        stmt.query_map([], |row| row.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    };
    (
        read("SELECT version FROM schema_migrations ORDER BY version"),
        read("SELECT version FROM runs ORDER BY version"),
    )
}

fn migrated(path: &Path) -> bool {
    history(path) == (vec![1, 2, 3], vec![2, 3])
}

/// The report's lines as JSON values.
fn report(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter_map(|line| serde_json::from_str(line).ok())
        .collect()
}

const SECOND: &str = "INSERT INTO runs (version) VALUES (2);";

#[test]
fn one_broken_tenant_fails_alone_and_the_report_names_it() {
    let sandbox = fleet_project(SECOND);
    tenants(&sandbox, 20);
    // Tenant 7 already has a `runs` table: its first migration fails.
    rusqlite::Connection::open(tenant(&sandbox, 7))
        .unwrap()
        .execute_batch("CREATE TABLE runs (x)")
        .unwrap();
    let run = sandbox.run(&[
        "fleet",
        "migrate",
        "--glob",
        "tenants/*.db",
        "--jobs",
        "4",
        "--report",
        "report.jsonl",
    ]);
    run.code(1);
    assert!(
        run.stdout.contains("fleet migrate: 20 targets"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("applied  19"), "{}", run.stdout);
    assert!(run.stdout.contains("failed   1"), "{}", run.stdout);
    assert!(
        run.stdout.contains("sqlite:tenants/t07.db"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("table runs already exists"),
        "{}",
        run.stdout
    );
    for n in (1..=20).filter(|&n| n != 7) {
        assert!(migrated(&tenant(&sandbox, n)), "tenant {n}");
    }
    assert_eq!(history(&tenant(&sandbox, 7)).0, Vec::<i64>::new());

    let lines = report(&sandbox.path().join("report.jsonl"));
    assert_eq!(lines.len(), 20);
    let failed: Vec<&Value> = lines.iter().filter(|l| l["outcome"] == "failed").collect();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0]["target"], "sqlite:tenants/t07.db");
    assert!(
        failed[0]["error"]
            .as_str()
            .unwrap()
            .contains("table runs already exists")
    );
    assert!(
        lines
            .iter()
            .filter(|l| l["outcome"] == "applied")
            .all(|l| l["applied"] == 3)
    );

    // Fixed, the job runs again: the 19 are up to date, tenant 7 is migrated.
    rusqlite::Connection::open(tenant(&sandbox, 7))
        .unwrap()
        .execute_batch("DROP TABLE runs")
        .unwrap();
    let again = sandbox
        .run(&[
            "fleet",
            "migrate",
            "--glob",
            "tenants/*.db",
            "--format",
            "json",
        ])
        .ok()
        .json();
    assert_eq!(
        (again["up_to_date"].as_u64(), again["applied"].as_u64()),
        (Some(19), Some(1))
    );
    assert!(migrated(&tenant(&sandbox, 7)));
}

#[test]
fn a_targets_file_reports_bad_lines_by_number_and_runs_the_rest() {
    let sandbox = fleet_project(SECOND);
    tenants(&sandbox, 2);
    sandbox.write(
        "list/targets.txt",
        "# the tenants of region one\n\
         ../tenants/t01.db\n\
         \n\
         redis://admin:hunter2@cache.internal/0\n\
         sqlite:../tenants/t02.db\n",
    );
    let run = sandbox.run(&["fleet", "migrate", "--targets", "list/targets.txt"]);
    run.code(1);
    assert!(migrated(&tenant(&sandbox, 1)));
    assert!(migrated(&tenant(&sandbox, 2)));
    assert!(run.stdout.contains("applied  2"), "{}", run.stdout);
    assert!(run.stdout.contains("failed   1"), "{}", run.stdout);
    let failure = run
        .stdout
        .lines()
        .find(|l| l.starts_with("redis://"))
        .unwrap_or_else(|| panic!("{}", run.stdout));
    assert!(failure.contains(" 4 "), "{failure}");
    assert!(failure.contains("unknown scheme 'redis:'"), "{failure}");
    assert!(!run.all().contains("hunter2"), "{}", run.all());
    // Piped, the progress is a plain line per target, with its line number.
    assert!(
        run.stderr.contains("../tenants/t01.db (line 2): applied 3"),
        "{}",
        run.stderr
    );

    let missing = sandbox.run(&["fleet", "migrate", "--targets", "list/nope.txt"]);
    missing.code(1);
    let doc = sandbox
        .run(&[
            "fleet",
            "migrate",
            "--targets",
            "list/nope.txt",
            "--format",
            "json",
        ])
        .code(1)
        .json();
    assert_eq!(doc["kind"], "fleet_file");

    // --databases without a server to list them on is a usage error.
    let run = sandbox.run(&["fleet", "migrate", "--databases", "tenant_%"]);
    run.code(2);
    assert!(
        run.stderr.contains("need the server's URL"),
        "{}",
        run.stderr
    );
    // Wildcards in a glob's folder are refused, naming the folder.
    let run = sandbox.run(&["fleet", "status", "--glob", "ten*/t01.db"]);
    run.code(1);
    assert!(run.stderr.contains("ten*"), "{}", run.stderr);
    assert!(
        run.stderr.contains("only the file name may hold wildcards"),
        "{}",
        run.stderr
    );
    assert!(
        missing
            .stderr
            .contains("cannot read the targets file list/nope.txt"),
        "{}",
        missing.stderr
    );
}

#[test]
fn a_killed_job_resumes_without_migrating_a_tenant_twice_or_skipping_one() {
    // A second migration that takes a while (about half a second a tenant), so the
    // kill lands mid-job even when this test's thread waits long for the processor.
    let slow = "CREATE TABLE filler AS WITH RECURSIVE c(x) AS \
                (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 1500000) SELECT x FROM c;\n\
                INSERT INTO runs (version) VALUES (2);";
    let sandbox = fleet_project(slow);
    tenants(&sandbox, 24);
    let report_path = sandbox.path().join("report.jsonl");
    let args = ["fleet", "migrate", "--glob", "tenants/*.db", "--jobs", "2"];
    let mut child = sandbox
        .command(
            ".",
            &[],
            &[&args[..], &["--report", "report.jsonl"]].concat(),
        )
        .spawn()
        .unwrap();
    let started = Instant::now();
    while std::fs::read_to_string(&report_path).map_or(0, |t| t.lines().count()) < 3 {
        assert!(started.elapsed() < Duration::from_secs(60), "no progress");
        assert!(
            child.try_wait().unwrap().is_none(),
            "finished before the kill"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let first = report(&report_path);
    assert!(first.len() < 24, "the job finished before the kill");
    let done: Vec<String> = first
        .iter()
        .map(|l| l["target"].as_str().unwrap().to_owned())
        .collect();
    assert!(first.iter().all(|l| l["outcome"] == "applied"));

    let resumed = sandbox.run(&[&args[..], &["--resume", "report.jsonl"]].concat());
    resumed.ok();
    for n in 1..=24 {
        assert!(
            migrated(&tenant(&sandbox, n)),
            "tenant {n}: {:?}",
            history(&tenant(&sandbox, n))
        );
    }
    let all = report(&report_path);
    let second = &all[first.len()..];
    assert_eq!(second.len(), 24);
    for line in second {
        let target = line["target"].as_str().unwrap();
        let expected = if done.iter().any(|d| d == target) {
            "skipped"
        } else {
            "applied"
        };
        assert_eq!(line["outcome"], expected, "{target}");
    }
    assert!(
        resumed.stdout.contains(&format!("skipped  {}", done.len())),
        "{}",
        resumed.stdout
    );

    // Other migrations: the report's targets are no longer done.
    sandbox.migration(
        "0004_fourth.sql",
        "INSERT INTO runs (version) VALUES (4);",
        None,
    );
    let fourth = sandbox
        .run(&[&args[..], &["--resume", "report.jsonl", "--format", "json"]].concat())
        .ok()
        .json();
    assert_eq!(
        (fourth["applied"].as_u64(), fourth["skipped"].as_u64()),
        (Some(24), Some(0))
    );
}

#[test]
fn a_failed_canary_stops_the_job() {
    let sandbox = fleet_project(SECOND);
    tenants(&sandbox, 6);
    rusqlite::Connection::open(tenant(&sandbox, 2))
        .unwrap()
        .execute_batch("CREATE TABLE runs (x)")
        .unwrap();
    let list: String = (1..=6).map(|n| format!("tenants/t{n:02}.db\n")).collect();
    sandbox.write("targets.txt", &list);
    let args = [
        "fleet",
        "migrate",
        "--targets",
        "targets.txt",
        "--jobs",
        "1",
    ];
    let run = sandbox.run(&[&args[..], &["--canary", "3", "--format", "json"]].concat());
    run.code(1);
    let doc = run.json();
    assert_eq!(
        (doc["applied"].as_u64(), doc["failed"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(doc["stopped"], true);
    assert_eq!(doc["failures"][0]["line"], 2);
    // The canary stops at its first failure: tenant 3, its third, is not run either.
    assert!(migrated(&tenant(&sandbox, 1)));
    for n in 3..=6 {
        assert_eq!(
            history(&tenant(&sandbox, n)),
            (vec![], vec![]),
            "tenant {n}"
        );
    }

    // A canary that passes lets the rest run.
    sandbox.write("targets.txt", &list.replace("tenants/t02.db\n", ""));
    let doc = sandbox
        .run(&[&args[..], &["--canary", "2", "--format", "json"]].concat())
        .ok()
        .json();
    assert_eq!(
        (doc["up_to_date"].as_u64(), doc["applied"].as_u64()),
        (Some(1), Some(4))
    );
    assert_eq!(doc["stopped"], false);

    // --fail-fast stops after the first failure too.
    sandbox.write("targets.txt", &list);
    for n in 3..=6 {
        std::fs::remove_file(tenant(&sandbox, n)).unwrap();
    }
    tenants(&sandbox, 0);
    for n in 3..=6 {
        rusqlite::Connection::open(tenant(&sandbox, n)).unwrap();
    }
    let doc = sandbox
        .run(&[&args[..], &["--fail-fast", "--format", "json"]].concat())
        .code(1)
        .json();
    assert_eq!(doc["stopped"], true);
    assert_eq!(doc["failed"], 1);
    assert!(doc["targets"].as_u64().unwrap() < 6, "{doc}");
}

/// Every file under a folder with its bytes.
fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                files.push((path.display().to_string(), std::fs::read(&path).unwrap()));
            }
        }
    }
    files.sort();
    files
}

#[test]
fn fleet_status_and_validate_write_nothing() {
    let sandbox = fleet_project(SECOND);
    tenants(&sandbox, 4);
    let targets = "sqlite:tenants/t01.db\nsqlite:tenants/t02.db\n";
    sandbox.write("targets.txt", targets);
    sandbox
        .run(&["fleet", "migrate", "--targets", "targets.txt"])
        .ok();
    let before = snapshot(sandbox.path());
    for command in ["status", "validate"] {
        let run = sandbox.run(&["fleet", command, "--glob", "tenants/*.db"]);
        run.ok();
        assert!(run.stdout.contains("up to date  2"), "{}", run.stdout);
        assert!(run.stdout.contains("pending     2"), "{}", run.stdout);
        let doc = sandbox
            .run(&[
                "fleet",
                command,
                "--glob",
                "tenants/*.db",
                "--format",
                "json",
            ])
            .ok()
            .json();
        assert_eq!(
            (doc["up_to_date"].as_u64(), doc["pending"].as_u64()),
            (Some(2), Some(2))
        );
        assert_eq!(
            snapshot(sandbox.path()),
            before,
            "fleet {command} wrote something"
        );
    }
    // A tenant whose history names a migration otherwise fails validation.
    rusqlite::Connection::open(tenant(&sandbox, 1))
        .unwrap()
        .execute_batch("UPDATE schema_migrations SET name = 'renamed' WHERE version = 2")
        .unwrap();
    let before = snapshot(sandbox.path());
    let run = sandbox.run(&["fleet", "validate", "--glob", "tenants/*.db"]);
    run.code(1);
    assert!(
        run.stdout.contains("sqlite:tenants/t01.db"),
        "{}",
        run.stdout
    );
    assert_eq!(snapshot(sandbox.path()), before);
    // Asked for, the report is the one file written.
    sandbox
        .run(&[
            "fleet",
            "status",
            "--glob",
            "tenants/*.db",
            "--report",
            "status.jsonl",
        ])
        .code(1);
    let mut after = snapshot(sandbox.path());
    after.retain(|(path, _)| !path.ends_with("status.jsonl"));
    assert_eq!(after, before);
    assert_eq!(report(&sandbox.path().join("status.jsonl")).len(), 4);
}

/// `fleet migrate --databases` on the server of `var`: three scratch databases
/// matching a pattern (and none of other tests, of this process or another).
fn databases_on_a_server(var: &str) {
    let dbs: Vec<ScratchDatabase> = (0..3)
        .map(|_| ScratchDatabase::with_prefix(var, "terrace_cli_fleet"))
        .collect();
    let server = std::env::var(var).unwrap();
    let pattern = format!("terrace\\_cli\\_fleet\\_{}\\_%", std::process::id());
    let sandbox = Sandbox::three_migrations();
    let run = sandbox.run(&[
        "--database",
        &server,
        "fleet",
        "migrate",
        "--databases",
        &pattern,
        "--format",
        "json",
    ]);
    let doc = run.ok().json();
    assert_eq!(
        (doc["applied"].as_u64(), doc["targets"].as_u64()),
        (Some(3), Some(3)),
        "{doc}"
    );
    assert_eq!(doc["migrations_applied"], 9);
    let status = sandbox.run(&[
        "--database",
        &server,
        "fleet",
        "status",
        "--databases",
        &pattern,
    ]);
    status.ok();
    assert!(status.stdout.contains("up to date  3"), "{}", status.stdout);
    drop(dbs);
}

#[test]
#[cfg_attr(
    not(terrace_test_postgres),
    ignore = "TERRACE_TEST_POSTGRES_URL was not set when the tests were built"
)]
fn fleet_databases_on_postgres() {
    databases_on_a_server("TERRACE_TEST_POSTGRES_URL");
}

#[test]
#[cfg_attr(
    not(terrace_test_mysql),
    ignore = "TERRACE_TEST_MYSQL_URL was not set when the tests were built"
)]
fn fleet_databases_on_mysql() {
    databases_on_a_server("TERRACE_TEST_MYSQL_URL");
}

#[test]
#[cfg_attr(
    not(terrace_test_postgres),
    ignore = "TERRACE_TEST_POSTGRES_URL was not set when the tests were built"
)]
fn fleet_schemas_on_postgres() {
    let db = ScratchDatabase::new("TERRACE_TEST_POSTGRES_URL");
    crate::servers::execute(
        &db.url,
        "CREATE SCHEMA tenant_a; CREATE SCHEMA tenant_b; CREATE SCHEMA tenant_c; CREATE SCHEMA other;",
    );
    let sandbox = Sandbox::three_migrations();
    let fleet = |args: &[&str]| {
        sandbox.run(&[&["--database", db.url.as_str(), "fleet"][..], args].concat())
    };
    let doc = fleet(&["migrate", "--schemas", "tenant\\_%", "--format", "json"])
        .ok()
        .json();
    assert_eq!(
        (doc["applied"].as_u64(), doc["targets"].as_u64()),
        (Some(3), Some(3)),
        "{doc}"
    );
    // Each schema holds its own tables and its own history; `other` and `public` none.
    let Connection::Postgres(mut client) = crate::servers::connect(&db.url) else {
        unreachable!("a PostgreSQL URL")
    };
    let rows = client
        .query(
            "SELECT table_schema::text, table_name::text FROM information_schema.tables \
             WHERE table_schema IN ('tenant_a', 'tenant_b', 'tenant_c', 'other', 'public') \
             ORDER BY 1, 2",
            &[],
        )
        .unwrap();
    let tables: Vec<(String, String)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
    let expected: Vec<(String, String)> = ["tenant_a", "tenant_b", "tenant_c"]
        .iter()
        .flat_map(|s| ["projects", "schema_migrations"].map(|t| (s.to_string(), t.to_string())))
        .collect();
    assert_eq!(tables, expected);
    let status = fleet(&["status", "--schemas", "tenant\\_%"]);
    status.ok();
    assert!(status.stdout.contains("up to date  3"), "{}", status.stdout);
    assert!(
        status.stderr.contains("(schema tenant_b): up to date"),
        "{}",
        status.stderr
    );
}
