//! Repair's policy: which history rows `repair` may rewrite or clear, and what it must
//! refuse. Pure: it takes the migrations and the rows and returns what to write.
//!
//! Repair accepts what an operator did on purpose — an edited or renamed migration, an
//! interrupted run undone by hand, an interrupted rollback redone by hand — and never
//! makes the history say something that did not happen. It refuses, changing nothing,
//! when a dirty row has applied migrations after it (whether its work is in the
//! database cannot be told) and when the history's migration at a version differs from
//! the file's in both name and checksum (another migration took that number).

use crate::history::{HistoryRow, RowState};
use crate::migration::Migration;
use crate::migrations::NewerApplied;
use crate::report::RepairChange;
use crate::validate::{Problem, check_history, index_by_version};

/// One write to the tracking table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RepairWrite {
    /// Delete the row of this version: the migration becomes pending again.
    Clear(u64),
    /// Rewrite the row of the list's migration at this index as applied, with its
    /// current name, checksum and cumulative checksum.
    Record(usize),
}

/// What repair will do: the changes it reports and the writes that make them.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct RepairPlan {
    pub(crate) changes: Vec<RepairChange>,
    pub(crate) writes: Vec<RepairWrite>,
}

/// Decides what `repair` writes, or returns the problems that forbid it (then nothing
/// may be written). `cumulative(version)` is the list's cumulative checksum of a
/// version; rows whose stored value differs are rewritten silently (it is derived).
pub(crate) fn plan_repair<'a>(
    list: &[Migration],
    rows: &[HistoryRow],
    cumulative: impl Fn(u64) -> &'a str,
) -> Result<RepairPlan, Vec<Problem>> {
    let refused: Vec<Problem> = check_history(list, rows, NewerApplied::Refuse)
        .into_iter()
        .filter(|p| {
            matches!(
                p,
                Problem::DirtyBelowApplied { .. } | Problem::Replaced { .. }
            )
        })
        .collect();
    if !refused.is_empty() {
        return Err(refused);
    }
    let index = index_by_version(list);
    let mut plan = RepairPlan::default();
    for row in rows {
        if !matches!(
            crate::validate::squashed_row(list, row),
            crate::validate::SquashedRow::Unrelated
        ) {
            continue; // stood for by a squashed baseline: left as it was applied
        }
        let Ok(at) = index.binary_search_by_key(&row.version, |&(v, _)| v) else {
            continue; // missing: left for the caller to report
        };
        let (version, position) = index[at];
        let migration = &list[position];
        if row.state == RowState::Started {
            plan.changes.push(RepairChange::ClearedStarted {
                version,
                name: row.name.clone(),
            });
            plan.writes.push(RepairWrite::Clear(version));
            continue;
        }
        let mut changed = false;
        if row.state == RowState::Reverting {
            plan.changes.push(RepairChange::RestoredApplied {
                version,
                name: row.name.clone(),
            });
            changed = true;
        }
        if row.name != migration.name() {
            plan.changes.push(RepairChange::Name {
                version,
                old: row.name.clone(),
                new: migration.name().to_owned(),
            });
            changed = true;
        }
        let checksum = migration.checksum();
        if row.checksum.as_deref() != Some(&*checksum) {
            plan.changes.push(RepairChange::Checksum {
                version,
                name: migration.name().to_owned(),
                old: row.checksum.clone(),
                new: checksum.into_owned(),
            });
            changed = true;
        }
        if changed || row.cumulative_checksum.as_deref() != Some(cumulative(version)) {
            plan.writes.push(RepairWrite::Record(position));
        }
    }
    Ok(plan)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIST: &[Migration] = &[
        Migration::sql(1, "create_a", "CREATE TABLE a (x);"),
        Migration::sql(2, "add_b", "ALTER TABLE a ADD b;"),
        Migration::sql(3, "add_c", "ALTER TABLE a ADD c;"),
    ];

    fn row(version: u64, name: &str, state: RowState) -> HistoryRow {
        let migration = LIST.iter().find(|m| m.version() == version);
        HistoryRow {
            version,
            name: name.into(),
            applied_at: None,
            checksum: migration.map(|m| m.checksum().into_owned()),
            execution_ms: None,
            state,
            cumulative_checksum: Some(format!("c{version}")),
        }
    }

    fn cumulative(version: u64) -> &'static str {
        ["", "c1", "c2", "c3"][version as usize]
    }

    #[test]
    fn an_intact_history_needs_nothing() {
        let rows = [
            row(1, "create_a", RowState::Applied),
            row(2, "add_b", RowState::Applied),
        ];
        assert_eq!(
            plan_repair(LIST, &rows, cumulative),
            Ok(RepairPlan::default())
        );
    }

    #[test]
    fn the_newest_started_row_is_cleared() {
        let rows = [
            row(1, "create_a", RowState::Applied),
            row(2, "add_b", RowState::Started),
        ];
        let plan = plan_repair(LIST, &rows, cumulative).unwrap();
        assert_eq!(plan.writes, [RepairWrite::Clear(2)]);
        assert!(matches!(
            plan.changes[..],
            [RepairChange::ClearedStarted { version: 2, .. }]
        ));
    }

    #[test]
    fn a_started_row_below_applied_ones_is_refused() {
        for state in [RowState::Started, RowState::Reverting] {
            let rows = [
                row(1, "create_a", RowState::Applied),
                row(2, "add_b", state),
                row(3, "add_c", RowState::Applied),
            ];
            let refused = plan_repair(LIST, &rows, cumulative).unwrap_err();
            assert!(
                matches!(
                    refused[..],
                    [Problem::DirtyBelowApplied {
                        version: 2,
                        latest_applied: 3,
                        ..
                    }]
                ),
                "{refused:?}"
            );
        }
    }

    #[test]
    fn an_interrupted_rollback_of_the_newest_counts_as_applied() {
        let rows = [
            row(1, "create_a", RowState::Applied),
            row(2, "add_b", RowState::Reverting),
        ];
        let plan = plan_repair(LIST, &rows, cumulative).unwrap();
        assert_eq!(plan.writes, [RepairWrite::Record(1)]);
        assert!(matches!(
            plan.changes[..],
            [RepairChange::RestoredApplied { version: 2, .. }]
        ));
    }

    #[test]
    fn an_edit_or_a_rename_alone_is_accepted() {
        let mut edited = row(1, "create_a", RowState::Applied);
        edited.checksum = Some("sha256:00".into());
        let renamed = row(2, "add_column_b", RowState::Applied);
        let plan = plan_repair(LIST, &[edited, renamed], cumulative).unwrap();
        assert_eq!(
            plan.writes,
            [RepairWrite::Record(0), RepairWrite::Record(1)]
        );
        assert!(matches!(
            plan.changes[..],
            [
                RepairChange::Checksum { version: 1, .. },
                RepairChange::Name { version: 2, .. }
            ]
        ));
    }

    #[test]
    fn a_new_name_and_a_new_checksum_together_are_refused() {
        let mut other = row(2, "create_invoices", RowState::Applied);
        other.checksum = Some("sha256:00".into());
        let rows = [row(1, "create_a", RowState::Applied), other];
        let refused = plan_repair(LIST, &rows, cumulative).unwrap_err();
        assert!(
            matches!(refused[..], [Problem::Replaced { version: 2, .. }]),
            "{refused:?}"
        );
    }

    #[test]
    fn adopted_rows_get_their_checksum_and_stale_derived_values_are_refreshed() {
        let mut adopted = row(1, "create_a", RowState::Applied);
        adopted.checksum = None;
        let mut stale = row(2, "add_b", RowState::Applied);
        stale.cumulative_checksum = None;
        let plan = plan_repair(LIST, &[adopted, stale], cumulative).unwrap();
        assert_eq!(
            plan.writes,
            [RepairWrite::Record(0), RepairWrite::Record(1)]
        );
        assert!(matches!(
            plan.changes[..],
            [RepairChange::Checksum {
                version: 1,
                old: None,
                ..
            }]
        ));
    }

    #[test]
    fn rows_of_missing_migrations_are_left_alone() {
        let rows = [
            row(1, "create_a", RowState::Applied),
            row(2, "add_b", RowState::Applied),
            row(3, "add_c", RowState::Applied),
            row(4, "add_d", RowState::Applied),
        ];
        assert_eq!(
            plan_repair(LIST, &rows, cumulative),
            Ok(RepairPlan::default())
        );
    }
}
