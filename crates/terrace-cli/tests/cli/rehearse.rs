//! `terrace test`: the pending migrations rehearsed on a copy of a SQLite database
//! (applied, rolled back, applied again, idempotent ups run twice); the original file
//! byte-identical afterwards, whatever the rehearsal found, and the copy deleted unless
//! `--keep`.

use crate::servers::{ScratchDatabase, connect, execute};
use crate::support::{ADD_BASE_URL, Sandbox};

/// Three migrations with the first applied; the temporary folder inside the sandbox,
/// so that a copy left behind shows.
fn first_applied() -> Sandbox {
    let sandbox = Sandbox::three_migrations();
    sandbox.run(&["migrate", "--to", "1"]).ok();
    std::fs::create_dir(sandbox.path().join("tmp")).unwrap();
    sandbox
}

/// `terrace ARGS` with the sandbox's temporary folder.
fn rehearse(sandbox: &Sandbox, args: &[&str]) -> crate::support::Run {
    let tmp = sandbox.path().join("tmp");
    sandbox.run_with(".", &[("TMPDIR", tmp.to_str().unwrap())], args)
}

/// The checks of one migration in the JSON document, as `(check, passed)`.
fn checks(doc: &serde_json::Value, index: usize) -> Vec<(String, bool)> {
    doc["migrations"][index]["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["check"].as_str().unwrap().to_owned(),
                c["passed"].as_bool().unwrap(),
            )
        })
        .collect()
}

#[test]
fn rehearses_every_pending_migration_and_leaves_the_database_as_it_was() {
    let sandbox = first_applied();
    let before = sandbox.db_bytes().unwrap();
    let run = rehearse(&sandbox, &["test", "--format", "json"]);
    run.ok();
    let doc = run.json();
    assert_eq!(doc["passed"], true, "{doc}");
    assert_eq!(doc["migrations"].as_array().unwrap().len(), 2, "{doc}");
    assert_eq!(doc["migrations"][0]["version"], 2);
    assert_eq!(
        checks(&doc, 0),
        [
            ("up".to_owned(), true),
            ("down".to_owned(), true),
            ("down restores the schema".to_owned(), true),
            ("up again".to_owned(), true),
            ("up again gives the same schema".to_owned(), true),
        ]
    );
    assert_eq!(sandbox.db_bytes().unwrap(), before);
    assert_eq!(sandbox.recorded(), [1]);
    assert!(
        sandbox.files("tmp").is_empty(),
        "{:?}",
        sandbox.files("tmp")
    );
    assert!(doc.get("copy").is_none());
}

/// A fourth migration inserting three rows into `projects` and updating two others
/// (ids 1 and 2, which must exist).
fn add_seed(sandbox: &Sandbox) {
    sandbox.migration(
        "0004_seed.sql",
        "INSERT INTO projects (id, name) VALUES (3, 'c'), (4, 'd'), (5, 'e');\n\
         UPDATE projects SET name = 'z' WHERE id IN (1, 2);",
        Some("DELETE FROM projects WHERE id > 2;"),
    );
}

/// What `rows_changed` of migrations changing `counts` rows reads on the server of
/// `url`: the counts on MariaDB and PostgreSQL 15 or later, `null` elsewhere.
fn counted_on(url: &str, counts: &[u64]) -> Vec<serde_json::Value> {
    let counted = match connect(url) {
        terrace::Connection::Postgres(mut client) => {
            let version: String = client
                .query_one("SHOW server_version_num", &[])
                .unwrap()
                .get(0);
            version.parse::<u32>().unwrap() >= 150_000
        }
        terrace::Connection::Mysql(mut conn) => {
            let version: Option<String> =
                mysql::prelude::Queryable::query_first(&mut conn, "SELECT VERSION()").unwrap();
            version.unwrap().contains("MariaDB")
        }
        _ => unreachable!("a server URL"),
    };
    counts
        .iter()
        .map(|&n| {
            if counted {
                n.into()
            } else {
                serde_json::Value::Null
            }
        })
        .collect()
}

