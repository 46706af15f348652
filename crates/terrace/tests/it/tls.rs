//! TLS to the servers: each `sslmode` (PostgreSQL) and `ssl-mode` (MySQL, MariaDB)
//! against the local servers, which serve a certificate for 127.0.0.1 and localhost
//! signed by the CA in `TERRACE_TEST_TLS_CA` (made by `.ci/run`, with a second CA,
//! `other-ca.pem` beside it, that signed nothing of theirs). Each test asks the server
//! whether the session it sees is encrypted, so a test proves TLS was used, not only
//! accepted.
//!
//! A test here is ignored when its server's URL or `TERRACE_TEST_TLS_CA` was not set
//! when the tests were built; under CI `servers_are_configured_under_ci` fails instead.

use crate::backends::{Kind, TestDb};
use std::path::PathBuf;
use terrace::{ConnectOptions, Connection, DatabaseUrl, Error};

/// The CA that signed the servers' certificates.
fn ca() -> String {
    std::env::var("TERRACE_TEST_TLS_CA")
        .expect("TERRACE_TEST_TLS_CA is set: the test was built with it")
}

/// A CA that signed neither server's certificate.
fn other_ca() -> String {
    let path = PathBuf::from(ca()).with_file_name("other-ca.pem");
    assert!(
        path.is_file(),
        "{} is missing: .ci/run makes it beside TERRACE_TEST_TLS_CA",
        path.display()
    );
    path.to_string_lossy().into_owned()
}

/// The URL with query parameters added.
fn with_params(url: &str, params: &str) -> String {
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}{params}")
}

/// The URL with its host replaced.
fn with_host(url: &str, host: &str) -> String {
    let start = url
        .find('@')
        .map_or_else(|| url.find("://").unwrap() + 3, |at| at + 1);
    let end = start + url[start..].find([':', '/']).unwrap();
    format!("{}{host}{}", &url[..start], &url[end..])
}

fn open(url: &str) -> Result<Connection, Error> {
    Connection::open(&DatabaseUrl::parse(url)?, &ConnectOptions::default())
}

/// The error's text and its causes', as the CLI shows them.
fn refusal(url: &str) -> String {
    let err = open(url).err().expect("the connection is refused");
    let mut text = err.to_string();
    let mut source = std::error::Error::source(&err);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// Whether the server sees the session as encrypted.
fn encrypted(url: &str) -> bool {
    match open(url).unwrap_or_else(|e| panic!("{url}: {e}: {:?}", std::error::Error::source(&e))) {
        Connection::Postgres(mut client) => client
            .query_one(
                "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
                &[],
            )
            .unwrap()
            .get::<_, bool>(0),
        Connection::Mysql(mut conn) => {
            let row: Option<(String, String)> =
                mysql::prelude::Queryable::query_first(&mut conn, "SHOW STATUS LIKE 'Ssl_cipher'")
                    .unwrap();
            !row.unwrap().1.is_empty()
        }
        _ => unreachable!("a server URL"),
    }
}

macro_rules! tls_test {
    (postgres, $name:ident, $body:expr) => {
        #[test]
        #[cfg_attr(
            not(all(terrace_test_postgres, terrace_test_tls)),
            ignore = "TERRACE_TEST_POSTGRES_URL or TERRACE_TEST_TLS_CA was not set when the tests were built"
        )]
        fn $name() {
            let db = TestDb::new(Kind::Postgres);
            let body: fn(&str) = $body;
            body(&db.url);
        }
    };
    (mysql, $name:ident, $body:expr) => {
        #[test]
        #[cfg_attr(
            not(all(terrace_test_mysql, terrace_test_tls)),
            ignore = "TERRACE_TEST_MYSQL_URL or TERRACE_TEST_TLS_CA was not set when the tests were built"
        )]
        fn $name() {
            let db = TestDb::new(Kind::Mysql);
            let body: fn(&str) = $body;
            body(&db.url);
        }
    };
}

tls_test!(postgres, postgres_require_encrypts, |url| {
    assert!(encrypted(&with_params(url, "sslmode=require")));
});

tls_test!(
    postgres,
    postgres_prefer_and_the_default_encrypt_when_the_server_can,
    |url| {
        assert!(encrypted(&with_params(url, "sslmode=prefer")));
        assert!(encrypted(url));
    }
);

tls_test!(postgres, postgres_disable_does_not_encrypt, |url| {
    assert!(!encrypted(&with_params(url, "sslmode=disable")));
});

