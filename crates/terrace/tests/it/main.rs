//! Integration tests of the terrace library on SQLite files. One module per capability.
#![expect(clippy::unwrap_used, reason = "a test fails loudly on any setup error")]

mod after_crash;
mod async_adapters;
mod backends;
mod support;

mod checksums;
mod commands;
mod concurrency;
mod connection;
mod crash;
mod diesel_adapters;
mod dirty;
mod dry_run;
mod embedded;
mod errors;
mod failure;
mod fleet;
mod foreign_keys;
mod helpers;
mod lease;
mod legacy;
mod lock_timeout;
mod lock_wait;
mod migrate;
mod noop_down;
mod repair;
mod rollback;
mod rolling;
mod scenarios;
mod servers;
mod splitting;
mod startup;
mod test_databases;
mod test_databases_drivers;
mod tls;
mod validation;
