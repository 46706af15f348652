//! `not-idempotent`: what in a statement cannot run twice with the same result, for a
//! migration whose up marker claims it can (`-- migrate:up idempotent`).

use super::tokens::{Token, Tokens};

/// What in the statement `t` cannot run twice with the same result, if anything: a
/// `CREATE` without `IF NOT EXISTS` (or `OR REPLACE`), a `DROP` without `IF EXISTS`,
/// an `ALTER TABLE` that adds, drops or renames without them, an `INSERT` that does
/// not skip existing rows.
pub(super) fn not_idempotent(t: &Tokens<'_>) -> Option<String> {
    let word = |at: usize| match t.get(at) {
        Some(Token::Word(w)) => w.to_ascii_uppercase(),
        _ => String::new(),
    };
    if t.is(0, "CREATE") {
        let at = t.skip(1, &[&["UNIQUE"], &["TEMP"], &["TEMPORARY"], &["UNLOGGED"]]);
        let guarded = t.is(1, "OR")
            || t.are(at + 1, &["IF", "NOT", "EXISTS"])
            || t.are(at + 2, &["IF", "NOT", "EXISTS"]);
        return (!guarded).then(|| format!("CREATE {} without IF NOT EXISTS", word(at)));
    }
    if t.is(0, "DROP") {
        let guarded = t.are(2, &["IF", "EXISTS"]) || t.are(3, &["IF", "EXISTS"]);
        return (!guarded).then(|| format!("DROP {} without IF EXISTS", word(1)));
    }
    if t.are(0, &["ALTER", "TABLE"]) {
        let at = t.skip(2, &[&["IF", "EXISTS"], &["ONLY"]]);
        let (_, at) = t.name(at)?;
        return t.parts(at, t.len()).into_iter().find_map(|(from, _)| {
            let action = word(from);
            let guarded = match action.as_str() {
                "ADD" => t.are(t.skip(from + 1, &[&["COLUMN"]]), &["IF", "NOT", "EXISTS"]),
                "DROP" => t.are(
                    t.skip(from + 1, &[&["COLUMN"], &["CONSTRAINT"], &["INDEX"]]),
                    &["IF", "EXISTS"],
                ),
                "RENAME" => false,
                _ => true,
            };
            (!guarded).then(|| format!("ALTER TABLE … {action}"))
        });
    }
    if t.is(0, "INSERT") {
        let skips = t.are(1, &["OR", "IGNORE"])
            || t.are(1, &["OR", "REPLACE"])
            || t.is(1, "IGNORE")
            || t.has(1, t.len(), &["ON", "CONFLICT"])
            || t.has(1, t.len(), &["ON", "DUPLICATE", "KEY"])
            || t.has(1, t.len(), &["NOT", "EXISTS"]);
        return (!skips)
            .then(|| "INSERT without ON CONFLICT (or OR IGNORE, or WHERE NOT EXISTS)".to_owned());
    }
    None
}
