//! One scenario suite, run through every adapter of each database, proving the drivers
//! behave alike.
//!
//! Each scenario is written once against [`Driver`], which every adapter answers: the
//! blocking ones (rusqlite, postgres, mysql, diesel) directly, the async ones (sqlx's
//! connections and pools, tokio-postgres) on a current-thread tokio runtime. It writes
//! a [`Transcript`]: each command's outcome (reports, status, error kinds with their
//! versions — not a driver's message text) and, after each, the tracking table's rows
//! and the user tables, read by a neutral reader. Each `<scenario>::<database>` test
//! runs the scenario through every adapter of that database, each on a fresh scratch
//! database, and requires the transcripts to be identical.
//!
//! The one expected difference is explicit: a code migration runs on a blocking
//! adapter and is refused on an async one. Its lines are marked `~` (the runner's mode
//! may change only them), and the scenario then finishes the run on a blocking
//! connection so that everything after them must again be identical.

use crate::backends::{Kind, TestDb};
use sqlx::Connection as _;
use terrace::{
    AsyncDatabase, Database, Error, LockMode, Migration, Migrations, RepairReport, Report, Status,
    Target, TransactionMode,
};

/// Every adapter the suite runs through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Adapter {
    Rusqlite,
    DieselSqlite,
    SqlxSqlite,
    SqlxSqlitePool,
    Postgres,
    DieselPostgres,
    SqlxPostgres,
    SqlxPostgresPool,
    TokioPostgres,
    Mysql,
    DieselMysql,
    SqlxMysql,
    SqlxMysqlPool,
}

impl Adapter {
    /// The adapters of one database, the blocking ones first.
    fn of(kind: Kind) -> &'static [Adapter] {
        use Adapter::*;
        match kind {
            Kind::Sqlite => &[Rusqlite, DieselSqlite, SqlxSqlite, SqlxSqlitePool],
            Kind::Postgres => &[
                Postgres,
                DieselPostgres,
                SqlxPostgres,
                SqlxPostgresPool,
                TokioPostgres,
            ],
            Kind::Mysql => &[Mysql, DieselMysql, SqlxMysql, SqlxMysqlPool],
        }
    }

    fn blocking(self) -> bool {
        use Adapter::*;
        matches!(
            self,
            Rusqlite | DieselSqlite | Postgres | DieselPostgres | Mysql | DieselMysql
        )
    }

    /// Opens a connection (or pool) of this adapter to `db`.
    fn open(self, db: &TestDb) -> Box<dyn Driver> {
        use Adapter::*;
        use diesel::Connection as _;
        let url = db.url.as_str();
        let sqlite = || {
            sqlx::sqlite::SqliteConnectOptions::new()
                .filename(url)
                .create_if_missing(true)
        };
        fn pool<DB: sqlx::Database>() -> sqlx::pool::PoolOptions<DB> {
            sqlx::pool::PoolOptions::new().max_connections(2)
        }
        match self {
            Rusqlite => Box::new(Blocking(rusqlite::Connection::open(url).unwrap())),
            DieselSqlite => Box::new(Blocking(diesel::SqliteConnection::establish(url).unwrap())),
            SqlxSqlite => Async::open(async move {
                sqlx::SqliteConnection::connect_with(&sqlite())
                    .await
                    .unwrap()
            }),
            SqlxSqlitePool => {
                Async::open(
                    async move { pool::<sqlx::Sqlite>().connect_with(sqlite()).await.unwrap() },
                )
            }
            Postgres => Box::new(Blocking(
                postgres::Client::connect(url, postgres::NoTls).unwrap(),
            )),
            DieselPostgres => Box::new(Blocking(diesel::PgConnection::establish(url).unwrap())),
            SqlxPostgres => {
                Async::open(async move { sqlx::PgConnection::connect(url).await.unwrap() })
            }
            SqlxPostgresPool => {
                Async::open(async move { pool::<sqlx::Postgres>().connect(url).await.unwrap() })
            }
            TokioPostgres => Async::open(async move {
                let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
                    .await
                    .unwrap();
                tokio::spawn(connection);
                client
            }),
            Mysql => Box::new(Blocking(
                mysql::Conn::new(mysql::Opts::from_url(url).unwrap()).unwrap(),
            )),
            DieselMysql => Box::new(Blocking(diesel::MysqlConnection::establish(url).unwrap())),
            SqlxMysql => {
                Async::open(async move { sqlx::MySqlConnection::connect(url).await.unwrap() })
            }
            SqlxMysqlPool => {
                Async::open(async move { pool::<sqlx::MySql>().connect(url).await.unwrap() })
            }
        }
    }
}

