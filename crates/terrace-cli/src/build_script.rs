//! The line `terrace init` gives a cargo package's build script, so that cargo rebuilds
//! the crate when a migration file is added and `embed_migrations!` embeds it.
//!
//! What to do is decided first ([`plan`], which writes nothing); [`Plan::write`] then
//! writes the one file. A build script is only ever added to at the start of its
//! `main`, and only when it has exactly one: anything else is refused with the line to
//! add by hand.

use crate::failure::Failure;
use anyhow::Context;
use std::path::{Path, PathBuf};
use terrace::format::build_script::{self, BuildScript};

/// What `init` does about the build script.
#[derive(Debug)]
pub enum Plan {
    /// The folder is not inside a cargo package (no `Cargo.toml` with a `[package]`
    /// table in it or above it).
    NoPackage,
    /// The build script already watches the folder or a folder above it.
    Watched {
        /// The build script, relative to the current folder where it is below it.
        script: PathBuf,
    },
    /// Write the build script.
    Write {
        /// Where.
        script: PathBuf,
        /// Its whole new text.
        text: String,
        /// Whether the file is new.
        created: bool,
        /// The line added.
        line: String,
        /// Whether the script printed no `rerun-if-changed` before: cargo reran it on
        /// any change in the package, and from now on only on the folder's.
        narrows: bool,
    },
}

/// Decides what to do for the migrations folder `dir` (relative to the current folder
/// or absolute; it need not exist yet). Refuses, writing nothing, when the package's
/// build script cannot be added to safely.
pub fn plan(dir: &Path) -> anyhow::Result<Plan> {
    let cwd = std::env::current_dir().context("cannot read the current folder")?;
    let folder = absolute(&cwd.join(dir));
    let Some(package) = package_of(&folder) else {
        return Ok(Plan::NoPackage);
    };
    let relative = build_script::relative_to(&package, &folder)
        .ok_or_else(|| Failure::refused(format!("{} is not a UTF-8 path", folder.display())))?;
    let line = build_script::rerun_line(&relative);
    let shown = |path: &Path| path.strip_prefix(&cwd).unwrap_or(path).to_path_buf();
    let script = match build_script::build_script(&package) {
        BuildScript::Disabled => {
            return Err(Failure::refused(format!(
                "{} sets `build = false`, so no build script can watch {relative}/",
                shown(&package.join("Cargo.toml")).display()
            ))
            .hint(format!(
                "give the package a build script whose main runs `{line}`, or run `terrace init --no-build-rs`"
            ))
            .into());
        }
        BuildScript::File { path, .. } => path,
    };
    let existing = match std::fs::read_to_string(&script) {
        Ok(text) => Some(text),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => None,
        Err(err) => {
            return Err(err).with_context(|| format!("cannot read {}", script.display()));
        }
    };
    let Some(existing) = existing else {
        return Ok(Plan::Write {
            script: shown(&script),
            text: new_script(&relative, &line),
            created: true,
            line,
            narrows: false,
        });
    };
    if build_script::watches(&existing, &package, &folder) {
        return Ok(Plan::Watched {
            script: shown(&script),
        });
    }
    let text = add_line(&existing, &line).map_err(|why| {
        Failure::refused(format!(
            "cannot add the line to {} safely: {why}",
            shown(&script).display()
        ))
        .hint(format!(
            "add `{line}` to its main yourself, or run `terrace init --no-build-rs`"
        ))
    })?;
    Ok(Plan::Write {
        script: shown(&script),
        text,
        created: false,
        line,
        narrows: build_script::watched_paths(&existing).is_empty(),
    })
}

impl Plan {
    /// Writes what the plan says, if anything.
    pub fn write(&self) -> anyhow::Result<()> {
        if let Plan::Write { script, text, .. } = self {
            std::fs::write(script, text)
                .with_context(|| format!("cannot write {}", script.display()))?;
        }
        Ok(())
    }
}

/// A build script of its own for a package that has none.
fn new_script(relative: &str, line: &str) -> String {
    format!(
        "//! Written by `terrace init`: cargo reruns this script, and so rebuilds the crate,
//! when a file in {relative}/ is added, removed or changed, so that
//! `terrace::embed_migrations!` embeds a new migration without further ado.
fn main() {{
    {line}
}}
"
    )
}

