//! TLS for the server backends: the URL parameters that ask for it, and (with the
//! `tls` feature) the rustls configuration that does it.
//!
//! PostgreSQL URLs take libpq's `sslmode` (`disable`, `prefer`, `require`, `verify-ca`,
//! `verify-full`; `prefer` when absent) and `sslrootcert=PATH` (or `system`). MySQL and
//! MariaDB URLs take `ssl-mode` (`DISABLED`, `PREFERRED`, `REQUIRED`, `VERIFY_CA`,
//! `VERIFY_IDENTITY`, in any case; `PREFERRED` when absent; `sslmode` and `ssl_mode`
//! are the same setting) and `ssl-ca=PATH` (or `ssl_ca`). The drivers know none of
//! these spellings, or only some of their values, so they are taken out of the URL
//! before it is handed to the driver, and the encryption and the checks of the
//! server's certificate are set up here.

use std::path::PathBuf;

/// How much TLS a URL asks for, from least to most.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Mode {
    /// Never encrypt.
    Disable,
    /// Encrypt when the server can, without checking its certificate.
    Prefer,
    /// Encrypt, without checking the certificate unless a CA is given.
    Require,
    /// Encrypt, and check that a trusted CA signed the certificate.
    VerifyCa,
    /// Encrypt, and check the CA and that the certificate names the host.
    VerifyFull,
}

/// Which CAs the server's certificate is checked against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Roots {
    /// None given: for PostgreSQL, libpq's `~/.postgresql/root.crt` when it exists;
    /// for MySQL, the public CAs built into the driver.
    Default,
    /// The CA certificates of a PEM file.
    File(PathBuf),
    /// The operating system's trusted CAs (`sslrootcert=system`).
    System,
}

/// The TLS settings of a server URL, and the URL without them for the driver.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub(crate) mode: Mode,
    pub(crate) roots: Roots,
    /// The URL without the parameters read here.
    pub(crate) driver_url: String,
    /// Whether the URL sets the MySQL driver's `prefer_socket`.
    #[cfg_attr(
        not(feature = "mysql"),
        expect(dead_code, reason = "read for MySQL only")
    )]
    pub(crate) prefer_socket_given: bool,
    /// Whether this is a MySQL URL (for the names in messages).
    mysql: bool,
    /// Whether `sslmode` (or `ssl-mode`) was written, not taken as the default.
    mode_given: bool,
}

/// The accepted values of PostgreSQL's `sslmode`, for messages.
const POSTGRES_MODES: &str = "disable, prefer, require, verify-ca or verify-full";
/// The accepted values of MySQL's `ssl-mode`, for messages.
const MYSQL_MODES: &str = "DISABLED, PREFERRED, REQUIRED, VERIFY_CA or VERIFY_IDENTITY";

