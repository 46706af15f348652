//! The `terrace` binary, run in temporary folders: every command, its output and its
//! exit code.

#![expect(
    clippy::unwrap_used,
    reason = "test helpers unwrap: a failure there is a broken test setup"
)]

mod baseline;
mod concurrency;
mod config;
mod help;
mod hints;
mod history;
mod init;
mod json;
mod legacy;
mod migrate;
mod new;
mod preview;
mod repair;
mod reset;
mod rollback;
mod servers;
mod status;
mod support;
mod tls;
mod urls;
mod validate;
