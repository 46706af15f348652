//! The server copies made table by table, from the schema `terrace schema dump` reads
//! (`crate::schema`) and the rows:
//!
//! - **PostgreSQL**, when the original cannot be a template (other sessions are
//!   connected to it): its extensions, then the current schema's types, sequences,
//!   functions, tables (the tracking table among them) and indexes, each table's rows
//!   (`COPY … TO STDOUT` from the original, `COPY … FROM STDIN` into the copy, all
//!   read in one repeatable-read transaction), then the foreign keys, views and
//!   triggers, so that no trigger fires on the rows and they go in in any order;
//!   last, each sequence's current value and the column that owns it.
//! - **MySQL**: each table (`SHOW CREATE TABLE`, foreign keys included, with foreign
//!   key checks off, then `INSERT … SELECT` of its columns but the generated ones), the routines (`SHOW CREATE PROCEDURE`,
//!   `SHOW CREATE FUNCTION`, without their `DEFINER`), then the views and triggers.
//!
//! A statement that fails for want of one still to come (a view over a view of a
//! later name, a trigger calling a routine) runs again after the others.

use terrace::BoxError;
#[cfg(feature = "postgres")]
use {
    crate::failure::Failure,
    crate::schema::{catalog, render},
    terrace::Connection,
};

/// Runs every statement, again those that failed while others went through, until
/// all have run or a round makes no progress: then the error of the first that
/// still fails, with the statement.
fn run_all(
    statements: Vec<String>,
    mut run: impl FnMut(&str) -> Result<(), BoxError>,
) -> Result<(), BoxError> {
    let mut pending = statements;
    loop {
        let mut failed = Vec::new();
        let mut first_error = None;
        let before = pending.len();
        for statement in pending {
            if let Err(e) = run(&statement) {
                first_error.get_or_insert_with(|| format!("{}: {e}", first_line(&statement)));
                failed.push(statement);
            }
        }
        match first_error {
            None => return Ok(()),
            Some(error) if failed.len() == before => return Err(error.into()),
            Some(_) => pending = failed,
        }
    }
}

/// A statement's first line, for an error.
fn first_line(statement: &str) -> &str {
    statement.lines().next().unwrap_or(statement).trim()
}

/// A PostgreSQL identifier, quoted.
#[cfg(feature = "postgres")]
pub(super) fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Copies the original's current schema, its rows and its extensions from `source`
/// into `target`, an empty database. The tracking table is copied like any other
/// table, so it must be in the current schema.
#[cfg(feature = "postgres")]
pub(super) fn postgres(
    source: &mut Connection,
    target: &mut Connection,
    tracking: &str,
) -> Result<(), BoxError> {
    let Connection::Postgres(client) = source else {
        return Err("not a PostgreSQL connection".into());
    };
    client.batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")?;
    let current: String = client
        .query_one("SELECT current_schema()::text", &[])?
        .get(0);
    if let Some((schema, _)) = tracking.split_once('.')
        && schema != current
    {
        return Err(Failure::refused(format!(
            "the tracking table {tracking} is outside the current schema {current}, which is all a copy made table by table holds"
        ))
        .into());
    }
    // The schema as `schema dump` reads it has no partitioning: the parent would be
    // made a plain table, and its rows cannot be copied out of it.
    let partitioned: Vec<String> = client
        .query(
            "SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE n.nspname = current_schema() AND (c.relkind = 'p' OR c.relispartition) \
             ORDER BY 1",
            &[],
        )?
        .iter()
        .map(|row| row.get(0))
        .collect();
    if !partitioned.is_empty() {
        return Err(Failure::refused(format!(
            "a copy made table by table cannot hold partitioned tables ({}); copy it as a \
             template instead, once no other session uses the database",
            partitioned.join(", ")
        ))
        .into());
    }
    let extensions: Vec<(String, String)> = client
        .query(
            "SELECT e.extname::text, n.nspname::text FROM pg_extension e \
             JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname <> 'plpgsql' \
             ORDER BY e.oid",
            &[],
        )?
        .iter()
        .map(|row| (row.get(0), row.get(1)))
        .collect();
    // Nothing excluded: the tracking table is copied with the others.
    let schema = catalog::read(source, "")?;
    let Connection::Postgres(from) = source else {
        return Err("not a PostgreSQL connection".into());
    };
    let Connection::Postgres(into) = target else {
        return Err("not a PostgreSQL connection".into());
    };
    let here = quote(&current);
    into.batch_execute(&format!(
        "CREATE SCHEMA IF NOT EXISTS {here}; SET search_path TO {here}"
    ))?;
    for (extension, schema) in &extensions {
        into.batch_execute(&format!(
            "CREATE SCHEMA IF NOT EXISTS {schema}; CREATE EXTENSION IF NOT EXISTS {} WITH SCHEMA {schema}",
            quote(extension),
            schema = quote(schema)
        ))?;
    }
    let restore = render::restore(&schema);
    run_all(restore.before_rows, |sql| Ok(into.batch_execute(sql)?))?;
    for table in &schema.tables {
        let name = format!("{here}.{}", quote(&table.name));
        let mut rows = from.copy_out(&format!("COPY {name} TO STDOUT"))?;
        let mut writer = into.copy_in(&format!("COPY {name} FROM STDIN"))?;
        std::io::copy(&mut rows, &mut writer)?;
        writer.finish()?;
    }
    run_all(restore.after_rows, |sql| Ok(into.batch_execute(sql)?))?;
    sequences(from, into, &here)?;
    from.batch_execute("COMMIT")?;
    // The load's row counts reach the server's statistics now (PostgreSQL 15 and
    // later; an older server refuses the call, which changes nothing), not when this
    // connection's process exits, in the middle of the first migration's count.
    let _ = into.batch_execute("SELECT pg_stat_force_next_flush()");
    Ok(())
}