impl Settings {
    /// Reads `sslmode` and `sslrootcert` from a PostgreSQL URL.
    pub(crate) fn postgres(url: &str) -> Result<Self, String> {
        let mut mode = None;
        let mut roots = Roots::Default;
        let driver_url = take_parameters(url, |key, value| {
            match key.to_ascii_lowercase().as_str() {
                "sslmode" => {
                    let parsed = match value.to_ascii_lowercase().as_str() {
                        "disable" => Mode::Disable,
                        "prefer" => Mode::Prefer,
                        "require" => Mode::Require,
                        "verify-ca" => Mode::VerifyCa,
                        "verify-full" => Mode::VerifyFull,
                        _ => {
                            return Err(format!(
                                "'{value}' is not a value of the parameter 'sslmode': \
                                 use {POSTGRES_MODES}"
                            ));
                        }
                    };
                    set_once(&mut mode, parsed, "sslmode")?;
                }
                "sslrootcert" => {
                    if roots != Roots::Default {
                        return Err("the parameter 'sslrootcert' is given twice".to_owned());
                    }
                    roots = match value.as_str() {
                        "" => {
                            return Err("the parameter 'sslrootcert' has no value: give the \
                                        path of a PEM file, or 'system'"
                                .to_owned());
                        }
                        "system" => Roots::System,
                        path => Roots::File(PathBuf::from(path)),
                    };
                }
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        let mode_given = mode.is_some();
        // As in libpq: the system's CAs make sense only with the host name checked.
        let mode = match (mode, &roots) {
            (None, Roots::System) => Mode::VerifyFull,
            (Some(weaker), Roots::System) if weaker != Mode::VerifyFull => {
                return Err(format!(
                    "sslrootcert=system needs sslmode=verify-full (not {}): any server can \
                     hold a certificate a public CA signed, so its name must be checked too",
                    postgres_name(weaker)
                ));
            }
            (mode, _) => mode.unwrap_or(Mode::Prefer),
        };
        Ok(Settings {
            mode,
            roots,
            driver_url,
            prefer_socket_given: false,
            mysql: false,
            mode_given,
        })
    }

    /// Reads `ssl-mode` and `ssl-ca` (and their other spellings) from a MySQL URL.
    pub(crate) fn mysql(url: &str) -> Result<Self, String> {
        let mut mode = None;
        let mut roots = Roots::Default;
        let mut prefer_socket_given = false;
        let driver_url = take_parameters(url, |key, value| {
            match key.to_ascii_lowercase().replace('_', "-").as_str() {
                "ssl-mode" | "sslmode" => {
                    let parsed = match value.to_ascii_uppercase().replace('-', "_").as_str() {
                        "DISABLED" => Mode::Disable,
                        "PREFERRED" => Mode::Prefer,
                        "REQUIRED" => Mode::Require,
                        "VERIFY_CA" => Mode::VerifyCa,
                        "VERIFY_IDENTITY" => Mode::VerifyFull,
                        _ => {
                            return Err(format!(
                                "'{value}' is not a value of the parameter 'ssl-mode': \
                                 use {MYSQL_MODES}"
                            ));
                        }
                    };
                    set_once(&mut mode, parsed, "ssl-mode")?;
                }
                "ssl-ca" => {
                    if roots != Roots::Default {
                        return Err("the parameter 'ssl-ca' is given twice".to_owned());
                    }
                    if value.is_empty() {
                        return Err("the parameter 'ssl-ca' has no value: give the path of \
                                    a PEM file"
                            .to_owned());
                    }
                    roots = Roots::File(PathBuf::from(value));
                }
                "prefer-socket" => {
                    prefer_socket_given = true;
                    return Ok(false);
                }
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        Ok(Settings {
            mode_given: mode.is_some(),
            mode: mode.unwrap_or(Mode::Prefer),
            roots,
            driver_url,
            prefer_socket_given,
            mysql: true,
        })
    }

    /// The settings as the user wrote them (or their defaults), for messages:
    /// `sslmode=verify-full, sslrootcert=/etc/ca.pem`.
    pub(crate) fn describe(&self) -> String {
        let default = match (self.mode_given, &self.roots) {
            (true, _) => "",
            (false, Roots::System) => " (as sslrootcert=system implies)",
            (false, _) => " (the default)",
        };
        if self.mysql {
            let mode = match self.mode {
                Mode::Disable => "DISABLED",
                Mode::Prefer => "PREFERRED",
                Mode::Require => "REQUIRED",
                Mode::VerifyCa => "VERIFY_CA",
                Mode::VerifyFull => "VERIFY_IDENTITY",
            };
            let roots = match &self.roots {
                Roots::File(path) => format!("ssl-ca={}", path.display()),
                Roots::Default | Roots::System => {
                    "no ssl-ca: the public CAs built into the driver".to_owned()
                }
            };
            format!("ssl-mode={mode}{default}, {roots}")
        } else {
            let roots = match &self.roots {
                Roots::File(path) => format!(", sslrootcert={}", path.display()),
                Roots::System => ", sslrootcert=system".to_owned(),
                Roots::Default => match default_root_file() {
                    Some(path) if self.mode >= Mode::Prefer => {
                        format!(", root certificate {}", path.display())
                    }
                    _ => String::new(),
                },
            };
            format!("sslmode={}{default}{roots}", postgres_name(self.mode))
        }
    }

    #[cfg(all(feature = "tls", any(feature = "postgres", feature = "mysql")))]
    /// The name of the setting that gives the CAs, for messages.
    fn roots_setting(&self) -> &'static str {
        if self.mysql { "ssl-ca" } else { "sslrootcert" }
    }

    #[cfg(all(feature = "tls", any(feature = "postgres", feature = "mysql")))]
    /// The file of CA certificates to check the server's against, if the mode checks
    /// it and one is given; an error for a mode that checks without any CA to check
    /// against (PostgreSQL's verify modes, as libpq).
    pub(crate) fn root_file(&self) -> Result<Option<PathBuf>, String> {
        match &self.roots {
            Roots::File(path) => Ok(Some(path.clone())),
            Roots::System => Ok(None),
            Roots::Default if self.mysql => Ok(None),
            Roots::Default => match default_root_file() {
                Some(path) if self.mode >= Mode::Prefer => Ok(Some(path)),
                _ if self.mode >= Mode::VerifyCa => Err(format!(
                    "{} checks the server's certificate, and no CA certificate is given to \
                     check it against: add sslrootcert=PATH (a PEM file of the CA that \
                     signed the server's certificate), or sslrootcert=system to trust the \
                     system's CAs",
                    self.describe()
                )),
                _ => Ok(None),
            },
        }
    }

    #[cfg(all(feature = "tls", any(feature = "postgres", feature = "mysql")))]
    /// Reads the CA file given, so that a missing or unreadable one is named before
    /// connecting. Returns its bytes.
    pub(crate) fn read_root_file(&self) -> Result<Option<(PathBuf, Vec<u8>)>, String> {
        let Some(path) = self.root_file()? else {
            return Ok(None);
        };
        let what = if self.mysql {
            "CA certificate"
        } else {
            "root certificate"
        };
        match std::fs::read(&path) {
            Ok(bytes) if bytes.iter().all(u8::is_ascii_whitespace) => Err(format!(
                "the {what} file {} ({}) is empty",
                path.display(),
                self.roots_setting()
            )),
            Ok(bytes) => Ok(Some((path, bytes))),
            Err(e) => Err(format!(
                "cannot read the {what} file {} ({}): {}",
                path.display(),
                self.roots_setting(),
                super::io_reason(&e.to_string())
            )),
        }
    }
}

/// libpq's name of a mode.
fn postgres_name(mode: Mode) -> &'static str {
    match mode {
        Mode::Disable => "disable",
        Mode::Prefer => "prefer",
        Mode::Require => "require",
        Mode::VerifyCa => "verify-ca",
        Mode::VerifyFull => "verify-full",
    }
}

/// libpq's default root certificate file, `~/.postgresql/root.crt`, when it exists.
fn default_root_file() -> Option<PathBuf> {
    let home = std::env::var_os("HOME").filter(|h| !h.is_empty())?;
    let path = PathBuf::from(home).join(".postgresql").join("root.crt");
    path.is_file().then_some(path)
}

fn set_once(slot: &mut Option<Mode>, mode: Mode, name: &str) -> Result<(), String> {
    match slot.replace(mode) {
        Some(_) => Err(format!("the parameter '{name}' is given twice")),
        None => Ok(()),
    }
}

/// The URL without the query parameters `take` keeps (it returns `Ok(true)` for them,
/// given each parameter's name and percent-decoded value).
fn take_parameters(
    url: &str,
    mut take: impl FnMut(&str, String) -> Result<bool, String>,
) -> Result<String, String> {
    let Some((head, query)) = url.split_once('?') else {
        return Ok(url.to_owned());
    };
    let mut kept = Vec::new();
    for parameter in query.split('&') {
        let (key, value) = parameter.split_once('=').unwrap_or((parameter, ""));
        if parameter.is_empty() || !take(key, percent_decode(value))? {
            kept.push(parameter);
        }
    }
    let kept: Vec<&str> = kept.into_iter().filter(|p| !p.is_empty()).collect();
    Ok(if kept.is_empty() {
        head.to_owned()
    } else {
        format!("{head}?{}", kept.join("&"))
    })
}

/// `%2F` and the like decoded; a `%` not followed by two hex digits stays as it is, and
/// so does `+` (as libpq reads URLs).
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| char::from(b).to_digit(16);
        match (bytes[i], bytes.get(i + 1), bytes.get(i + 2)) {
            (b'%', Some(&high), Some(&low)) if hex(high).is_some() && hex(low).is_some() => {
                let value = hex(high).unwrap_or(0) * 16 + hex(low).unwrap_or(0);
                out.push(u8::try_from(value).unwrap_or(b'%'));
                i += 3;
            }
            (byte, _, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Why a server's certificate or the TLS handshake was refused, in plain words, with
/// the settings that asked for the check.
#[cfg(all(feature = "tls", any(feature = "postgres", feature = "mysql")))]
pub(crate) fn refusal(error: &rustls::Error, settings: &Settings) -> String {
    use rustls::{CertificateError, Error};
    let context = settings.describe();
    let certificate = match error {
        Error::InvalidCertificate(certificate) => certificate,
        other => return format!("the TLS handshake failed: {other} ({context})"),
    };
    match certificate {
        CertificateError::UnknownIssuer | CertificateError::BadSignature => {
            format!("the server's certificate is not signed by a trusted CA ({context})")
        }
        CertificateError::NotValidForName => {
            format!("the server's certificate is not valid for the host name ({context})")
        }
        CertificateError::NotValidForNameContext {
            expected,
            presented,
        } => {
            let expected = expected.to_str();
            // rustls gives each name as `DnsName("db")` or `IpAddress(10.0.0.1)`.
            let presented: Vec<&str> = presented
                .iter()
                .map(|name| {
                    let inner = name
                        .split_once('(')
                        .and_then(|(_, rest)| rest.strip_suffix(')'))
                        .unwrap_or(name);
                    inner.trim_matches('"')
                })
                .collect();
            let names = if presented.is_empty() {
                "it names no host".to_owned()
            } else {
                format!("it names {}", presented.join(", "))
            };
            format!(
                "the server's certificate is not valid for the host name {expected} \
                 ({names}; {context})"
            )
        }
        CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
            format!("the server's certificate has expired ({context})")
        }
        CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
            format!("the server's certificate is not valid yet ({context})")
        }
        CertificateError::Revoked => {
            format!("the server's certificate has been revoked ({context})")
        }
        CertificateError::InvalidPurpose | CertificateError::InvalidPurposeContext { .. } => {
            format!("the server's certificate is not one for a TLS server ({context})")
        }
        other => format!(
            "the server's certificate was refused: {} ({context})",
            words(&other.to_string())
        ),
    }
}

/// A reason rustls gives as a variant's name (`BadEncoding`) in words ("bad
/// encoding"); any other text as it is.
#[cfg(all(feature = "tls", any(feature = "postgres", feature = "mysql")))]
fn words(text: &str) -> String {
    if text.is_empty() || !text.chars().all(|c| c.is_ascii_alphanumeric()) {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len() + 4);
    for (i, c) in text.char_indices() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push(' ');
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

/// The rustls error in an error's chain, looking inside I/O errors (the TLS streams
/// report a refused certificate as one).
#[cfg(all(feature = "tls", any(feature = "postgres", feature = "mysql")))]
pub(crate) fn find_rustls_error<'a>(
    error: &'a (dyn std::error::Error + 'static),
) -> Option<&'a rustls::Error> {
    let mut current = Some(error);
    while let Some(error) = current {
        if let Some(found) = error.downcast_ref::<rustls::Error>() {
            return Some(found);
        }
        current = match error
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            // An I/O error's `source` skips the error it wraps.
            Some(inner) => Some(inner),
            None => error.source(),
        };
    }
    None
}

/// The rustls client configuration for a PostgreSQL connection.
#[cfg(all(feature = "tls", feature = "postgres"))]
pub(crate) fn postgres_config(
    settings: &Settings,
) -> Result<std::sync::Arc<rustls::ClientConfig>, String> {
    use std::sync::Arc;
    #[expect(
        deprecated,
        reason = "ring, not aws-lc-rs, keeps the build free of a C library's build; \
                  it lacks only the post-quantum key exchange"
    )]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let roots = match (&settings.roots, settings.read_root_file()?) {
        (_, Some((path, bytes))) => Some(roots_from_pem(&bytes, &path, settings)?),
        (Roots::System, None) => Some(system_roots()?),
        _ => None,
    };
    let verifier: Arc<dyn rustls::client::danger::ServerCertVerifier> = match roots {
        None => Arc::new(verify::Unchecked(provider.clone())),
        Some(roots) => {
            let webpki = rustls::client::WebPkiServerVerifier::builder_with_provider(
                Arc::new(roots),
                provider.clone(),
            )
            .build()
            .map_err(|e| format!("cannot check the server's certificate: {e}"))?;
            if settings.mode == Mode::VerifyFull {
                webpki
            } else {
                Arc::new(verify::ChainOnly(webpki))
            }
        }
    };
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("cannot set up TLS: {e}"))?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    postgres_rustls::set_postgresql_alpn(&mut config);
    Ok(Arc::new(config))
}