/// The commands a scenario gives, answered alike by every adapter: blocking ones call
/// the blocking API, async ones the `*_async` API on a runtime of their own.
trait Driver {
    fn run_to(&mut self, list: &Migrations, target: Target) -> Result<Report, Error>;
    fn rollback(&mut self, list: &Migrations, target: Target) -> Result<Report, Error>;
    /// The versions a dry run would apply.
    fn plan(&mut self, list: &Migrations, target: Target) -> Result<Vec<u64>, Error>;
    fn status(&mut self, list: &Migrations) -> Result<Status, Error>;
    fn validate(&mut self, list: &Migrations) -> Result<(), Error>;
    fn baseline(&mut self, list: &Migrations, version: u64) -> Result<Report, Error>;
    fn repair(&mut self, list: &Migrations) -> Result<RepairReport, Error>;
    fn reset_history(&mut self, list: &Migrations) -> Result<terrace::ResetReport, Error>;
}

fn versions(plan: terrace::Plan<'_>) -> Vec<u64> {
    plan.steps()
        .iter()
        .map(|s| s.migration().version())
        .collect()
}

/// A blocking driver's connection.
struct Blocking<C>(C);

impl<C: Database> Driver for Blocking<C> {
    fn run_to(&mut self, list: &Migrations, target: Target) -> Result<Report, Error> {
        list.run_to(&mut self.0, target)
    }
    fn rollback(&mut self, list: &Migrations, target: Target) -> Result<Report, Error> {
        list.rollback(&mut self.0, target)
    }
    fn plan(&mut self, list: &Migrations, target: Target) -> Result<Vec<u64>, Error> {
        list.plan(&mut self.0, target).map(versions)
    }
    fn status(&mut self, list: &Migrations) -> Result<Status, Error> {
        list.status(&mut self.0)
    }
    fn validate(&mut self, list: &Migrations) -> Result<(), Error> {
        list.validate(&mut self.0)
    }
    fn baseline(&mut self, list: &Migrations, version: u64) -> Result<Report, Error> {
        list.baseline(&mut self.0, version)
    }
    fn repair(&mut self, list: &Migrations) -> Result<RepairReport, Error> {
        list.repair(&mut self.0)
    }
    fn reset_history(&mut self, list: &Migrations) -> Result<terrace::ResetReport, Error> {
        list.reset_history(&mut self.0)
    }
}

/// An async driver's connection or pool, with the current-thread runtime it runs on
/// (entered only while a command runs, so the neutral reader's blocking PostgreSQL
/// client never runs inside it).
struct Async<C> {
    conn: Option<C>,
    runtime: tokio::runtime::Runtime,
}

impl<C: AsyncDatabase + 'static> Async<C> {
    fn open(connect: impl std::future::Future<Output = C>) -> Box<dyn Driver> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let conn = Some(runtime.block_on(connect));
        Box::new(Async { conn, runtime })
    }

    fn block_on<'a, T, F: std::future::Future<Output = T> + 'a>(
        &'a mut self,
        command: impl FnOnce(&'a mut C) -> F,
    ) -> T {
        let conn = self.conn.as_mut().expect("open until dropped");
        self.runtime.block_on(command(conn))
    }
}

impl<C> Drop for Async<C> {
    fn drop(&mut self) {
        // Closed inside its runtime, which pools and tokio-postgres need.
        let conn = self.conn.take();
        self.runtime.block_on(async move { drop(conn) });
    }
}

