//! The checks behind each [`Rule`]: one statement's tokens in, findings out, with what
//! the earlier statements of the same migration created or checked as context.

use super::Rule;
use super::tokens::{Token, Tokens};
use crate::statements::Dialect;
use std::collections::{HashMap, HashSet};

/// What the statements already read in one migration's up section tell the later ones.
pub(super) struct Context {
    dialect: Dialect,
    transactional: bool,
    /// Whether the up marker says `idempotent`.
    idempotent: bool,
    /// Tables created earlier in this migration: not "existing" tables.
    created: HashSet<String>,
    /// `(table, column)` pairs with a validated `CHECK (column IS NOT NULL)`.
    not_null_checked: HashSet<(String, String)>,
    /// `(table, constraint)` of such checks added `NOT VALID`, with their column.
    unvalidated: HashMap<(String, String), String>,
    /// The line of the first DDL and of the first data change (MySQL), and whether the
    /// mix was reported.
    first_ddl: Option<usize>,
    first_dml: Option<usize>,
    mix_reported: bool,
    /// Existing tables dropped, with the line: reported at the end, unless a table
    /// created in the migration was renamed to the name (a table rebuild).
    dropped: Vec<(String, usize)>,
}

/// One finding of a statement, before suppression.
pub(super) type Found = (Rule, String);

impl Context {
    /// The context at the start of an up section.
    pub(super) fn new(dialect: Dialect, transactional: bool, idempotent: bool) -> Context {
        Context {
            dialect,
            transactional,
            idempotent,
            created: HashSet::new(),
            not_null_checked: HashSet::new(),
            unvalidated: HashMap::new(),
            first_ddl: None,
            first_dml: None,
            mix_reported: false,
            dropped: Vec::new(),
        }
    }

    /// Checks one statement, starting at `line` of the file.
    pub(super) fn check(&mut self, text: &str, line: usize) -> Vec<Found> {
        let t = Tokens::new(text, self.dialect);
        let mut found = Vec::new();
        if self.dialect == Dialect::Mysql {
            self.mix(&t, line, &mut found);
        }
        if self.idempotent
            && let Some(what) = super::idempotent::not_idempotent(&t)
        {
            found.push((
                Rule::NotIdempotent,
                format!("the migration is marked idempotent, but {what} fails or changes something when run again"),
            ));
        }
        if t.is(0, "CREATE") {
            self.create(&t, &mut found);
        } else if t.are(0, &["ALTER", "TABLE"]) {
            self.alter_table(&t, &mut found);
        } else if t.are(0, &["DROP", "TABLE"]) {
            let at = t.skip(2, &[&["IF", "EXISTS"]]);
            for (from, to) in t.parts(at, t.len()) {
                if let Some((table, _)) = t.name(from).filter(|_| from < to)
                    && !self.created.contains(&table)
                {
                    self.dropped.push((table, line));
                }
            }
        } else if t.are(0, &["RENAME", "TABLE"]) {
            for (from, _) in t.parts(2, t.len()) {
                if let Some((old, after)) = t.name(from)
                    && t.is(after, "TO")
                    && let Some((new, _)) = t.name(after + 1)
                {
                    self.renamed(&old, new);
                }
            }
        } else if t.is(0, "TRUNCATE") {
            let at = t.skip(1, &[&["TABLE"], &["ONLY"]]);
            let table = t
                .name(at)
                .map_or_else(|| "the table".to_owned(), |(n, _)| n);
            found.push((
                Rule::Truncate,
                format!("TRUNCATE deletes every row of {table}"),
            ));
        } else if t.are(0, &["DROP", "INDEX", "CONCURRENTLY"]) || t.are(0, &["REINDEX"]) {
            self.concurrently_in_transaction(&t, &mut found);
        } else if t.is(0, "PRAGMA") {
            self.pragma(&t, &mut found);
        }
        found
    }

