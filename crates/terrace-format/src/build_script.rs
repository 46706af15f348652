//! Whether a package's build script makes cargo rebuild it when a migration file is
//! added.
//!
//! `embed_migrations!` reads its folder at compile time. Cargo recompiles a crate when a
//! file the compiler read changes, so an edited migration is picked up; but a file
//! *added* to the folder was never read, and on stable Rust a macro cannot ask cargo to
//! watch a folder. A build script can: `println!("cargo:rerun-if-changed=migrations");`
//! makes cargo rerun it, and so rebuild the crate, whenever anything in the folder
//! changes. [`watch`] reads the package's build script (the `build` key of
//! `Cargo.toml`, else `build.rs`) for such a line naming the folder or a folder above
//! it; `terrace init` writes the line, and the macro warns when it is missing.
//!
//! The build script is read as text, not run: a line printed with a computed path
//! (`format!`) or through a helper function is not recognised.

use std::path::{Component, Path, PathBuf};

/// The package's build script, as `Cargo.toml` declares it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BuildScript {
    /// The file cargo runs: `build.rs` beside `Cargo.toml` (whether or not it exists
    /// yet), or the file the `build` key names.
    File {
        /// The script's path.
        path: PathBuf,
        /// Whether `Cargo.toml` names it with the `build` key.
        declared: bool,
    },
    /// `build = false`: the package has no build script, whatever files it holds.
    Disabled,
}

/// Whether a folder is watched by its package's build script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Watch {
    /// The build script prints `rerun-if-changed` for the folder or a folder above it.
    Watched {
        /// The build script.
        script: PathBuf,
    },
    /// The build script exists but does not watch the folder.
    NotWatched {
        /// The build script.
        script: PathBuf,
    },
    /// The package has no build script (no file, or `build = false`).
    NoScript {
        /// Whether `Cargo.toml` turns build scripts off with `build = false`.
        disabled: bool,
    },
}

/// The build script of the package whose `Cargo.toml` is in `manifest_dir`. A manifest
/// that cannot be read counts as one without a `build` key.
pub fn build_script(manifest_dir: &Path) -> BuildScript {
    let manifest = std::fs::read_to_string(manifest_dir.join("Cargo.toml")).unwrap_or_default();
    match build_key(&manifest) {
        Some(BuildKey::Off) => BuildScript::Disabled,
        Some(BuildKey::Path(path)) => BuildScript::File {
            path: manifest_dir.join(path),
            declared: true,
        },
        None => BuildScript::File {
            path: manifest_dir.join("build.rs"),
            declared: false,
        },
    }
}

/// Whether the build script of the package in `manifest_dir` watches `folder` (a path
/// relative to `manifest_dir`, or absolute).
pub fn watch(manifest_dir: &Path, folder: &Path) -> Watch {
    let script = match build_script(manifest_dir) {
        BuildScript::Disabled => return Watch::NoScript { disabled: true },
        BuildScript::File { path, .. } => path,
    };
    let Ok(text) = std::fs::read_to_string(&script) else {
        return Watch::NoScript { disabled: false };
    };
    if watches(&text, manifest_dir, folder) {
        Watch::Watched { script }
    } else {
        Watch::NotWatched { script }
    }
}

/// Whether the build script `text`, of the package in `manifest_dir`, prints
/// `rerun-if-changed` for `folder` or a folder above it.
pub fn watches(text: &str, manifest_dir: &Path, folder: &Path) -> bool {
    let folder = normalize(&manifest_dir.join(folder));
    watched_paths(text)
        .iter()
        .any(|watched| folder.starts_with(normalize(&manifest_dir.join(watched))))
}

/// The line a build script's `main` needs so that cargo watches `relative` (a folder
/// relative to the package's `Cargo.toml`, with `/` separators).
pub fn rerun_line(relative: &str) -> String {
    format!("println!(\"cargo:rerun-if-changed={relative}\");")
}

/// `folder` relative to `manifest_dir`, with `/` separators, when it is inside it. Both
/// paths are compared as given (canonicalise them first if they may hold links).
pub fn relative_to(manifest_dir: &Path, folder: &Path) -> Option<String> {
    let relative = normalize(folder)
        .strip_prefix(normalize(manifest_dir))
        .ok()?
        .to_path_buf();
    let parts: Option<Vec<&str>> = relative
        .components()
        .map(|c| c.as_os_str().to_str())
        .collect();
    let parts = parts?;
    Some(if parts.is_empty() {
        ".".to_owned()
    } else {
        parts.join("/")
    })
}

/// The paths a build script's text prints `rerun-if-changed` for, as written, outside
/// `//` comments; a path built with `{}` placeholders is left out.
pub fn watched_paths(text: &str) -> Vec<String> {
    const MARKERS: [(&str, char); 2] = [("rerun-if-changed=", '"'), ("rerun_if_changed(\"", '"')];
    let mut paths = Vec::new();
    for line in text.lines() {
        let code = line.trim_start();
        if code.starts_with("//") {
            continue;
        }
        for (marker, end) in MARKERS {
            let mut rest = code;
            while let Some(at) = rest.find(marker) {
                rest = &rest[at + marker.len()..];
                let path = rest.split(end).next().unwrap_or_default().trim_end();
                if !path.is_empty() && !path.contains('{') && !path.contains('\\') {
                    paths.push(path.to_owned());
                }
            }
        }
    }
    paths
}

