//! Settings: a flag wins over the environment, which wins over `terrace.toml` (found in
//! the current folder or the nearest parent that has one), which wins over the
//! defaults.
//!
//! | setting    | flag         | environment     | terrace.toml | default             |
//! |------------|--------------|-----------------|--------------|---------------------|
//! | database   | `--database` | `DATABASE_URL`  | `database`   | none: an error      |
//! | folder     | `--dir`      | `TERRACE_DIR`   | `dir`        | `migrations`        |
//! | table      | `--table`    | `TERRACE_TABLE` | `table`      | `schema_migrations` |
//! | protected  |              |                 | `protected`  | `false`             |
//! | lock wait  | `--lock-timeout` | `TERRACE_LOCK_TIMEOUT` | `lock_timeout` | 300 seconds |
//! | lock kind  | `--lock`     | `TERRACE_LOCK`  | `lock`       | `auto`              |
//! | lease      | `--lock-lease` | `TERRACE_LOCK_LEASE` | `lock_lease` | 60 seconds  |
//! | newer applied | `--allow-newer` |           | `allow_newer` | `false`: refuse |
//! | lint before migrate | `--lint`, `--no-lint` |  | `lint`   | `false`             |
//!
//! `allow_newer = true` (for every command), or `--allow-newer` on `migrate`, `status`
//! and `validate`, lets a build run while the database holds applied migrations newer than every
//! migration of its folder, as during a rolling deploy: they are named in a warning and
//! left alone (see [`terrace::NewerApplied`]).
//!
//! Relative paths in `terrace.toml` (the folder, and a SQLite file) are relative to the
//! file's own folder, so every command finds the same files from any subfolder.
//!
//! A `.env` file (the nearest one, in the current folder or a parent) stands in for the
//! environment variables above that are not set, as sqlx-cli, diesel and dbmate read
//! one: `KEY=value` lines, `#` comments, optional quotes and an optional `export `.
//! Relative paths in it are relative to its folder too.

use crate::cli::Global;
use crate::connect::{self, Location};
use crate::failure::Failure;
use anyhow::Context;
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// The configuration file's name.
pub const FILE_NAME: &str = "terrace.toml";

/// The environment variable naming the database.
pub const DATABASE_ENV: &str = "DATABASE_URL";
/// The environment variable naming the migrations folder.
pub const DIR_ENV: &str = "TERRACE_DIR";
/// The environment variable naming the tracking table.
pub const TABLE_ENV: &str = "TERRACE_TABLE";

/// The environment variable setting how long to wait for the migration lock, in
/// seconds.
pub const LOCK_TIMEOUT_ENV: &str = "TERRACE_LOCK_TIMEOUT";
/// The environment variable choosing the migration lock.
pub const LOCK_ENV: &str = "TERRACE_LOCK";
/// The environment variable for the lease's length, in seconds.
pub const LOCK_LEASE_ENV: &str = "TERRACE_LOCK_LEASE";

/// The file of environment variables read for the settings the environment lacks.
pub const DOTENV_FILE: &str = ".env";

/// The migrations folder unless told otherwise.
pub const DEFAULT_DIR: &str = "migrations";

/// The keys `terrace.toml` may hold.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSettings {
    database: Option<String>,
    dir: Option<PathBuf>,
    table: Option<String>,
    protected: Option<bool>,
    lock_timeout: Option<u64>,
    lock: Option<String>,
    lock_lease: Option<u64>,
    allow_newer: Option<bool>,
    lint: Option<bool>,
}

/// A `terrace.toml` that was found and read.
#[derive(Debug)]
struct ConfigFile {
    /// Its path.
    path: PathBuf,
    /// Its folder, as relative paths in it are resolved: empty when it is the current
    /// folder, so that paths stay short in messages.
    base: PathBuf,
    settings: FileSettings,
}

/// Where the database URL came from, for messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// `--database`.
    Flag,
    /// An environment variable.
    Env(&'static str),
    /// A configuration file.
    File(PathBuf),
    /// `DATABASE_URL` in a `.env` file.
    DotEnv(PathBuf),
}

/// A `.env` file that was found and read.
#[derive(Debug, Default)]
struct DotEnv {
    /// Its folder, as relative paths in it are resolved (empty: the current folder).
    base: PathBuf,
    /// Its path, for messages.
    path: PathBuf,
    /// Its variables in file order; a later line wins.
    values: Vec<(String, String)>,
}