impl<C: AsyncDatabase + 'static> Driver for Async<C> {
    fn run_to(&mut self, list: &Migrations, target: Target) -> Result<Report, Error> {
        self.block_on(|c| list.run_to_async(c, target))
    }
    fn rollback(&mut self, list: &Migrations, target: Target) -> Result<Report, Error> {
        self.block_on(|c| list.rollback_async(c, target))
    }
    fn plan(&mut self, list: &Migrations, target: Target) -> Result<Vec<u64>, Error> {
        self.block_on(|c| list.plan_async(c, target)).map(versions)
    }
    fn status(&mut self, list: &Migrations) -> Result<Status, Error> {
        self.block_on(|c| list.status_async(c))
    }
    fn validate(&mut self, list: &Migrations) -> Result<(), Error> {
        self.block_on(|c| list.validate_async(c))
    }
    fn baseline(&mut self, list: &Migrations, version: u64) -> Result<Report, Error> {
        self.block_on(|c| list.baseline_async(c, version))
    }
    fn repair(&mut self, list: &Migrations) -> Result<RepairReport, Error> {
        self.block_on(|c| list.repair_async(c))
    }
    fn reset_history(&mut self, list: &Migrations) -> Result<terrace::ResetReport, Error> {
        self.block_on(|c| list.reset_history_async(c))
    }
}

/// What a scenario saw, line by line. Lines starting with `~` may differ between the
/// blocking and the async adapters (and only there).
#[derive(Default)]
struct Transcript(Vec<String>);

/// One scenario's run through one adapter: its scratch database, its driver and what
/// it saw.
struct Run<'a> {
    db: &'a TestDb,
    driver: Box<dyn Driver>,
    blocking: bool,
    transcript: Transcript,
}

impl Run<'_> {
    /// The migrations folder, read now.
    fn list(&self) -> Migrations {
        self.db.migrations()
    }

    fn note(&mut self, line: String) {
        // Problems name files by path: the scratch folder differs per adapter.
        let folder = self.db.scratch.dir.path().to_string_lossy().into_owned();
        self.transcript.0.push(line.replace(&folder, "<scratch>"));
    }

    /// Records a command's outcome, then the database's state.
    fn record<T>(&mut self, command: &str, outcome: Result<T, Error>, ok: impl Fn(&T) -> String) {
        let text = match &outcome {
            Ok(value) => format!("ok: {}", ok(value)),
            Err(e) => format!("error: {}", error(e)),
        };
        self.note(format!("{command} -> {text}"));
        // A mode-dependent command's state is left for the scenario to record once
        // the modes have met again.
        if !command.starts_with('~') {
            self.state();
        }
    }

    /// The tracking table's rows and the user tables, read on a connection of
    /// Terrace's own (not the adapter under test).
    fn state(&mut self) {
        let tables = self.db.tables();
        if tables.iter().any(|t| t == "schema_migrations") {
            for row in self.db.rows(
                "SELECT version, name, checksum, state, cumulative_checksum \
                 FROM schema_migrations ORDER BY version",
            ) {
                self.note(format!("  row {}", row.join(" | ")));
            }
        }
        self.note(format!("  tables {}", tables.join(", ")));
    }

    fn run_to(&mut self, target: Target) {
        let list = self.list();
        let outcome = self.driver.run_to(&list, target);
        self.record(&format!("run_to {target:?}"), outcome, report);
    }

    fn run(&mut self) {
        self.run_to(Target::Latest);
    }

    fn rollback(&mut self, target: Target) {
        let list = self.list();
        let outcome = self.driver.rollback(&list, target);
        self.record(&format!("rollback {target:?}"), outcome, report);
    }

    fn plan(&mut self, target: Target) {
        let list = self.list();
        let outcome = self.driver.plan(&list, target);
        self.record(&format!("plan {target:?}"), outcome, |v| format!("{v:?}"));
    }

    fn status(&mut self) {
        let list = self.list();
        let outcome = self.driver.status(&list);
        self.record("status", outcome, status);
    }

    fn validate(&mut self) {
        let list = self.list();
        let outcome = self.driver.validate(&list);
        self.record("validate", outcome, |()| "valid".to_owned());
    }

    fn baseline(&mut self, version: u64) {
        let list = self.list();
        let outcome = self.driver.baseline(&list, version);
        self.record(&format!("baseline {version}"), outcome, report);
    }

    fn repair(&mut self) {
        let list = self.list();
        let outcome = self.driver.repair(&list);
        self.record("repair", outcome, |r| {
            format!("changes {:?}, remaining {:?}", r.changes, r.remaining)
        });
    }

    fn reset_history(&mut self) {
        let list = self.list();
        let outcome = self.driver.reset_history(&list);
        self.record("reset_history", outcome, |r| format!("{r:?}"));
    }
}

