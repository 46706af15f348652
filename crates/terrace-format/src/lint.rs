//! `terrace lint`: rules that read a migration's SQL and report what is risky to run
//! on a live database — a missing down section, destructive statements, DDL that
//! locks or rewrites a busy table — each with a stable code, a severity and the safe
//! alternative. docs/lint.md lists the rules.
//!
//! The rules read text only, never a database: a table is "existing" unless an
//! earlier statement of the same migration's up section created it. Only up sections
//! are read (a down section's `DROP` is the expected inverse of a `CREATE`), except
//! for suppressions, which are checked everywhere.
//!
//! A migration whose up marker says `idempotent` is held to it: each statement must be
//! safe to run twice (`not-idempotent`).
//!
//! A finding is suppressed by a comment naming its code,
//! `-- terrace:allow CODE[, CODE] [reason]`, on a line between the end of the
//! statement before and the end of the statement (so the line before it, or the end
//! of its own line), or, for the whole file, in the comments before `-- migrate:up`.
//! A suppression naming no known code is itself a finding (`unknown-suppression`).
//!
//! ```
//! use terrace_format::lint::{lint, Rule};
//! use terrace_format::{parse_sections, Dialect};
//! let text = "-- migrate:up\nCREATE INDEX orders_user ON orders (user_id);\n\
//!             -- migrate:down\nDROP INDEX orders_user;\n";
//! let sections = parse_sections(text).unwrap();
//! let findings = lint(text, &sections, Dialect::Postgres);
//! assert_eq!(findings[0].rule, Rule::PgIndexNotConcurrent);
//! assert_eq!(findings[0].line, 2);
//! ```

mod idempotent;
mod rules;
mod tokens;

use crate::sections::{Sections, lines, up_marker_line};
use crate::statements::{Dialect, split_statements};
use std::fmt;

/// How much a finding matters: an error fails `terrace lint`, a warning does not
/// (unless warnings are denied).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// Worth a look; does not fail the lint.
    Warning,
    /// Fails the lint.
    Error,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Warning => "warning",
            Severity::Error => "error",
        })
    }
}

/// A lint rule. Its [`code`](Rule::code) is stable: suppressions and scripts use it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Rule {
    /// The migration has no down section (nor `-- migrate:down noop`).
    NoDown,
    /// `DROP TABLE` of a table the migration did not create.
    DropTable,
    /// `ALTER TABLE … DROP [COLUMN]`.
    DropColumn,
    /// `TRUNCATE`.
    Truncate,
    /// PostgreSQL: `CREATE INDEX` without `CONCURRENTLY` on an existing table.
    PgIndexNotConcurrent,
    /// PostgreSQL: `CONCURRENTLY` in a migration that runs in a transaction.
    PgConcurrentlyInTransaction,
    /// PostgreSQL: a foreign key or `CHECK` added without `NOT VALID`.
    PgConstraintNotValid,
    /// PostgreSQL: `ALTER COLUMN … TYPE`.
    PgAlterColumnType,
    /// PostgreSQL: `SET NOT NULL` without a validated `CHECK (col IS NOT NULL)`.
    PgSetNotNull,
    /// PostgreSQL: a new column with a volatile default (or a serial type).
    PgVolatileDefault,
    /// MySQL: `ALTER TABLE` that copies the table.
    MysqlTableCopy,
    /// MySQL: schema changes and data changes in one migration.
    MysqlDdlWithDml,
    /// SQLite: an `ALTER TABLE` form SQLite does not have.
    SqliteAlterUnsupported,
    /// SQLite: `PRAGMA foreign_keys = …` inside a transaction.
    SqlitePragmaForeignKeys,
    /// A statement that fails or changes something when run a second time, in a
    /// migration marked `-- migrate:up idempotent`.
    NotIdempotent,
    /// A suppression comment naming no known rule.
    UnknownSuppression,
}