impl DotEnv {
    /// A variable's value; an empty value counts as unset.
    fn get(&self, name: &str) -> Option<String> {
        self.values
            .iter()
            .rev()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.clone())
            .filter(|value| !value.is_empty())
    }
}

/// The database URL read from a `.env` file, kept so that error messages can hide its
/// password wherever a driver quotes it.
static DOTENV_DATABASE_URL: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// `DATABASE_URL` as the nearest `.env` file set it, if settings were loaded and it did.
pub fn dotenv_database_url() -> Option<String> {
    DOTENV_DATABASE_URL.get().cloned()
}

/// The database to work on, as configured. (Its `Debug` hides any password.)
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseSetting {
    /// The URL as written (it may hold a password: show it only through
    /// [`terrace::connection::redact`]).
    pub url: String,
    /// Where it was set.
    pub origin: Origin,
    /// The folder a relative SQLite path is relative to (empty: the current folder).
    pub base: PathBuf,
}

impl std::fmt::Debug for DatabaseSetting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DatabaseSetting")
            .field("url", &terrace::connection::redact(&self.url))
            .field("origin", &self.origin)
            .field("base", &self.base)
            .finish()
    }
}

/// Every setting, resolved.
#[derive(Debug)]
pub struct Config {
    /// The database, if one is configured anywhere.
    pub database: Option<DatabaseSetting>,
    /// The migrations folder.
    pub dir: PathBuf,
    /// The tracking table's name (validated by the library when used).
    pub table: String,
    /// Whether `reset` and `rollback` must refuse.
    pub protected: bool,
    /// How long to retry a server that refuses connections.
    pub wait: std::time::Duration,
    /// How long to wait for another run's migration lock (`None`: the library's
    /// default).
    pub lock_timeout: Option<std::time::Duration>,
    /// Which migration lock to take on a server (`None`: the library's default).
    pub lock: Option<terrace::LockMode>,
    /// How long a lease lasts (`None`: the library's default).
    pub lock_lease: Option<std::time::Duration>,
    /// Whether `terrace.toml` allows applied migrations newer than every migration of
    /// the folder (`allow_newer`).
    pub allow_newer: bool,
    /// Whether `migrate` lints the pending migrations first (`lint`).
    pub lint: bool,
    /// The configuration file used, if any.
    pub file: Option<PathBuf>,
}

/// An environment variable's value; an empty value counts as unset.
pub fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

impl Config {
    /// Reads the flags, the environment and the nearest `terrace.toml`.
    pub fn load(global: &Global) -> anyhow::Result<Config> {
        let cwd = std::env::current_dir().context("cannot read the current folder")?;
        let file = find_file(&cwd)?;
        let dotenv = find_dotenv(&cwd)?;
        if let Some(url) = dotenv.as_ref().and_then(|d| d.get(DATABASE_ENV)) {
            let _ = DOTENV_DATABASE_URL.set(url);
        }
        Ok(resolve(global, &env, dotenv, file)?)
    }

    /// The database, or a usage error saying how to name one.
    pub fn database(&self) -> Result<&DatabaseSetting, Failure> {
        self.database.as_ref().ok_or_else(|| {
            Failure::usage("no database given").hint(format!(
                "pass --database sqlite:PATH, set {DATABASE_ENV} (or put it in {DOTENV_FILE}), or set \
                 `database` in {FILE_NAME}"
            ))
        })
    }

    /// Refuses `action` (a command that destroys data) where `terrace.toml` says
    /// `protected = true`.
    pub fn refuse_if_protected(&self, action: &str) -> Result<(), Failure> {
        if !self.protected {
            return Ok(());
        }
        let file = self
            .file
            .as_ref()
            .map_or_else(|| FILE_NAME.to_owned(), |f| f.display().to_string());
        Err(Failure::refused(format!(
            "refusing to {action}: {file} marks this database as protected"
        ))
        .named("protected")
        .hint(format!(
            "`protected = true` in {file} guards this database against reset and rollback; \
             --dry-run shows what a rollback would do"
        )))
    }

