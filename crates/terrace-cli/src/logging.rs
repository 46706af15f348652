//! The library's `tracing` log on stderr, when `TERRACE_LOG` or `RUST_LOG` asks for it.
//!
//! The value is a list of `target=level` directives, or a bare level for every
//! target: `debug`, `terrace=trace,warn`. `TERRACE_LOG` wins over `RUST_LOG`, so that
//! a `RUST_LOG` set for an application does not flood a deploy's migrations. Either
//! unset or empty: no log, and no cost.

use std::io::{self, Write};
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt;

/// The variable that turns the log on, winning over [`RUST_LOG`].
pub const LOG_ENV: &str = "TERRACE_LOG";
/// The usual variable, read when [`LOG_ENV`] is not set.
pub const RUST_LOG: &str = "RUST_LOG";

/// The variable and the filter it holds, if the log is asked for.
fn requested_filter() -> Option<(&'static str, String)> {
    [LOG_ENV, RUST_LOG].into_iter().find_map(|name| {
        std::env::var(name)
            .ok()
            .filter(|value| !value.trim().is_empty())
            .map(|value| (name, value))
    })
}

/// Whether the log is asked for: the progress bar then stays off, so that log lines
/// and the bar do not draw over each other.
pub fn requested() -> bool {
    requested_filter().is_some()
}

/// Starts the log on stderr if it is asked for. A filter that cannot be read is
/// reported as a warning, and the command runs without a log.
pub fn init() {
    let Some((name, value)) = requested_filter() else {
        return;
    };
    let filter: Targets = match value.parse() {
        Ok(filter) => filter,
        Err(err) => {
            let _ = writeln!(
                io::stderr().lock(),
                "warning: {name} '{value}' is not a log filter ({err}); write a level \
                 (debug) or target=level pairs (terrace=debug,warn): no log"
            );
            return;
        }
    };
    let subscriber = tracing_subscriber::registry()
        .with(tracing_subscriber::fmt::layer().with_writer(io::stderr))
        .with(filter);
    // Only fails if a subscriber is already set, which nothing else does.
    let _ = tracing::subscriber::set_global_default(subscriber);
}