/// The CA certificates of a PEM file.
#[cfg(all(feature = "tls", any(feature = "postgres", feature = "mysql")))]
fn roots_from_pem(
    bytes: &[u8],
    path: &std::path::Path,
    settings: &Settings,
) -> Result<rustls::RootCertStore, String> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let shown = format!("{} ({})", path.display(), settings.roots_setting());
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(bytes) {
        let cert = cert.map_err(|e| format!("cannot read the certificates in {shown}: {e}"))?;
        roots
            .add(cert)
            .map_err(|e| format!("{shown} holds a certificate that cannot be used: {e}"))?;
    }
    if roots.is_empty() {
        return Err(format!(
            "{shown} holds no certificate: it must be a PEM file \
             (-----BEGIN CERTIFICATE-----)"
        ));
    }
    Ok(roots)
}

/// The operating system's trusted CAs: the bundle `SSL_CERT_FILE` names, or the first
/// of the usual places that exists.
#[cfg(all(feature = "tls", feature = "postgres"))]
fn system_roots() -> Result<rustls::RootCertStore, String> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    const BUNDLES: &[&str] = &[
        "/etc/ssl/certs/ca-certificates.crt",
        "/etc/pki/tls/certs/ca-bundle.crt",
        "/etc/ssl/ca-bundle.pem",
        "/etc/ssl/cert.pem",
        "/usr/local/etc/openssl/cert.pem",
    ];
    let from_env = std::env::var_os("SSL_CERT_FILE").map(PathBuf::from);
    let candidates = from_env
        .into_iter()
        .chain(BUNDLES.iter().map(PathBuf::from));
    for path in candidates {
        let Ok(bytes) = std::fs::read(&path) else {
            continue;
        };
        let mut roots = rustls::RootCertStore::empty();
        // A bundle may hold a certificate rustls cannot use; the others still count.
        let certs = CertificateDer::pem_slice_iter(&bytes).filter_map(Result::ok);
        roots.add_parsable_certificates(certs);
        if !roots.is_empty() {
            return Ok(roots);
        }
    }
    Err(format!(
        "sslrootcert=system: no CA bundle of the system was found (SSL_CERT_FILE, {}); \
         give the CA's file with sslrootcert=PATH",
        BUNDLES.join(", ")
    ))
}