fn report(report: &Report) -> String {
    let steps: Vec<String> = report
        .steps
        .iter()
        .map(|s| format!("{} {}", s.version, s.name))
        .collect();
    format!("{:?} [{}]", report.direction, steps.join(", "))
}

fn status(status: &Status) -> String {
    let applied: Vec<String> = status
        .applied
        .iter()
        .map(|a| {
            format!(
                "{} {} {:?} checksum_ok={}",
                a.row.version, a.row.name, a.row.state, a.checksum_ok
            )
        })
        .collect();
    let pending: Vec<String> = status
        .pending
        .iter()
        .map(|p| format!("{} {} {:?}", p.version, p.name, p.problem))
        .collect();
    format!(
        "applied [{}], pending [{}], problems {:?}, up to date {}",
        applied.join(", "),
        pending.join(", "),
        status.problems,
        status.is_up_to_date()
    )
}

/// An error's kind and the fields that name what failed — not the driver's message,
/// whose wording differs between drivers of one database.
fn error(e: &Error) -> String {
    match e {
        Error::MigrationFailed {
            version,
            name,
            direction,
            statement,
            line,
            position,
            dirty,
            applied,
            source,
            ..
        } => {
            let cause = if source.to_string().contains("needs a blocking connection") {
                "a code migration needs a blocking connection"
            } else {
                "the database's error"
            };
            format!(
                "MigrationFailed {{ version: {version}, name: {name}, direction: {direction:?}, \
                 statement: {statement:?}, line: {line:?}, position: {position:?}, \
                 dirty: {dirty}, applied: {applied:?}, cause: {cause} }}"
            )
        }
        Error::Invalid { problems } => format!("Invalid {problems:?}"),
        Error::RepairRefused { problems } => format!("RepairRefused {problems:?}"),
        Error::TransactionEnded {
            version,
            name,
            direction,
            earlier,
            ..
        } => format!("TransactionEnded {version} {name} {direction:?} earlier {earlier:?}"),
        Error::NotRecorded {
            version,
            name,
            direction,
            ..
        } => format!("NotRecorded {version} {name} {direction:?}"),
        Error::Database { action, .. } => format!("Database error while {action}"),
        // The rest say nothing a driver wrote.
        other => other.to_string(),
    }
}

