//! What only one server does: PostgreSQL's search path, MySQL's dates.

use crate::backends::{Kind, TestDb};

#[test]
#[cfg_attr(
    not(terrace_test_postgres),
    ignore = "TERRACE_TEST_POSTGRES_URL was not set when the tests were built"
)]
fn postgres_a_pg_dump_preamble_does_not_hide_the_tracking_table() {
    let db = TestDb::new(Kind::Postgres);
    db.write(
        "0001_restore_dump.sql",
        "-- migrate:up\n\
         SET statement_timeout = 0;\n\
         SELECT pg_catalog.set_config('search_path', '', false);\n\
         CREATE TABLE public.accounts (id integer NOT NULL);\n",
    );
    db.write(
        "0002_create_invoices.sql",
        "-- migrate:up\nCREATE TABLE public.invoices (id integer NOT NULL);\n",
    );
    for spelling in ["schema_migrations", "public.schema_migrations"] {
        db.execute("DROP TABLE IF EXISTS accounts, invoices, schema_migrations");
        let migrations = db.migrations().with_table(spelling).unwrap();
        let mut conn = db.connect();
        assert_eq!(migrations.run(&mut conn).unwrap().versions(), [1, 2]);
        assert_eq!(db.versions(), [1, 2], "{spelling}");
        assert_eq!(migrations.run(&mut db.connect()).unwrap().count(), 0);
        assert!(db.table_exists("accounts") && db.table_exists("invoices"));
        // The same connection, its search path still empty, finds a qualified table and
        // says why it cannot find an unqualified one.
        match spelling {
            "schema_migrations" => {
                let err = migrations.run(&mut conn).unwrap_err();
                assert!(format!("{err:?}").contains("search_path"), "{err:?}");
            }
            _ => assert_eq!(migrations.run(&mut conn).unwrap().count(), 0),
        }
    }
}

#[test]
#[cfg_attr(
    not(terrace_test_postgres),
    ignore = "TERRACE_TEST_POSTGRES_URL was not set when the tests were built"
)]
fn postgres_an_unqualified_table_is_where_the_search_path_finds_it() {
    let db = TestDb::new(Kind::Postgres);
    db.write(
        "0001_create_projects.sql",
        "-- migrate:up\nCREATE TABLE projects (id integer);",
    );
    let migrations = db.migrations();
    migrations.run(&mut db.connect()).unwrap();
    // Later connections search a schema of their own first: the history is still the
    // one in public, found and written there.
    let database = db.strings("SELECT current_database()").remove(0);
    db.execute(&format!(
        "CREATE SCHEMA app; ALTER DATABASE \"{database}\" SET search_path = app, public"
    ));
    db.write(
        "0002_create_accounts.sql",
        "-- migrate:up\nCREATE TABLE accounts (id integer);",
    );
    let migrations = db.migrations();
    assert_eq!(migrations.run(&mut db.connect()).unwrap().versions(), [2]);
    assert_eq!(
        db.strings("SELECT table_schema::text || '.' || table_name::text FROM information_schema.tables WHERE table_name IN ('schema_migrations', 'accounts') ORDER BY 1"),
        ["app.accounts", "public.schema_migrations"]
    );
    assert_eq!(
        db.strings("SELECT version FROM public.schema_migrations ORDER BY version"),
        ["1", "2"]
    );
}

#[test]
#[cfg_attr(
    not(terrace_test_mysql),
    ignore = "TERRACE_TEST_MYSQL_URL was not set when the tests were built"
)]
fn mysql_applied_at_survives_2038_and_old_tables_are_upgraded_in_place() {
    let db = TestDb::new(Kind::Mysql);
    db.write(
        "0001_create_projects.sql",
        "-- migrate:up\nCREATE TABLE projects (id INTEGER);",
    );
    db.write(
        "0002_add_base_url.sql",
        "-- migrate:up\nALTER TABLE projects ADD COLUMN base_url TEXT;",
    );
    // The table as earlier versions created it.
    db.execute(
        "CREATE TABLE schema_migrations (
             version BIGINT PRIMARY KEY,
             name VARCHAR(255) NOT NULL,
             applied_at TIMESTAMP NULL DEFAULT CURRENT_TIMESTAMP,
             checksum VARCHAR(100),
             execution_ms BIGINT,
             state VARCHAR(16) NOT NULL DEFAULT 'applied',
             cumulative_checksum VARCHAR(100)
         );
         CREATE TABLE projects (id INTEGER);
         INSERT INTO schema_migrations (version, name, applied_at) VALUES (1, 'create_projects', '2024-01-02 03:04:05');",
    );
    let applied_at_type = |table: &str| {
        db.strings(&format!(
            "SELECT CAST(column_type AS CHAR) FROM information_schema.columns \
             WHERE table_schema = DATABASE() AND table_name = '{table}' AND column_name = 'applied_at'"
        ))
    };
    assert_eq!(applied_at_type("schema_migrations"), ["timestamp"]);
    let migrations = db.migrations();
    assert_eq!(migrations.run(&mut db.connect()).unwrap().versions(), [2]);
    assert_eq!(applied_at_type("schema_migrations"), ["datetime(6)"]);

    db.execute("UPDATE schema_migrations SET applied_at = '2040-06-01 12:00:00' WHERE version = 2");
    let status = migrations.status(&mut db.connect()).unwrap();
    let dates: Vec<_> = status
        .applied
        .iter()
        .map(|a| a.row.applied_at.as_deref().unwrap_or("NULL").to_owned())
        .collect();
    assert_eq!(dates, ["2024-01-02 03:04:05", "2040-06-01 12:00:00"]);

    // A new table is made that way from the start.
    let fresh = db.migrations().with_table("fresh_history").unwrap();
    db.execute("DROP TABLE projects");
    fresh.run(&mut db.connect()).unwrap();
    assert_eq!(applied_at_type("fresh_history"), ["datetime(6)"]);
}

#[test]
#[cfg_attr(
    not(terrace_test_mysql),
    ignore = "TERRACE_TEST_MYSQL_URL was not set when the tests were built"
)]
fn mysql_a_migration_changing_the_database_does_not_move_the_history() {
    let db = TestDb::new(Kind::Mysql);
    db.write(
        "0001_create_projects.sql",
        "-- migrate:up\nCREATE TABLE projects (id INTEGER);\nUSE information_schema;",
    );
    db.write("0002_check_tables.sql", "-- migrate:up\nSELECT 1;");
    let migrations = db.migrations();
    let mut conn = db.connect();
    assert_eq!(migrations.run(&mut conn).unwrap().versions(), [1, 2]);
    assert_eq!(db.versions(), [1, 2]);
    assert_eq!(
        db.strings("SELECT state FROM schema_migrations ORDER BY version"),
        ["applied", "applied"]
    );
}
