//! The migrations of the tests in `tests/`: a diesel application's build of terrace
//! (`diesel-postgres`, `diesel-mysql` and `testing`, no other driver), whose
//! `#[terrace::test]` makes its scratch databases on PostgreSQL and MySQL through
//! diesel.

#[path = "../../servers-tests-common/migrations.rs"]
mod migrations;

pub use migrations::MIGRATIONS;