/// Gives each sequence of the copy the original's value, and the column that owns it
/// (a `serial` column's sequence: the schema dump does not say, and a down dropping
/// the table must drop it too). An identity column's sequence is found by its column.
#[cfg(feature = "postgres")]
fn sequences(
    from: &mut postgres::Client,
    into: &mut postgres::Client,
    here: &str,
) -> Result<(), BoxError> {
    let owned = from.query(
        "SELECT s.relname::text, t.relname::text, a.attname::text, d.deptype::text \
         FROM pg_class s JOIN pg_namespace n ON n.oid = s.relnamespace \
         LEFT JOIN pg_depend d ON d.objid = s.oid AND d.classid = 'pg_class'::regclass \
           AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i') \
         LEFT JOIN pg_class t ON t.oid = d.refobjid \
         LEFT JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid \
         WHERE s.relkind = 'S' AND n.nspname = current_schema()",
        &[],
    )?;
    for row in owned {
        let sequence: String = row.get(0);
        let owner: Option<(String, String)> = row
            .get::<_, Option<String>>(1)
            .zip(row.get::<_, Option<String>>(2));
        let identity = row.get::<_, Option<String>>(3).as_deref() == Some("i");
        let value = from.query_one(
            &format!(
                "SELECT last_value, is_called FROM {here}.{}",
                quote(&sequence)
            ),
            &[],
        )?;
        let (last, called): (i64, bool) = (value.get(0), value.get(1));
        match owner {
            Some((table, column)) if identity => {
                let table = format!("{here}.{}", quote(&table));
                into.execute(
                    "SELECT setval(pg_get_serial_sequence($1, $2), $3, $4)",
                    &[&table, &column, &last, &called],
                )?;
            }
            owner => {
                let name = format!("{here}.{}", quote(&sequence));
                into.execute(
                    "SELECT setval($1::text::regclass, $2, $3)",
                    &[&name, &last, &called],
                )?;
                if let Some((table, column)) = owner {
                    into.batch_execute(&format!(
                        "ALTER SEQUENCE {name} OWNED BY {here}.{}.{}",
                        quote(&table),
                        quote(&column)
                    ))?;
                }
            }
        }
    }
    Ok(())
}