/// Each rehearsed migration's `rows_changed`.
fn rows_changed(doc: &serde_json::Value) -> Vec<serde_json::Value> {
    doc["migrations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["rows_changed"].clone())
        .collect()
}

#[test]
fn the_rows_each_up_changes_are_counted_and_ddl_changes_none() {
    let sandbox = first_applied();
    let conn = rusqlite::Connection::open(sandbox.path().join(crate::support::DB)).unwrap();
    conn.execute_batch("INSERT INTO projects (id, name) VALUES (1, 'a'), (2, 'b')")
        .unwrap();
    drop(conn);
    add_seed(&sandbox);
    sandbox.write(
        "migrations/0005_unlogged.sql",
        "-- migrate:up transaction:false\nDELETE FROM projects WHERE id = 5;\n\
         -- migrate:down\nINSERT INTO projects (id, name) VALUES (5, 'e');\n",
    );
    let before = sandbox.db_bytes().unwrap();
    let run = rehearse(&sandbox, &["test", "--format", "json"]);
    run.ok();
    let doc = run.json();
    assert_eq!(rows_changed(&doc), [0, 0, 5, 1], "{doc}");
    assert_eq!(sandbox.db_bytes().unwrap(), before);
    let text = rehearse(&sandbox, &["test"]);
    assert!(
        text.stdout.contains(", 5 rows changed") && text.stdout.contains(", 1 row changed"),
        "{}",
        text.stdout
    );
}

#[test]
fn a_down_that_does_not_restore_the_schema_fails_and_the_database_is_untouched() {
    let sandbox = first_applied();
    sandbox.migration("0002_add_base_url.sql", ADD_BASE_URL, Some("SELECT 1;"));
    let before = sandbox.db_bytes().unwrap();
    let run = rehearse(&sandbox, &["test"]);
    run.code(1);
    assert!(
        run.stdout.contains("FAILED 2 add_base_url")
            && run
                .stdout
                .contains("down restores the schema: column projects.base_url left over")
            && run.stdout.contains("duplicate column name: base_url")
            && run.stdout.contains("1 later migration not rehearsed"),
        "{}",
        run.stdout
    );
    assert_eq!(sandbox.db_bytes().unwrap(), before);
    assert!(
        sandbox.files("tmp").is_empty(),
        "{:?}",
        sandbox.files("tmp")
    );
}

#[test]
fn an_up_that_fails_is_reported_with_its_statement() {
    let sandbox = first_applied();
    sandbox.migration(
        "0002_add_base_url.sql",
        "ALTER TABLE nowhere ADD COLUMN x TEXT;",
        None,
    );
    let before = sandbox.db_bytes().unwrap();
    let doc = rehearse(&sandbox, &["test", "--format", "json"])
        .code(1)
        .json();
    let failure = doc["migrations"][0]["checks"][0]["failure"]
        .as_str()
        .unwrap();
    assert!(
        failure.contains("ALTER TABLE nowhere ADD COLUMN x TEXT")
            && failure.contains("no such table"),
        "{failure}"
    );
    assert_eq!(doc["not_rehearsed"], 1);
    assert_eq!(sandbox.db_bytes().unwrap(), before);
}

#[test]
fn an_idempotent_up_runs_twice_and_one_that_is_not_fails() {
    let sandbox = first_applied();
    sandbox.write(
        "migrations/0002_add_base_url.sql",
        "-- migrate:up idempotent\nCREATE TABLE IF NOT EXISTS tags (id INTEGER PRIMARY KEY);\n\
         -- migrate:down\nDROP TABLE tags;\n",
    );
    sandbox.write(
        "migrations/0003_add_deleted_at.sql",
        "-- migrate:up idempotent\nCREATE TABLE owners (id INTEGER PRIMARY KEY);\n",
    );
    let before = sandbox.db_bytes().unwrap();
    let run = rehearse(&sandbox, &["test", "--format", "json"]);
    run.code(1);
    let doc = run.json();
    assert_eq!(doc["passed"], false);
    assert!(
        checks(&doc, 0).ends_with(&[
            ("idempotent up runs twice".to_owned(), true),
            ("idempotent up leaves the schema".to_owned(), true),
        ]),
        "{doc}"
    );
    assert_eq!(
        checks(&doc, 1),
        [
            ("up".to_owned(), true),
            ("idempotent up runs twice".to_owned(), false)
        ]
    );
    assert_eq!(
        doc["migrations"][1]["notes"][0],
        "irreversible: down not rehearsed"
    );
    let failure = doc["migrations"][1]["checks"][1]["failure"]
        .as_str()
        .unwrap();
    assert!(
        failure.contains("CREATE TABLE owners") && failure.contains("already exists"),
        "{failure}"
    );
    assert_eq!(sandbox.db_bytes().unwrap(), before);
}

#[test]
fn keep_leaves_the_copy_beside_the_database_with_the_migrations_applied() {
    let sandbox = first_applied();
    let before = sandbox.db_bytes().unwrap();
    let run = rehearse(&sandbox, &["test", "--keep", "--format", "json"]);
    run.ok();
    let copy = run.json()["copy"].as_str().unwrap().to_owned();
    let copy = sandbox.path().join(copy);
    assert!(copy.exists(), "{}", copy.display());
    let conn = rusqlite::Connection::open(&copy).unwrap();
    let versions: Vec<i64> = conn
        .prepare("SELECT version FROM schema_migrations ORDER BY version")
        .unwrap()
        .query_map([], |row| row.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(versions, [1, 2, 3]);
    assert_eq!(sandbox.db_bytes().unwrap(), before);
    let text = rehearse(&sandbox, &["test", "--keep"]);
    assert!(
        text.stderr.contains("note: the copy is kept at "),
        "{}",
        text.stderr
    );
}

#[test]
fn nothing_pending_passes() {
    let sandbox = first_applied();
    sandbox.run(&["migrate"]).ok();
    let run = rehearse(&sandbox, &["test"]);
    run.ok();
    assert!(run.stdout.contains("nothing to rehearse"), "{}", run.stdout);
}

#[test]
fn a_missing_database_file_is_refused() {
    let sandbox = Sandbox::three_migrations();
    let run = sandbox.run(&["test"]);
    run.code(1);
    assert!(run.stderr.contains("does not exist"), "{}", run.stderr);
    assert!(sandbox.db_bytes().is_none());
}

/// Three migrations on a scratch database of a server, the first applied with two rows,
/// the second's down leaving its column.
struct OnServer {
    db: ScratchDatabase,
    sandbox: Sandbox,
    /// The server's URL.
    server: String,
    /// How the copies' names start.
    prefix: String,
}

impl OnServer {
    /// A scratch database on the server and a project using `sandbox`'s migrations.
    fn with(var: &str, sandbox: Sandbox) -> Self {
        let db = ScratchDatabase::new(var);
        let prefix = format!("{}_test_", db.url.rsplit('/').next().unwrap());
        OnServer {
            db,
            sandbox,
            server: std::env::var(var).unwrap(),
            prefix,
        }
    }

    fn new(var: &str) -> Self {
        let on = OnServer::with(var, Sandbox::three_migrations());
        on.sandbox
            .migration("0002_add_base_url.sql", ADD_BASE_URL, Some("SELECT 1;"));
        on.run(&["migrate", "--to", "1"]).ok();
        execute(
            &on.db.url,
            "INSERT INTO projects (id, name) VALUES (1, 'a'), (2, 'b')",
        );
        on
    }

    /// The one copy left on the server (by `--keep`), listed by `databases`: its name
    /// and URL.
    fn kept(&self, databases: fn(&str, &str) -> Vec<String>) -> (String, String) {
        let kept = databases(&self.server, &self.prefix);
        assert_eq!(kept.len(), 1, "{kept:?}");
        let url = format!("{}/{}", self.db.url.rsplit_once('/').unwrap().0, kept[0]);
        (kept[0].clone(), url)
    }

    /// `terrace --database URL ARGS`.
    fn run(&self, args: &[&str]) -> crate::support::Run {
        let mut all = vec!["--database", self.db.url.as_str()];
        all.extend_from_slice(args);
        self.sandbox.run(&all)
    }

    /// `terrace test --keep`, passing once the second migration's down is fixed, with
    /// a fourth migration changing five rows (`add_seed`); the JSON document.
    fn rehearse_keeping_the_copy(&self) -> serde_json::Value {
        self.sandbox.migration(
            "0002_add_base_url.sql",
            ADD_BASE_URL,
            Some("ALTER TABLE projects DROP COLUMN base_url;"),
        );
        add_seed(&self.sandbox);
        let run = self.run(&["test", "--keep", "--format", "json"]);
        run.ok();
        let doc = run.json();
        let counted = counted_on(&self.db.url, &[0, 0, 5]);
        assert_eq!(rows_changed(&doc), counted, "{doc}");
        // Under the lease lock the same: its row is not counted.
        let leased = self.run(&["--lock", "lease", "test", "--format", "json"]);
        leased.ok();
        assert_eq!(rows_changed(&leased.json()), counted, "{}", leased.all());
        doc
    }

    /// `terrace test`, failing on the second migration's down.
    fn rehearse_a_down_that_does_not_restore(&self) {
        let run = self.run(&["test", "--format", "json"]);
        run.code(1);
        let doc = run.json();
        assert_eq!(
            checks(&doc, 0)[2],
            ("down restores the schema".to_owned(), false),
            "{doc}"
        );
    }
}

/// Every table of a PostgreSQL database with its rows, as text, in order.
fn postgres_tables(url: &str) -> Vec<(String, Vec<String>)> {
    let terrace::Connection::Postgres(mut client) = connect(url) else {
        unreachable!("a PostgreSQL URL")
    };
    let tables: Vec<String> = client
        .query(
            "SELECT table_name::text FROM information_schema.tables \
             WHERE table_schema = 'public' ORDER BY table_name",
            &[],
        )
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect();
    tables
        .into_iter()
        .map(|table| {
            let rows = client
                .query(
                    &format!("SELECT t::text FROM \"{table}\" t ORDER BY t::text"),
                    &[],
                )
                .unwrap()
                .iter()
                .map(|row| row.get(0))
                .collect();
            (table, rows)
        })
        .collect()
}

/// The databases on the server whose name starts with `prefix`.
fn postgres_databases(url: &str, prefix: &str) -> Vec<String> {
    let terrace::Connection::Postgres(mut client) = connect(url) else {
        unreachable!("a PostgreSQL URL")
    };
    client
        .query(
            "SELECT datname::text FROM pg_database WHERE starts_with(datname, $1)",
            &[&prefix],
        )
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect()
}

#[test]
#[cfg_attr(
    not(terrace_test_postgres),
    ignore = "TERRACE_TEST_POSTGRES_URL was not set when the tests were built"
)]
fn postgres_rehearses_on_a_template_copy_and_leaves_every_table_as_it_was() {
    let on = OnServer::new("TERRACE_TEST_POSTGRES_URL");
    let (db, server, prefix) = (&on.db, on.server.as_str(), on.prefix.as_str());
    let terrace = |args: &[&str]| on.run(args);
    let before = postgres_tables(&db.url);
    on.rehearse_a_down_that_does_not_restore();
    assert_eq!(postgres_tables(&db.url), before);
    assert!(postgres_databases(server, prefix).is_empty());

    let doc = on.rehearse_keeping_the_copy();
    assert_eq!(doc["copied"], "template", "{doc}");
    assert_eq!(postgres_tables(&db.url), before);
    let (kept, _) = on.kept(postgres_databases);
    execute(server, &format!("DROP DATABASE \"{kept}\" WITH (FORCE)"));
    let run = terrace(&["test"]);
    assert!(
        run.stdout
            .contains("3 migrations rehearsed on a copy (copied by template)"),
        "{}",
        run.stdout
    );
}

