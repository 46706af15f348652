//! The rows a migration's up changes on the copy, from a counter the database keeps,
//! read before and after the up (the rehearsal runs the up through the library, so
//! the statements' own counts are out of reach):
//!
//! - **SQLite**: `total_changes()`, the rows the connection's `INSERT`, `UPDATE` and
//!   `DELETE` statements changed, those of triggers included, less the tracking table's
//!   rows the run wrote.
//! - **PostgreSQL** 15 and later: `pg_stat_user_tables`' `n_tup_ins + n_tup_upd +
//!   n_tup_del` per table, the tracking table and its lease table left out, after
//!   `pg_stat_force_next_flush()` has published the session's counts. A table the up
//!   drops is not counted; `TRUNCATE` counts no row.
//! - **MariaDB**: the session's `Handler_write`, `Handler_update` and
//!   `Handler_delete`, less the tracking table's two writes (MariaDB keeps internal
//!   temporary tables apart, in `Handler_tmp_*`). A table an `ALTER TABLE` copies
//!   counts each row it copies.
//!
//! Elsewhere (MySQL, whose handler counters include temporary tables; PostgreSQL
//! before 15, whose counts arrive late) the number is unknown.

use crate::import::foreign::{self, Rows};
use std::collections::HashMap;
use terrace::Connection;
use terrace::format::Dialect;

/// A reading of the counter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Counter {
    /// One number for the session, the tracking table's writes included.
    Session(u64),
    /// A number per table (by its identifier), the tracking table and its lease table
    /// left out.
    Tables(HashMap<String, u64>),
}

/// Reads the counter on the copy, whose tracking table is `table`; `None` where the
/// database keeps none that Terrace can read.
pub(super) fn read(conn: &mut Connection, table: &str) -> Option<Counter> {
    let dialect = foreign::dialect(conn);
    let mut query = |sql: &str| foreign::query(conn, sql).ok();
    match dialect {
        Dialect::Postgres => {
            let ready = query(
                "SELECT (current_setting('server_version_num')::int >= 150000 \
                 AND current_setting('track_counts')::boolean)::text",
            )?;
            if first(&ready)? != "true" {
                return None;
            }
            query("SELECT pg_stat_force_next_flush()::text")?;
            let rows = query(
                "SELECT relid::text, schemaname::text, relname::text, \
                 (n_tup_ins + n_tup_upd + n_tup_del)::text FROM pg_stat_user_tables",
            )?;
            let lease = format!("{table}_lock");
            let mut tables = HashMap::new();
            for row in rows {
                let qualified = format!("{}.{}", row.text(1), row.text(2));
                let name = row.text(2);
                if [name, qualified.as_str()]
                    .iter()
                    .any(|n| *n == table || *n == lease)
                {
                    continue;
                }
                tables.insert(row.text(0).to_owned(), row.text(3).parse().ok()?);
            }
            Some(Counter::Tables(tables))
        }
        Dialect::Mysql => {
            let version = query("SELECT VERSION()")?;
            if !first(&version)?.contains("MariaDB") {
                return None;
            }
            let rows = query(
                "SHOW SESSION STATUS WHERE Variable_name IN \
                 ('Handler_write', 'Handler_update', 'Handler_delete')",
            )?;
            let mut total = 0u64;
            for row in &rows {
                total = total.checked_add(row.text(1).parse().ok()?)?;
            }
            (rows.len() == 3).then_some(Counter::Session(total))
        }
        _ => {
            let rows = query("SELECT CAST(total_changes() AS TEXT)")?;
            first(&rows)?.parse().ok().map(Counter::Session)
        }
    }
}

/// The first cell of the first row.
fn first(rows: &Rows) -> Option<&str> {
    rows.first().and_then(|row| row.get(0))
}

/// The rows changed between two readings: per table, the growth of each table
/// present in `after` (one the up created counted from zero); for a session counter,
/// the growth less `history_writes`, the tracking table's rows the run wrote.
pub(super) fn between(before: &Counter, after: &Counter, history_writes: u64) -> Option<u64> {
    match (before, after) {
        (Counter::Session(before), Counter::Session(after)) => after
            .checked_sub(*before)
            .map(|grown| grown.saturating_sub(history_writes)),
        (Counter::Tables(before), Counter::Tables(after)) => {
            Some(after.iter().fold(0u64, |sum, (table, now)| {
                let was = before.get(table).copied().unwrap_or(0);
                sum.saturating_add(now.saturating_sub(was))
            }))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::{Counter, between};
    use std::collections::HashMap;

    fn tables(counts: &[(&str, u64)]) -> Counter {
        Counter::Tables(
            counts
                .iter()
                .map(|(table, n)| ((*table).to_owned(), *n))
                .collect::<HashMap<_, _>>(),
        )
    }

    #[test]
    fn a_session_counter_loses_the_tracking_tables_writes() {
        assert_eq!(
            between(&Counter::Session(10), &Counter::Session(16), 1),
            Some(5)
        );
        assert_eq!(
            between(&Counter::Session(10), &Counter::Session(12), 2),
            Some(0)
        );
        assert_eq!(
            between(&Counter::Session(10), &Counter::Session(11), 2),
            Some(0)
        );
        assert_eq!(
            between(&Counter::Session(10), &Counter::Session(9), 0),
            None
        );
    }

    #[test]
    fn table_counters_add_each_tables_growth_and_forget_dropped_tables() {
        let before = tables(&[("1", 100), ("2", 7), ("3", 40)]);
        let after = tables(&[("1", 103), ("2", 7), ("4", 2)]);
        assert_eq!(between(&before, &after, 1), Some(5));
        assert_eq!(between(&before, &Counter::Session(3), 0), None);
    }
}
