//! The migrations of the tests in `tests/`: an sqlx application's build of terrace
//! (`sqlx-postgres`, `sqlx-mysql` and `testing`, no blocking driver), whose
//! `#[terrace::test]` makes its scratch databases on PostgreSQL and MySQL through sqlx.

#[path = "../../servers-tests-common/migrations.rs"]
mod migrations;

pub use migrations::MIGRATIONS;
