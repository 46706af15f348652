//! Planning: which migrations to run, in which direction and order.
//!
//! A [`Plan`] is computed from the migrations and the history alone, with no I/O. It is
//! the dry run: [`Migrations::plan`](crate::Migrations::plan) returns it without
//! touching the database, and the runner executes exactly its steps.

use crate::error::Error;
use crate::history::HistoryRow;
use crate::migration::{Body, Migration};
use crate::validate::index_by_version;

/// How far to migrate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Target {
    /// Up: every pending migration. Not valid for a rollback.
    #[default]
    Latest,
    /// Up: pending migrations up to and including this version. Down: roll back every
    /// migration newer than this version, keeping it applied (`0` rolls back all).
    Version(u64),
    /// Up: the next N pending migrations. Down: the N newest applied migrations.
    Steps(u64),
}

/// Which way a step runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Applying a migration.
    Up,
    /// Rolling one back.
    Down,
}

impl Direction {
    /// `"up"` or `"down"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Up => "up",
            Direction::Down => "down",
        }
    }
}

/// One migration to run in one direction.
#[derive(Debug, Clone, Copy)]
pub struct Step<'m> {
    pub(crate) migration: &'m Migration,
    pub(crate) direction: Direction,
}

impl<'m> Step<'m> {
    /// The migration.
    pub fn migration(&self) -> &'m Migration {
        self.migration
    }

    /// The direction it runs in.
    pub fn direction(&self) -> Direction {
        self.direction
    }

    /// What runs: the up body, or the down body.
    pub fn body(&self) -> &'m Body {
        match self.direction {
            Direction::Up => &self.migration.up,
            Direction::Down => self
                .migration
                .down
                .as_ref()
                .expect("a down step is only planned for a migration with a down body"),
        }
    }

    /// Whether running the step does nothing: a rollback of a migration whose down is
    /// a no-op ([`Body::Noop`]), which only removes its history row.
    pub fn is_noop(&self) -> bool {
        self.body().is_noop()
    }

    /// Whether the step runs inside a transaction.
    pub fn is_transactional(&self) -> bool {
        match self.direction {
            Direction::Up => self.migration.transactional,
            Direction::Down => self.migration.down_transactional,
        }
    }
}

/// The steps a run would take, in order.
#[derive(Debug, Clone)]
pub struct Plan<'m> {
    pub(crate) direction: Direction,
    pub(crate) steps: Vec<Step<'m>>,
}

impl<'m> Plan<'m> {
    /// The direction of every step.
    pub fn direction(&self) -> Direction {
        self.direction
    }

    /// The steps, in the order they run.
    pub fn steps(&self) -> &[Step<'m>] {
        &self.steps
    }

    /// How many steps there are.
    pub fn len(&self) -> usize {
        self.steps.len()
    }

    /// Whether there is nothing to do.
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }
}

impl<'p, 'm> IntoIterator for &'p Plan<'m> {
    type Item = &'p Step<'m>;
    type IntoIter = std::slice::Iter<'p, Step<'m>>;

    fn into_iter(self) -> Self::IntoIter {
        self.steps.iter()
    }
}

fn is_applied(applied: &[HistoryRow], version: u64) -> bool {
    applied
        .binary_search_by_key(&version, |r| r.version)
        .is_ok()
}

/// Plans applying pending migrations. `applied` must be sorted by version.
pub(crate) fn plan_up<'m>(
    list: &'m [Migration],
    applied: &[HistoryRow],
    target: Target,
) -> Result<Plan<'m>, Error> {
    let index = index_by_version(list);
    if let Target::Version(version) = target
        && index.binary_search_by_key(&version, |&(v, _)| v).is_err()
    {
        return Err(Error::UnknownTarget { version });
    }
    let pending = index
        .iter()
        .filter(|&&(version, _)| !is_applied(applied, version))
        .filter(|&&(version, _)| match target {
            Target::Version(last) => version <= last,
            _ => true,
        })
        .map(|&(_, i)| Step {
            migration: &list[i],
            direction: Direction::Up,
        });
    let steps = match target {
        Target::Steps(n) => pending
            .take(usize::try_from(n).unwrap_or(usize::MAX))
            .collect(),
        _ => pending.collect(),
    };
    Ok(Plan {
        direction: Direction::Up,
        steps,
    })
}

