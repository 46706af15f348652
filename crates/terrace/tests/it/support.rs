//! Scratch databases and folders, and ways to compare a database before and after.

use rusqlite::Connection;
use std::path::{Path, PathBuf};
use tempfile::TempDir;

/// A temporary folder holding a database file and a migrations folder.
pub struct Scratch {
    pub dir: TempDir,
}

impl Scratch {
    pub fn new() -> Self {
        Scratch {
            dir: tempfile::tempdir().expect("a temporary folder"),
        }
    }

    pub fn db_path(&self) -> PathBuf {
        self.dir.path().join("app.db")
    }

    pub fn open(&self) -> Connection {
        Connection::open(self.db_path()).expect("open the scratch database")
    }

    pub fn migrations_dir(&self) -> PathBuf {
        let dir = self.dir.path().join("migrations");
        std::fs::create_dir_all(&dir).expect("create the migrations folder");
        dir
    }

    /// Writes a migration file into the migrations folder.
    pub fn write(&self, file_name: &str, text: &str) -> PathBuf {
        let path = self.migrations_dir().join(file_name);
        std::fs::write(&path, text).expect("write a migration file");
        path
    }

    /// The migrations folder read at run time.
    pub fn migrations(&self) -> terrace::Migrations {
        terrace::Migrations::from_dir(self.migrations_dir()).expect("read the migrations folder")
    }

    /// The database file's bytes (empty if it does not exist).
    pub fn bytes(&self) -> Vec<u8> {
        std::fs::read(self.db_path()).unwrap_or_default()
    }
}

/// Every schema object's SQL, sorted: two databases with the same schema give the same
/// list.
pub fn schema(conn: &Connection) -> Vec<String> {
    let mut stmt = conn
        .prepare(
            "SELECT type || ' ' || name || ': ' || COALESCE(sql, '') FROM sqlite_master \
             WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name",
        )
        .expect("prepare the schema query");
    stmt.query_map([], |row| row.get(0))
        .expect("query the schema")
        .collect::<Result<_, _>>()
        .expect("read the schema")
}

/// The versions recorded in the tracking table.
pub fn recorded_versions(conn: &Connection) -> Vec<u64> {
    let mut stmt = conn
        .prepare("SELECT version FROM schema_migrations ORDER BY version")
        .expect("prepare");
    stmt.query_map([], |row| row.get::<_, i64>(0))
        .expect("query")
        .map(|v| v.expect("a version") as u64)
        .collect()
}

pub fn table_exists(conn: &Connection, table: &str) -> bool {
    conn.query_row(
        "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?1",
        [table],
        |row| row.get::<_, i64>(0),
    )
    .expect("query sqlite_master")
        == 1
}

pub fn columns(conn: &Connection, table: &str) -> Vec<String> {
    let mut stmt = conn
        .prepare("SELECT name FROM pragma_table_info(?1) ORDER BY cid")
        .expect("prepare");
    stmt.query_map([table], |row| row.get(0))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("read")
}

/// The fixture folder shared by several tests.
pub fn fixtures(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// Copies a fixture folder into the scratch migrations folder.
pub fn copy_fixture(scratch: &Scratch, name: &str) {
    for entry in std::fs::read_dir(fixtures(name)).expect("read the fixture folder") {
        let entry = entry.expect("a fixture entry");
        std::fs::copy(
            entry.path(),
            scratch.migrations_dir().join(entry.file_name()),
        )
        .expect("copy a fixture");
    }
}
