//! `terrace`: the command line around the Terrace migration library.
//!
//! A thin shell: it parses arguments, resolves settings, opens the database, calls one
//! library function per command and renders the result. Every migration decision —
//! validation, planning, locking, applying — is the library's.

mod banner;
mod build_script;
mod cli;
mod command;
mod config;
mod connect;
mod error_doc;
mod failure;
mod import;
mod logging;
mod output;
mod progress;
mod schema;

use clap::Parser;
use cli::{Cli, Command};
use config::Config;
use output::Output;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => return output::clap_error(&err),
    };
    logging::init();
    let verbosity = match (cli.global.quiet, cli.global.verbose) {
        (true, _) => progress::Verbosity::Quiet,
        (_, true) => progress::Verbosity::Verbose,
        _ => progress::Verbosity::Normal,
    };
    let out = Output::new(cli.global.format).with_verbosity(verbosity);
    match run(cli, &out) {
        Ok(code) => code,
        Err(err) if failure::is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) => {
            out.error(&err);
            failure::exit_code(&err)
        }
    }
}

/// Runs the command; an error is rendered and mapped to an exit code by `main`.
///
/// `init` and `completions` read no settings, so a broken `terrace.toml` cannot stop
/// them.
fn run(cli: Cli, out: &Output) -> anyhow::Result<ExitCode> {
    let Cli { global, command } = cli;
    let config =
        || Config::load(&global).inspect(|config| failure::remember_migrations_dir(&config.dir));
    match command {
        Command::Init(args) => command::init::run(&args, &global, out),
        Command::Completions(args) => command::completions::run(&args, out),
        Command::New(args) => command::new::run(&args, &config()?, out),
        Command::Renumber(args) => command::renumber::run(&args, &config()?, out),
        Command::Sum => command::sum::run(&config()?, out),
        Command::Migrate(args) => command::migrate::run(&args, &config()?, out),
        Command::Rollback(args) => command::rollback::run(&args, &config()?, out),
        Command::Status(args) => command::status::run(&args, &config()?, out),
        Command::History => command::history::run(&config()?, out),
        Command::Validate(args) => command::validate::run(&args, &config()?, out),
        Command::Lint(args) => command::lint::run(&args, &config()?, out),
        Command::Baseline(args) => command::baseline::run(&args, &config()?, out),
        Command::Repair => command::repair::run(&config()?, out),
        Command::Reset(args) => command::reset::run(&args, &config()?, out),
        Command::Import(args) => command::import::run(&args, &global, &config()?, out),
        Command::Test(args) => command::rehearse::run(&args, &config()?, out),
        Command::Schema(cli::SchemaCommand::Dump(args)) => {
            command::schema::dump(&args, &config()?, out)
        }
        Command::Schema(cli::SchemaCommand::Diff(args)) => {
            command::schema::diff(&args, &config()?, out)
        }
        Command::Squash(args) => command::squash::run(&args, &config()?, out),
        Command::Fleet(args) => command::fleet::run(&args, &config()?, out),
    }
}
