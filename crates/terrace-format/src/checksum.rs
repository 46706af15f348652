//! Checksums of migration text.
//!
//! A checksum is `sha256:` followed by the lowercase hex SHA-256 of the normalised up
//! text. The prefix records the algorithm, so a later release can change it without
//! every existing database failing validation.

use sha2::{Digest, Sha256};
use std::borrow::Cow;

/// The prefix of every checksum this version of Terrace produces.
pub const CHECKSUM_PREFIX: &str = "sha256:";

/// Normalises migration text: drops a UTF-8 byte-order mark, turns CRLF and lone CR
/// into LF, and trims surrounding whitespace.
///
/// Text that needs no change is borrowed, not copied.
pub fn normalize(text: &str) -> Cow<'_, str> {
    match unify_line_endings(text) {
        Cow::Borrowed(text) => Cow::Borrowed(text.trim()),
        Cow::Owned(text) => Cow::Owned(text.trim().to_owned()),
    }
}

/// Drops a UTF-8 byte-order mark and turns CRLF and lone CR into LF, keeping every
/// line (so line numbers still match the file).
pub fn unify_line_endings(text: &str) -> Cow<'_, str> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text.contains('\r') {
        Cow::Owned(text.replace("\r\n", "\n").replace('\r', "\n"))
    } else {
        Cow::Borrowed(text)
    }
}

/// The checksum of an up section (or of a code migration's tokens): the SHA-256 of the
/// [normalised](normalize) text, as `sha256:<64 hex digits>`.
///
/// ```
/// use terrace_format::checksum;
/// // Line endings, a byte-order mark and surrounding blank lines do not matter.
/// assert_eq!(checksum("CREATE TABLE t (id INTEGER);\n\n"),
///            checksum("\u{feff}CREATE TABLE t (id INTEGER);\r\n"));
/// assert_ne!(checksum("CREATE TABLE t (id INTEGER);"),
///            checksum("CREATE TABLE t (id BIGINT);"));
/// ```
pub fn checksum(text: &str) -> String {
    sha256_hex(&[normalize(text).as_bytes()])
}

/// The cumulative checksum of a migration: a hash of the previous migration's
/// cumulative checksum (`None` for the first) and this migration's version, name and
/// checksum.
///
/// The history row of the newest migration thus summarises every row before it, so
/// one indexed read of that row proves the whole history matches a list of
/// migrations whose cumulative checksum is known ahead (as `embed_migrations!`
/// computes it at build time).
///
/// ```
/// use terrace_format::{checksum, cumulative_checksum};
/// let first = cumulative_checksum(None, 1, "create_projects", &checksum("CREATE TABLE p (id INT);"));
/// let second = cumulative_checksum(Some(&first), 2, "add_base_url", &checksum("ALTER TABLE p ADD u TEXT;"));
/// assert_ne!(first, second);
/// assert!(second.starts_with("sha256:"));
/// ```
pub fn cumulative_checksum(
    previous: Option<&str>,
    version: u64,
    name: &str,
    checksum: &str,
) -> String {
    let version = version.to_string();
    sha256_hex(&[
        previous.unwrap_or("").as_bytes(),
        b"\n",
        version.as_bytes(),
        b"\n",
        name.as_bytes(),
        b"\n",
        checksum.as_bytes(),
    ])
}

/// `sha256:` and the lowercase hex SHA-256 of the concatenated parts.
pub(crate) fn sha256_hex(parts: &[&[u8]]) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part);
    }
    let digest = hasher.finalize();
    let mut out = String::with_capacity(CHECKSUM_PREFIX.len() + 64);
    out.push_str(CHECKSUM_PREFIX);
    for byte in digest {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        out.push(HEX[usize::from(byte >> 4)] as char);
        out.push(HEX[usize::from(byte & 0x0f)] as char);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_vector() {
        // SHA-256 of the empty string.
        assert_eq!(
            checksum("  \n"),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn normalisation() {
        assert_eq!(normalize("\u{feff}a\r\nb\rc\n\n"), "a\nb\nc");
        assert!(matches!(normalize("  a\nb  "), Cow::Borrowed("a\nb")));
    }

    #[test]
    fn inner_whitespace_counts() {
        assert_ne!(checksum("a b"), checksum("a  b"));
        assert_ne!(checksum("a\nb"), checksum("a\n\nb"));
    }
}