/// The checks of a server's certificate that rustls does not offer as they are.
#[cfg(all(feature = "tls", feature = "postgres"))]
mod verify {
    use rustls::client::WebPkiServerVerifier;
    use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
    use rustls::crypto::CryptoProvider;
    use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
    use rustls::{CertificateError, DigitallySignedStruct, Error, SignatureScheme};
    use std::sync::Arc;

    /// `prefer` and `require` without a CA: any certificate, as libpq. The handshake's
    /// signatures are still checked, so the session is encrypted with the holder of the
    /// certificate's key.
    #[derive(Debug)]
    pub(super) struct Unchecked(pub(super) Arc<CryptoProvider>);

    impl ServerCertVerifier for Unchecked {
        fn verify_server_cert(
            &self,
            _end_entity: &CertificateDer<'_>,
            _intermediates: &[CertificateDer<'_>],
            _server_name: &ServerName<'_>,
            _ocsp_response: &[u8],
            _now: UnixTime,
        ) -> Result<ServerCertVerified, Error> {
            Ok(ServerCertVerified::assertion())
        }

        fn verify_tls12_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, Error> {
            rustls::crypto::verify_tls12_signature(
                message,
                cert,
                dss,
                &self.0.signature_verification_algorithms,
            )
        }

        fn verify_tls13_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, Error> {
            rustls::crypto::verify_tls13_signature(
                message,
                cert,
                dss,
                &self.0.signature_verification_algorithms,
            )
        }

        fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
            self.0.signature_verification_algorithms.supported_schemes()
        }
    }

