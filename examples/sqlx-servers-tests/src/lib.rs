//! The migrations of the tests in `tests/`: an sqlx application's build of terrace
//! (`sqlx-postgres`, `sqlx-mysql` and `testing`, no blocking driver), whose
//! `#[terrace::test]` makes its scratch databases on PostgreSQL and MySQL through sqlx.

use terrace::{Migration, Migrations, migrations};

/// Two migrations: a table, then a row in it.
pub static MIGRATIONS: Migrations = migrations![
    Migration::sql(
        1,
        "create_projects",
        "CREATE TABLE projects (id INTEGER PRIMARY KEY, name VARCHAR(100) NOT NULL);"
    ),
    Migration::sql(
        2,
        "add_first_project",
        "INSERT INTO projects (id, name) VALUES (1, 'terrace');"
    ),
];