/// Plans a rollback, newest first. Fails, naming every migration at fault, when a
/// migration in range has no down section or no longer exists, or is newer than every
/// migration of the list (applied by a newer build, which alone can undo it).
pub(crate) fn plan_down<'m>(
    list: &'m [Migration],
    applied: &[HistoryRow],
    target: Target,
) -> Result<Plan<'m>, Error> {
    let newest_first = applied.iter().rev();
    let rows: Vec<&HistoryRow> = match target {
        Target::Latest => return Err(Error::RollbackNeedsTarget),
        Target::Steps(n) => newest_first
            .take(usize::try_from(n).unwrap_or(usize::MAX))
            .collect(),
        Target::Version(keep) => {
            if keep != 0 && !is_applied(applied, keep) {
                return Err(Error::UnknownTarget { version: keep });
            }
            newest_first.take_while(|r| r.version > keep).collect()
        }
    };
    let index = index_by_version(list);
    let latest_known = index.last().map_or(0, |&(v, _)| v);
    let newer: Vec<(u64, String)> = rows
        .iter()
        .filter(|row| !index.is_empty() && row.version > latest_known)
        .map(|row| (row.version, row.name.clone()))
        .collect();
    if !newer.is_empty() {
        return Err(Error::RollbackPastNewer { migrations: newer });
    }
    let mut steps = Vec::with_capacity(rows.len());
    let mut irreversible = Vec::new();
    for row in rows {
        let found = index
            .binary_search_by_key(&row.version, |&(v, _)| v)
            .ok()
            .map(|at| &list[index[at].1]);
        match found {
            Some(migration) if migration.down.is_some() => steps.push(Step {
                migration,
                direction: Direction::Down,
            }),
            _ => irreversible.push((row.version, row.name.clone())),
        }
    }
    if !irreversible.is_empty() {
        return Err(Error::Irreversible {
            migrations: irreversible,
        });
    }
    Ok(Plan {
        direction: Direction::Down,
        steps,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::RowState;

    const LIST: &[Migration] = &[
        Migration::sql(1, "create_a", "CREATE TABLE a (x);").with_down("DROP TABLE a;"),
        Migration::sql(2, "add_b", "ALTER TABLE a ADD b;"),
        Migration::sql(3, "add_c", "ALTER TABLE a ADD c;").with_down("ALTER TABLE a DROP c;"),
        Migration::sql(4, "add_d", "ALTER TABLE a ADD d;").with_down("ALTER TABLE a DROP d;"),
    ];

    fn applied(versions: &[u64]) -> Vec<HistoryRow> {
        versions
            .iter()
            .map(|&v| HistoryRow {
                version: v,
                name: LIST[v as usize - 1].name().into(),
                applied_at: None,
                checksum: None,
                execution_ms: None,
                state: RowState::Applied,
                cumulative_checksum: None,
            })
            .collect()
    }

    /// The versions a plan runs, read through its public accessors, which must agree
    /// on its length and direction.
    fn versions(plan: &Plan<'_>) -> Vec<u64> {
        assert_eq!(plan.len(), plan.steps().len());
        assert!(plan.into_iter().all(|s| s.direction() == plan.direction()));
        plan.into_iter().map(|s| s.migration().version()).collect()
    }

    #[test]
    fn up_targets() {
        let plan = plan_up(LIST, &[], Target::Steps(1)).unwrap();
        assert_eq!((plan.direction(), plan.len()), (Direction::Up, 1));
        assert_eq!(plan.steps()[0].migration().name(), "create_a");
        assert_eq!(
            versions(&plan_up(LIST, &[], Target::Latest).unwrap()),
            [1, 2, 3, 4]
        );
        assert_eq!(
            versions(&plan_up(LIST, &applied(&[1, 2]), Target::Latest).unwrap()),
            [3, 4]
        );
        assert_eq!(
            versions(&plan_up(LIST, &[], Target::Version(2)).unwrap()),
            [1, 2]
        );
        assert_eq!(
            versions(&plan_up(LIST, &[], Target::Steps(3)).unwrap()),
            [1, 2, 3]
        );
        assert!(
            plan_up(LIST, &applied(&[1, 2, 3, 4]), Target::Latest)
                .unwrap()
                .is_empty()
        );
        assert!(matches!(
            plan_up(LIST, &[], Target::Version(9)),
            Err(Error::UnknownTarget { version: 9 })
        ));
    }

    #[test]
    fn down_targets() {
        let all = applied(&[1, 2, 3, 4]);
        let plan = plan_down(LIST, &all, Target::Steps(2)).unwrap();
        assert_eq!(plan.direction(), Direction::Down);
        assert_eq!(plan.steps()[0].direction(), Direction::Down);
        assert_eq!(plan.steps()[0].body().sql(), Some("ALTER TABLE a DROP d;"));
        assert_eq!(
            versions(&plan_down(LIST, &all, Target::Steps(1)).unwrap()),
            [4]
        );
        assert_eq!(
            versions(&plan_down(LIST, &all, Target::Version(2)).unwrap()),
            [4, 3]
        );
        assert!(
            plan_down(LIST, &all, Target::Version(4))
                .unwrap()
                .is_empty()
        );
        assert!(matches!(
            plan_down(LIST, &all, Target::Latest),
            Err(Error::RollbackNeedsTarget)
        ));
        assert!(matches!(
            plan_down(LIST, &all, Target::Version(7)),
            Err(Error::UnknownTarget { version: 7 })
        ));
    }

    #[test]
    fn down_refuses_before_anything_when_a_down_is_missing() {
        let all = applied(&[1, 2, 3, 4]);
        match plan_down(LIST, &all, Target::Version(0)) {
            Err(Error::Irreversible { migrations }) => {
                assert_eq!(migrations, [(2, "add_b".to_string())])
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn down_refuses_to_start_with_migrations_newer_than_the_list() {
        let mut all = applied(&[1, 2, 3, 4]);
        all.push(HistoryRow {
            version: 5,
            name: "add_e".into(),
            ..all[3].clone()
        });
        for target in [Target::Steps(1), Target::Version(3), Target::Version(0)] {
            match plan_down(LIST, &all, target) {
                Err(Error::RollbackPastNewer { migrations }) => {
                    assert_eq!(migrations, [(5, "add_e".to_string())])
                }
                other => panic!("{target:?}: {other:?}"),
            }
        }
        assert!(
            plan_down(LIST, &all, Target::Version(5))
                .unwrap()
                .is_empty()
        );
    }
}