    /// The findings known only at the end of the up section, as `(line, rule,
    /// message)`: tables dropped and not rebuilt.
    pub(super) fn finish(self) -> Vec<(usize, Rule, String)> {
        self.dropped
            .into_iter()
            .map(|(table, line)| {
                let message = format!("DROP TABLE deletes {table} and every row in it");
                (line, Rule::DropTable, message)
            })
            .collect()
    }

    /// Table `old` is renamed `new`: a table created in this migration and renamed over
    /// a dropped one is its rebuild (SQLite's way to change a table), not a loss.
    fn renamed(&mut self, old: &str, new: String) {
        if self.created.contains(old) {
            self.dropped.retain(|(table, _)| *table != new);
            self.created.insert(new);
        }
    }

    fn existing(&self, table: &str) -> bool {
        !self.created.contains(table)
    }

    /// `CREATE TABLE` (remembered) and `CREATE INDEX` (PostgreSQL's lock).
    fn create(&mut self, t: &Tokens<'_>, found: &mut Vec<Found>) {
        let at = t.skip(
            1,
            &[&["OR", "REPLACE"], &["TEMP"], &["TEMPORARY"], &["UNLOGGED"]],
        );
        if t.is(at, "TABLE") {
            let at = t.skip(at + 1, &[&["IF", "NOT", "EXISTS"]]);
            if let Some((table, _)) = t.name(at) {
                self.created.insert(table);
            }
            return;
        }
        let index = t.skip(1, &[&["UNIQUE"]]);
        if self.dialect != Dialect::Postgres || !t.is(index, "INDEX") {
            return;
        }
        self.concurrently_in_transaction(t, found);
        let Some(on) = t.find(index, t.len(), &["ON"]) else {
            return;
        };
        let Some((table, _)) = t.name(t.skip(on + 1, &[&["ONLY"]])) else {
            return;
        };
        if !t.is(index + 1, "CONCURRENTLY") && self.existing(&table) {
            found.push((
                Rule::PgIndexNotConcurrent,
                format!(
                    "CREATE INDEX without CONCURRENTLY blocks writes to {table} while it builds"
                ),
            ));
        }
    }

    /// PostgreSQL refuses `CONCURRENTLY` inside a transaction block.
    fn concurrently_in_transaction(&self, t: &Tokens<'_>, found: &mut Vec<Found>) {
        if self.dialect == Dialect::Postgres
            && self.transactional
            && t.has(0, t.len(), &["CONCURRENTLY"])
        {
            found.push((
                Rule::PgConcurrentlyInTransaction,
                "CONCURRENTLY cannot run inside a transaction, and this migration runs in one"
                    .to_owned(),
            ));
        }
    }

    /// `PRAGMA foreign_keys = …` (SQLite), which does nothing inside a transaction.
    fn pragma(&self, t: &Tokens<'_>, found: &mut Vec<Found>) {
        let Some((name, after)) = t.name(1) else {
            return;
        };
        let sets = t.is_punct(after, '=') || t.is_punct(after, '(');
        if self.dialect == Dialect::Sqlite
            && self.transactional
            && sets
            && (name == "foreign_keys" || name.ends_with(".foreign_keys"))
        {
            found.push((
                Rule::SqlitePragmaForeignKeys,
                "PRAGMA foreign_keys does nothing inside a transaction, and this migration runs in one".to_owned(),
            ));
        }
    }