/// Runs `scenario` through every adapter of `kind`, each on a fresh scratch database,
/// and fails, showing where they part, unless the transcripts are identical (the `~`
/// lines alike among the blocking adapters and among the async ones).
fn same_on_every_adapter(kind: Kind, scenario: fn(&mut Run<'_>)) {
    let runs: Vec<(Adapter, Vec<String>)> = Adapter::of(kind)
        .iter()
        .map(|&adapter| {
            let db = TestDb::new(kind);
            let mut run = Run {
                db: &db,
                driver: adapter.open(&db),
                blocking: adapter.blocking(),
                transcript: Transcript::default(),
            };
            scenario(&mut run);
            let Run { transcript, .. } = run;
            (adapter, transcript.0)
        })
        .collect();

    let (first, reference) = &runs[0];
    let async_reference = runs.iter().find(|(a, _)| !a.blocking());
    for (adapter, transcript) in &runs[1..] {
        // Strictly equal to the first adapter of its own mode; the first async one
        // equal to the first blocking one but for its `~` lines.
        let (base, base_lines) = match async_reference {
            Some((a, lines)) if !adapter.blocking() && a != adapter => (a, lines),
            _ => (first, reference),
        };
        let across_modes = base.blocking() != adapter.blocking();
        if let Some(diff) = difference(base_lines, transcript, across_modes) {
            panic!(
                "{kind:?}: {adapter:?} and {base:?} behave differently:\n{diff}\n\
                 full transcript of {base:?}:\n  {}\nfull transcript of {adapter:?}:\n  {}",
                base_lines.join("\n  "),
                transcript.join("\n  ")
            );
        }
    }
    let marked = reference.iter().filter(|l| l.starts_with('~')).count();
    assert!(
        marked == 0 || async_reference.is_some(),
        "{kind:?}: mode-dependent lines need an async adapter to compare"
    );
}

/// Where two transcripts differ, line by line (`-` the reference, `+` the other), or
/// `None` when they agree. Across modes, two `~` lines of the same command may differ.
fn difference(reference: &[String], other: &[String], across_modes: bool) -> Option<String> {
    let mut out = String::new();
    for index in 0..reference.len().max(other.len()) {
        let (a, b) = (reference.get(index), other.get(index));
        let allowed = match (a, b) {
            (Some(a), Some(b)) if a == b => true,
            (Some(a), Some(b)) => {
                let label = |l: &str| l.split(" -> ").next().unwrap_or("").to_owned();
                across_modes && a.starts_with('~') && b.starts_with('~') && label(a) == label(b)
            }
            _ => false,
        };
        if !allowed {
            out.push_str(&format!(
                "line {}:\n- {}\n+ {}\n",
                index + 1,
                a.map_or("(none)", String::as_str),
                b.map_or("(none)", String::as_str)
            ));
        }
    }
    (!out.is_empty()).then_some(out)
}

/// Three reversible migrations; the second writes a row.
pub(crate) fn three(db: &TestDb) {
    db.write(
        "0001_create_projects.sql",
        "-- migrate:up\nCREATE TABLE projects (id INTEGER PRIMARY KEY, name VARCHAR(100));\n\
         -- migrate:down\nDROP TABLE projects;\n",
    );
    db.write(
        "0002_create_owners.sql",
        "-- migrate:up\nCREATE TABLE owners (id INTEGER);\nINSERT INTO owners VALUES (1);\n\
         -- migrate:down\nDROP TABLE owners;\n",
    );
    db.write(
        "0003_create_tasks.sql",
        "-- migrate:up\nCREATE TABLE tasks (id INTEGER);\n-- migrate:down\nDROP TABLE tasks;\n",
    );
}

/// Applies everything, reports it, and a second run, a dry run and a validation find
/// nothing to do; resetting the history keeps the schema.
fn apply_all(run: &mut Run<'_>) {
    three(run.db);
    run.status();
    run.plan(Target::Latest);
    run.run();
    run.status();
    run.run();
    run.plan(Target::Latest);
    run.validate();
    run.reset_history();
    run.status();
}

/// Runs to a target, rolls back one step and to a version; refuses an unknown target
/// and a migration without a down section.
fn targets_and_rollback(run: &mut Run<'_>) {
    three(run.db);
    run.run_to(Target::Steps(1));
    run.run_to(Target::Version(2));
    run.status();
    run.run_to(Target::Version(9));
    run.run();
    run.rollback(Target::Steps(1));
    run.rollback(Target::Version(1));
    run.status();
    run.run();
    run.db.write(
        "0004_create_notes.sql",
        "-- migrate:up\nCREATE TABLE notes (id INTEGER);\n",
    );
    run.run();
    run.rollback(Target::Version(2));
    run.rollback(Target::Version(3));
    run.rollback(Target::Version(0));
}

/// A migration fails midway through a run: the ones before stay applied, the failing
/// one is not (on MySQL, whose DDL commits, it is left dirty), none after it runs; once
/// it is fixed (and, where dirty, repaired) the run completes.
fn failing_migration(run: &mut Run<'_>) {
    three(run.db);
    run.db.write(
        "0004_fill_projects.sql",
        "-- migrate:up\nINSERT INTO projects (id, name) VALUES (1, 'a');\n\
         INSERT INTO no_such_table VALUES (1);\n",
    );
    run.db.write(
        "0005_create_later.sql",
        "-- migrate:up\nCREATE TABLE later (id INTEGER);\n",
    );
    run.run();
    let rows = run.db.count("SELECT count(*) FROM projects");
    run.note(format!("  projects rows {rows}"));
    run.status();
    run.run();
    run.db.write(
        "0004_fill_projects.sql",
        "-- migrate:up\nINSERT INTO projects (id, name) VALUES (2, 'b');\n",
    );
    run.repair();
    run.run();
}

/// The same failure with one transaction for the whole run: the migrations before the
/// failing one are still committed.
fn failing_migration_per_run(run: &mut Run<'_>) {
    three(run.db);
    run.db.write(
        "0004_broken.sql",
        "-- migrate:up\nINSERT INTO no_such_table VALUES (1);\n",
    );
    let list = run.list().with_transaction_mode(TransactionMode::PerRun);
    let outcome = run.driver.run_to(&list, Target::Latest);
    run.record("run_to Latest per run", outcome, report);
}

/// An applied migration edited afterwards stops every command that validates, until
/// repair accepts the new text.
fn edited_migration(run: &mut Run<'_>) {
    three(run.db);
    run.run();
    run.db.write(
        "0002_create_owners.sql",
        "-- migrate:up\nCREATE TABLE owners (id BIGINT);\nINSERT INTO owners VALUES (1);\n\
         -- migrate:down\nDROP TABLE owners;\n",
    );
    run.db.write(
        "0004_create_notes.sql",
        "-- migrate:up\nCREATE TABLE notes (id INTEGER);\n",
    );
    run.run();
    run.validate();
    run.status();
    run.rollback(Target::Steps(1));
    run.repair();
    run.validate();
    run.run();
}

/// An applied migration whose file is gone stops the run, and repair does not hide it.
fn missing_migration(run: &mut Run<'_>) {
    three(run.db);
    run.run();
    std::fs::remove_file(
        run.db
            .scratch
            .migrations_dir()
            .join("0003_create_tasks.sql"),
    )
    .unwrap();
    run.run();
    run.validate();
    run.status();
    run.repair();
}

/// An existing schema adopted by baseline: the migrations up to it are recorded, not
/// run; the later ones run; a second baseline is refused.
fn baseline(run: &mut Run<'_>) {
    three(run.db);
    run.db.execute(
        "CREATE TABLE projects (id INTEGER PRIMARY KEY, name VARCHAR(100));\n\
         CREATE TABLE owners (id INTEGER);",
    );
    run.baseline(9);
    run.baseline(2);
    run.status();
    run.baseline(2);
    run.run();
}

/// Migrations outside a transaction: one that succeeds is recorded like any other; one
/// that fails after its first statement leaves that statement's work and a dirty row,
/// which stops the next run until repair clears it.
fn outside_a_transaction(run: &mut Run<'_>) {
    run.db.write(
        "0001_create_projects.sql",
        "-- migrate:up transaction:false\nCREATE TABLE projects (id INTEGER);\n\
         CREATE TABLE owners (id INTEGER);\n-- migrate:down transaction:false\n\
         DROP TABLE owners;\nDROP TABLE projects;\n",
    );
    run.db.write(
        "0002_create_tasks.sql",
        "-- migrate:up transaction:false\nCREATE TABLE tasks (id INTEGER);\n\
         INSERT INTO no_such_table VALUES (1);\n",
    );
    run.run();
    run.status();
    run.run();
    run.repair();
    run.db.write(
        "0002_create_tasks.sql",
        "-- migrate:up transaction:false\nCREATE TABLE IF NOT EXISTS tasks (id INTEGER);\n",
    );
    run.run();
    run.rollback(Target::Version(1));
    run.db.write(
        "0002_create_tasks.sql",
        "-- migrate:up transaction:false\nCREATE TABLE IF NOT EXISTS tasks (id INTEGER);\n\
         -- migrate:down transaction:false\nDROP TABLE tasks;\n",
    );
    run.repair();
    run.rollback(Target::Version(0));
}

/// Statements run as the database's own client runs them: semicolons in strings and
/// comments, quotes, and bodies that hold statements of their own.
fn statements(run: &mut Run<'_>) {
    let up = match run.db.kind {
        Kind::Sqlite => {
            "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT);\n\
             -- a comment; with a semicolon\n\
             INSERT INTO notes (id, body) VALUES (1, 'semi;colon'), (2, 'it''s');\n\
             /* a block; comment */\n\
             CREATE TRIGGER notes_touch AFTER INSERT ON notes BEGIN\n\
             UPDATE notes SET body = body || '!' WHERE id = NEW.id;\nEND;\n\
             INSERT INTO notes (id, body) VALUES (3, 'x');"
        }
        Kind::Postgres => {
            "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT);\n\
             -- a comment; with a semicolon\n\
             INSERT INTO notes VALUES (1, 'semi;colon'), (2, 'it''s'), (3, E'esc\\';');\n\
             /* a block; comment */\n\
             CREATE FUNCTION touch() RETURNS trigger AS $body$\n\
             BEGIN NEW.body := NEW.body || '!'; RETURN NEW; END;\n$body$ LANGUAGE plpgsql;\n\
             CREATE TRIGGER notes_touch BEFORE INSERT ON notes FOR EACH ROW EXECUTE FUNCTION touch();\n\
             INSERT INTO notes VALUES (4, 'x');"
        }
        Kind::Mysql => {
            "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT);\n\
             -- a comment; with a semicolon\n\
             # another; comment\n\
             INSERT INTO notes VALUES (1, 'semi;colon'), (2, 'it''s'), (3, \"dq;\\\"\");\n\
             /* a block; comment */\n\
             CREATE TRIGGER notes_touch BEFORE INSERT ON notes FOR EACH ROW \
             SET NEW.body = CONCAT(NEW.body, '!');\n\
             INSERT INTO notes VALUES (4, 'x');"
        }
    };
    run.db.write(
        "0001_create_notes.sql",
        &format!(
            "-- migrate:up\n{up}\n-- migrate:down\nDROP TABLE notes;\n{}",
            match run.db.kind {
                Kind::Postgres => "DROP FUNCTION touch();",
                _ => "",
            }
        ),
    );
    run.run();
    let notes: Vec<String> = run
        .db
        .rows("SELECT id, body FROM notes ORDER BY id")
        .iter()
        .map(|row| row.join(" "))
        .collect();
    run.note(format!("  notes {notes:?}"));
    run.rollback(Target::Version(0));
    run.run();
}

/// A down section fails: the rollback stops at it, naming it, with the ones before it
/// rolled back (on MySQL, the statements before the failing one stay done and the row
/// is left dirty); repair then brings the history in line.
fn failing_rollback(run: &mut Run<'_>) {
    three(run.db);
    run.db.write(
        "0004_create_notes.sql",
        "-- migrate:up\nCREATE TABLE notes (id INTEGER);\n\
         -- migrate:down\nDROP TABLE notes;\nDROP TABLE no_such_table;\n",
    );
    run.run();
    run.rollback(Target::Version(0));
    run.status();
    run.repair();
    run.db.write(
        "0004_create_notes.sql",
        "-- migrate:up\nCREATE TABLE notes (id INTEGER);\n\
         -- migrate:down\nDROP TABLE IF EXISTS notes;\n",
    );
    run.repair();
    run.rollback(Target::Version(1));
}

#[terrace::migration]
fn create_notes(db: &mut terrace::Db<'_>) -> terrace::CodeResult {
    db.execute("CREATE TABLE notes (id INTEGER)")?;
    db.execute("INSERT INTO notes VALUES (1)")?;
    Ok(())
}

/// A migration written in Rust: a blocking adapter runs it; an async one refuses it,
/// saying it needs a blocking connection, after the migration before it. Either way a
/// run on a blocking connection then completes the list, and the end is the same.
fn code_migration(run: &mut Run<'_>) {
    let list = Migrations::from_vec(vec![
        Migration::sql(1, "create_projects", "CREATE TABLE projects (id INTEGER);"),
        Migration::code(2, "create_notes", create_notes),
        Migration::sql(3, "create_tasks", "CREATE TABLE tasks (id INTEGER);"),
    ]);
    let outcome = run.driver.run_to(&list, Target::Latest);
    if !run.blocking {
        assert!(
            matches!(
                &outcome,
                Err(Error::MigrationFailed { version: 2, source, .. })
                    if source.to_string().contains("needs a blocking connection")
            ),
            "an async adapter refuses the code migration: {outcome:?}"
        );
    }
    run.record("~ run the code migration", outcome, report);
    let mut blocking = run.db.connect();
    let repaired = list.repair(&mut blocking).map(|r| r.changes.len());
    run.note(format!(
        "~ repair on a blocking connection -> {repaired:?} changes"
    ));
    let finished = list.run(&mut blocking);
    run.record("~ finish on a blocking connection", finished, report);
    drop(blocking);
    run.state();
    let outcome = run.driver.status(&list);
    run.record("status", outcome, status);
    let outcome = run.driver.validate(&list);
    run.record("validate", outcome, |()| "valid".to_owned());
}

/// Under the lease lock: a run takes it and leaves the lease table empty; a lease
/// another run holds makes a run wait and give up at the lock timeout, changing
/// nothing; once that lease has expired, the next run takes it over; a failing
/// migration releases it. SQLite keeps its own lock and makes no lease table.
fn under_a_lease(run: &mut Run<'_>) {
    three(run.db);
    let leased = |run: &Run<'_>| {
        run.list()
            .with_lock(LockMode::Lease)
            .with_lock_lease(std::time::Duration::from_secs(5))
            .with_lock_timeout(std::time::Duration::from_secs(1))
    };
    let outcome = run.driver.run_to(&leased(run), Target::Steps(1));
    run.record("run_to Steps(1) leased", outcome, report);
    if run.db.kind != Kind::Sqlite {
        let held = run.db.count("SELECT count(*) FROM schema_migrations_lock");
        run.note(format!("  leases held {held}"));
        let (now, hour, past) = match run.db.kind {
            Kind::Postgres => (
                "now()",
                "now() + interval '1 hour'",
                "now() - interval '1 second'",
            ),
            _ => (
                "UTC_TIMESTAMP(6)",
                "UTC_TIMESTAMP(6) + INTERVAL 1 HOUR",
                "UTC_TIMESTAMP(6) - INTERVAL 1 SECOND",
            ),
        };
        run.db.execute(&format!(
            "INSERT INTO schema_migrations_lock VALUES (1, 'another run', 'elsewhere', 7, {now}, {hour})"
        ));
        let outcome = run.driver.run_to(&leased(run), Target::Latest);
        run.record(
            "run_to Latest while another run holds the lease",
            outcome,
            report,
        );
        run.db.execute(&format!(
            "UPDATE schema_migrations_lock SET expires_at = {past}"
        ));
    }
    run.db.write(
        "0004_broken.sql",
        "-- migrate:up\nINSERT INTO no_such_table VALUES (1);\n",
    );
    let outcome = run.driver.run_to(&leased(run), Target::Latest);
    run.record("run_to Latest once it expired", outcome, report);
    if run.db.kind != Kind::Sqlite {
        let held = run.db.count("SELECT count(*) FROM schema_migrations_lock");
        run.note(format!("  leases held {held}"));
    }
}