/// `text` with `line` as the first statement of its `main`. Refused unless the text has
/// exactly one `fn main(` outside `//` comments, followed by its body's `{`.
fn add_line(text: &str, line: &str) -> Result<String, &'static str> {
    let mains: Vec<usize> = text
        .match_indices("fn main(")
        .map(|(at, _)| at)
        .filter(|&at| {
            let start = text[..at].rfind('\n').map_or(0, |n| n + 1);
            !text[start..at].contains("//")
        })
        .collect();
    let at = match mains[..] {
        [] => return Err("it has no `fn main`"),
        [at] => at,
        _ => return Err("it has more than one `fn main`"),
    };
    let Some(open) = text[at..].find('{').map(|i| at + i) else {
        return Err("its `fn main` has no body");
    };
    if text[at..open].contains(';') {
        return Err("its `fn main` has no body");
    }
    // The indentation of the body's first line, else four spaces past `fn main`'s.
    let line_start = text[..at].rfind('\n').map_or(0, |n| n + 1);
    let outer: String = text[line_start..]
        .chars()
        .take_while(|c| *c == ' ' || *c == '\t')
        .collect();
    let after = &text[open + 1..];
    let indent = match after
        .strip_prefix('\n')
        .or_else(|| after.strip_prefix("\r\n"))
    {
        Some(body) if !body.trim_start().starts_with('}') => body
            .chars()
            .take_while(|c| *c == ' ' || *c == '\t')
            .collect(),
        _ => format!("{outer}    "),
    };
    let newline = if text.contains("\r\n") { "\r\n" } else { "\n" };
    let mut out = String::with_capacity(text.len() + line.len() + 8);
    out.push_str(&text[..=open]);
    out.push_str(newline);
    out.push_str(&indent);
    out.push_str(line);
    if !after.starts_with('\n') && !after.starts_with("\r\n") {
        out.push_str(newline);
        out.push_str(&outer);
    }
    out.push_str(after);
    Ok(out)
}

/// The folder of the nearest `Cargo.toml` in or above `folder`, if it is a package's
/// (a virtual workspace manifest has no `[package]` table).
fn package_of(folder: &Path) -> Option<PathBuf> {
    let manifest_dir = folder
        .ancestors()
        .find(|dir| dir.join("Cargo.toml").is_file())?;
    let manifest = std::fs::read_to_string(manifest_dir.join("Cargo.toml")).ok()?;
    manifest
        .lines()
        .any(|line| {
            line.trim()
                .trim_start_matches('[')
                .trim_end_matches(']')
                .trim()
                == "package"
                && line.trim().starts_with('[')
        })
        .then(|| manifest_dir.to_path_buf())
}

/// `path` with its longest existing ancestor canonicalised (links resolved), so that
/// it compares with the package's folder whether or not it exists yet.
fn absolute(path: &Path) -> PathBuf {
    for ancestor in path.ancestors() {
        if let Ok(real) = ancestor.canonicalize() {
            let rest = path.strip_prefix(ancestor).unwrap_or(Path::new(""));
            return real.join(rest);
        }
    }
    path.to_path_buf()
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINE: &str = "println!(\"cargo:rerun-if-changed=migrations\");";

    #[test]
    fn the_line_opens_main() {
        let text = "use std::env;\n\nfn main() {\n    let a = 1;\n}\n";
        assert_eq!(
            add_line(text, LINE).unwrap(),
            format!("use std::env;\n\nfn main() {{\n    {LINE}\n    let a = 1;\n}}\n")
        );
        let one_line = "fn main() { other(); }\n";
        assert_eq!(
            add_line(one_line, LINE).unwrap(),
            format!("fn main() {{\n    {LINE}\n other(); }}\n")
        );
        let empty = "fn main() {\n}\n";
        assert_eq!(
            add_line(empty, LINE).unwrap(),
            format!("fn main() {{\n    {LINE}\n}}\n")
        );
        let result = "fn main() -> Result<(), Box<dyn std::error::Error>> {\r\n\tgo()\r\n}\r\n";
        assert_eq!(
            add_line(result, LINE).unwrap(),
            format!(
                "fn main() -> Result<(), Box<dyn std::error::Error>> {{\r\n\t{LINE}\r\n\tgo()\r\n}}\r\n"
            )
        );
        let commented = "// fn main() { old }\nfn main() {\n    a();\n}\n";
        assert!(
            add_line(commented, LINE)
                .unwrap()
                .contains(&format!("{{\n    {LINE}\n    a();"))
        );
    }

    #[test]
    fn anything_unclear_is_refused() {
        assert_eq!(
            add_line("fn other() {}\n", LINE),
            Err("it has no `fn main`")
        );
        assert_eq!(
            add_line(
                "#[cfg(a)]\nfn main() {}\n#[cfg(not(a))]\nfn main() {}\n",
                LINE
            ),
            Err("it has more than one `fn main`")
        );
        assert_eq!(
            add_line("fn main();\n", LINE),
            Err("its `fn main` has no body")
        );
    }
}