    /// MySQL: DDL and data changes in one migration.
    fn mix(&mut self, t: &Tokens<'_>, line: usize, found: &mut Vec<Found>) {
        let ddl = ["CREATE", "ALTER", "DROP", "RENAME", "TRUNCATE"]
            .iter()
            .any(|k| t.is(0, k));
        // Filling a table this migration created is part of creating it.
        let dml = ["INSERT", "UPDATE", "DELETE", "REPLACE"]
            .iter()
            .any(|k| t.is(0, k))
            && !dml_target(t).is_some_and(|table| self.created.contains(&table));
        if ddl {
            self.first_ddl.get_or_insert(line);
        }
        if dml {
            self.first_dml.get_or_insert(line);
        }
        if let (Some(ddl_line), Some(dml_line), false) =
            (self.first_ddl, self.first_dml, self.mix_reported)
            && (ddl || dml)
        {
            self.mix_reported = true;
            found.push((
                Rule::MysqlDdlWithDml,
                format!(
                    "this migration changes the schema (line {ddl_line}) and the data (line {dml_line}); \
                     MySQL commits each DDL statement at once, so a failure leaves part of it applied"
                ),
            ));
        }
    }

    /// `ALTER TABLE`: each of its actions.
    fn alter_table(&mut self, t: &Tokens<'_>, found: &mut Vec<Found>) {
        let at = t.skip(2, &[&["IF", "EXISTS"], &["ONLY"]]);
        let Some((table, at)) = t.name(at) else {
            return;
        };
        let at = t.skip(at, &[&["*"]]);
        let parts = t.parts(at, t.len());
        if let [(from, _)] = parts[..]
            && t.is(from, "RENAME")
            && t.is(from + 1, "TO")
            && let Some((new, _)) = t.name(from + 2)
        {
            self.renamed(&table, new);
        }
        if self.dialect == Dialect::Sqlite {
            self.sqlite_alter(t, &table, &parts, found);
        }
        for &(from, to) in &parts {
            self.drop_column(t, &table, from, to, found);
            match self.dialect {
                Dialect::Postgres => self.postgres_action(t, &table, from, to, found),
                Dialect::Mysql => {}
                Dialect::Sqlite => {}
            }
        }
        if self.dialect == Dialect::Mysql && self.existing(&table) {
            mysql_copy(t, &table, &parts, found);
        }
    }

    fn drop_column(
        &self,
        t: &Tokens<'_>,
        table: &str,
        from: usize,
        to: usize,
        found: &mut Vec<Found>,
    ) {
        if !t.is(from, "DROP") || !self.existing(table) {
            return;
        }
        let not_column = [
            "CONSTRAINT",
            "INDEX",
            "KEY",
            "PRIMARY",
            "FOREIGN",
            "CHECK",
            "DEFAULT",
            "PARTITION",
        ];
        if not_column.iter().any(|k| t.is(from + 1, k)) || from + 1 >= to {
            return;
        }
        let at = t.skip(from + 1, &[&["COLUMN"], &["IF", "EXISTS"]]);
        let column = t.name(at).map_or_else(|| "a column".to_owned(), |(n, _)| n);
        found.push((
            Rule::DropColumn,
            format!("DROP COLUMN deletes {column} of {table} and its data"),
        ));
    }

