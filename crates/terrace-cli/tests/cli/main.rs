//! The `terrace` binary, run in temporary folders: every command, its output and its
//! exit code.

#![expect(
    clippy::unwrap_used,
    reason = "test helpers unwrap: a failure there is a broken test setup"
)]

mod app_crate;
mod banner;
mod baseline;
mod cluster;
mod concurrency;
mod config;
mod drafts;
mod fleet;
mod help;
mod hints;
mod history;
mod import;
mod init;
mod json;
mod json_errors;
mod legacy;
mod lint;
mod lock_wait;
mod migrate;
mod new;
mod noop_down;
mod preview;
mod readme;
mod rehearse;
mod renumber;
mod repair;
mod reset;
mod rollback;
mod rolling;
#[macro_use]
mod schema;
mod servers;
mod squash;
mod status;
mod sum;
mod support;
mod tls;
mod urls;
mod validate;
mod verbosity;