#[test]
#[cfg_attr(
    not(terrace_test_postgres),
    ignore = "TERRACE_TEST_POSTGRES_URL was not set when the tests were built"
)]
fn postgres_refuses_a_table_by_table_copy_of_partitioned_tables() {
    let sandbox = Sandbox::project();
    sandbox.migration(
        "0001_readings.sql",
        "CREATE TABLE readings (at date NOT NULL, value int) PARTITION BY RANGE (at);\n\
         CREATE TABLE readings_2026 PARTITION OF readings \
           FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');",
        Some("DROP TABLE readings;"),
    );
    sandbox.migration(
        "0002_more.sql",
        "INSERT INTO readings VALUES ('2026-03-01', 1);",
        Some("DELETE FROM readings;"),
    );
    let on = OnServer::with("TERRACE_TEST_POSTGRES_URL", sandbox);
    on.run(&["migrate", "--to", "1"]).ok();
    let before = postgres_tables(&on.db.url);
    let _other = connect(&on.db.url);
    let run = on.run(&["test"]);
    run.code(1);
    assert!(
        run.stderr
            .contains("partitioned tables (readings, readings_2026)")
            && run.stderr.contains("as a template"),
        "{}",
        run.stderr
    );
    assert_eq!(postgres_tables(&on.db.url), before);
    assert!(postgres_databases(&on.server, &on.prefix).is_empty());
}

