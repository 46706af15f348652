//! `terrace completions SHELL`: prints a completion script for the shell.

use crate::cli::{Cli, CompletionsArgs};
use crate::output::Output;
use clap::CommandFactory;
use serde::Serialize;
use std::process::ExitCode;

#[derive(Serialize)]
struct CompletionsDoc<'a> {
    shell: String,
    script: &'a str,
}

/// Runs `completions`.
pub fn run(args: &CompletionsArgs, out: &Output) -> anyhow::Result<ExitCode> {
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut Cli::command(), "terrace", &mut script);
    let script = String::from_utf8_lossy(&script);
    if out.is_json() {
        out.json(&CompletionsDoc {
            shell: args.shell.to_string(),
            script: &script,
        })?;
    } else {
        out.print_result(script.trim_end())?;
    }
    Ok(ExitCode::SUCCESS)
}