    /// `verify-ca`: the chain up to a trusted CA, whatever host the certificate names.
    #[derive(Debug)]
    pub(super) struct ChainOnly(pub(super) Arc<WebPkiServerVerifier>);

    impl ServerCertVerifier for ChainOnly {
        fn verify_server_cert(
            &self,
            end_entity: &CertificateDer<'_>,
            intermediates: &[CertificateDer<'_>],
            server_name: &ServerName<'_>,
            ocsp_response: &[u8],
            now: UnixTime,
        ) -> Result<ServerCertVerified, Error> {
            // The chain is checked before the name: a wrong name means a good chain.
            match self.0.verify_server_cert(
                end_entity,
                intermediates,
                server_name,
                ocsp_response,
                now,
            ) {
                Err(Error::InvalidCertificate(
                    CertificateError::NotValidForName
                    | CertificateError::NotValidForNameContext { .. },
                )) => Ok(ServerCertVerified::assertion()),
                other => other,
            }
        }

        fn verify_tls12_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, Error> {
            self.0.verify_tls12_signature(message, cert, dss)
        }

        fn verify_tls13_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, Error> {
            self.0.verify_tls13_signature(message, cert, dss)
        }

        fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
            self.0.supported_verify_schemes()
        }
    }
}

/// The MySQL driver's TLS options for the settings: `None` for no TLS.
#[cfg(all(feature = "tls", feature = "mysql"))]
pub(crate) fn mysql_ssl_opts(settings: &Settings) -> Result<Option<mysql::SslOpts>, String> {
    if settings.mode == Mode::Disable {
        return Ok(None);
    }
    // The driver builds its rustls configuration with the process's default provider,
    // which rustls cannot choose by itself when an application's dependencies bring in
    // a second one: make it ring, unless the application chose already.
    #[expect(
        deprecated,
        reason = "ring, not aws-lc-rs, keeps the build free of a C library's build; \
                  it lacks only the post-quantum key exchange"
    )]
    let ring = rustls::crypto::ring::default_provider();
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        // Another thread may have installed one meanwhile, which serves as well.
        let _ = ring.install_default();
    }
    let root = match settings.read_root_file()? {
        Some((path, bytes)) => {
            // The driver would take a file that is not PEM for one certificate in DER.
            roots_from_pem(&bytes, &path, settings)?;
            Some(path)
        }
        None => None,
    };
    let checked =
        settings.mode >= Mode::VerifyCa || root.is_some() && settings.mode >= Mode::Require;
    Ok(Some(
        mysql::SslOpts::default()
            .with_root_cert_path(root)
            .with_danger_accept_invalid_certs(!checked)
            .with_danger_skip_domain_validation(settings.mode < Mode::VerifyFull),
    ))
}

