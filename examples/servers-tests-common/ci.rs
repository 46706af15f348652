//! The check both servers-tests packages make: under CI, a server that is not
//! configured, or was not when the tests were built, is a failure, not a skip.

use super::{MYSQL_URL, POSTGRES_URL};

/// Whether this is a CI run, where skipping a server is a failure.
fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

#[test]
fn servers_are_configured_under_ci() {
    if !in_ci() {
        return;
    }
    for (variable, built_with_it) in [
        (POSTGRES_URL, cfg!(terrace_test_postgres)),
        (MYSQL_URL, cfg!(terrace_test_mysql)),
    ] {
        assert!(
            std::env::var_os(variable).is_some_and(|v| !v.is_empty()),
            "{variable} is not set: CI must test against the real server"
        );
        assert!(
            built_with_it,
            "{variable} was not set when the tests were built, so its server's tests are ignored"
        );
    }
}