    /// Where the configured database is: a usage error if none is configured or its
    /// URL is not one this build opens.
    pub fn location(&self) -> Result<Location, Failure> {
        Ok(connect::locate(self.database()?, self.wait)?
            .pooled(self.lock == Some(terrace::LockMode::Lease)))
    }

    /// The migrations folder as messages name it: relative to the current folder when
    /// under it, as the user would open its files.
    pub fn shown_dir(&self) -> &Path {
        let cwd = std::env::current_dir().unwrap_or_default();
        match self.dir.strip_prefix(&cwd) {
            Ok(relative) if self.dir.is_absolute() && relative.as_os_str().is_empty() => {
                Path::new(".")
            }
            Ok(relative) if self.dir.is_absolute() => relative,
            _ => &self.dir,
        }
    }

    /// The migrations in the configured folder, tracked in the configured table,
    /// allowing applied migrations newer than all of them where `terrace.toml` says
    /// `allow_newer = true`.
    pub fn migrations(&self) -> anyhow::Result<terrace::Migrations> {
        let migrations =
            terrace::Migrations::from_dir(self.shown_dir())?.with_table(&self.table)?;
        let migrations = if self.allow_newer {
            migrations.with_newer_applied(terrace::NewerApplied::Warn)
        } else {
            migrations
        };
        Ok(self.with_lock_settings(migrations))
    }

    /// [`migrations`](Config::migrations), also allowing applied migrations newer than
    /// every migration of the folder where `--allow-newer` (`flag`) says so.
    pub fn migrations_allowing(
        &self,
        flag: &crate::cli::NewerArgs,
    ) -> anyhow::Result<terrace::Migrations> {
        let migrations = self.migrations()?;
        Ok(if flag.allow_newer {
            migrations.with_newer_applied(terrace::NewerApplied::Warn)
        } else {
            migrations
        })
    }

    /// An empty list tracked in the configured table, for commands that work on the
    /// tracking table alone (`history`, `reset`) and so need no migrations folder.
    pub fn table_only(&self) -> anyhow::Result<terrace::Migrations> {
        let migrations = terrace::Migrations::from_vec(Vec::new()).with_table(&self.table)?;
        Ok(self.with_lock_settings(migrations))
    }

    fn with_lock_settings(&self, mut migrations: terrace::Migrations) -> terrace::Migrations {
        if let Some(timeout) = self.lock_timeout {
            migrations = migrations.with_lock_timeout(timeout);
        }
        if let Some(mode) = self.lock {
            migrations = migrations.with_lock(mode);
        }
        if let Some(lease) = self.lock_lease {
            migrations = migrations.with_lock_lease(lease);
        }
        migrations
    }
}

/// The nearest `terrace.toml`, starting in `cwd` and going up.
fn find_file(cwd: &Path) -> anyhow::Result<Option<ConfigFile>> {
    let Some(folder) = cwd.ancestors().find(|dir| dir.join(FILE_NAME).is_file()) else {
        return Ok(None);
    };
    let path = folder.join(FILE_NAME);
    let shown = path.strip_prefix(cwd).unwrap_or(&path).to_owned();
    let text = std::fs::read_to_string(&path)
        .map_err(|e| Failure::usage(format!("cannot read {}", shown.display())).caused_by(e))?;
    let settings = parse(&text).map_err(|e| {
        Failure::usage(format!("invalid settings in {}", shown.display()))
            .caused_by(parse_problem(&text, &e))
    })?;
    Ok(Some(ConfigFile {
        base: folder.strip_prefix(cwd).unwrap_or(folder).to_owned(),
        path: shown,
        settings,
    }))
}

/// The nearest `.env` file, starting in `cwd` and going up.
fn find_dotenv(cwd: &Path) -> anyhow::Result<Option<DotEnv>> {
    let Some(folder) = cwd.ancestors().find(|dir| dir.join(DOTENV_FILE).is_file()) else {
        return Ok(None);
    };
    let path = folder.join(DOTENV_FILE);
    let shown = path.strip_prefix(cwd).unwrap_or(&path).to_owned();
    let text = std::fs::read_to_string(&path)
        .map_err(|e| Failure::usage(format!("cannot read {}", shown.display())).caused_by(e))?;
    Ok(Some(DotEnv {
        base: folder.strip_prefix(cwd).unwrap_or(folder).to_owned(),
        path: shown,
        values: parse_dotenv(&text),
    }))
}