tls_test!(
    postgres,
    postgres_verify_full_with_the_ca_encrypts_by_ip_and_by_name,
    |url| {
        let ca = ca();
        for host in ["127.0.0.1", "localhost"] {
            let url = with_params(
                &with_host(url, host),
                &format!("sslmode=verify-full&sslrootcert={ca}"),
            );
            assert!(encrypted(&url), "{url}");
        }
    }
);

tls_test!(
    postgres,
    postgres_verify_full_refuses_a_certificate_another_ca_did_not_sign,
    |url| {
        let other = other_ca();
        let text = refusal(&with_params(
            url,
            &format!("sslmode=verify-full&sslrootcert={other}"),
        ));
        assert!(
            text.contains("the server's certificate is not signed by a trusted CA")
                && text.contains("sslmode=verify-full")
                && text.contains(&other),
            "{text}"
        );
        assert!(
            !text.contains("InvalidCertificate") && !text.contains("UnknownIssuer"),
            "{text}"
        );
        // A root certificate makes `require` check the chain, as libpq does.
        let text = refusal(&with_params(
            url,
            &format!("sslmode=require&sslrootcert={other}"),
        ));
        assert!(
            text.contains("not signed by a trusted CA") && text.contains("sslmode=require"),
            "{text}"
        );
    }
);

tls_test!(
    postgres,
    postgres_verify_full_without_a_root_certificate_is_refused,
    |url| {
        let text = refusal(&with_params(url, "sslmode=verify-full"));
        assert!(
            text.contains("sslmode=verify-full") && text.contains("sslrootcert"),
            "{text}"
        );
        // The system's CAs (where the machine has the usual bundle) did not sign ours.
        if std::path::Path::new("/etc/ssl/certs/ca-certificates.crt").is_file() {
            let text = refusal(&with_params(url, "sslrootcert=system"));
            assert!(
                text.contains("the server's certificate is not signed by a trusted CA (sslmode=verify-full (as sslrootcert=system implies), sslrootcert=system)"),
                "{text}"
            );
        }
    }
);

tls_test!(
    postgres,
    postgres_verify_ca_checks_the_chain_but_not_the_name,
    |url| {
        let ca = ca();
        // Connect to 127.0.0.1 while naming a host the certificate does not hold.
        let url = with_params(
            &with_host(url, "db.example.invalid"),
            &format!("hostaddr=127.0.0.1&sslrootcert={ca}"),
        );
        assert!(encrypted(&with_params(&url, "sslmode=verify-ca")));
        let text = refusal(&with_params(&url, "sslmode=verify-full"));
        assert!(
            text.contains(
                "not valid for the host name db.example.invalid (it names 127.0.0.1, localhost;"
            ) && text.contains("sslmode=verify-full"),
            "{text}"
        );
        let other = other_ca();
        let text = refusal(&with_params(
            &with_host(url.split('?').next().unwrap(), "127.0.0.1"),
            &format!("sslmode=verify-ca&sslrootcert={other}"),
        ));
        assert!(text.contains("not signed by a trusted CA"), "{text}");
    }
);

tls_test!(
    postgres,
    postgres_a_missing_root_certificate_file_is_named,
    |url| {
        let text = refusal(&with_params(
            url,
            "sslmode=verify-full&sslrootcert=/nonexistent/root.crt",
        ));
        assert!(
            text.contains(
                "cannot read the root certificate file /nonexistent/root.crt (sslrootcert)"
            ),
            "{text}"
        );
    }
);

tls_test!(mysql, mysql_required_encrypts, |url| {
    assert!(encrypted(&with_params(url, "ssl-mode=REQUIRED")));
    assert!(encrypted(&with_params(url, "sslmode=required")));
});

tls_test!(mysql, mysql_preferred_encrypts_when_the_server_can, |url| {
    assert!(encrypted(&with_params(
        url,
        "ssl-mode=PREFERRED&prefer_socket=false"
    )));
});

tls_test!(mysql, mysql_disabled_does_not_encrypt, |url| {
    assert!(!encrypted(&with_params(
        url,
        "ssl-mode=DISABLED&prefer_socket=false"
    )));
});

tls_test!(
    mysql,
    mysql_verify_identity_with_the_ca_encrypts_by_ip_and_by_name,
    |url| {
        let ca = ca();
        for host in ["127.0.0.1", "localhost"] {
            let url = with_params(
                &with_host(url, host),
                &format!("ssl-mode=VERIFY_IDENTITY&ssl-ca={ca}"),
            );
            assert!(encrypted(&url), "{url}");
        }
        assert!(encrypted(&with_params(
            url,
            &format!("ssl-mode=verify_ca&ssl-ca={ca}")
        )));
    }
);