    /// PostgreSQL's locking `ALTER TABLE` actions.
    fn postgres_action(
        &mut self,
        t: &Tokens<'_>,
        table: &str,
        from: usize,
        to: usize,
        found: &mut Vec<Found>,
    ) {
        let existing = self.existing(table);
        if t.is(from, "ADD") {
            let at = t.skip(from + 1, &[&["CONSTRAINT"]]);
            let constraint = t.is(from + 1, "CONSTRAINT").then(|| t.name(at)).flatten();
            let body = constraint.as_ref().map_or(at, |(_, after)| *after);
            let not_valid = t.has(body, to, &["NOT", "VALID"]);
            let is_fk = t.is(body, "FOREIGN");
            let is_check = t.is(body, "CHECK");
            if is_check
                && t.is_punct(body + 1, '(')
                && t.are(body + 3, &["IS", "NOT", "NULL"])
                && t.is_punct(body + 6, ')')
                && let Some((column, _)) = t.name(body + 2)
            {
                if not_valid {
                    if let Some((name, _)) = &constraint {
                        self.unvalidated
                            .insert((table.to_owned(), name.clone()), column);
                    }
                } else {
                    self.not_null_checked.insert((table.to_owned(), column));
                }
            }
            if (is_fk || is_check) && !not_valid && existing {
                let what = if is_fk {
                    "a foreign key"
                } else {
                    "a CHECK constraint"
                };
                found.push((
                    Rule::PgConstraintNotValid,
                    format!("adding {what} without NOT VALID checks every row of {table} while holding a lock that blocks writes"),
                ));
            }
            let column_def = ![
                "CONSTRAINT",
                "FOREIGN",
                "CHECK",
                "PRIMARY",
                "UNIQUE",
                "EXCLUDE",
            ]
            .iter()
            .any(|k| t.is(from + 1, k));
            if column_def && existing && volatile_default(t, from, to) {
                found.push((
                    Rule::PgVolatileDefault,
                    format!("a new column whose value is computed per row (a volatile default, serial, identity or generated column) makes PostgreSQL rewrite {table}, locked, to fill it"),
                ));
            }
        } else if t.is(from, "VALIDATE") && t.is(from + 1, "CONSTRAINT") {
            if let Some((name, _)) = t.name(from + 2)
                && let Some(column) = self.unvalidated.remove(&(table.to_owned(), name))
            {
                self.not_null_checked.insert((table.to_owned(), column));
            }
        } else if t.is(from, "ALTER") && existing {
            let at = t.skip(from + 1, &[&["COLUMN"]]);
            let Some((column, at)) = t.name(at) else {
                return;
            };
            if t.is(at, "TYPE") || t.are(at, &["SET", "DATA", "TYPE"]) {
                found.push((
                    Rule::PgAlterColumnType,
                    format!("changing the type of {table}.{column} may rewrite the table and its indexes under a lock that blocks reads and writes"),
                ));
            } else if t.are(at, &["SET", "NOT", "NULL"])
                && !self
                    .not_null_checked
                    .contains(&(table.to_owned(), column.clone()))
            {
                found.push((
                    Rule::PgSetNotNull,
                    format!("SET NOT NULL scans every row of {table} while holding a lock that blocks reads and writes"),
                ));
            }
        }
    }

    /// SQLite's `ALTER TABLE`: one action of the forms it knows.
    fn sqlite_alter(
        &self,
        t: &Tokens<'_>,
        table: &str,
        parts: &[(usize, usize)],
        found: &mut Vec<Found>,
    ) {
        let problem = if parts.len() > 1 {
            Some("takes one change per ALTER TABLE".to_owned())
        } else {
            let (from, to) = parts[0];
            sqlite_action_problem(t, from, to)
        };
        if let Some(problem) = problem {
            found.push((
                Rule::SqliteAlterUnsupported,
                format!("SQLite's ALTER TABLE {problem} (on {table})"),
            ));
        }
    }
}

/// The table a MySQL data change writes to (`INSERT [IGNORE] INTO t`, `REPLACE INTO t`,
/// `UPDATE t`, `DELETE FROM t`).
fn dml_target(t: &Tokens<'_>) -> Option<String> {
    let at = t.skip(
        1,
        &[
            &["LOW_PRIORITY"],
            &["DELAYED"],
            &["HIGH_PRIORITY"],
            &["QUICK"],
            &["IGNORE"],
            &["INTO"],
            &["FROM"],
        ],
    );
    t.name(at).map(|(table, _)| table)
}

