//! `embed_migrations!`: parse the folder, refuse bad files, expand to constructors.
//!
//! Each problem is a `compile_error!` of its own, spanned on the folder argument, whose
//! message starts with the file and line at fault (`migrations/0003_x.sql:12: …`), the
//! form `terrace validate` prints. When the package's build script does not watch the
//! folder, the expansion also uses a deprecated constant whose note says so: the one
//! warning a macro can raise on stable Rust.

use crate::{manifest_dir, respan, string_argument};
use proc_macro::{Delimiter, Literal, Span, TokenStream, TokenTree};
use std::fmt::Write as _;
use std::path::Path;
use terrace_format::MigrationFile;
use terrace_format::build_script::{self, Watch};

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

pub(crate) fn expand(input: TokenStream) -> TokenStream {
    // Errors and the warning point at the folder argument.
    let span = input
        .clone()
        .into_iter()
        .next()
        .map_or_else(Span::call_site, |token| token.span());
    match expand_folder(input, span) {
        Ok(code) => code,
        Err(messages) => errors_at(&messages, span),
    }
}

/// `{ compile_error!("…"); … compile_error!("…") }`, every token spanned at `span`: an
/// expression, so the messages are the only errors shown.
fn errors_at(messages: &[String], span: Span) -> TokenStream {
    let calls: Vec<String> = messages
        .iter()
        .map(|message| format!("::core::compile_error!({})", Literal::string(message)))
        .collect();
    let code = format!("{{ {} }}", calls.join("; "));
    respan(
        code.parse()
            .expect("compile_error! invocations with string literals are valid Rust"),
        span,
    )
}

/// A file's path as errors show it: relative to the package's folder when inside it.
fn shown(file: &MigrationFile, manifest: &Path) -> String {
    file.path
        .strip_prefix(manifest)
        .unwrap_or(&file.path)
        .display()
        .to_string()
}

/// Every problem of the folder's files as `PATH[:LINE]: problem`, the path relative to
/// the package; duplicate versions always; gaps only when no further migrations follow
/// (they may fill them) and every file was read (a file refused may be the missing one).
fn problems(folder: &terrace_format::Folder, manifest: &Path, check_gaps: bool) -> Vec<String> {
    let shown = |file: &MigrationFile| shown(file, manifest);
    let mut messages: Vec<String> = folder
        .problems
        .iter()
        .map(|problem| problem.relative_to(manifest).to_string())
        .collect();
    let check_gaps = check_gaps && messages.is_empty();
    let mut expected = 1u64;
    for (i, file) in folder.files.iter().enumerate() {
        // A squashed baseline stands for the versions its lines list, from 1.
        let start = file
            .sections
            .squashed
            .first()
            .map_or(file.version, |first| first.version.min(file.version));
        match i.checked_sub(1).map(|before| &folder.files[before]) {
            Some(before) if before.version == file.version => messages.push(format!(
                "{}: version {} is used by more than one migration (also by {}); \
                 give this one the next free number",
                shown(file),
                file.version,
                shown(before)
            )),
            _ if check_gaps && start > expected => messages.push(if start - 1 == expected {
                format!(
                    "{}: version {expected} is missing before it: versions must run 1, 2, 3, … \
                     without gaps",
                    shown(file)
                )
            } else {
                format!(
                    "{}: versions {expected} to {} are missing before it: versions must run 1, 2, \
                     3, … without gaps",
                    shown(file),
                    start - 1
                )
            }),
            _ => {}
        }
        expected = file.version.saturating_add(1);
    }
    messages
}

/// The note of the deprecated constant the expansion uses when the package's build
/// script does not watch the folder; `None` when it does.
fn unwatched_note(manifest: &Path, relative: &str) -> Option<String> {
    let folder = build_script::relative_to(manifest, &manifest.join(relative))
        .unwrap_or_else(|| relative.to_owned());
    let line = build_script::rerun_line(&folder);
    let effect = "so a migration file added to it is not embedded until something else \
                  rebuilds this crate";
    match build_script::watch(manifest, Path::new(relative)) {
        Watch::Watched { .. } => None,
        Watch::NotWatched { script } => Some(format!(
            "{folder}/ is not watched by the build script {}, {effect}; run `terrace init`, \
             or add `{line}` to its main",
            script.strip_prefix(manifest).unwrap_or(&script).display()
        )),
        Watch::NoScript { disabled: false } => Some(format!(
            "{folder}/ is not watched by a build script, {effect}; run `terrace init`, or add \
             build.rs beside Cargo.toml with `fn main() {{ {line} }}`"
        )),
        Watch::NoScript { disabled: true } => Some(format!(
            "{folder}/ is not watched: Cargo.toml sets `build = false`, {effect}; give the \
             package a build script with `{line}` in its main"
        )),
    }
}

