//! `embed_migrations!`: parse the folder, refuse bad files, expand to constructors.

use crate::{manifest_dir, string_argument};
use proc_macro::{Delimiter, Literal, TokenStream, TokenTree};
use std::fmt::Write as _;

const USAGE: &str = "a folder path, optionally followed by a list of further migrations: \
    embed_migrations!(\"migrations\") or embed_migrations!(\"migrations\", [Migration::code(…), …])";

/// Splits the input into the folder path and the tokens of the extra migrations.
fn arguments(input: TokenStream) -> Result<(String, TokenStream), String> {
    let tokens: Vec<TokenTree> = input.into_iter().collect();
    let path = string_argument(tokens.iter().take(1).cloned().collect(), USAGE)?;
    match &tokens[1..] {
        [] => Ok((path, TokenStream::new())),
        [TokenTree::Punct(comma), TokenTree::Group(list)]
        | [
            TokenTree::Punct(comma),
            TokenTree::Group(list),
            TokenTree::Punct(_),
        ] if comma.as_char() == ',' && list.delimiter() == Delimiter::Bracket => {
            Ok((path, list.stream()))
        }
        _ => Err(format!("expected {USAGE}")),
    }
}

/// The folder's `terrace.sum`, if it has one, must match its files: a message naming
/// the sum file and each file that differs otherwise.
fn check_sum(dir: &std::path::Path, folder: &terrace_format::Folder) -> Result<(), String> {
    let problems = terrace_format::check_sum(dir, folder);
    if problems.is_empty() {
        return Ok(());
    }
    let path = terrace_format::sum::sum_path(dir);
    let mut message = format!("{} does not match the migrations:", path.display());
    for problem in &problems {
        let _ = match problem.line() {
            Some(line) => write!(message, "\n  - {}:{line}: {problem}", path.display()),
            None => write!(message, "\n  - {problem}"),
        };
    }
    Err(message)
}

pub(crate) fn expand(input: TokenStream) -> Result<TokenStream, String> {
    let (relative, extra) = arguments(input)?;
    let dir = manifest_dir()?.join(&relative);
    let folder = terrace_format::read_folder(&dir)
        .map_err(|e| format!("cannot read the migrations folder {}: {e}", dir.display()))?;
    if !folder.problems.is_empty() {
        let mut message = String::from("invalid migration files:");
        for problem in &folder.problems {
            let _ = write!(message, "\n  - {problem}");
        }
        return Err(message);
    }
    check_sum(&dir, &folder)?;
    let mut code = String::from("{ const LIST: &[::terrace::Migration] = &[");
    let mut dependencies = String::new();
    for file in &folder.files {
        let path = file
            .path
            .to_str()
            .ok_or_else(|| format!("{}: the path is not valid UTF-8", file.path.display()))?;
        // Tracks the file, so that editing it rebuilds the crate.
        let _ = write!(
            dependencies,
            "const _: &str = ::core::include_str!({});",
            Literal::string(path)
        );
        let _ = write!(
            code,
            "::terrace::Migration::sql({}, {}, {})",
            Literal::u64_unsuffixed(file.version),
            Literal::string(&file.name),
            Literal::string(&file.sections.up)
        );
        if let Some(down) = &file.sections.down {
            let _ = write!(code, ".with_down({})", Literal::string(down));
        } else if file.sections.down_noop {
            code.push_str(".with_noop_down()");
        }
        if !file.sections.transactional {
            code.push_str(".without_transaction()");
        }
        if !file.sections.down_transactional {
            code.push_str(".without_down_transaction()");
        }
        let _ = write!(
            code,
            ".with_file_lines({}, {})",
            Literal::usize_unsuffixed(file.sections.up_line),
            Literal::usize_unsuffixed(file.sections.down_line)
        );
        let _ = write!(
            code,
            ".with_precomputed_checksum({}),",
            Literal::string(&file.checksum)
        );
    }
    // Tracks the sum file too, so that rewriting it checks the folder again.
    let sum = terrace_format::sum::sum_path(&dir);
    if let Some(sum) = sum.to_str().filter(|_| sum.is_file()) {
        let _ = write!(
            dependencies,
            "const _: &str = ::core::include_str!({});",
            Literal::string(sum)
        );
    }
    code.push_str(&extra.to_string());
    code.push_str("]; ");
    code.push_str(&dependencies);
    code.push_str(" ::terrace::Migrations::new(LIST)");
    // With the whole list known here, every cumulative checksum is computed now, so
    // neither the start-up check nor a run hashes at run time. (Extra migrations are
    // expressions this macro cannot evaluate; the library computes them then.)
    let duplicates = folder
        .files
        .windows(2)
        .any(|w| w[0].version == w[1].version);
    if extra.is_empty() && !duplicates && !folder.files.is_empty() {
        code.push_str(".with_precomputed_cumulative_checksums(&[");
        let mut cumulative: Option<String> = None;
        for file in &folder.files {
            let next = terrace_format::cumulative_checksum(
                cumulative.as_deref(),
                file.version,
                &file.name,
                &file.checksum,
            );
            let _ = write!(
                code,
                "({}, {}),",
                Literal::u64_unsuffixed(file.version),
                Literal::string(&next)
            );
            cumulative = Some(next);
        }
        code.push_str("])");
    }
    code.push_str(" }");
    code.parse()
        .map_err(|e| format!("internal error expanding embed_migrations!: {e:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sum_file_that_differs_is_refused_naming_the_file() {
        let dir = std::env::temp_dir().join(format!("terrace-macros-sum-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("0001_create_a.sql"),
            "-- migrate:up\nCREATE TABLE a (x);",
        )
        .unwrap();
        let folder = terrace_format::read_folder(&dir).unwrap();
        assert_eq!(check_sum(&dir, &folder), Ok(()), "no sum file");
        terrace_format::write_sum(&dir, &folder).unwrap();
        assert_eq!(check_sum(&dir, &folder), Ok(()));
        std::fs::write(
            dir.join("0001_create_a.sql"),
            "-- migrate:up\nCREATE TABLE a (y);",
        )
        .unwrap();
        let folder = terrace_format::read_folder(&dir).unwrap();
        let message = check_sum(&dir, &folder).unwrap_err();
        assert_eq!(
            message,
            format!(
                "{}/terrace.sum does not match the migrations:\n  - 0001_create_a.sql (version 1) \
                 differs from its line; run `terrace sum` if the change was intended",
                dir.display()
            )
        );
        std::fs::remove_dir_all(dir).unwrap();
    }
}