impl Rule {
    /// Every rule, in the order docs/lint.md lists them.
    pub const ALL: [Rule; 16] = [
        Rule::NoDown,
        Rule::DropTable,
        Rule::DropColumn,
        Rule::Truncate,
        Rule::PgIndexNotConcurrent,
        Rule::PgConcurrentlyInTransaction,
        Rule::PgConstraintNotValid,
        Rule::PgAlterColumnType,
        Rule::PgSetNotNull,
        Rule::PgVolatileDefault,
        Rule::MysqlTableCopy,
        Rule::MysqlDdlWithDml,
        Rule::SqliteAlterUnsupported,
        Rule::SqlitePragmaForeignKeys,
        Rule::NotIdempotent,
        Rule::UnknownSuppression,
    ];

    /// The rule's stable code, such as `pg-index-not-concurrent`.
    pub fn code(self) -> &'static str {
        self.describe().0
    }

    /// The rule's severity.
    pub fn severity(self) -> Severity {
        self.describe().1
    }

    /// The safe way to do what the statement does, in one line.
    pub fn alternative(self) -> &'static str {
        self.describe().2
    }

    /// The rule with this code.
    pub fn from_code(code: &str) -> Option<Rule> {
        Rule::ALL.into_iter().find(|rule| rule.code() == code)
    }

    fn describe(self) -> (&'static str, Severity, &'static str) {
        use Severity::{Error, Warning};
        match self {
            Rule::NoDown => (
                "no-down",
                Warning,
                "write a down section, or `-- migrate:down noop` when undoing needs no SQL",
            ),
            Rule::DropTable => (
                "drop-table",
                Error,
                "stop using the table first, drop it in a later release, and keep a backup; suppress with a reason once that is so",
            ),
            Rule::DropColumn => (
                "drop-column",
                Error,
                "stop reading and writing the column first, drop it in a later release; suppress with a reason once that is so",
            ),
            Rule::Truncate => (
                "truncate",
                Error,
                "delete the rows you mean to delete with DELETE … WHERE, or suppress with a reason",
            ),
            Rule::PgIndexNotConcurrent => (
                "pg-index-not-concurrent",
                Error,
                "use CREATE INDEX CONCURRENTLY in a `-- migrate:up transaction:false` migration",
            ),
            Rule::PgConcurrentlyInTransaction => (
                "pg-concurrently-in-transaction",
                Error,
                "mark the migration `-- migrate:up transaction:false` and keep that statement alone in it",
            ),
            Rule::PgConstraintNotValid => (
                "pg-constraint-not-valid",
                Error,
                "add it NOT VALID, then VALIDATE CONSTRAINT in a later migration (which does not block writes)",
            ),
            Rule::PgAlterColumnType => (
                "pg-alter-column-type",
                Error,
                "add a column of the new type, backfill it in batches, switch readers, then drop the old column",
            ),
            Rule::PgSetNotNull => (
                "pg-set-not-null",
                Error,
                "add CHECK (col IS NOT NULL) NOT VALID, VALIDATE CONSTRAINT it, then SET NOT NULL (PostgreSQL 12+ then skips the scan)",
            ),
            Rule::PgVolatileDefault => (
                "pg-volatile-default",
                Error,
                "add the column without a default, set the default, then backfill existing rows in batches",
            ),
            Rule::MysqlTableCopy => (
                "mysql-table-copy",
                Warning,
                "add ALGORITHM=INPLACE, LOCK=NONE (or INSTANT) so MySQL refuses rather than copies, or use an online schema change tool",
            ),
            Rule::MysqlDdlWithDml => (
                "mysql-ddl-with-dml",
                Error,
                "put the schema change and the data change in separate migrations",
            ),
            Rule::SqliteAlterUnsupported => (
                "sqlite-alter-unsupported",
                Error,
                "rebuild the table: create the new table, copy the rows, drop the old one, rename the new one",
            ),
            Rule::SqlitePragmaForeignKeys => (
                "sqlite-pragma-foreign-keys",
                Error,
                "remove it: Terrace turns foreign key enforcement off while migrating and runs PRAGMA foreign_key_check after each migration",
            ),
            Rule::NotIdempotent => (
                "not-idempotent",
                Error,
                "use IF NOT EXISTS / IF EXISTS / ON CONFLICT DO NOTHING where the dialect has them, or a code migration with the schema helpers, or drop the idempotent marker",
            ),
            Rule::UnknownSuppression => (
                "unknown-suppression",
                Error,
                "name a code from docs/lint.md in `-- terrace:allow CODE`",
            ),
        }
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// One thing a rule found in a migration file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The rule.
    pub rule: Rule,
    /// The line of the file (from 1) the finding is on: where its statement starts.
    pub line: usize,
    /// What is wrong, naming the table or column.
    pub message: String,
}

