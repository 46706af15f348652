//! Compile-time macros for Terrace, re-exported by the `terrace` crate; use them from
//! there.
//!
//! * `embed_migrations!("migrations")` reads a folder of migration files at compile
//!   time (with the same reader the library uses at run time) and expands to a static
//!   `terrace::Migrations`.
//! * `#[migration]` turns a function into a `terrace::CodeFn` whose checksum is the
//!   SHA-256 of the function's tokens, so an edited code migration is detected.
//! * `#[test(migrations = …)]` (as `#[terrace::test]`) makes a test that gets a
//!   freshly migrated database of its own.
//!
//! All are written without `syn` or `quote`: they parse the little they need by hand
//! and emit ordinary calls to the library's `const fn` constructors.

use proc_macro::{Delimiter, Group, Literal, Span, TokenStream, TokenTree};
use std::fmt::Write as _;
use std::path::PathBuf;

mod code;
mod embed;
mod test_attr;

/// Embeds a folder of migration files, read at compile time, as a static
/// `terrace::Migrations`. The path is relative to the crate's `Cargo.toml`. A
/// bracketed list of further migrations (code migrations) may follow:
/// `embed_migrations!("migrations", [Migration::code(4, "backfill_totals", backfill_totals)])`.
///
/// Each malformed file, duplicate version or gap is a compile error of its own that
/// starts with the file and line at fault (`migrations/0003_x.sql:12: …`). Editing a
/// file rebuilds the crate; adding or removing one does only if the package's build
/// script prints `cargo:rerun-if-changed=migrations` (which `terrace init` writes):
/// without it, the expansion uses a deprecated constant, so that the build warns that
/// the folder is not watched (`#[allow(deprecated)]` on the item silences it).
#[proc_macro]
pub fn embed_migrations(input: TokenStream) -> TokenStream {
    embed::expand(input)
}

/// Marks a function `fn(&mut terrace::Db<'_>) -> terrace::CodeResult` as a code
/// migration: it becomes a `terrace::CodeFn` constant of the same name whose checksum
/// covers the function's parameters, return type and body (not its name, comments or
/// formatting).
#[proc_macro_attribute]
pub fn migration(attr: TokenStream, item: TokenStream) -> TokenStream {
    if !attr.is_empty() {
        return compile_error("#[migration] takes no arguments");
    }
    code::expand(item).unwrap_or_else(|message| compile_error(&message))
}

/// Makes a test that gets a freshly migrated database of its own (terrace's `testing`
/// feature): `#[terrace::test(migrations = MIGRATIONS)] fn name(conn: &mut
/// rusqlite::Connection) { … }`. The parameter's type picks the backend
/// (`rusqlite::Connection`, `postgres::Client`, `mysql::Conn`, diesel's connections, or
/// `terrace::Connection` for whichever the URL names); an `async fn` takes an sqlx pool
/// by value or an sqlx connection as `&mut`, and runs on a tokio runtime of its own.
/// `url_env = "VARIABLE"` reads the server URL from that variable instead of
/// `DATABASE_URL`. The database is removed when the test ends, also when it panics. See
/// `terrace::testing`.
#[proc_macro_attribute]
pub fn test(attr: TokenStream, item: TokenStream) -> TokenStream {
    test_attr::expand(attr, item)
}

/// A `compile_error!` invocation. Braces make it valid both where an item is expected
/// (`#[migration]`) and where an expression is (`embed_migrations!`), so the message is
/// the only error shown.
fn compile_error(message: &str) -> TokenStream {
    format!("::core::compile_error! {{ {} }}", Literal::string(message))
        .parse()
        .expect("a compile_error! invocation with a string literal is valid Rust")
}

/// The tokens with every span set to `span`, so that what they cause (an error, a
/// warning) is shown there.
fn respan(tokens: TokenStream, span: Span) -> TokenStream {
    tokens
        .into_iter()
        .map(|mut token| {
            if let TokenTree::Group(group) = &token {
                let mut respanned = Group::new(group.delimiter(), respan(group.stream(), span));
                respanned.set_span(span);
                token = TokenTree::Group(respanned);
            } else {
                token.set_span(span);
            }
            token
        })
        .collect()
}

/// The string literal of a macro's single argument.
fn string_argument(input: TokenStream, usage: &str) -> Result<String, String> {
    let mut tokens = input.into_iter();
    let literal = match (tokens.next(), tokens.next()) {
        (Some(TokenTree::Literal(literal)), None) => literal.to_string(),
        (Some(TokenTree::Group(group)), None) if group.delimiter() == Delimiter::None => {
            return string_argument(group.stream(), usage);
        }
        _ => return Err(format!("expected {usage}")),
    };
    let inner = literal
        .strip_prefix('"')
        .and_then(|l| l.strip_suffix('"'))
        .ok_or_else(|| format!("expected {usage}"))?;
    if inner.contains('\\') {
        return Err("the path may not contain escapes".to_owned());
    }
    Ok(inner.to_owned())
}

/// The folder of the crate being compiled.
fn manifest_dir() -> Result<PathBuf, String> {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .ok_or_else(|| "CARGO_MANIFEST_DIR is not set; build with cargo".to_owned())
}

/// Appends a token tree in a canonical text form: one space between tokens, no
/// comments, delimiters spelled out. Unlike `TokenStream::to_string`, whose spacing may
/// change between compiler releases, this depends only on the tokens.
fn canonical(tokens: TokenStream, out: &mut String) {
    for token in tokens {
        match token {
            TokenTree::Group(group) => {
                let (open, close) = match group.delimiter() {
                    Delimiter::Parenthesis => ("(", ")"),
                    Delimiter::Brace => ("{", "}"),
                    Delimiter::Bracket => ("[", "]"),
                    Delimiter::None => ("", ""),
                };
                out.push_str(open);
                out.push(' ');
                canonical(group.stream(), out);
                out.push_str(close);
            }
            TokenTree::Ident(ident) => {
                let _ = write!(out, "{ident}");
            }
            TokenTree::Punct(punct) => out.push(punct.as_char()),
            TokenTree::Literal(literal) => {
                let _ = write!(out, "{literal}");
            }
        }
        out.push(' ');
    }
}