#[test]
#[cfg_attr(
    not(terrace_test_postgres),
    ignore = "TERRACE_TEST_POSTGRES_URL was not set when the tests were built"
)]
fn postgres_copies_table_by_table_while_another_session_is_connected() {
    let sandbox = Sandbox::project();
    sandbox.migration(
        "0001_pets.sql",
        "CREATE TABLE owners (id serial PRIMARY KEY, name text NOT NULL);\n\
         CREATE TABLE pets (id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY, \
           owner_id integer NOT NULL REFERENCES owners (id), name text NOT NULL, \
           loud text GENERATED ALWAYS AS (upper(name)) STORED);\n\
         CREATE TABLE log (pet text NOT NULL);\n\
         CREATE FUNCTION log_pet() RETURNS trigger LANGUAGE plpgsql AS $$ \
           BEGIN INSERT INTO log VALUES (NEW.name); RETURN NEW; END $$;\n\
         CREATE TRIGGER pets_log AFTER INSERT ON pets FOR EACH ROW EXECUTE FUNCTION log_pet();\n\
         CREATE VIEW pet_owners AS SELECT p.name AS pet, o.name AS owner \
           FROM pets p JOIN owners o ON o.id = p.owner_id;",
        Some(
            "DROP VIEW pet_owners; DROP TABLE pets; DROP TABLE owners; DROP TABLE log; \
             DROP FUNCTION log_pet();",
        ),
    );
    // Its rows get ids from the sequences, which must go on from the original's; the
    // trigger adds a row to the log; the view must be there.
    sandbox.migration(
        "0002_kit.sql",
        "INSERT INTO owners (name) VALUES ('c');\n\
         INSERT INTO pets (owner_id, name) SELECT id, 'kit' FROM owners WHERE name = 'c';\n\
         UPDATE owners SET name = upper(name) WHERE id < 3;\n\
         CREATE VIEW toms AS SELECT * FROM pet_owners WHERE pet = 'tom';",
        Some(
            "DROP VIEW toms; DELETE FROM log WHERE pet = 'kit'; DELETE FROM pets WHERE name = 'kit'; \
             DELETE FROM owners WHERE name = 'c'; UPDATE owners SET name = lower(name);",
        ),
    );
    let on = OnServer::with("TERRACE_TEST_POSTGRES_URL", sandbox);
    on.run(&["migrate", "--to", "1"]).ok();
    // A table and a view that belong to an extension (as PostGIS's `spatial_ref_sys`
    // does): `CREATE EXTENSION` makes those, so neither the dump nor the copy may.
    execute(
        &on.db.url,
        "INSERT INTO owners (name) VALUES ('a'), ('b');\n\
         INSERT INTO pets (owner_id, name) VALUES (2, 'rex'), (1, 'tom');\n\
         CREATE DOMAIN tag AS text NOT NULL CHECK (VALUE <> '');\n\
         CREATE TABLE pet_tags (pet_id int REFERENCES pets (id), tag tag);\n\
         INSERT INTO pet_tags VALUES (1, 'good');\n\
         CREATE MATERIALIZED VIEW tag_counts AS SELECT tag, count(*) AS n FROM pet_tags GROUP BY tag;\n\
         CREATE UNIQUE INDEX tag_counts_by_tag ON tag_counts (tag);\n\
         CREATE EXTENSION tcn;\n\
         CREATE TABLE tcn_owned (id int);\n\
         CREATE VIEW tcn_view AS SELECT 1 AS one;\n\
         ALTER EXTENSION tcn ADD TABLE tcn_owned;\n\
         ALTER EXTENSION tcn ADD VIEW tcn_view;",
    );
    let before = postgres_tables(&on.db.url);
    let dump = on.run(&["schema", "dump"]).code(0).stdout.clone();
    assert!(
        !dump.contains("tcn_owned") && !dump.contains("tcn_view"),
        "{dump}"
    );
    let _other = connect(&on.db.url);

    let run = on.run(&["test", "--keep", "--format", "json"]);
    run.ok();
    let doc = run.json();
    assert_eq!(doc["copied"], "tables", "{doc}");
    assert_eq!(rows_changed(&doc), counted_on(&on.db.url, &[5]), "{doc}");
    assert!(
        checks(&doc, 0).iter().all(|(_, passed)| *passed) && checks(&doc, 0).len() == 5,
        "{doc}"
    );
    assert_eq!(postgres_tables(&on.db.url), before);
    assert_eq!(on.run(&["schema", "dump"]).stdout, dump);
    let (kept, copy) = on.kept(postgres_databases);
    let tables = postgres_tables(&copy);
    let rows = |name: &str| &tables.iter().find(|(t, _)| t == name).unwrap().1;
    assert_eq!(rows("log"), &["(kit)", "(rex)", "(tom)"]);
    assert_eq!(rows("schema_migrations").len(), 2);
    assert_eq!(rows("owners"), &["(1,A)", "(2,B)", "(4,c)"]);
    let copied_dump = on
        .sandbox
        .run(&["--database", &copy, "schema", "dump"])
        .code(0)
        .stdout
        .clone();
    for object in [
        "CREATE TRIGGER pets_log",
        "CREATE DOMAIN \"tag\"",
        "CREATE MATERIALIZED VIEW \"tag_counts\"",
        "CREATE UNIQUE INDEX \"tag_counts_by_tag\"",
    ] {
        assert!(copied_dump.contains(object), "{object} in {copied_dump}");
    }
    // The materialized view was filled from the copied rows (and a concurrent refresh,
    // which needs it filled and uniquely indexed, works).
    let terrace::Connection::Postgres(mut client) = connect(&copy) else {
        unreachable!("a PostgreSQL URL")
    };
    client
        .batch_execute("REFRESH MATERIALIZED VIEW CONCURRENTLY tag_counts")
        .unwrap();
    let counts: Vec<(String, i64)> = client
        .query("SELECT tag::text, n FROM tag_counts", &[])
        .unwrap()
        .iter()
        .map(|row| (row.get(0), row.get(1)))
        .collect();
    assert_eq!(counts, [("good".to_owned(), 1)]);
    drop(client);
    execute(
        &on.server,
        &format!("DROP DATABASE \"{kept}\" WITH (FORCE)"),
    );

    let run = on.run(&["test"]);
    run.ok();
    assert!(
        run.stderr.contains(
            "copied table by table: the database cannot be a template (1 other session connected to"
        ) && run
            .stdout
            .contains("1 migration rehearsed on a copy (copied table by table)"),
        "{}\n{}",
        run.stdout,
        run.stderr
    );
    assert_eq!(postgres_tables(&on.db.url), before);
    assert!(postgres_databases(&on.server, &on.prefix).is_empty());
}

