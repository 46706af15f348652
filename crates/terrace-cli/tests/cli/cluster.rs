//! The CLI past one server: a three-node MariaDB Galera cluster, PgBouncer in transaction
//! pooling mode in front of PostgreSQL, a PostgreSQL hot standby, and a MariaDB primary
//! with its read-only replica. `.ci/cluster` starts them all; their URLs come from
//! `TERRACE_TEST_GALERA_URLS` (one URL per node, comma-separated),
//! `TERRACE_TEST_PGBOUNCER_URL`, `TERRACE_TEST_PG_REPLICA_URL` (the PostgreSQL primary
//! behind the last two from `TERRACE_TEST_POSTGRES_URL`), `TERRACE_TEST_MYSQL_PRIMARY_URL`
//! and `TERRACE_TEST_MYSQL_REPLICA_URL`. A test
//! whose variable was not set when the tests were built is ignored (see `build.rs`); one
//! whose variable is missing when it runs is skipped with a note on stderr, or fails
//! under CI (`CI` set), as does a server that does not answer.
//!
//! Every test makes its own scratch database and drops it at the end. Each migration
//! of the races writes a `start` and an `end` row into `migration_log`, stamped with
//! the server's clock (all nodes run on this machine): each migration ran exactly once
//! and none overlapped another exactly when the rows, in time order, read start 1,
//! end 1, start 2, end 2, …

use crate::servers::ScratchDatabase;
use crate::support::Sandbox;
use mysql::prelude::Queryable;
use std::process::Child;
use std::time::{Duration, Instant};

const GALERA: &str = "TERRACE_TEST_GALERA_URLS";
const PGBOUNCER: &str = "TERRACE_TEST_PGBOUNCER_URL";
const REPLICA: &str = "TERRACE_TEST_PG_REPLICA_URL";
const PRIMARY: &str = "TERRACE_TEST_POSTGRES_URL";
const MYSQL_REPLICA: &str = "TERRACE_TEST_MYSQL_REPLICA_URL";
const MYSQL_PRIMARY: &str = "TERRACE_TEST_MYSQL_PRIMARY_URL";

/// Databases per race test, and rounds per database: the first round of each is a
/// first run (it creates the tracking table and the lock table), the others later
/// runs on a database that already has both.
const DATABASES: usize = 4;
const ROUNDS_PER_DATABASE: usize = 5;
/// Runners per round: eight per Galera node, or 24 through PgBouncer.
const RUNNERS: usize = 24;

fn under_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

/// The value of each variable, or `None` when one is not set: the test is then skipped
/// with a note, except under CI, where it fails.
fn configured<const N: usize>(vars: [&str; N]) -> Option<[String; N]> {
    let values = vars.map(|var| std::env::var(var).ok().filter(|v| !v.is_empty()));
    let missing: Vec<&str> = vars
        .iter()
        .zip(&values)
        .filter(|(_, value)| value.is_none())
        .map(|(var, _)| *var)
        .collect();
    if missing.is_empty() {
        return Some(values.map(Option::unwrap));
    }
    let note = format!(
        "{} not set: run .ci/cluster and set it to test against the cluster set-ups",
        missing.join(", ")
    );
    assert!(!under_ci(), "{note}: CI must run the cluster tests");
    eprintln!("skipped: {note}");
    None
}

/// `url` with its database replaced by `name`.
fn with_database(url: &str, name: &str) -> String {
    let authority = url.find("://").expect("a URL with a scheme") + 3;
    let path = url[authority..]
        .find('/')
        .map_or(url.len(), |slash| authority + slash);
    let query = url[path..].find('?').map_or("", |q| &url[path + q..]);
    format!("{}/{name}{query}", &url[..path])
}