tls_test!(
    mysql,
    mysql_verify_identity_refuses_a_certificate_another_ca_did_not_sign,
    |url| {
        let other = other_ca();
        for mode in ["VERIFY_IDENTITY", "VERIFY_CA"] {
            let text = refusal(&with_params(
                url,
                &format!("ssl-mode={mode}&ssl-ca={other}"),
            ));
            assert!(
                text.contains("the server's certificate is not signed by a trusted CA")
                    && text.contains(&format!("ssl-mode={mode}"))
                    && text.contains(&other),
                "{text}"
            );
            assert!(
                !text.contains("IoError") && !text.contains("UnknownIssuer"),
                "{text}"
            );
        }
        // Without ssl-ca, the built-in public CAs do not know ours either.
        let text = refusal(&with_params(url, "ssl-mode=VERIFY_IDENTITY"));
        assert!(
            text.contains("not signed by a trusted CA") && text.contains("ssl-ca"),
            "{text}"
        );
    }
);

tls_test!(mysql, mysql_a_ca_file_that_is_not_pem_is_named, |url| {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ca.pem");
    std::fs::write(&path, "not a certificate\n").unwrap();
    let text = refusal(&with_params(
        url,
        &format!("ssl-mode=VERIFY_CA&ssl-ca={}", path.display()),
    ));
    assert!(
        text.contains(&format!("{} (ssl-ca) holds no certificate", path.display())),
        "{text}"
    );
});

tls_test!(mysql, mysql_a_missing_ca_file_is_named, |url| {
    let text = refusal(&with_params(
        url,
        "ssl-mode=VERIFY_CA&ssl-ca=/nonexistent/ca.pem",
    ));
    assert!(
        text.contains("cannot read the CA certificate file /nonexistent/ca.pem (ssl-ca)"),
        "{text}"
    );
});

#[test]
fn an_unknown_mode_is_refused_naming_the_setting_and_the_accepted_values() {
    let err = DatabaseUrl::parse("postgres://app:hunter2@db/app?sslmode=verify").unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, Error::UnsupportedUrl { .. }), "{err:?}");
    assert!(
        text.contains("sslmode")
            && text.contains("'verify'")
            && text.contains("verify-full")
            && text.contains("disable")
            && !text.contains("hunter2"),
        "{text}"
    );
    let text = DatabaseUrl::parse("mysql://root@db/app?ssl-mode=ON")
        .unwrap_err()
        .to_string();
    assert!(
        text.contains("ssl-mode") && text.contains("'ON'") && text.contains("VERIFY_IDENTITY"),
        "{text}"
    );
    let text = DatabaseUrl::parse("postgres://db/app?sslrootcert=")
        .unwrap_err()
        .to_string();
    assert!(text.contains("sslrootcert"), "{text}");
}

#[test]
#[cfg_attr(
    not(all(terrace_test_postgres, terrace_test_tls)),
    ignore = "TERRACE_TEST_POSTGRES_URL or TERRACE_TEST_TLS_CA was not set when the tests were built"
)]
fn postgres_scram_with_channel_binding_works_over_tls() {
    // `.ci/run` makes the role `terrace_scram`, which logs in over TLS with a SCRAM
    // password; `channel_binding=require` fails unless SCRAM-SHA-256-PLUS binds the
    // authentication to this TLS session.
    let server = std::env::var("TERRACE_TEST_POSTGRES_URL")
        .expect("TERRACE_TEST_POSTGRES_URL is set: the test was built with it");
    let at = server.find('@').unwrap();
    let host_and_db = &server[at..];
    let url = |password: &str, params: &str| {
        with_params(
            &format!("postgres://terrace_scram:{password}{host_and_db}"),
            params,
        )
    };
    for params in [
        "sslmode=require&channel_binding=require",
        &format!(
            "sslmode=verify-full&sslrootcert={}&channel_binding=require",
            ca()
        ),
    ] {
        assert!(encrypted(&url("terrace-scram", params)), "{params}");
    }
    let text = refusal(&url(
        "wrong-password",
        "sslmode=require&channel_binding=require",
    ));
    assert!(
        text.contains("password authentication failed") && !text.contains("wrong-password"),
        "{text}"
    );
}