/// Every table of a MySQL database with its `CHECKSUM TABLE`, in order.
fn mysql_tables(url: &str) -> Vec<(String, Option<i64>)> {
    use mysql::prelude::Queryable;
    let terrace::Connection::Mysql(mut conn) = connect(url) else {
        unreachable!("a MySQL URL")
    };
    let tables: Vec<String> = conn
        .query(
            "SELECT CAST(table_name AS CHAR) FROM information_schema.tables \
             WHERE table_schema = DATABASE() AND table_type = 'BASE TABLE' ORDER BY table_name",
        )
        .unwrap();
    tables
        .into_iter()
        .map(|table| {
            let row: Option<(String, Option<i64>)> = conn
                .query_first(format!("CHECKSUM TABLE `{table}`"))
                .unwrap();
            (table, row.unwrap().1)
        })
        .collect()
}

/// The databases on the MySQL server whose name starts with `prefix`.
fn mysql_databases(url: &str, prefix: &str) -> Vec<String> {
    use mysql::prelude::Queryable;
    let terrace::Connection::Mysql(mut conn) = connect(url) else {
        unreachable!("a MySQL URL")
    };
    conn.exec(
        "SELECT CAST(schema_name AS CHAR) FROM information_schema.schemata \
         WHERE LEFT(schema_name, CHAR_LENGTH(?)) = ?",
        (prefix, prefix),
    )
    .unwrap()
}