/// A name no other test of any process uses at the same time.
fn unique_name() -> String {
    static COUNTER: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    format!(
        "terrace_cluster_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    )
}

fn mysql_conn(url: &str) -> mysql::Conn {
    let opts = mysql::Opts::from_url(url).unwrap();
    mysql::Conn::new(opts).unwrap_or_else(|e| panic!("connect to {url}: {e}"))
}

fn postgres_client(url: &str) -> postgres::Client {
    postgres::Client::connect(url, postgres::NoTls)
        .unwrap_or_else(|e| panic!("connect to {url}: {e}"))
}

/// A scratch database on a Galera cluster or a MariaDB primary and its replica: made
/// and dropped through the first server. Another node or the replica may apply the
/// DDL a moment after the first returns (even Galera's total order applies it
/// asynchronously elsewhere): the test waits until every server has it.
struct GaleraDatabase {
    first_node: String,
    name: String,
    /// Its URL on each node.
    nodes: Vec<String>,
}

impl GaleraDatabase {
    fn new(urls: &str) -> Self {
        let urls: Vec<&str> = urls.split(',').map(str::trim).collect();
        assert_eq!(urls.len(), 3, "{GALERA} names three nodes: {urls:?}");
        Self::on(&urls)
    }

    /// On the servers `urls` name, the first of which replicates to the others.
    fn on(urls: &[&str]) -> Self {
        let name = unique_name();
        let mut conn = mysql_conn(urls[0]);
        conn.query_drop(format!("DROP DATABASE IF EXISTS `{name}`"))
            .unwrap();
        conn.query_drop(format!("CREATE DATABASE `{name}`"))
            .unwrap();
        for url in &urls[1..] {
            let mut node = mysql_conn(url);
            let started = Instant::now();
            while node
                .exec_first::<String, _, _>(
                    "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?",
                    (name.as_str(),),
                )
                .unwrap()
                .is_none()
            {
                assert!(
                    started.elapsed() < Duration::from_secs(30),
                    "{url} did not have database {name} within 30 s"
                );
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        GaleraDatabase {
            first_node: urls[0].to_owned(),
            nodes: urls.iter().map(|url| with_database(url, &name)).collect(),
            name,
        }
    }

    /// A connection to one node that sees every write committed anywhere in the
    /// cluster before its reads.
    fn reader(&self, node: usize) -> mysql::Conn {
        let mut conn = mysql_conn(&self.nodes[node]);
        conn.query_drop("SET SESSION wsrep_sync_wait = 1").unwrap();
        conn
    }
}

impl Drop for GaleraDatabase {
    fn drop(&mut self) {
        let dropped = mysql::Conn::new(mysql::Opts::from_url(&self.first_node).unwrap()).and_then(
            |mut conn| conn.query_drop(format!("DROP DATABASE IF EXISTS `{}`", self.name)),
        );
        if let Err(e) = dropped {
            eprintln!("could not drop the scratch database {}: {e}", self.name);
        }
    }
}

/// Waits until the replica has replayed the primary's work up to now: until `check`
/// succeeds on it, for at most a minute.
fn wait_for_replay(what: &str, mut check: impl FnMut() -> bool) {
    let started = Instant::now();
    while !check() {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the replica did not replay {what} within a minute"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Which server the migrations are written for.
#[derive(Clone, Copy, PartialEq)]
enum Server {
    Galera,
    Postgres,
}

impl Server {
    fn sleep(self, seconds: &str) -> String {
        match self {
            Server::Galera => format!("SELECT SLEEP({seconds});"),
            Server::Postgres => format!("SELECT pg_sleep({seconds});"),
        }
    }

    fn log(self, version: usize, phase: &str) -> String {
        let now = match self {
            Server::Galera => "NOW(6)",
            Server::Postgres => "clock_timestamp()",
        };
        format!(
            "INSERT INTO migration_log (version, phase, at) VALUES ({version}, '{phase}', {now});"
        )
    }
}

/// Writes round `round`'s three migrations, versions `3 * round + 1` to `3 * round +
/// 3`, each logging its start and end: a `CREATE TABLE` (the first round's creates
/// `items` and the log), a slow `ALTER TABLE … ADD COLUMN` (one second's sleep first),
/// and a `transaction:false` `ALTER TABLE … ADD COLUMN` (on PostgreSQL with a
/// `CREATE INDEX CONCURRENTLY`, which refuses to run inside a transaction).
fn write_round(sandbox: &Sandbox, server: Server, round: usize) {
    let v = 3 * round + 1;
    let (name, body) = if round == 0 {
        let log = match server {
            Server::Galera => {
                "CREATE TABLE migration_log (id BIGINT AUTO_INCREMENT PRIMARY KEY, \
                 version INT NOT NULL, phase VARCHAR(5) NOT NULL, at DATETIME(6) NOT NULL);"
            }
            Server::Postgres => {
                "CREATE TABLE migration_log (id BIGSERIAL PRIMARY KEY, \
                 version INT NOT NULL, phase TEXT NOT NULL, at TIMESTAMPTZ NOT NULL);"
            }
        };
        (
            "create_items".to_owned(),
            format!(
                "{log}\n{}\nCREATE TABLE items (id INT PRIMARY KEY);\n{}",
                server.log(v, "start"),
                server.log(v, "end")
            ),
        )
    } else {
        (
            format!("create_t{v}"),
            format!(
                "{}\nCREATE TABLE t{v} (id INT PRIMARY KEY);\n{}",
                server.log(v, "start"),
                server.log(v, "end")
            ),
        )
    };
    sandbox.migration(&format!("{v:04}_{name}.sql"), &body, None);

    let v = v + 1;
    sandbox.migration(
        &format!("{v:04}_slow_add_c{v}.sql"),
        &format!(
            "{}\n{}\nALTER TABLE items ADD COLUMN c{v} INT;\n{}",
            server.log(v, "start"),
            server.sleep("1"),
            server.log(v, "end")
        ),
        None,
    );

    let v = v + 1;
    let index = match server {
        Server::Galera => String::new(),
        Server::Postgres => format!("CREATE INDEX CONCURRENTLY items_c{v} ON items (c{v});\n"),
    };
    sandbox.write(
        &format!("migrations/{v:04}_add_c{v}_outside_a_transaction.sql"),
        &format!(
            "-- migrate:up transaction:false\n{}\nALTER TABLE items ADD COLUMN c{v} INT;\n{index}{}\n",
            server.log(v, "start"),
            server.log(v, "end")
        ),
    );
}

/// What a race left in the database.
#[derive(Debug)]
struct State {
    /// `(version, state)` of the tracking table's rows, oldest first.
    history: Vec<(i64, String)>,
    /// `(version, phase)` of `migration_log`'s rows, in time order.
    log: Vec<(i64, String)>,
    /// The columns of `items`, in order.
    columns: Vec<String>,
    /// The tables, sorted.
    tables: Vec<String>,
}

const HISTORY: &str =
    "SELECT version, COALESCE(state, 'NULL') FROM schema_migrations ORDER BY applied_at, version";
const LOG: &str = "SELECT version, phase FROM migration_log ORDER BY at, id";

const MYSQL_ITEMS_COLUMNS: &str = "SELECT column_name FROM information_schema.columns \
     WHERE table_schema = DATABASE() AND table_name = 'items' ORDER BY ordinal_position";

fn galera_state(conn: &mut mysql::Conn) -> State {
    State {
        history: conn.query(HISTORY).unwrap(),
        log: conn.query(LOG).unwrap(),
        columns: conn.query(MYSQL_ITEMS_COLUMNS).unwrap(),
        tables: conn
            .query(
                "SELECT table_name FROM information_schema.tables \
                 WHERE table_schema = DATABASE() ORDER BY table_name",
            )
            .unwrap(),
    }
}

fn pg_pairs(client: &mut postgres::Client, sql: &str) -> Vec<(i64, String)> {
    client
        .query(sql, &[])
        .unwrap()
        .iter()
        .map(|row| (row.get(0), row.get(1)))
        .collect()
}

fn pg_names(client: &mut postgres::Client, sql: &str) -> Vec<String> {
    client
        .query(sql, &[])
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect()
}

const PG_ITEMS_COLUMNS: &str = "SELECT column_name::text FROM information_schema.columns \
     WHERE table_schema = 'public' AND table_name = 'items' ORDER BY ordinal_position";
const PG_TABLES: &str = "SELECT table_name::text FROM information_schema.tables \
     WHERE table_schema = 'public' ORDER BY table_name";

fn postgres_state(client: &mut postgres::Client) -> State {
    State {
        history: pg_pairs(client, HISTORY),
        log: pg_pairs(
            client,
            "SELECT version::bigint, phase FROM migration_log ORDER BY at, id",
        ),
        columns: pg_names(client, PG_ITEMS_COLUMNS),
        tables: pg_names(client, PG_TABLES),
    }
}

/// A scratch database on the PostgreSQL primary with `setup` run in it, its URL
/// through `front` (PgBouncer or the replica), and a connection to it on the primary.
fn postgres_scratch(front: &str, setup: &str) -> (ScratchDatabase, String, postgres::Client) {
    let db = ScratchDatabase::new(PRIMARY);
    let through_front = with_database(front, &db.name);
    let mut primary = postgres_client(&db.url);
    primary.batch_execute(setup).unwrap();
    (db, through_front, primary)
}

/// Asserts that the rounds up to `rounds` were applied exactly once each, in order.
#[track_caller]
fn assert_applied_once(state: &State, rounds: usize, context: &str) {
    let versions = 1..=3 * rounds as i64;
    let history: Vec<(i64, String)> = versions
        .clone()
        .map(|v| (v, "applied".to_owned()))
        .collect();
    assert_eq!(
        state.history, history,
        "{context}: each version once, applied, in order of time"
    );
    let log: Vec<(i64, String)> = versions
        .clone()
        .flat_map(|v| [(v, "start".to_owned()), (v, "end".to_owned())])
        .collect();
    assert_eq!(
        state.log, log,
        "{context}: each migration ran once, one after the other"
    );
    let mut columns = vec!["id".to_owned()];
    columns.extend(
        versions
            .clone()
            .filter(|v| v % 3 != 1)
            .map(|v| format!("c{v}")),
    );
    assert_eq!(state.columns, columns, "{context}: each column once");
    let mut tables: Vec<String> = [
        "items",
        "migration_log",
        "schema_migrations",
        "schema_migrations_lock",
    ]
    .map(str::to_owned)
    .into();
    tables.extend(
        versions
            .filter(|v| v % 3 == 1 && *v > 1)
            .map(|v| format!("t{v}")),
    );
    tables.sort();
    assert_eq!(
        state.tables, tables,
        "{context}: the tables, the lock table next to the tracking table"
    );
}

/// One `terrace` process of a race: its label in messages, its folder in the sandbox,
/// its environment and its arguments.
struct Runner {
    label: String,
    folder: &'static str,
    env: Vec<(&'static str, &'static str)>,
    args: Vec<String>,
}

/// Starts every runner at once and waits for all; fails naming those that did not
/// exit 0.
fn race(sandbox: &Sandbox, runners: &[Runner], context: &str) {
    let children: Vec<(&Runner, Child)> = runners
        .iter()
        .map(|runner| {
            let args: Vec<&str> = runner.args.iter().map(String::as_str).collect();
            let child = sandbox
                .command(runner.folder, &runner.env, &args)
                .spawn()
                .unwrap();
            (runner, child)
        })
        .collect();
    let mut failures = Vec::new();
    for (runner, child) in children {
        let output = child.wait_with_output().unwrap();
        if !output.status.success() {
            failures.push(format!(
                "{} exited with {:?}:\n{}{}",
                runner.label,
                output.status.code(),
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{context}: {} of {} runners failed; the first of them:\n{}",
        failures.len(),
        runners.len(),
        failures[..failures.len().min(3)].join("\n---\n")
    );
}

/// Runs `rounds` rounds of `runners` per database on `DATABASES` scratch databases,
/// then one more round with a single runner that may wait at most two seconds for the
/// lock: a lease the racers failed to release (60 seconds by default) would stop it.
fn races<D>(
    server: Server,
    new_database: impl Fn() -> D,
    runners: impl Fn(&D) -> Vec<Runner>,
    single: impl Fn(&D) -> Runner,
    state: impl Fn(&D, usize) -> State,
) {
    let started = Instant::now();
    for database in 0..DATABASES {
        let db = new_database();
        let sandbox = Sandbox::empty();
        sandbox.write(
            "toml/terrace.toml",
            "lock = \"lease\"\ndir = \"../migrations\"\n",
        );
        std::fs::create_dir(sandbox.path().join("migrations")).unwrap();
        let runners = runners(&db);
        assert_eq!(runners.len(), RUNNERS);
        for round in 0..ROUNDS_PER_DATABASE {
            write_round(&sandbox, server, round);
            let context = format!("database {database}, round {round}");
            race(&sandbox, &runners, &context);
            assert_applied_once(&state(&db, round), round + 1, &context);
        }
        write_round(&sandbox, server, ROUNDS_PER_DATABASE);
        let context = format!("database {database}, one runner after the races");
        let before = Instant::now();
        race(&sandbox, &[single(&db)], &context);
        assert!(
            before.elapsed() < Duration::from_secs(10),
            "{context}: {:?}",
            before.elapsed()
        );
        assert_applied_once(
            &state(&db, ROUNDS_PER_DATABASE),
            ROUNDS_PER_DATABASE + 1,
            &context,
        );
    }
    eprintln!(
        "{DATABASES} databases x {ROUNDS_PER_DATABASE} rounds x {RUNNERS} runners: {:?}",
        started.elapsed()
    );
}

fn args(url: &str, extra: &[&str]) -> Vec<String> {
    let mut args = vec!["--database".to_owned(), url.to_owned()];
    args.extend(extra.iter().map(|a| (*a).to_owned()));
    args
}

#[test]
#[cfg_attr(
    not(terrace_test_galera),
    ignore = "TERRACE_TEST_GALERA_URLS was not set when the tests were built"
)]
fn galera_racers_on_three_nodes_apply_each_migration_once_in_order() {
    let Some([urls]) = configured([GALERA]) else {
        return;
    };
    // Nothing says "lease": on Galera terrace chooses it itself.
    races(
        Server::Galera,
        || GaleraDatabase::new(&urls),
        |db| {
            (0..RUNNERS)
                .map(|i| Runner {
                    label: format!("runner {i} on node {}", i % 3 + 1),
                    folder: ".",
                    env: Vec::new(),
                    args: args(&db.nodes[i % 3], &["--dir", "migrations", "migrate"]),
                })
                .collect()
        },
        |db| Runner {
            label: "the single runner on node 3".to_owned(),
            folder: ".",
            env: Vec::new(),
            args: args(
                &db.nodes[2],
                &["--dir", "migrations", "--lock-timeout", "2", "migrate"],
            ),
        },
        // Read on another node each round.
        |db, round| galera_state(&mut db.reader(round % 3)),
    );
}

/// A scratch database on the PostgreSQL primary, and its URL through PgBouncer.
struct PooledDatabase {
    primary: ScratchDatabase,
    pooled: String,
}

#[test]
#[cfg_attr(
    not(terrace_test_pgbouncer),
    ignore = "TERRACE_TEST_PGBOUNCER_URL was not set when the tests were built"
)]
fn pgbouncer_racers_with_the_lease_lock_apply_each_migration_once_in_order() {
    let Some([bouncer, _]) = configured([PGBOUNCER, PRIMARY]) else {
        return;
    };
    // The lease lock, chosen each of the three ways: the flag, the environment and
    // terrace.toml (in `toml/`, which names the folder).
    races(
        Server::Postgres,
        || {
            let primary = ScratchDatabase::new(PRIMARY);
            let pooled = with_database(&bouncer, &primary.name);
            PooledDatabase { primary, pooled }
        },
        |db| {
            (0..RUNNERS)
                .map(|i| match i % 3 {
                    0 => Runner {
                        label: format!("runner {i} (--lock lease)"),
                        folder: ".",
                        env: Vec::new(),
                        args: args(
                            &db.pooled,
                            &["--dir", "migrations", "--lock", "lease", "migrate"],
                        ),
                    },
                    1 => Runner {
                        label: format!("runner {i} (TERRACE_LOCK=lease)"),
                        folder: ".",
                        env: vec![("TERRACE_LOCK", "lease")],
                        args: args(&db.pooled, &["--dir", "migrations", "migrate"]),
                    },
                    _ => Runner {
                        label: format!("runner {i} (lock = \"lease\" in terrace.toml)"),
                        folder: "toml",
                        env: Vec::new(),
                        args: args(&db.pooled, &["migrate"]),
                    },
                })
                .collect()
        },
        |db| Runner {
            label: "the single runner".to_owned(),
            folder: ".",
            env: Vec::new(),
            args: args(
                &db.pooled,
                &[
                    "--dir",
                    "migrations",
                    "--lock",
                    "lease",
                    "--lock-timeout",
                    "2",
                    "migrate",
                ],
            ),
        },
        // Read on the primary itself, not through the pooler.
        |db, _| postgres_state(&mut postgres_client(&db.primary.url)),
    );
}

/// Polls `child` until it exits or `limit` passes; `None` if it still runs.
fn wait_at_most(child: &mut Child, limit: Duration) -> Option<std::process::ExitStatus> {
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return Some(status);
        }
        if started.elapsed() >= limit {
            return None;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn output_of(child: Child) -> String {
    let output = child.wait_with_output().unwrap();
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Whether a session other than this one runs `pg_sleep` in the scratch database.
fn pg_sleeping(db: &ScratchDatabase) -> bool {
    let name = db.name.as_str();
    postgres_client(&db.url)
        .query_one(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 \
             AND state = 'active' AND query LIKE '%pg_sleep(%' AND pid <> pg_backend_pid()",
            &[&name],
        )
        .unwrap()
        .get::<_, i64>(0)
        > 0
}

/// Whether a connection other than this one runs `SLEEP` in the scratch database on
/// the first node.
fn galera_sleeping(db: &GaleraDatabase) -> bool {
    let mut conn = mysql_conn(&db.nodes[0]);
    let sleeping: Option<i64> = conn
        .exec_first(
            "SELECT COUNT(*) FROM information_schema.PROCESSLIST \
             WHERE DB = ? AND INFO LIKE '%SLEEP(%' AND ID <> CONNECTION_ID()",
            (db.name.as_str(),),
        )
        .unwrap();
    sleeping > Some(0)
}

/// The lease of the killed holder, in seconds.
const LEASE: u64 = 3;

/// Three migrations; the second sleeps as many seconds as the `pause` table says (set
/// to 30 while the holder runs, to 0 once it is killed, so that the takeover does not
/// sleep too).
fn killed_holder_project(server: Server) -> Sandbox {
    let sandbox = Sandbox::empty();
    sandbox.migration(
        "0001_create_items.sql",
        "CREATE TABLE items (id INT PRIMARY KEY);",
        None,
    );
    sandbox.migration(
        "0002_pause.sql",
        &server.sleep("(SELECT seconds FROM pause WHERE id = 1)"),
        None,
    );
    sandbox.migration(
        "0003_add_c3.sql",
        "ALTER TABLE items ADD COLUMN c3 INT;",
        None,
    );
    sandbox
}

/// Starts the holder, waits until `sleeping` sees it inside migration 2's sleep,
/// starts a second runner and checks that it still waits for the holder's lease after
/// twice its length; then
/// `resume` sets the pause to 0, the holder is killed (SIGKILL: it releases nothing),
/// and the second runner, which must end within the lease and a few seconds, is
/// returned with its output.
fn kill_the_holder(
    sandbox: &Sandbox,
    holder: (&[(&str, &str)], &[&str]),
    second: (&[(&str, &str)], &[&str]),
    sleeping: impl Fn() -> bool,
    resume: impl FnOnce(),
) -> (std::process::ExitStatus, String, Duration) {
    let mut holder = sandbox.command(".", holder.0, holder.1).spawn().unwrap();
    let started = Instant::now();
    while !sleeping() {
        if let Some(status) = holder.try_wait().unwrap() {
            panic!(
                "the holder ended ({status}) before it slept:\n{}",
                output_of(holder)
            );
        }
        if started.elapsed() > Duration::from_secs(30) {
            holder.kill().unwrap();
            panic!("the holder did not reach migration 2 within 30 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut waiter = sandbox.command(".", second.0, second.1).spawn().unwrap();
    // Twice the lease: the living holder keeps it (renewed from its second connection
    // while its migration sleeps), so the second runner must still be waiting.
    if let Some(status) = wait_at_most(&mut waiter, Duration::from_secs(2 * LEASE)) {
        holder.kill().unwrap();
        panic!(
            "the second runner ended ({status}) while the holder held the lease:\n{}",
            output_of(waiter)
        );
    }
    resume();
    holder.kill().unwrap();
    let killed = Instant::now();
    holder.wait().unwrap();
    let limit = Duration::from_secs(LEASE + 9);
    let Some(status) = wait_at_most(&mut waiter, limit) else {
        waiter.kill().unwrap();
        panic!(
            "the second runner still waited {limit:?} after the holder with a {LEASE} s lease \
             was killed:\n{}",
            output_of(waiter)
        );
    };
    let took = killed.elapsed();
    (status, output_of(waiter), took)
}

#[test]
#[cfg_attr(
    not(terrace_test_pgbouncer),
    ignore = "TERRACE_TEST_PGBOUNCER_URL was not set when the tests were built"
)]
fn pgbouncer_a_killed_holder_is_taken_over_after_its_lease() {
    let Some([bouncer, _]) = configured([PGBOUNCER, PRIMARY]) else {
        return;
    };
    let (db, pooled, mut primary) = postgres_scratch(
        &bouncer,
        "CREATE TABLE pause (id INT PRIMARY KEY, seconds INT NOT NULL);
         INSERT INTO pause VALUES (1, 30);",
    );
    let sandbox = killed_holder_project(Server::Postgres);
    let lease = LEASE.to_string();
    let (status, output, took) = kill_the_holder(
        &sandbox,
        (
            &[],
            &[
                "--database",
                &pooled,
                "--dir",
                "migrations",
                "--lock",
                "lease",
                "--lock-lease",
                &lease,
                "migrate",
            ],
        ),
        (
            &[("TERRACE_LOCK", "lease"), ("TERRACE_LOCK_LEASE", &lease)],
            &["--database", &pooled, "--dir", "migrations", "migrate"],
        ),
        || pg_sleeping(&db),
        || {
            primary
                .execute("UPDATE pause SET seconds = 0", &[])
                .unwrap();
        },
    );
    assert!(status.success(), "{output}");
    eprintln!("took over {took:?} after the kill");
    // Migration 2 never committed under the holder, so the second runner ran it and 3.
    assert_eq!(
        pg_pairs(&mut primary, HISTORY),
        [1, 2, 3].map(|v| (v, "applied".to_owned())),
        "{output}"
    );
    assert_eq!(pg_names(&mut primary, PG_ITEMS_COLUMNS), ["id", "c3"]);
}

#[test]
#[cfg_attr(
    not(terrace_test_galera),
    ignore = "TERRACE_TEST_GALERA_URLS was not set when the tests were built"
)]
fn galera_a_killed_holder_is_taken_over_after_its_lease_and_its_migration_is_dirty() {
    let Some([urls]) = configured([GALERA]) else {
        return;
    };
    let db = GaleraDatabase::new(&urls);
    let mut first = db.reader(0);
    first
        .query_drop("CREATE TABLE pause (id INT PRIMARY KEY, seconds INT NOT NULL)")
        .unwrap();
    first
        .query_drop("INSERT INTO pause VALUES (1, 30)")
        .unwrap();
    let sandbox = killed_holder_project(Server::Galera);
    let lease = LEASE.to_string();
    // The holder on node 1, the second runner on node 2: the lease holds across nodes.
    let (status, output, took) = kill_the_holder(
        &sandbox,
        (
            &[],
            &[
                "--database",
                &db.nodes[0],
                "--dir",
                "migrations",
                "--lock-lease",
                &lease,
                "migrate",
            ],
        ),
        (
            &[("TERRACE_LOCK_LEASE", &lease)],
            &["--database", &db.nodes[1], "--dir", "migrations", "migrate"],
        ),
        || galera_sleeping(&db),
        || first.query_drop("UPDATE pause SET seconds = 0").unwrap(),
    );
    eprintln!("took over {took:?} after the kill");
    // On MariaDB a migration runs outside a transaction: the holder marked 2 started
    // before it slept, and nothing can tell how far a killed migration got. The second
    // runner, once it holds the lease, must refuse to go on, naming the dirty row, and
    // apply nothing after it.
    assert_eq!(status.code(), Some(1), "{output}");
    assert!(output.contains("migration 2 (pause) is dirty"), "{output}");
    let mut reader = db.reader(2);
    let history: Vec<(i64, String)> = reader.query(HISTORY).unwrap();
    assert_eq!(
        history,
        [(1, "applied".to_owned()), (2, "started".to_owned())],
        "{output}"
    );
    // The sleep changed nothing: repair makes 2 pending again, and a run on node 3
    // applies 2 and 3, once each.
    let run = sandbox.run(&["--database", &db.nodes[2], "--dir", "migrations", "repair"]);
    run.ok();
    let run = sandbox.run(&["--database", &db.nodes[2], "--dir", "migrations", "migrate"]);
    run.ok();
    let mut reader = db.reader(1);
    let history: Vec<(i64, String)> = reader.query(HISTORY).unwrap();
    assert_eq!(
        history,
        [1, 2, 3].map(|v| (v, "applied".to_owned())),
        "{}",
        run.all()
    );
    let columns: Vec<String> = reader.query(MYSQL_ITEMS_COLUMNS).unwrap();
    assert_eq!(columns, ["id", "c3"]);
}

/// `status` through `url`: how many migrations are applied and how many pending.
fn applied_and_pending(sandbox: &Sandbox, url: &str) -> (serde_json::Value, serde_json::Value) {
    let status = sandbox
        .run(&[
            "--database",
            url,
            "--dir",
            "migrations",
            "status",
            "--format",
            "json",
        ])
        .ok()
        .json();
    (
        status["applied_count"].clone(),
        status["pending_count"].clone(),
    )
}

#[test]
#[cfg_attr(
    not(terrace_test_pg_replica),
    ignore = "TERRACE_TEST_PG_REPLICA_URL was not set when the tests were built"
)]
fn migrate_refuses_a_read_only_replica_and_status_works_there() {
    let Some([replica, _]) = configured([REPLICA, PRIMARY]) else {
        return;
    };
    let (db, on_replica, _primary) = postgres_scratch(
        &replica,
        "CREATE TABLE existing (id INT PRIMARY KEY); INSERT INTO existing VALUES (7);",
    );
    wait_for_replay("the scratch database and its table", || {
        postgres::Client::connect(&on_replica, postgres::NoTls)
            .is_ok_and(|mut client| pg_names(&mut client, PG_TABLES) == ["existing"])
    });

    // A standby refuses every write by itself, so that nothing changes there is no
    // news (the MariaDB replica test shows it where a replica could be written): what
    // is tested is that migrate stops at once with the message, not with the server's
    // error halfway through (SQLSTATE 25006 at the tracking table's creation).
    let sandbox = Sandbox::three_migrations();
    let run = sandbox.run(&["--database", &on_replica, "--dir", "migrations", "migrate"]);
    assert_ne!(run.code, 0, "{}", run.all());
    assert!(
        run.stderr
            .contains("read-only replica (a PostgreSQL standby")
            && run.stderr.contains("migrate the primary")
            && !run.stderr.contains("25006"),
        "{}",
        run.stderr
    );

    // `status` reads the replica: (applied, pending).
    let status = || applied_and_pending(&sandbox, &on_replica);
    assert_eq!(status(), (0.into(), 3.into()));
    // Once the primary is migrated, the replica's status shows it.
    sandbox
        .run(&["--database", &db.url, "--dir", "migrations", "migrate"])
        .ok();
    wait_for_replay("the migrations", || status() == (3.into(), 0.into()));
}

#[test]
#[cfg_attr(
    not(terrace_test_mysql_replica),
    ignore = "TERRACE_TEST_MYSQL_REPLICA_URL was not set when the tests were built"
)]
fn migrate_refuses_a_read_only_mariadb_replica_and_status_works_there() {
    let Some([replica, primary]) = configured([MYSQL_REPLICA, MYSQL_PRIMARY]) else {
        return;
    };
    let db = GaleraDatabase::on(&[&primary, &replica]);
    let (on_primary, on_replica) = (&db.nodes[0], &db.nodes[1]);
    let mut writer = mysql_conn(on_primary);
    writer
        .query_drop("CREATE TABLE existing (id INT PRIMARY KEY)")
        .unwrap();
    writer
        .query_drop("INSERT INTO existing VALUES (7)")
        .unwrap();
    let state = |url: &str| -> (Vec<String>, Vec<i32>) {
        let mut conn = mysql_conn(url);
        (
            conn.query(
                "SELECT table_name FROM information_schema.tables \
                 WHERE table_schema = DATABASE() ORDER BY table_name",
            )
            .unwrap(),
            conn.query("SELECT id FROM existing").unwrap_or_default(),
        )
    };
    let before = (vec!["existing".to_owned()], vec![7]);
    wait_for_replay("the scratch table and its row", || {
        state(on_replica) == before
    });

    let sandbox = Sandbox::three_migrations();
    let run = sandbox.run(&["--database", on_replica, "--dir", "migrations", "migrate"]);
    assert_ne!(run.code, 0, "{}", run.all());
    assert!(
        run.stderr.contains("read-only replica (read_only is ON)")
            && run.stderr.contains("migrate the primary"),
        "{}",
        run.stderr
    );
    // Nothing changed on the replica (its root could write there: it may bypass
    // read_only) nor on the primary: no tracking table, no lock table.
    assert_eq!(state(on_replica), before);
    assert_eq!(state(on_primary), before);

    let status = || applied_and_pending(&sandbox, on_replica);
    assert_eq!(status(), (0.into(), 3.into()));
    sandbox
        .run(&["--database", on_primary, "--dir", "migrations", "migrate"])
        .ok();
    wait_for_replay("the migrations", || status() == (3.into(), 0.into()));
}

/// Reading commands through PgBouncer with the lease lock set nothing on the server
/// session: a read-only setting would stay on the pooled server connection, and the
/// next client to get it — a migrate — would be refused its writes.
#[test]
#[cfg_attr(
    not(terrace_test_pgbouncer),
    ignore = "TERRACE_TEST_PGBOUNCER_URL was not set when the tests were built"
)]
fn pgbouncer_reading_commands_leave_no_read_only_session_behind() {
    let Some([bouncer, _]) = configured([PGBOUNCER, PRIMARY]) else {
        return;
    };
    let (_db, pooled, _primary) = postgres_scratch(&bouncer, "");
    let sandbox = Sandbox::three_migrations();
    let env = [("TERRACE_LOCK", "lease")];
    sandbox.write("targets.txt", &format!("{pooled}\n"));
    // More reading commands than the pool has server connections, the fleet's among them.
    for command in [
        &["status"][..],
        &["validate"],
        &["fleet", "status", "--targets", "targets.txt"],
        &["history"],
        &["fleet", "validate", "--targets", "targets.txt"],
        &["status"],
        &["fleet", "status", "--targets", "targets.txt"],
    ] {
        let run = sandbox.run_with(".", &env, &[&["--database", &pooled][..], command].concat());
        run.ok();
    }
    let mut client = postgres_client(&pooled);
    for _ in 0..8 {
        let rows = client
            .simple_query("SHOW default_transaction_read_only")
            .unwrap();
        let value = rows.iter().find_map(|message| match message {
            postgres::SimpleQueryMessage::Row(row) => row.get(0).map(str::to_owned),
            _ => None,
        });
        assert_eq!(
            value.as_deref(),
            Some("off"),
            "a pooled session was left read-only"
        );
    }
    drop(client);
    let run = sandbox.run_with(".", &env, &["--database", &pooled, "migrate"]);
    run.ok();
    assert!(run.all().contains("applied 3 migrations"), "{}", run.all());
}