/// Defines `$name::{sqlite, postgres, mysql}`, each running the scenario through every
/// adapter of that database; a server's test is ignored when its URL was not set at
/// build time.
macro_rules! scenario {
    ($name:ident) => {
        mod $name {
            use super::*;

            #[test]
            fn sqlite() {
                same_on_every_adapter(Kind::Sqlite, super::$name);
            }

            #[test]
            #[cfg_attr(
                not(terrace_test_postgres),
                ignore = "TERRACE_TEST_POSTGRES_URL was not set when the tests were built"
            )]
            fn postgres() {
                same_on_every_adapter(Kind::Postgres, super::$name);
            }

            #[test]
            #[cfg_attr(
                not(terrace_test_mysql),
                ignore = "TERRACE_TEST_MYSQL_URL was not set when the tests were built"
            )]
            fn mysql() {
                same_on_every_adapter(Kind::Mysql, super::$name);
            }
        }
    };
}

scenario!(apply_all);
scenario!(targets_and_rollback);
scenario!(failing_migration);
scenario!(failing_migration_per_run);
scenario!(edited_migration);
scenario!(missing_migration);
scenario!(baseline);
scenario!(outside_a_transaction);
scenario!(code_migration);
scenario!(statements);
scenario!(failing_rollback);
scenario!(under_a_lease);

/// The comparison catches a difference: a transcript differing in one line is
/// reported, and `~` lines may differ only between modes.
#[test]
fn the_comparison_reports_a_difference() {
    let a = vec!["run -> ok".to_owned(), "~ code -> ok".to_owned()];
    let mut b = a.clone();
    assert!(difference(&a, &b, false).is_none());
    b[1] = "~ code -> error".to_owned();
    assert!(difference(&a, &b, true).is_none());
    assert!(difference(&a, &b, false).is_some());
    b[0] = "run -> error".to_owned();
    assert!(difference(&a, &b, true).unwrap().contains("line 1"));
    assert!(difference(&a, &a[..1], true).is_some());
}
