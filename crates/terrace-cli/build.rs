//! Tells the integration tests which database servers they were built to test.
//!
//! A test of a server whose URL (`TERRACE_TEST_POSTGRES_URL`, `TERRACE_TEST_MYSQL_URL`)
//! is not set when the tests are built is marked ignored, with the reason, so the test
//! run counts it as skipped instead of passing it without running it; so is a TLS test
//! when `TERRACE_TEST_TLS_CA` (the CA that signed the servers' certificates) is not set,
//! and a cluster test when its set-up's URL is not (`TERRACE_TEST_GALERA_URLS`,
//! `TERRACE_TEST_PGBOUNCER_URL`, `TERRACE_TEST_PG_REPLICA_URL`,
//! `TERRACE_TEST_MYSQL_REPLICA_URL`; `.ci/cluster` starts them).
//! The `terrace` program itself reads none of this.

fn main() {
    for (var, cfg) in [
        ("TERRACE_TEST_POSTGRES_URL", "terrace_test_postgres"),
        ("TERRACE_TEST_MYSQL_URL", "terrace_test_mysql"),
        ("TERRACE_TEST_TLS_CA", "terrace_test_tls"),
        ("TERRACE_TEST_GALERA_URLS", "terrace_test_galera"),
        ("TERRACE_TEST_PGBOUNCER_URL", "terrace_test_pgbouncer"),
        ("TERRACE_TEST_PG_REPLICA_URL", "terrace_test_pg_replica"),
        (
            "TERRACE_TEST_MYSQL_REPLICA_URL",
            "terrace_test_mysql_replica",
        ),
    ] {
        println!("cargo::rustc-check-cfg=cfg({cfg})");
        println!("cargo::rerun-if-env-changed={var}");
        if std::env::var_os(var).is_some_and(|url| !url.is_empty()) {
            println!("cargo::rustc-cfg={cfg}");
        }
    }
}