/// The lease of the long-migration tests, in seconds, and how long their first
/// migration sleeps: three leases.
const SHORT_LEASE: u64 = 2;
const LONG_STEP: u64 = 3 * SHORT_LEASE;

/// Two migrations, each recording that it ran in `runs` (made by the test): the first
/// sleeps three times as long as the lease between creating a table and its record.
fn long_step_project(server: Server) -> Sandbox {
    let sandbox = Sandbox::empty();
    sandbox.migration(
        "0001_long.sql",
        &format!(
            "CREATE TABLE items (id INT PRIMARY KEY);\n{}\nINSERT INTO runs VALUES (1);",
            server.sleep(&LONG_STEP.to_string())
        ),
        None,
    );
    sandbox.migration("0002_after.sql", "INSERT INTO runs VALUES (2);", None);
    sandbox
}

/// Starts a runner, waits until `sleeping` sees it inside migration 1's sleep, then
/// starts a second one: the first must keep its lease from its second connection for
/// the whole migration, so the second waits for it instead of taking the lease over,
/// and both exit 0. Their outputs, first runner's first.
fn outlive_the_lease(
    sandbox: &Sandbox,
    first: (&[(&str, &str)], &[&str]),
    second: (&[(&str, &str)], &[&str]),
    sleeping: impl Fn() -> bool,
) -> (String, String) {
    let mut holder = sandbox.command(".", first.0, first.1).spawn().unwrap();
    let started = Instant::now();
    while !sleeping() {
        if let Some(status) = holder.try_wait().unwrap() {
            panic!(
                "the first runner ended ({status}) before it slept:\n{}",
                output_of(holder)
            );
        }
        if started.elapsed() > Duration::from_secs(30) {
            holder.kill().unwrap();
            panic!("the first runner did not reach migration 1's sleep within 30 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut waiter = sandbox.command(".", second.0, second.1).spawn().unwrap();
    let limit = Duration::from_secs(LONG_STEP + 30);
    let (Some(first_status), Some(second_status)) = (
        wait_at_most(&mut holder, limit),
        wait_at_most(&mut waiter, limit),
    ) else {
        let _ = holder.kill();
        let _ = waiter.kill();
        panic!("the runners did not end within {limit:?}");
    };
    let (first, second) = (output_of(holder), output_of(waiter));
    assert!(
        first_status.success() && second_status.success(),
        "both runners must end well ({first_status}, {second_status}):\n\
         first:\n{first}\nsecond:\n{second}"
    );
    (first, second)
}

/// Through PgBouncer under a two-second lease: the command `first` gives (from the
/// sandbox, the pooled URL and the lock settings) runs the six-second migration while
/// a plain `migrate` waits for it; `first_says` is in its output.
fn pgbouncer_outlive_the_lease(
    first: impl FnOnce(&Sandbox, &str, &[&str]) -> Vec<String>,
    first_says: &str,
) {
    let Some([bouncer, _]) = configured([PGBOUNCER, PRIMARY]) else {
        return;
    };
    let (db, pooled, mut primary) =
        postgres_scratch(&bouncer, "CREATE TABLE runs (version INT NOT NULL);");
    let sandbox = long_step_project(Server::Postgres);
    let lease = SHORT_LEASE.to_string();
    let settings = [
        "--dir",
        "migrations",
        "--lock",
        "lease",
        "--lock-lease",
        &lease,
    ];
    let first_args = first(&sandbox, &pooled, &settings);
    let first_args: Vec<&str> = first_args.iter().map(String::as_str).collect();
    let single = [
        &["--database", pooled.as_str()],
        &settings[..],
        &["migrate"],
    ]
    .concat();
    let (first, second) = outlive_the_lease(&sandbox, (&[], &first_args), (&[], &single), || {
        pg_sleeping(&db)
    });
    assert!(first.contains(first_says), "{first}");
    assert!(second.contains("up to date"), "{second}");
    assert_eq!(
        pg_pairs(&mut primary, HISTORY),
        [1, 2].map(|v| (v, "applied".to_owned()))
    );
    let runs: Vec<i32> = primary
        .query("SELECT version FROM runs ORDER BY version", &[])
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect();
    assert_eq!(runs, [1, 2], "each migration ran once");
}

fn owned(args: &[&str]) -> Vec<String> {
    args.iter().map(|arg| (*arg).to_owned()).collect()
}

#[test]
#[cfg_attr(
    not(terrace_test_pgbouncer),
    ignore = "TERRACE_TEST_PGBOUNCER_URL was not set when the tests were built"
)]
fn pgbouncer_a_migration_longer_than_the_lease_keeps_it() {
    pgbouncer_outlive_the_lease(
        |_, pooled, settings| owned(&[&["--database", pooled], settings, &["migrate"]].concat()),
        "applied 2 migrations",
    );
}

#[test]
#[cfg_attr(
    not(terrace_test_pgbouncer),
    ignore = "TERRACE_TEST_PGBOUNCER_URL was not set when the tests were built"
)]
fn pgbouncer_a_fleet_keeps_its_lease_through_a_long_migration() {
    pgbouncer_outlive_the_lease(
        |sandbox, pooled, settings| {
            sandbox.write("targets.txt", &format!("{pooled}\n"));
            owned(&[settings, &["fleet", "migrate", "--targets", "targets.txt"]].concat())
        },
        "applied  1",
    );
}