/// The `KEY=value` lines of a `.env` file. Blank lines, `#` comments and lines of
/// another syntax are skipped: the file may serve other tools too. A value may be in
/// double quotes (with `\"`, `\\` and `\n` escapes) or single quotes (taken as is);
/// an unquoted value ends at ` #`.
fn parse_dotenv(text: &str) -> Vec<(String, String)> {
    let mut values = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").map_or(line, str::trim_start);
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let key = key.trim();
        let is_key = !key.is_empty()
            && key
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.');
        if !is_key {
            continue;
        }
        if let Some(value) = dotenv_value(value.trim()) {
            values.push((key.to_owned(), value));
        }
    }
    values
}

/// One value of a `.env` line, unquoted; `None` for an unclosed quote.
fn dotenv_value(raw: &str) -> Option<String> {
    if let Some(rest) = raw.strip_prefix('\'') {
        return rest.find('\'').map(|end| rest[..end].to_owned());
    }
    if let Some(rest) = raw.strip_prefix('"') {
        let mut value = String::new();
        let mut chars = rest.chars();
        while let Some(c) = chars.next() {
            match c {
                '"' => return Some(value),
                '\\' => match chars.next()? {
                    'n' => value.push('\n'),
                    other => value.push(other),
                },
                c => value.push(c),
            }
        }
        return None;
    }
    let value = raw.find(" #").map_or(raw, |end| &raw[..end]);
    Some(value.trim_end().to_owned())
}

fn parse(text: &str) -> Result<FileSettings, toml::de::Error> {
    toml::from_str(text)
}

/// A parse error as `line L, column C: message`. The parser's own rendering quotes the
/// offending line, which may hold a password: never shown, and any password of the file
/// that the message quotes is hidden.
fn parse_problem(text: &str, error: &toml::de::Error) -> String {
    let message = error.message().trim_end();
    let problem = match error.span() {
        Some(span) => {
            let before = text.get(..span.start).unwrap_or(text);
            let line = before.matches('\n').count() + 1;
            let column = before
                .rsplit('\n')
                .next()
                .map_or(0, |start| start.chars().count())
                + 1;
            format!("line {line}, column {column}: {message}")
        }
        None => message.to_owned(),
    };
    terrace::connection::redact_using(&problem, &[text])
}

