//! dbmate: `<VERSION>_<NAME>.sql` (the version is the leading digits), each file
//! holding `-- migrate:up` and `-- migrate:down` sections with `transaction:false`
//! options: Terrace's own format, read by Terrace's own parser. `schema_migrations`
//! holds one row per applied version, as text.

use super::foreign::Column;
use super::source::finish;
use super::source::{Down, SourceMigration, leading_digits, list_files, read_text, shown};
use std::path::Path;

/// Reads a dbmate migrations folder, in file name order as dbmate applies them.
pub fn read(dir: &Path) -> Result<Vec<SourceMigration>, Vec<String>> {
    let mut problems = Vec::new();
    let mut list = Vec::new();
    for file in list_files(dir, false)? {
        let file_name = file.to_string_lossy().into_owned();
        let Some(stem) = file_name.strip_suffix(".sql") else {
            continue;
        };
        let (version, rest) = leading_digits(stem);
        if version.is_empty() {
            problems.push(format!(
                "{file_name}: not a dbmate migration name (<VERSION>_<NAME>.sql)"
            ));
            continue;
        }
        let name = rest.trim_start_matches('_');
        let text = match read_text(&dir.join(&file)) {
            Ok(text) => text,
            Err(problem) => {
                problems.push(problem);
                continue;
            }
        };
        let sections = match terrace::format::parse_sections(&text) {
            Ok(sections) => sections,
            Err(err) => {
                let at = err.line().map(|l| format!(":{l}")).unwrap_or_default();
                problems.push(format!("{}{at}: {err}", shown(&file)));
                continue;
            }
        };
        let mut migration = SourceMigration::new(version, name, file, &sections.up);
        migration.up_transactional = sections.transactional;
        migration.down_transactional = sections.down_transactional;
        migration.down = match sections.down {
            Some(sql) => Down::Sql(sql),
            // A down marker with nothing after it: dbmate rolls back by doing nothing.
            None if has_down_marker(&text) => Down::Noop,
            None => Down::None,
        };
        list.push(migration);
    }
    finish(list, problems)
}

/// Whether a line of the text is a `-- migrate:down` marker.
fn has_down_marker(text: &str) -> bool {
    text.lines().any(|line| {
        line.trim()
            .strip_prefix("--")
            .is_some_and(|rest| rest.trim_start().starts_with("migrate:down"))
    })
}

/// The columns `applied` reads, in order.
pub const COLUMNS: &[Column] = &[Column::Text("version")];

/// The order of the table's rows.
pub const ORDER: &str = "version";
