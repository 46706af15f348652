//! Temporary project folders and a way to run the built `terrace` in them, cut off from
//! the caller's environment.

use rusqlite::Connection;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use tempfile::TempDir;

/// The database file `Sandbox::project` configures.
pub const DB: &str = "app.db";

pub const CREATE_PROJECTS: &str =
    "CREATE TABLE projects (id INTEGER PRIMARY KEY, name TEXT NOT NULL);";
pub const ADD_BASE_URL: &str = "ALTER TABLE projects ADD COLUMN base_url TEXT;";
pub const ADD_DELETED_AT: &str = "ALTER TABLE projects ADD COLUMN deleted_at TIMESTAMP;";

/// A temporary folder to run `terrace` in.
pub struct Sandbox {
    dir: TempDir,
}

/// What one run of `terrace` did.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Sandbox {
    /// An empty folder.
    pub fn empty() -> Self {
        Sandbox {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    /// A folder with `terrace.toml` naming `app.db` and an empty `migrations/`.
    pub fn project() -> Self {
        let sandbox = Sandbox::empty();
        sandbox.write("terrace.toml", &format!("database = \"sqlite:{DB}\"\n"));
        std::fs::create_dir(sandbox.path().join("migrations")).unwrap();
        sandbox
    }

    /// A project with three migrations, each with a down section.
    pub fn three_migrations() -> Self {
        let sandbox = Sandbox::project();
        sandbox.migration(
            "0001_create_projects.sql",
            CREATE_PROJECTS,
            Some("DROP TABLE projects;"),
        );
        sandbox.migration(
            "0002_add_base_url.sql",
            ADD_BASE_URL,
            Some("ALTER TABLE projects DROP COLUMN base_url;"),
        );
        sandbox.migration(
            "0003_add_deleted_at.sql",
            ADD_DELETED_AT,
            Some("ALTER TABLE projects DROP COLUMN deleted_at;"),
        );
        sandbox
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes a file, creating its folders.
    pub fn write(&self, relative: &str, text: &str) -> PathBuf {
        let path = self.path().join(relative);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(&path, text).unwrap();
        path
    }

    /// Writes `migrations/<file_name>` with an up and an optional down section.
    pub fn migration(&self, file_name: &str, up: &str, down: Option<&str>) -> PathBuf {
        let mut text = format!("-- migrate:up\n{up}\n");
        if let Some(down) = down {
            text.push_str(&format!("-- migrate:down\n{down}\n"));
        }
        self.write(&format!("migrations/{file_name}"), &text)
    }

    /// The sorted file names in a folder of the sandbox.
    pub fn files(&self, relative: &str) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(self.path().join(relative))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    pub fn db_path(&self) -> PathBuf {
        self.path().join(DB)
    }

    /// The database file's bytes, or `None` if it does not exist.
    pub fn db_bytes(&self) -> Option<Vec<u8>> {
        std::fs::read(self.db_path()).ok()
    }

    pub fn open_db(&self) -> Connection {
        Connection::open(self.db_path()).unwrap()
    }

    /// The versions recorded in `schema_migrations`.
    pub fn recorded(&self) -> Vec<i64> {
        let conn = self.open_db();
        let mut stmt = conn
            .prepare("SELECT version FROM schema_migrations ORDER BY version")
            .unwrap();
        stmt.query_map([], |row| row.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    }

    /// The columns of a table in the database.
    pub fn columns(&self, table: &str) -> Vec<String> {
        let conn = self.open_db();
        let mut stmt = conn
            .prepare("SELECT name FROM pragma_table_info(?1) ORDER BY cid")
            .unwrap();
        stmt.query_map([table], |row| row.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    }

    /// `terrace ARGS` in the sandbox.
    pub fn run(&self, args: &[&str]) -> Run {
        self.run_with(".", &[], args)
    }

    /// `terrace ARGS` in a subfolder of the sandbox, with extra environment variables.
    pub fn run_with(&self, subfolder: &str, env: &[(&str, &str)], args: &[&str]) -> Run {
        let output = self
            .command(subfolder, env, args)
            .output()
            .expect("run the terrace binary");
        Run {
            code: output.status.code().expect("terrace exited with a code"),
            stdout: String::from_utf8(output.stdout).expect("UTF-8 stdout"),
            stderr: String::from_utf8(output.stderr).expect("UTF-8 stderr"),
        }
    }

    /// The command, not yet started: no inherited settings, no colour.
    pub fn command(&self, subfolder: &str, env: &[(&str, &str)], args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_terrace"));
        command
            .args(args)
            .current_dir(self.path().join(subfolder))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (name, _) in std::env::vars_os() {
            let name = name.to_string_lossy();
            if name.starts_with("TERRACE_") {
                command.env_remove(&*name);
            }
        }
        for name in [
            "DATABASE_URL",
            "NO_COLOR",
            "CLICOLOR",
            "CLICOLOR_FORCE",
            "RUST_LOG",
        ] {
            command.env_remove(name);
        }
        command.envs(env.iter().copied());
        command
    }
}

impl Run {
    /// Asserts the exit code, showing both streams if it differs.
    #[track_caller]
    pub fn code(&self, expected: i32) -> &Self {
        assert_eq!(
            self.code, expected,
            "exit code\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout, self.stderr
        );
        self
    }

    #[track_caller]
    pub fn ok(&self) -> &Self {
        self.code(0)
    }

    /// stdout parsed as one JSON document.
    #[track_caller]
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not one JSON document ({e}):\n{}", self.stdout))
    }

    /// Both streams, for checking what appears anywhere.
    pub fn all(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }

    /// stderr after the lines saying which database and settings file a writing
    /// command works on (`database: …`, `config: …`), if they are there.
    pub fn diagnostics(&self) -> &str {
        let mut rest = self.stderr.as_str();
        for label in ["database: ", "config: "] {
            if rest.starts_with(label) {
                rest = rest.split_once('\n').map_or("", |(_, after)| after);
            }
        }
        rest
    }

    /// stderr with the sandbox's path replaced, for snapshots.
    pub fn stderr_in(&self, sandbox: &Sandbox) -> String {
        self.stderr
            .replace(&sandbox.path().display().to_string(), "[SANDBOX]")
    }
}