/// Copies the tables, routines, views and triggers of the database `original`, whose
/// schema is `schema`, into the empty database `copy`; `conn` uses it afterwards.
#[cfg(feature = "mysql")]
pub(super) fn mysql(
    conn: &mut mysql::Conn,
    original: &str,
    copy: &str,
    schema: &crate::schema::model::Schema,
) -> Result<(), BoxError> {
    use mysql::prelude::Queryable;
    let tables: Vec<String> = conn.exec(
        "SELECT CAST(TABLE_NAME AS CHAR) FROM information_schema.TABLES \
         WHERE TABLE_SCHEMA = ? AND TABLE_TYPE = 'BASE TABLE' ORDER BY TABLE_NAME",
        (original,),
    )?;
    conn.query_drop(format!("USE {}", backquote(copy)))?;
    conn.query_drop("SET FOREIGN_KEY_CHECKS = 0")?;
    for table in &tables {
        let from = format!("{}.{}", backquote(original), backquote(table));
        let create: Option<(String, String)> =
            conn.query_first(format!("SHOW CREATE TABLE {from}"))?;
        let Some((_, create)) = create else { continue };
        conn.query_drop(create)?;
        // A generated column takes no value: the server computes it again.
        let columns: Vec<String> = conn.exec(
            "SELECT CAST(COLUMN_NAME AS CHAR) FROM information_schema.COLUMNS \
             WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? \
             AND EXTRA NOT LIKE '%VIRTUAL GENERATED%' AND EXTRA NOT LIKE '%STORED GENERATED%' \
             ORDER BY ORDINAL_POSITION",
            (original, table),
        )?;
        let columns: Vec<String> = columns.iter().map(|c| backquote(c)).collect();
        conn.query_drop(format!(
            "INSERT INTO {}.{} ({list}) SELECT {list} FROM {from}",
            backquote(copy),
            backquote(table),
            list = columns.join(", ")
        ))?;
    }
    let routines: Vec<(String, String)> = conn.exec(
        "SELECT CAST(ROUTINE_TYPE AS CHAR), CAST(ROUTINE_NAME AS CHAR) \
         FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = ? ORDER BY ROUTINE_NAME",
        (original,),
    )?;
    let mut statements = Vec::new();
    for (kind, name) in routines {
        let kind = if kind == "FUNCTION" {
            "FUNCTION"
        } else {
            "PROCEDURE"
        };
        let row: Option<mysql::Row> = conn.query_first(format!(
            "SHOW CREATE {kind} {}.{}",
            backquote(original),
            backquote(&name)
        ))?;
        // The statement is the third column; NULL without the privilege to see it.
        let create: Option<String> = row.and_then(|row| row.get_opt(2)).and_then(Result::ok);
        let create = create.ok_or_else(|| {
            format!(
                "cannot read {} {name}: SHOW CREATE {kind} gives no statement",
                kind.to_lowercase()
            )
        })?;
        statements.push(without_definer(&create));
    }
    statements.extend(schema.views.iter().map(|v| v.sql.clone()));
    statements.extend(schema.triggers.iter().map(|t| t.sql.clone()));
    run_all(statements, |sql| Ok(conn.query_drop(sql)?))
}

/// `CREATE DEFINER=user@host PROCEDURE …` as `CREATE PROCEDURE …`: the copy's
/// routines belong to the user making it, who may not name another.
#[cfg(feature = "mysql")]
fn without_definer(create: &str) -> String {
    const PREFIX: &str = "CREATE DEFINER=";
    let Some(rest) = create.strip_prefix(PREFIX) else {
        return create.to_owned();
    };
    let mut quoted = false;
    for (at, c) in rest.char_indices() {
        match c {
            '`' => quoted = !quoted,
            c if c.is_whitespace() && !quoted => return format!("CREATE{}", &rest[at..]),
            _ => {}
        }
    }
    create.to_owned()
}

/// A MySQL identifier, quoted.
#[cfg(feature = "mysql")]
pub(super) fn backquote(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

#[cfg(test)]
mod tests {
    use super::run_all;

    #[test]
    fn statements_that_need_a_later_one_run_after_it() {
        let mut made: Vec<String> = Vec::new();
        let statements = vec!["view b on a".to_owned(), "view a".to_owned()];
        run_all(statements, |sql| {
            if sql == "view b on a" && !made.iter().any(|m| m == "view a") {
                return Err("no view a".into());
            }
            made.push(sql.to_owned());
            Ok(())
        })
        .unwrap();
        assert_eq!(made, ["view a", "view b on a"]);
    }

    #[test]
    fn a_statement_that_never_runs_is_the_error() {
        let error = run_all(vec!["good".to_owned(), "bad\nmore".to_owned()], |sql| {
            if sql.starts_with("bad") {
                Err("broken".into())
            } else {
                Ok(())
            }
        })
        .unwrap_err();
        assert_eq!(error.to_string(), "bad: broken");
    }

    #[cfg(feature = "mysql")]
    #[test]
    fn a_routines_definer_is_left_out() {
        assert_eq!(
            super::without_definer("CREATE DEFINER=`r o`@`%` PROCEDURE `p`() SELECT 1"),
            "CREATE PROCEDURE `p`() SELECT 1"
        );
        assert_eq!(
            super::without_definer("CREATE PROCEDURE p() SELECT 1"),
            "CREATE PROCEDURE p() SELECT 1"
        );
    }
}