#[test]
#[cfg_attr(
    not(terrace_test_mysql),
    ignore = "TERRACE_TEST_MYSQL_URL was not set when the tests were built"
)]
fn mysql_rehearses_on_a_copy_of_each_table_and_leaves_every_table_as_it_was() {
    let on = OnServer::new("TERRACE_TEST_MYSQL_URL");
    let (db, server, prefix) = (&on.db, on.server.as_str(), on.prefix.as_str());
    let terrace = |args: &[&str]| on.run(args);
    let before = mysql_tables(&db.url);
    let dump = terrace(&["schema", "dump"]).code(0).stdout.clone();
    on.rehearse_a_down_that_does_not_restore();
    assert_eq!(mysql_tables(&db.url), before);
    assert_eq!(terrace(&["schema", "dump"]).stdout, dump);
    assert!(mysql_databases(server, prefix).is_empty());

    let doc = on.rehearse_keeping_the_copy();
    assert_eq!(doc["copied"], "tables", "{doc}");
    assert_eq!(mysql_tables(&db.url), before);
    let (kept, copy) = on.kept(mysql_databases);
    assert_eq!(mysql_tables(&copy).len(), before.len());
    execute(server, &format!("DROP DATABASE `{kept}`"));
}

#[test]
#[cfg_attr(
    not(terrace_test_mysql),
    ignore = "TERRACE_TEST_MYSQL_URL was not set when the tests were built"
)]
fn mysql_copies_generated_columns_views_triggers_and_routines() {
    use mysql::prelude::Queryable;
    let sandbox = Sandbox::project();
    sandbox.migration(
        "0001_projects.sql",
        "CREATE TABLE projects (id INTEGER PRIMARY KEY, name VARCHAR(20) NOT NULL);\n\
         CREATE TABLE audit (name VARCHAR(20) NOT NULL);\n\
         CREATE TABLE tags (name VARCHAR(20) NOT NULL, loud VARCHAR(20) AS (UPPER(name)) STORED);\n\
         CREATE VIEW project_names AS SELECT name FROM projects;\n\
         CREATE TRIGGER projects_audit AFTER INSERT ON projects FOR EACH ROW \
           INSERT INTO audit VALUES (NEW.name);\n\
         CREATE FUNCTION shout(s VARCHAR(20)) RETURNS VARCHAR(20) DETERMINISTIC RETURN UPPER(s);\n\
         CREATE PROCEDURE add_project(i INTEGER, n VARCHAR(20)) \
           INSERT INTO projects VALUES (i, n);",
        Some(
            "DROP PROCEDURE add_project; DROP FUNCTION shout; DROP VIEW project_names; \
             DROP TABLE tags; DROP TABLE audit; DROP TABLE projects;",
        ),
    );
    // Needs the procedure, the trigger (which adds a row to audit), the function
    // and the view.
    sandbox.migration(
        "0002_loud.sql",
        "CALL add_project(2, 'b');\n\
         UPDATE projects SET name = shout(name);\n\
         CREATE VIEW loud AS SELECT name FROM project_names;",
        Some(
            "DROP VIEW loud; DELETE FROM projects WHERE id = 2; DELETE FROM audit WHERE name = 'b'; \
             UPDATE projects SET name = LOWER(name);",
        ),
    );
    let on = OnServer::with("TERRACE_TEST_MYSQL_URL", sandbox);
    on.run(&["migrate", "--to", "1"]).ok();
    execute(
        &on.db.url,
        "CALL add_project(1, 'a'); INSERT INTO tags (name) VALUES ('new');",
    );
    let before = mysql_tables(&on.db.url);
    let dump = on.run(&["schema", "dump"]).code(0).stdout.clone();

    let run = on.run(&["test", "--keep", "--format", "json"]);
    run.ok();
    let doc = run.json();
    assert_eq!(doc["copied"], "tables", "{doc}");
    assert_eq!(checks(&doc, 0).len(), 5, "{doc}");
    // The procedure's row, the trigger's, two updated.
    assert_eq!(rows_changed(&doc), counted_on(&on.db.url, &[4]), "{doc}");
    assert_eq!(mysql_tables(&on.db.url), before);
    assert_eq!(on.run(&["schema", "dump"]).stdout, dump);
    let (kept, copy) = on.kept(mysql_databases);
    let terrace::Connection::Mysql(mut conn) = connect(&copy) else {
        unreachable!("a MySQL URL")
    };
    let audit: Vec<String> = conn.query("SELECT name FROM audit ORDER BY name").unwrap();
    assert_eq!(audit, ["a", "b"]);
    let loud: Vec<String> = conn.query("SELECT name FROM loud ORDER BY name").unwrap();
    assert_eq!(loud, ["A", "B"]);
    let tags: Vec<(String, String)> = conn.query("SELECT name, loud FROM tags").unwrap();
    assert_eq!(tags, [("new".to_owned(), "NEW".to_owned())]);
    drop(conn);
    execute(&on.server, &format!("DROP DATABASE `{kept}`"));
}
