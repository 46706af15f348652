//! Tells the tests which servers they were built to test: a test of a server whose URL
//! (`TERRACE_TEST_POSTGRES_URL`, `TERRACE_TEST_MYSQL_URL`) is not set when the tests
//! are built is marked ignored, with the reason, so that the run counts it as skipped.

fn main() {
    for (var, cfg) in [
        ("TERRACE_TEST_POSTGRES_URL", "terrace_test_postgres"),
        ("TERRACE_TEST_MYSQL_URL", "terrace_test_mysql"),
    ] {
        println!("cargo::rustc-check-cfg=cfg({cfg})");
        println!("cargo::rerun-if-env-changed={var}");
        if std::env::var_os(var).is_some_and(|url| !url.is_empty()) {
            println!("cargo::rustc-cfg={cfg}");
        }
    }
}
