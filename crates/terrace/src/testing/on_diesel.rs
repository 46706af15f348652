//! diesel's connections as test connections: a plain `fn` under `#[terrace::test]`
//! taking `&mut diesel::SqliteConnection`, `PgConnection` or `MysqlConnection` gets a
//! database migrated through that connection. Its feature alone is enough: a server's
//! scratch database is created and dropped over terrace's blocking driver, sqlx or
//! diesel, whichever the build has.

use super::{Scheme, TestConnection, TestDb, TestDbError, sealed};

/// Connects diesel's connection type `C` to the test database, which must be on
/// `wanted`'s backend; `target` is what diesel is given (a file's path, or a URL).
fn establish<C: diesel::Connection>(
    db: &TestDb,
    wanted: Scheme,
    target: impl FnOnce(&TestDb) -> Result<&str, TestDbError>,
) -> Result<C, TestDbError> {
    db.expect_backend(wanted)?;
    C::establish(target(db)?).map_err(|e| db.connect_failed(Box::new(e)))
}

#[cfg(feature = "diesel-sqlite")]
impl sealed::Sealed for diesel::SqliteConnection {}

#[cfg(feature = "diesel-sqlite")]
impl TestConnection for diesel::SqliteConnection {
    const BACKEND: Option<Scheme> = Some(Scheme::Sqlite);

    fn open_test_db(db: &TestDb) -> Result<Self, TestDbError> {
        establish(db, Scheme::Sqlite, |db| {
            let file = db.sqlite_path().expect("a SQLite test database has a file");
            file.to_str().ok_or_else(|| TestDbError::Failed {
                action: "open the test database",
                target: file.display().to_string(),
                source: "diesel opens a SQLite file by a path in UTF-8 only".into(),
            })
        })
    }
}

#[cfg(feature = "diesel-postgres")]
impl sealed::Sealed for diesel::PgConnection {}

#[cfg(feature = "diesel-postgres")]
impl TestConnection for diesel::PgConnection {
    const BACKEND: Option<Scheme> = Some(Scheme::Postgres);

    fn open_test_db(db: &TestDb) -> Result<Self, TestDbError> {
        establish(db, Scheme::Postgres, |db| Ok(db.url()))
    }
}

#[cfg(feature = "diesel-mysql")]
impl sealed::Sealed for diesel::MysqlConnection {}

#[cfg(feature = "diesel-mysql")]
impl TestConnection for diesel::MysqlConnection {
    const BACKEND: Option<Scheme> = Some(Scheme::Mysql);

    fn open_test_db(db: &TestDb) -> Result<Self, TestDbError> {
        establish(db, Scheme::Mysql, |db| Ok(db.url()))
    }
}
