//! Tells the integration tests which database servers they were built to test.
//!
//! A test of a server whose URL (`TERRACE_TEST_POSTGRES_URL`, `TERRACE_TEST_MYSQL_URL`)
//! is not set when the tests are built is marked ignored, with the reason, so the test
//! run counts it as skipped instead of passing it without running it; so is a TLS test
//! when `TERRACE_TEST_TLS_CA` (the CA that signed the servers' certificates) is not set.
//! The library itself reads none of this.
//!
//! It also watches the migration folders the tests and examples embed, so that a file
//! added to one is embedded by the next build (each only where it exists: a path that
//! does not exist would make cargo rerun this script on every build).

fn main() {
    if std::path::Path::new("tests/fixtures").is_dir() {
        println!("cargo::rerun-if-changed=tests/fixtures");
    }
    if std::path::Path::new("examples").is_dir() {
        println!("cargo::rerun-if-changed=examples/autoaudit/migrations");
        println!("cargo::rerun-if-changed=examples/diesel_app_migrations");
    }
    for (var, cfg) in [
        ("TERRACE_TEST_POSTGRES_URL", "terrace_test_postgres"),
        ("TERRACE_TEST_MYSQL_URL", "terrace_test_mysql"),
        ("TERRACE_TEST_TLS_CA", "terrace_test_tls"),
    ] {
        println!("cargo::rustc-check-cfg=cfg({cfg})");
        println!("cargo::rerun-if-env-changed={var}");
        if std::env::var_os(var).is_some_and(|url| !url.is_empty()) {
            println!("cargo::rustc-cfg={cfg}");
        }
    }
}