/// Applies the precedence: flag, then environment (then `.env`), then file, then
/// default. A malformed environment variable is a usage error.
fn resolve(
    global: &Global,
    real_env: &dyn Fn(&str) -> Option<String>,
    dotenv: Option<DotEnv>,
    file: Option<ConfigFile>,
) -> Result<Config, Failure> {
    let dotenv = dotenv.unwrap_or_default();
    let env = |name: &str| real_env(name).or_else(|| dotenv.get(name));
    let (settings, base, path) = match file {
        Some(file) => (file.settings, file.base, Some(file.path)),
        None => (FileSettings::default(), PathBuf::new(), None),
    };
    let from_file = |p: &Path| base.join(p);

    let database = if let Some(url) = &global.database {
        Some(DatabaseSetting {
            url: url.clone(),
            origin: Origin::Flag,
            base: PathBuf::new(),
        })
    } else if let Some(url) = real_env(DATABASE_ENV) {
        Some(DatabaseSetting {
            url,
            origin: Origin::Env(DATABASE_ENV),
            base: PathBuf::new(),
        })
    } else if let Some(url) = dotenv.get(DATABASE_ENV) {
        Some(DatabaseSetting {
            url,
            origin: Origin::DotEnv(dotenv.path.clone()),
            base: dotenv.base.clone(),
        })
    } else {
        settings.database.map(|url| DatabaseSetting {
            url,
            origin: Origin::File(path.clone().unwrap_or_else(|| PathBuf::from(FILE_NAME))),
            base: base.clone(),
        })
    };

    let dir = global
        .dir
        .clone()
        .or_else(|| real_env(DIR_ENV).map(PathBuf::from))
        .or_else(|| dotenv.get(DIR_ENV).map(|dir| dotenv.base.join(dir)))
        .or_else(|| settings.dir.as_deref().map(from_file))
        .unwrap_or_else(|| PathBuf::from(DEFAULT_DIR));
    // `base.join("")` would leave a trailing separator out, but an empty result means
    // the current folder.
    let dir = if dir.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        dir
    };

    let table = global
        .table
        .clone()
        .or_else(|| env(TABLE_ENV))
        .or(settings.table)
        .unwrap_or_else(|| terrace::TableName::DEFAULT.to_string());

    let lock_timeout = match (global.lock_timeout, env(LOCK_TIMEOUT_ENV)) {
        (Some(seconds), _) => Some(seconds),
        (None, Some(text)) => Some(text.trim().parse::<u64>().map_err(|_| {
            Failure::usage(format!(
                "invalid {LOCK_TIMEOUT_ENV} '{text}': expected a whole number of seconds"
            ))
        })?),
        (None, None) => settings.lock_timeout,
    };

    let lock = match (global.lock, env(LOCK_ENV)) {
        (Some(mode), _) => Some(mode),
        (None, Some(text)) => Some(
            text.parse::<terrace::LockMode>()
                .map_err(|e| Failure::usage(format!("invalid {LOCK_ENV}: {e}")))?,
        ),
        (None, None) => match settings.lock {
            Some(text) => Some(text.parse::<terrace::LockMode>().map_err(|e| {
                Failure::usage(format!(
                    "invalid `lock` in {}: {e}",
                    path.as_deref().unwrap_or(Path::new(FILE_NAME)).display()
                ))
            })?),
            None => None,
        },
    };
    let (lock_lease, lease_source) = match (global.lock_lease, env(LOCK_LEASE_ENV)) {
        (Some(seconds), _) => (Some(seconds), "--lock-lease".to_owned()),
        (None, Some(text)) => (
            Some(text.trim().parse::<u64>().map_err(|_| {
                Failure::usage(format!(
                    "invalid {LOCK_LEASE_ENV} '{text}': expected a whole number of seconds"
                ))
            })?),
            LOCK_LEASE_ENV.to_owned(),
        ),
        (None, None) => (
            settings.lock_lease,
            format!(
                "`lock_lease` in {}",
                path.as_deref().unwrap_or(Path::new(FILE_NAME)).display()
            ),
        ),
    };
    if lock_lease == Some(0) {
        return Err(Failure::usage(format!(
            "invalid {lease_source}: a lock lease of 0 seconds would expire at once; give at \
             least 1"
        )));
    }

    Ok(Config {
        database,
        dir,
        table,
        protected: settings.protected.unwrap_or(false),
        wait: std::time::Duration::from_secs(global.wait),
        lock_timeout: lock_timeout.map(std::time::Duration::from_secs),
        lock,
        lock_lease: lock_lease.map(std::time::Duration::from_secs),
        allow_newer: settings.allow_newer.unwrap_or(false),
        lint: settings.lint.unwrap_or(false),
        file: path,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::Format;
    use std::time::Duration;

    fn global() -> Global {
        Global {
            database: None,
            dir: None,
            table: None,
            wait: 0,
            lock_timeout: None,
            lock: None,
            lock_lease: None,
            format: Format::Text,
            verbose: false,
            quiet: false,
        }
    }

    fn file(base: &str, text: &str) -> Option<ConfigFile> {
        Some(ConfigFile {
            path: PathBuf::from(base).join(FILE_NAME),
            base: PathBuf::from(base),
            settings: parse(text).unwrap(),
        })
    }

    fn no_env(_: &str) -> Option<String> {
        None
    }

    fn full_env(name: &str) -> Option<String> {
        match name {
            LOCK_TIMEOUT_ENV => return Some("45".to_owned()),
            LOCK_ENV => return Some("auto".to_owned()),
            LOCK_LEASE_ENV => return Some("12".to_owned()),
            _ => {}
        }
        Some(format!("env-{name}"))
    }

    const FULL_FILE: &str = "database = \"sqlite:file.db\"\ndir = \"sql\"\ntable = \"file_table\"\nprotected = true\nlock_timeout = 30\nallow_newer = true\nlint = true\nlock = \"lease\"\nlock_lease = 20\n";

    #[test]
    fn defaults_without_anything() {
        let config = resolve(&global(), &no_env, None, None).unwrap();
        assert_eq!(config.database, None);
        assert_eq!(config.dir, Path::new("migrations"));
        assert_eq!(config.table, "schema_migrations");
        assert!(!config.protected);
        assert!(
            !config.allow_newer,
            "newer applied migrations are refused by default"
        );
        assert_eq!(config.file, None);
        assert_eq!(config.lock_timeout, None);
        assert_eq!((config.lock, config.lock_lease), (None, None));
        assert!(!config.lint, "migrate does not lint unless asked");
    }

    #[test]
    fn the_file_beats_the_defaults_and_its_paths_are_relative_to_it() {
        let config = resolve(&global(), &no_env, None, file("/project", FULL_FILE)).unwrap();
        let database = config.database.unwrap();
        assert_eq!(database.url, "sqlite:file.db");
        assert_eq!(database.base, Path::new("/project"));
        assert_eq!(
            database.origin,
            Origin::File(PathBuf::from("/project/terrace.toml"))
        );
        assert_eq!(config.dir, Path::new("/project/sql"));
        assert_eq!(config.table, "file_table");
        assert!(config.protected);
        assert!(config.allow_newer);
        assert!(config.lint);
        assert_eq!(config.lock_timeout, Some(Duration::from_secs(30)));
        assert_eq!(config.lock, Some(terrace::LockMode::Lease));
        assert_eq!(config.lock_lease, Some(Duration::from_secs(20)));
    }

    #[test]
    fn a_file_in_the_current_folder_keeps_paths_short() {
        let config = resolve(&global(), &no_env, None, file("", "dir = \"sql\"")).unwrap();
        assert_eq!(config.dir, Path::new("sql"));
        let config = resolve(&global(), &no_env, None, file("", "dir = \"\"")).unwrap();
        assert_eq!(config.dir, Path::new("."));
    }

    #[test]
    fn the_environment_beats_the_file() {
        let config = resolve(&global(), &full_env, None, file("/project", FULL_FILE)).unwrap();
        let database = config.database.unwrap();
        assert_eq!(database.url, "env-DATABASE_URL");
        assert_eq!(database.origin, Origin::Env("DATABASE_URL"));
        assert_eq!(database.base, Path::new(""));
        assert_eq!(config.dir, Path::new("env-TERRACE_DIR"));
        assert_eq!(config.table, "env-TERRACE_TABLE");
        assert!(config.protected, "only the file can say protected");
        assert_eq!(config.lock_timeout, Some(Duration::from_secs(45)));
        assert_eq!(config.lock, Some(terrace::LockMode::Auto));
        assert_eq!(config.lock_lease, Some(Duration::from_secs(12)));
        let bad_env = |name: &str| (name == LOCK_TIMEOUT_ENV).then(|| "soon".to_owned());
        let err = resolve(&global(), &bad_env, None, None).unwrap_err();
        assert!(
            err.to_string().contains("TERRACE_LOCK_TIMEOUT 'soon'"),
            "{err}"
        );
    }

    #[test]
    fn flags_beat_everything() {
        let flags = Global {
            database: Some("flag.db".into()),
            dir: Some("flag_dir".into()),
            table: Some("flag_table".into()),
            wait: 0,
            lock_timeout: Some(7),
            lock: Some(terrace::LockMode::Session),
            lock_lease: Some(9),
            format: Format::Text,
            verbose: false,
            quiet: false,
        };
        let config = resolve(&flags, &full_env, None, file("/project", FULL_FILE)).unwrap();
        let database = config.database.unwrap();
        assert_eq!(
            (database.url.as_str(), database.origin),
            ("flag.db", Origin::Flag)
        );
        assert_eq!(config.dir, Path::new("flag_dir"));
        assert_eq!(config.table, "flag_table");
        assert_eq!(config.lock_timeout, Some(Duration::from_secs(7)));
        assert_eq!(config.lock, Some(terrace::LockMode::Session));
        assert_eq!(config.lock_lease, Some(Duration::from_secs(9)));
    }

    #[test]
    fn bad_lock_settings_name_the_setting() {
        let bad_env =
            |value: &'static str| move |name: &str| (name == LOCK_ENV).then(|| value.to_owned());
        let err = resolve(&global(), &bad_env("pessimistic"), None, None).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("TERRACE_LOCK") && text.contains("pessimistic"),
            "{text}"
        );
        let err = resolve(&global(), &no_env, None, file("", "lock = \"row\"")).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("`lock` in terrace.toml") && text.contains("auto, session or lease"),
            "{text}"
        );
        let lease = |name: &str| (name == LOCK_LEASE_ENV).then(|| "long".to_owned());
        let err = resolve(&global(), &lease, None, None).unwrap_err();
        assert!(
            err.to_string().contains("TERRACE_LOCK_LEASE 'long'"),
            "{err}"
        );
        // A lease of 0 names where it was given.
        let err = resolve(&global(), &no_env, None, file("", "lock_lease = 0")).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("invalid `lock_lease` in terrace.toml") && text.contains("0 seconds"),
            "{text}"
        );
        let zero = |name: &str| (name == LOCK_LEASE_ENV).then(|| "0".to_owned());
        let err = resolve(&global(), &zero, None, file("", "lock_lease = 5")).unwrap_err();
        assert!(
            err.to_string().contains("invalid TERRACE_LOCK_LEASE:"),
            "{err}"
        );
        let flag = Global {
            lock_lease: Some(0),
            ..global()
        };
        let err = resolve(&flag, &zero, None, None).unwrap_err();
        assert!(err.to_string().contains("invalid --lock-lease:"), "{err}");
    }

    #[test]
    fn dot_env_stands_in_for_unset_variables() {
        let dotenv = DotEnv {
            base: PathBuf::from("/project"),
            path: PathBuf::from("/project/.env"),
            values: parse_dotenv("DATABASE_URL=sqlite:env.db\nTERRACE_DIR=sql\n"),
        };
        let config = resolve(&global(), &no_env, Some(dotenv), file("", FULL_FILE)).unwrap();
        let database = config.database.unwrap();
        assert_eq!(database.url, "sqlite:env.db");
        assert_eq!(database.base, Path::new("/project"));
        assert_eq!(
            database.origin,
            Origin::DotEnv(PathBuf::from("/project/.env"))
        );
        assert_eq!(config.dir, Path::new("/project/sql"));
        assert_eq!(config.table, "file_table");

        let dotenv = DotEnv {
            values: parse_dotenv("DATABASE_URL=sqlite:env.db\n"),
            ..DotEnv::default()
        };
        let config = resolve(&global(), &full_env, Some(dotenv), None).unwrap();
        assert_eq!(config.database.unwrap().url, "env-DATABASE_URL");
    }

    #[test]
    fn dot_env_lines() {
        let text = "# comment\n\n  export A=1\nB = \"two words\" # note\nC='it''s'\nD=plain # note\n\
                    E=\"esc\\\"aped\\n\"\nnot a line\nF=\"unclosed\n=empty key\nG=\nA=again\n";
        let values = parse_dotenv(text);
        let pairs: Vec<(&str, &str)> = values
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(
            pairs,
            [
                ("A", "1"),
                ("B", "two words"),
                ("C", "it"),
                ("D", "plain"),
                ("E", "esc\"aped\n"),
                ("G", ""),
                ("A", "again"),
            ]
        );
        let dotenv = DotEnv {
            values,
            ..DotEnv::default()
        };
        assert_eq!(dotenv.get("A").as_deref(), Some("again"));
        assert_eq!(dotenv.get("G"), None);
    }

    #[test]
    fn unknown_keys_and_wrong_types_are_refused() {
        assert!(parse("databse = \"x\"").is_err());
        assert!(parse("protected = \"yes\"").is_err());
        assert!(parse("allow_newer = \"yes\"").is_err());
        assert!(parse("lint = \"deny\"").is_err());
        assert!(parse("# only a comment\n").is_ok());
        assert!(parse("lock_timeout = -1").is_err());
    }

    #[test]
    fn parse_problems_name_the_line_and_hide_passwords() {
        let text = "dir = \"sql\"\npassword = \"hunter2\"\n";
        let problem = parse_problem(text, &parse(text).unwrap_err());
        assert!(
            problem.starts_with("line 2, column 1: unknown field `password`"),
            "{problem}"
        );
        let text = "dir = \"sql\"\nprotected = \"postgres://app:hunter2@db/app\"\n";
        let problem = parse_problem(text, &parse(text).unwrap_err());
        assert!(problem.starts_with("line 2, column 13: "), "{problem}");
        assert!(!problem.contains("hunter2"), "{problem}");
    }
}