/// A deprecated constant and a use of it, every token spanned at `span`: the warning
/// `note` shows at the macro's argument.
fn warning_at(note: &str, span: Span) -> TokenStream {
    let code = format!(
        "#[deprecated(note = {})] #[allow(non_upper_case_globals)] \
         const migrations_folder_not_watched: () = (); \
         let _ = migrations_folder_not_watched;",
        Literal::string(note)
    );
    respan(
        code.parse()
            .expect("a deprecated constant and a use of it are valid Rust"),
        span,
    )
}

/// The folder's `terrace.sum`, if it has one, must match its files: one message per
/// difference, `PATH[:LINE]: problem`, the sum file's path relative to the package.
fn sum_problems(dir: &Path, folder: &terrace_format::Folder, manifest: &Path) -> Vec<String> {
    let path = terrace_format::sum::sum_path(dir);
    let shown = path.strip_prefix(manifest).unwrap_or(&path).display();
    terrace_format::check_sum(dir, folder)
        .iter()
        .map(|problem| match problem.line() {
            Some(line) => format!("{shown}:{line}: {problem}"),
            None => format!("{shown}: {problem}"),
        })
        .collect()
}

fn expand_folder(input: TokenStream, span: Span) -> Result<TokenStream, Vec<String>> {
    let (relative, extra) = arguments(input).map_err(|message| vec![message])?;
    let manifest = manifest_dir().map_err(|message| vec![message])?;
    let dir = manifest.join(&relative);
    let folder = terrace_format::read_folder(&dir).map_err(|e| {
        vec![format!(
            "{relative}: cannot read the migrations folder: {e} (the path is relative to {}, \
             the folder of Cargo.toml)",
            manifest.display()
        )]
    })?;
    let mut problems = problems(&folder, &manifest, extra.is_empty());
    problems.extend(sum_problems(&dir, &folder, &manifest));
    if !problems.is_empty() {
        return Err(problems);
    }
    let warning = unwatched_note(&manifest, &relative)
        .map(|note| warning_at(&note, span))
        .unwrap_or_default();
    let mut code = String::from("{ const LIST: &[::terrace::Migration] = &[");
    let mut dependencies = String::new();
    for file in &folder.files {
        let path = file.path.to_str().ok_or_else(|| {
            vec![format!(
                "{}: the path is not valid UTF-8",
                file.path.display()
            )]
        })?;
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
            ".with_embedded_path({})",
            Literal::string(&shown(file, &manifest))
        );
        if !file.sections.squashed.is_empty() {
            // A const item of its own: a borrow in a call's argument would not live on.
            let item = format!("SQUASHED_{}", file.version);
            let _ = write!(
                dependencies,
                "const {item}: &[::terrace::format::Squashed] = &["
            );
            for entry in &file.sections.squashed {
                let _ = write!(
                    dependencies,
                    "::terrace::format::Squashed {{ version: {}, name: \
                     ::std::borrow::Cow::Borrowed({}), checksum: \
                     ::std::borrow::Cow::Borrowed({}) }},",
                    Literal::u64_unsuffixed(entry.version),
                    Literal::string(&entry.name),
                    Literal::string(&entry.checksum)
                );
            }
            dependencies.push_str("];");
            let _ = write!(code, ".with_squashed({item})");
        }
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
    if extra.is_empty() && !folder.files.is_empty() {
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
    let code: TokenStream = code
        .parse()
        .map_err(|e| vec![format!("internal error expanding embed_migrations!: {e:?}")])?;
    // `{ warning code }`: the warning's statements run before the list's block.
    let mut block = warning;
    block.extend(code);
    Ok(TokenStream::from(TokenTree::Group(proc_macro::Group::new(
        Delimiter::Brace,
        block,
    ))))
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
        let problems = |folder| sum_problems(&dir, folder, dir.parent().unwrap());
        assert_eq!(problems(&folder), Vec::<String>::new(), "no sum file");
        terrace_format::write_sum(&dir, &folder).unwrap();
        assert_eq!(problems(&folder), Vec::<String>::new());
        std::fs::write(
            dir.join("0001_create_a.sql"),
            "-- migrate:up\nCREATE TABLE a (y);",
        )
        .unwrap();
        let folder = terrace_format::read_folder(&dir).unwrap();
        let name = dir.file_name().unwrap().to_str().unwrap().to_owned();
        assert_eq!(
            problems(&folder),
            [format!(
                "{name}/terrace.sum: 0001_create_a.sql (version 1) differs from its line; run \
                 `terrace sum` if the change was intended"
            )]
        );
        std::fs::remove_dir_all(dir).unwrap();
    }
}