/// Why SQLite cannot run the `ALTER TABLE` action in `from..to`, if it cannot.
fn sqlite_action_problem(t: &Tokens<'_>, from: usize, to: usize) -> Option<String> {
    if t.is(from, "RENAME") || (t.is(from, "DROP") && !t.is(from + 1, "CONSTRAINT")) {
        return None;
    }
    if !t.is(from, "ADD")
        || t.is(from + 1, "CONSTRAINT")
        || t.is(from + 1, "PRIMARY")
        || t.is(from + 1, "FOREIGN")
        || t.is(from + 1, "CHECK")
        || t.is(from + 1, "UNIQUE")
    {
        let form = (from..to.min(from + 2))
            .filter_map(|at| match t.get(at) {
                Some(Token::Word(w)) => Some(w.to_ascii_uppercase()),
                _ => None,
            })
            .collect::<Vec<_>>()
            .join(" ");
        return Some(format!("cannot {form}"));
    }
    if t.has(from, to, &["PRIMARY", "KEY"]) || t.has(from, to, &["UNIQUE"]) {
        return Some("cannot add a PRIMARY KEY or UNIQUE column".to_owned());
    }
    let default = t.find(from, to, &["DEFAULT"]);
    if let Some(at) = default {
        let value = at + 1;
        if t.is_punct(value, '(')
            || ["CURRENT_TIME", "CURRENT_DATE", "CURRENT_TIMESTAMP"]
                .iter()
                .any(|k| t.is(value, k))
        {
            return Some("cannot add a column with a non-constant default".to_owned());
        }
    }
    let null_default = default.is_none_or(|at| t.is(at + 1, "NULL"));
    if t.has(from, to, &["NOT", "NULL"]) && null_default {
        return Some("cannot add a NOT NULL column without a default".to_owned());
    }
    None
}

/// Whether the column added in `from..to` has a value PostgreSQL must compute per row:
/// a volatile default, a serial type's sequence, an identity or a generated column.
fn volatile_default(t: &Tokens<'_>, from: usize, to: usize) -> bool {
    const SERIAL: [&str; 6] = [
        "SERIAL",
        "BIGSERIAL",
        "SMALLSERIAL",
        "SERIAL4",
        "SERIAL8",
        "SERIAL2",
    ];
    const VOLATILE: [&str; 9] = [
        "random",
        "gen_random_uuid",
        "uuid_generate_v1",
        "uuid_generate_v1mc",
        "uuid_generate_v4",
        "clock_timestamp",
        "timeofday",
        "nextval",
        "txid_current",
    ];
    if (from..to).any(|at| SERIAL.iter().any(|k| t.is(at, k)) || t.is(at, "GENERATED")) {
        return true;
    }
    let Some(default) = t.find(from, to, &["DEFAULT"]) else {
        return false;
    };
    (default + 1..to).any(|at| t.is_punct(at + 1, '(') && VOLATILE.iter().any(|k| t.is(at, k)))
}

/// MySQL: an `ALTER TABLE` that copies the table, asked for (`ALGORITHM=COPY`) or
/// implied by its actions when no in-place algorithm is demanded.
fn mysql_copy(t: &Tokens<'_>, table: &str, parts: &[(usize, usize)], found: &mut Vec<Found>) {
    let algorithm = |name: &str| {
        parts.iter().any(|&(from, _)| {
            t.is(from, "ALGORITHM")
                && (t.is(from + 1, name) || (t.is_punct(from + 1, '=') && t.is(from + 2, name)))
        })
    };
    if algorithm("INPLACE") || algorithm("INSTANT") {
        return;
    }
    let copying = parts.iter().find_map(|&(from, _)| {
        [
            &["MODIFY"][..],
            &["CHANGE"],
            &["CONVERT", "TO"],
            &["ADD", "PRIMARY", "KEY"],
            &["DROP", "PRIMARY", "KEY"],
            &["ENGINE"],
            &["ORDER", "BY"],
        ]
        .into_iter()
        .find(|words| t.are(from, words))
    });
    let reason = if algorithm("COPY") {
        "ALGORITHM=COPY".to_owned()
    } else if let Some(words) = copying {
        words.join(" ")
    } else {
        return;
    };
    found.push((
        Rule::MysqlTableCopy,
        format!("{reason} makes MySQL copy {table} row by row, blocking writes to it meanwhile"),
    ));
}