#[test]
#[cfg_attr(
    not(terrace_test_galera),
    ignore = "TERRACE_TEST_GALERA_URLS was not set when the tests were built"
)]
fn galera_a_migration_longer_than_the_lease_keeps_it() {
    let Some([urls]) = configured([GALERA]) else {
        return;
    };
    let db = GaleraDatabase::new(&urls);
    db.reader(0)
        .query_drop("CREATE TABLE runs (version INT NOT NULL)")
        .unwrap();
    let sandbox = long_step_project(Server::Galera);
    let lease = SHORT_LEASE.to_string();
    // The lease chosen by terrace itself on Galera; the runners on two nodes.
    let on = |node: usize| {
        [
            "--database",
            db.nodes[node].as_str(),
            "--dir",
            "migrations",
            "--lock-lease",
            lease.as_str(),
            "migrate",
        ]
    };
    let (first, second) = outlive_the_lease(&sandbox, (&[], &on(0)), (&[], &on(1)), || {
        galera_sleeping(&db)
    });
    assert!(first.contains("applied 2 migrations"), "{first}");
    assert!(second.contains("up to date"), "{second}");
    let mut reader = db.reader(2);
    let history: Vec<(i64, String)> = reader.query(HISTORY).unwrap();
    assert_eq!(history, [1, 2].map(|v| (v, "applied".to_owned())));
    let runs: Vec<i32> = reader
        .query("SELECT version FROM runs ORDER BY version")
        .unwrap();
    assert_eq!(runs, [1, 2], "each migration ran once");
}
