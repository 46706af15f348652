//! The migrations both servers-tests packages run: a table, then a row in it.

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