/// The `build` key of a manifest's `[package]` table.
#[derive(Debug, PartialEq, Eq)]
enum BuildKey<'a> {
    Off,
    Path(&'a str),
}

/// Reads the `build` key of `[package]` from a manifest's text, line by line: enough
/// for `build = "path"` and `build = false` as cargo's documentation writes them.
/// `build = true` reads as no key (cargo's default, `build.rs`).
fn build_key(manifest: &str) -> Option<BuildKey<'_>> {
    let mut in_package = false;
    for line in manifest.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_package = line.trim_start_matches('[').trim_end_matches(']').trim() == "package";
            continue;
        }
        let key_value = if in_package {
            line.strip_prefix("build")
        } else {
            line.strip_prefix("package.build")
        };
        let Some(value) = key_value.and_then(|rest| rest.trim_start().strip_prefix('=')) else {
            continue;
        };
        let value = value.split('#').next().unwrap_or_default().trim();
        return match value {
            "false" => Some(BuildKey::Off),
            "true" => None,
            quoted => {
                let path = quoted
                    .strip_prefix('"')
                    .and_then(|v| v.strip_suffix('"'))
                    .or_else(|| quoted.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')))?;
                Some(BuildKey::Path(path))
            }
        };
    }
    None
}

/// A path with `.` and `..` resolved by its text alone.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_build_key_is_read_from_the_package_table() {
        for (manifest, key) in [
            ("[package]\nname = \"a\"\n", None),
            ("[package]\nbuild = false\n", Some(BuildKey::Off)),
            ("[package]\nbuild = true\n", None),
            (
                "[package]\nbuild = \"scripts/build.rs\" # mine\n",
                Some(BuildKey::Path("scripts/build.rs")),
            ),
            ("[package]\nbuild='b.rs'\n", Some(BuildKey::Path("b.rs"))),
            ("[package]\nbuild-dependencies = 1\n", None),
            ("[lib]\nbuild = false\n", None),
            ("package.build = false\n", Some(BuildKey::Off)),
            ("[ package ]\nbuild = false\n", Some(BuildKey::Off)),
        ] {
            assert_eq!(build_key(manifest), key, "{manifest}");
        }
    }

    #[test]
    fn watched_paths_are_read_from_print_lines() {
        let text = r#"
fn main() {
    println!("cargo:rerun-if-changed=migrations");
    println!("cargo::rerun-if-changed=db/other");
    // println!("cargo:rerun-if-changed=commented");
    println!("cargo:rerun-if-changed={}", dir);
    build_rs::output::rerun_if_changed("sql");
}
"#;
        assert_eq!(watched_paths(text), ["migrations", "db/other", "sql"]);
    }

    #[test]
    fn a_folder_is_watched_by_itself_or_a_folder_above_it() {
        let root = Path::new("/app");
        let script = "fn main() { println!(\"cargo:rerun-if-changed=./db/\"); }";
        assert!(watches(script, root, Path::new("db/migrations")));
        assert!(watches(script, root, Path::new("./db")));
        assert!(watches(script, root, Path::new("/app/db/migrations")));
        assert!(!watches(script, root, Path::new("migrations")));
        assert!(!watches(script, root, Path::new("dbx/migrations")));
        let outside = "println!(\"cargo:rerun-if-changed=../shared/migrations\");";
        assert!(watches(outside, root, Path::new("../shared/migrations")));
        assert!(!watches(outside, root, Path::new("../shared")));
        assert!(!watches("fn main() {}", root, Path::new("migrations")));
    }

    #[test]
    fn relative_paths_use_slashes() {
        let root = Path::new("/app");
        assert_eq!(
            relative_to(root, Path::new("/app/db/migrations")).as_deref(),
            Some("db/migrations")
        );
        assert_eq!(relative_to(root, Path::new("/app")).as_deref(), Some("."));
        assert_eq!(relative_to(root, Path::new("/other/migrations")), None);
        assert_eq!(
            rerun_line("db/migrations"),
            "println!(\"cargo:rerun-if-changed=db/migrations\");"
        );
    }

    #[test]
    fn the_script_on_disk_decides() {
        let dir = std::env::temp_dir().join(format!("terrace-build-script-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("Cargo.toml"), "[package]\nname = \"a\"\n").unwrap();
        let folder = Path::new("migrations");
        assert_eq!(watch(&dir, folder), Watch::NoScript { disabled: false });
        std::fs::write(dir.join("build.rs"), "fn main() {}\n").unwrap();
        assert_eq!(
            watch(&dir, folder),
            Watch::NotWatched {
                script: dir.join("build.rs")
            }
        );
        std::fs::write(
            dir.join("build.rs"),
            "fn main() { println!(\"cargo:rerun-if-changed=migrations\"); }\n",
        )
        .unwrap();
        assert_eq!(
            watch(&dir, folder),
            Watch::Watched {
                script: dir.join("build.rs")
            }
        );
        std::fs::write(dir.join("Cargo.toml"), "[package]\nbuild = false\n").unwrap();
        assert_eq!(watch(&dir, folder), Watch::NoScript { disabled: true });
        std::fs::remove_dir_all(dir).unwrap();
    }
}
