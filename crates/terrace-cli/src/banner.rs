//! The banner: which database a command works on (its password hidden) and which
//! `terrace.toml` it read, said before anything changes.
//!
//! A command that writes — and its dry run, which shows what it would write — prints
//! two lines on stderr in text output, so that stdout keeps only results:
//!
//! ```text
//! database: postgres://deploy:***@db.internal/app (from DATABASE_URL)
//! config: terrace.toml
//! ```
//!
//! In JSON, every command that opens a database, the read-only ones included, holds the
//! same as the `database` and `config` fields of its one document (`config` is `null`
//! when no `terrace.toml` was found), and `migrate` adds `created_database_file` when
//! it created a SQLite file.

use crate::config::{Config, FILE_NAME, Origin};
use crate::connect::Location;
use crate::output::Output;
use serde::Serialize;
use std::sync::{Mutex, PoisonError};
use terrace::connection::redact;

/// The banner's fields in a JSON document.
#[derive(Debug, Clone, Serialize)]
pub struct Fields {
    /// The database URL, its password hidden.
    database: String,
    /// The `terrace.toml` read, if one was found.
    config: Option<String>,
    /// The SQLite file `migrate` created, if it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    created_database_file: Option<String>,
}

/// What the command said: one command runs per process.
static SAID: Mutex<Option<Fields>> = Mutex::new(None);

/// The fields to add to the command's JSON document, once it has said which database.
pub fn fields() -> Option<Fields> {
    SAID.lock().unwrap_or_else(PoisonError::into_inner).clone()
}

fn remember(fields: Fields) {
    *SAID.lock().unwrap_or_else(PoisonError::into_inner) = Some(fields);
}

fn fields_for(config: &Config, database: &Location) -> Fields {
    Fields {
        database: database.url().to_string(),
        config: config.file.as_ref().map(|path| path.display().to_string()),
        created_database_file: None,
    }
}

/// Says which database and settings a command that writes (or its dry run) works on:
/// on stderr at once in text, in the JSON document's fields otherwise.
pub fn announce(config: &Config, database: &Location, out: &Output) {
    let fields = fields_for(config, database);
    if !out.is_json() {
        let from = config
            .database
            .as_ref()
            .map(|setting| match &setting.origin {
                Origin::Flag => "--database".to_owned(),
                Origin::Env(name) => (*name).to_owned(),
                Origin::File(path) | Origin::DotEnv(path) => path.display().to_string(),
            });
        let database = match from {
            Some(from) => format!("{} (from {from})", fields.database),
            None => fields.database.clone(),
        };
        out.labelled("database", &database);
        let settings = match &fields.config {
            Some(path) => path.clone(),
            None => format!("no {FILE_NAME} found; settings from flags and environment"),
        };
        out.labelled("config", &settings);
    }
    remember(fields);
}

/// Keeps which database and settings a read-only command works on for its JSON
/// document; text output shows nothing more.
pub fn record(config: &Config, database: &Location) {
    remember(fields_for(config, database));
}

/// Says that `migrate` created the SQLite file of `database`: a note on stderr in text,
/// `created_database_file` in JSON.
pub fn created(database: &Location, out: &Output) {
    let Some(path) = database.url().sqlite_path() else {
        return;
    };
    let path = redact(&path.to_string_lossy()).into_owned();
    if !out.is_json() {
        out.note(&format!("created new database file {path}"));
    }
    let mut said = SAID.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(fields) = said.as_mut() {
        fields.created_database_file = Some(path);
    }
}