/// A `-- terrace:allow` comment.
struct Allow {
    line: usize,
    rules: Vec<Rule>,
}

/// Lints one migration file: `text` is the file, `sections` its parsed sections.
/// Findings come in line order, suppressed ones left out.
pub fn lint(text: &str, sections: &Sections, dialect: Dialect) -> Vec<Finding> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let marker = up_marker_line(text).unwrap_or(1);
    let (allows, mut findings) = suppressions(text);
    let file_wide: Vec<Rule> = allows
        .iter()
        .filter(|allow| allow.line < marker)
        .flat_map(|allow| allow.rules.iter().copied())
        .collect();
    let allowed = |rule: Rule, lines: std::ops::RangeInclusive<usize>| {
        file_wide.contains(&rule)
            || allows
                .iter()
                .any(|allow| lines.contains(&allow.line) && allow.rules.contains(&rule))
    };
    if sections.down.is_none() && !sections.down_noop && !allowed(Rule::NoDown, marker..=marker) {
        findings.push(Finding {
            rule: Rule::NoDown,
            line: marker,
            message: "no down section: this migration cannot be rolled back".to_owned(),
        });
    }
    let mut context = rules::Context::new(dialect, sections.transactional, sections.idempotent);
    // Each statement's first line, and the lines whose suppressions apply to it.
    let mut spans = Vec::new();
    let mut previous_end = marker;
    for statement in split_statements(&sections.up, dialect) {
        let line = sections.up_line + statement.line - 1;
        let end = line + lines(statement.text).count().saturating_sub(1);
        // A statement that starts on the line where the one before it ends is
        // suppressed from that line too.
        let span = (previous_end + 1).min(end)..=end;
        for (rule, message) in context.check(statement.text, line) {
            if !allowed(rule, span.clone()) {
                findings.push(Finding {
                    rule,
                    line,
                    message,
                });
            }
        }
        spans.push((line, span));
        previous_end = end;
    }
    for (line, rule, message) in context.finish() {
        let span = spans
            .iter()
            .find(|(start, _)| *start == line)
            .map_or(line..=line, |(_, span)| span.clone());
        if !allowed(rule, span) {
            findings.push(Finding {
                rule,
                line,
                message,
            });
        }
    }
    findings.sort_by_key(|finding| finding.line);
    findings
}

/// The `-- terrace:allow` comments of `text`, and a finding for each code they name
/// that no rule has.
fn suppressions(text: &str) -> (Vec<Allow>, Vec<Finding>) {
    let mut allows = Vec::new();
    let mut unknown = Vec::new();
    for (index, (line, _, _)) in lines(text).enumerate() {
        let Some(at) = line.find("terrace:allow") else {
            continue;
        };
        if !line[..at].trim_end().ends_with("--") {
            continue;
        }
        let number = index + 1;
        let mut rules = Vec::new();
        let mut more = true;
        for word in line[at + "terrace:allow".len()..].split_whitespace() {
            if !more {
                break;
            }
            more = word.ends_with(',');
            for code in word
                .trim_end_matches(':')
                .split(',')
                .filter(|code| !code.is_empty())
            {
                match Rule::from_code(code) {
                    Some(rule) => rules.push(rule),
                    None => unknown.push(Finding {
                        rule: Rule::UnknownSuppression,
                        line: number,
                        message: format!(
                            "'-- terrace:allow' names '{code}', which is no lint rule"
                        ),
                    }),
                }
            }
        }
        if rules.is_empty() && !unknown.iter().any(|f| f.line == number) {
            unknown.push(Finding {
                rule: Rule::UnknownSuppression,
                line: number,
                message: "'-- terrace:allow' names no rule".to_owned(),
            });
        }
        allows.push(Allow {
            line: number,
            rules,
        });
    }
    (allows, unknown)
}

#[cfg(test)]
mod tests;