/// Without TLS in this build: no TLS options for `DISABLED` and `PREFERRED`, an error
/// for the modes that need it.
#[cfg(all(not(feature = "tls"), feature = "mysql"))]
pub(crate) fn mysql_ssl_opts(settings: &Settings) -> Result<Option<mysql::SslOpts>, String> {
    match settings.mode {
        Mode::Disable | Mode::Prefer => Ok(None),
        _ => Err(format!(
            "this build has no TLS support (enable terrace's 'tls' feature), which the \
             URL asks for ({})",
            settings.describe()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postgres_parameters_are_taken_out_of_the_url() {
        let settings = Settings::postgres(
            "postgres://u:p@db/app?application_name=x&sslmode=verify-full&sslrootcert=%2Fetc%2Fca.pem",
        )
        .unwrap();
        assert_eq!(settings.mode, Mode::VerifyFull);
        assert_eq!(settings.roots, Roots::File(PathBuf::from("/etc/ca.pem")));
        assert_eq!(
            settings.driver_url,
            "postgres://u:p@db/app?application_name=x"
        );
        let settings =
            Settings::postgres("postgres://db/app?sslrootcert=/etc/c+a%20b.pem").unwrap();
        assert_eq!(settings.roots, Roots::File(PathBuf::from("/etc/c+a b.pem")));
        let settings = Settings::postgres("postgres://db/app").unwrap();
        assert_eq!(
            (settings.mode, settings.driver_url.as_str()),
            (Mode::Prefer, "postgres://db/app")
        );
        assert_eq!(
            Settings::postgres("postgres://db/app?sslrootcert=system")
                .unwrap()
                .mode,
            Mode::VerifyFull
        );
        let err =
            Settings::postgres("postgres://db/app?sslrootcert=system&sslmode=require").unwrap_err();
        assert!(err.contains("verify-full"), "{err}");
        let err =
            Settings::postgres("postgres://db/app?sslmode=require&sslmode=disable").unwrap_err();
        assert!(err.contains("twice"), "{err}");
    }

    #[test]
    fn mysql_parameters_in_any_spelling() {
        for url in [
            "mysql://db/app?ssl-mode=verify_identity&ssl-ca=/ca.pem",
            "mysql://db/app?sslmode=VERIFY_IDENTITY&ssl_ca=/ca.pem",
            "mysql://db/app?SSL_MODE=Verify-Identity&ssl-ca=/ca.pem",
        ] {
            let settings = Settings::mysql(url).unwrap();
            assert_eq!(settings.mode, Mode::VerifyFull, "{url}");
            assert_eq!(settings.roots, Roots::File(PathBuf::from("/ca.pem")));
            assert_eq!(settings.driver_url, "mysql://db/app");
        }
        let settings = Settings::mysql("mysql://db/app?prefer_socket=false").unwrap();
        assert_eq!(settings.mode, Mode::Prefer);
        assert!(settings.prefer_socket_given);
        assert_eq!(settings.driver_url, "mysql://db/app?prefer_socket=false");
        assert_eq!(
            Settings::mysql("mysql://db/app?ssl-mode=REQUIRED")
                .unwrap()
                .describe(),
            "ssl-mode=REQUIRED, no ssl-ca: the public CAs built into the driver"
        );
    }

    #[test]
    #[cfg(feature = "tls")]
    fn refusals_say_what_failed_without_the_drivers_names() {
        use rustls::pki_types::ServerName;
        use rustls::{CertificateError, Error};
        let settings =
            Settings::postgres("postgres://db/app?sslmode=verify-full&sslrootcert=/ca.pem")
                .unwrap();
        let refused = |e: CertificateError| refusal(&Error::InvalidCertificate(e), &settings);
        assert_eq!(
            refused(CertificateError::UnknownIssuer),
            "the server's certificate is not signed by a trusted CA \
             (sslmode=verify-full, sslrootcert=/ca.pem)"
        );
        assert_eq!(
            refused(CertificateError::Expired),
            "the server's certificate has expired (sslmode=verify-full, sslrootcert=/ca.pem)"
        );
        let name = refused(CertificateError::NotValidForNameContext {
            expected: ServerName::try_from("db.internal").unwrap(),
            presented: vec![
                "DnsName(\"db2.internal\")".to_owned(),
                "IpAddress(10.0.0.5)".to_owned(),
            ],
        });
        assert_eq!(
            name,
            "the server's certificate is not valid for the host name db.internal \
             (it names db2.internal, 10.0.0.5; sslmode=verify-full, sslrootcert=/ca.pem)"
        );
        assert_eq!(
            refused(CertificateError::BadEncoding),
            "the server's certificate was refused: bad encoding \
             (sslmode=verify-full, sslrootcert=/ca.pem)"
        );
        let settings = Settings::mysql("mysql://db/app?ssl-mode=VERIFY_CA").unwrap();
        assert_eq!(
            refusal(
                &Error::InvalidCertificate(CertificateError::UnknownIssuer),
                &settings
            ),
            "the server's certificate is not signed by a trusted CA \
             (ssl-mode=VERIFY_CA, no ssl-ca: the public CAs built into the driver)"
        );
    }
}
