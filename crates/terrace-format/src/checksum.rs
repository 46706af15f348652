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
    let digest = Sha256::digest(normalize(text).as_bytes());
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
