//! The lease lock of the servers, and the checks made before any lock: whether the
//! server is a read-only replica, and whether it is a Galera node.
//!
//! A lease is the one row of a small table beside the tracking table
//! (`<table>_lock`): who holds it (a token of the run, the host and the process id),
//! since when and until when, in the database's clock (on MySQL in UTC, whatever the
//! session's time zone: drivers set different ones). A run takes it with one insert
//! that only one run can commit — on Galera, certification picks one writer across
//! the nodes — or by replacing a row whose expiry has passed. It renews the row
//! between steps, outside any transaction (a renewal inside one would be invisible
//! to the others until it commits), and deletes it when the command ends. Nothing of
//! it is session state: each statement stands alone, so a pooler may give every
//! transaction another server connection.

use super::{Retry, SqlBackend, first_int, quote_backticks, quote_part, texts};
use crate::adapter::{Adapter, Kind, Param};
use crate::backend::{BackendResult, ReadOnlyReplica};
use crate::history::TableName;
use crate::migrations::LockMode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use terrace_format::Dialect;

/// PostgreSQL's SQLSTATE for a table that does not exist.
const UNDEFINED_TABLE: &str = "42P01";
/// MySQL's SQLSTATE for a table that does not exist.
const NO_SUCH_TABLE: &str = "42S02";
/// The SQLSTATE of a deadlock, and of a Galera certification failure.
const SERIALIZATION: &str = "40001";

/// A lease this backend holds.
pub(super) struct Lease {
    /// The lock table, qualified and quoted.
    relation: String,
    /// The tracking table, for messages.
    table: String,
    /// This run's token in the `owner` column.
    owner: String,
    /// How long the lease lasts unless renewed.
    length: Duration,
    /// When it was last taken or renewed (this process's clock, for deciding when to
    /// renew; the expiry itself is in the database's clock).
    renewed: Instant,
}

/// The lock settings of a backend, and what it found out about the server.
pub(super) struct LockChoice {
    pub(super) mode: LockMode,
    pub(super) lease: Duration,
    /// Where the token of a lease taken is told to a connection that renews it.
    pub(super) slot: Option<LeaseSlot>,
    /// Whether this command's lock is a lease, once decided.
    pub(super) leasing: Option<bool>,
}

impl Default for LockChoice {
    fn default() -> Self {
        LockChoice {
            mode: LockMode::Auto,
            lease: crate::Migrations::DEFAULT_LOCK_LEASE,
            slot: None,
            leasing: None,
        }
    }
}

/// Where a run puts the token of the lease it holds, for another connection that
/// renews it while a long step runs; clones share it. Each lease taken has a token of
/// its own, so two runs never hold one under the same token, even runs that share a
/// slot.
#[derive(Debug, Clone, Default)]
pub struct LeaseSlot(Arc<Mutex<Option<String>>>);

impl LeaseSlot {
    /// The token of the lease a run holds now, if one does.
    pub fn holder(&self) -> Option<String> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn hold(&self, owner: &str) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = Some(owner.to_owned());
    }

    fn clear(&self, owner: &str) {
        let mut held = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if held.as_deref() == Some(owner) {
            *held = None;
        }
    }
}

/// A token no other run holds: the host, the process and a count within it, and the
/// time (processes on two hosts may share a name and a pid).
fn owner_token() -> String {
    token_on(&host_name())
}

/// [`owner_token`] on the host `host`.
fn token_on(host: &str) -> String {
    static COUNT: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    // The `owner` column holds 255 characters: a host name of any length must not push
    // the token past it (MySQL's `INSERT IGNORE` would cut it, and the run would not
    // recognise its own lease).
    let host: String = host.chars().take(100).collect();
    format!(
        "{host}:{}:{}:{nanos:x}",
        std::process::id(),
        COUNT.fetch_add(1, Ordering::Relaxed)
    )
}

/// This machine's name, as far as it can be found without a system call of its own.
fn host_name() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/proc/sys/kernel/hostname").ok())
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "unknown".to_owned())
}

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

impl<A: Adapter> SqlBackend<A> {
    /// Before a writing command's first lock: refuses a read-only replica, and decides
    /// between the session lock and the lease.
    pub(super) async fn prepare_lock(&mut self) -> BackendResult<bool> {
        if let Some(leasing) = self.lock.leasing {
            return Ok(leasing);
        }
        let dialect = self.dialect();
        let mut galera = false;
        match dialect {
            Dialect::Postgres => {
                let rows = self
                    .query("SELECT pg_is_in_recovery()::int::bigint", &[], &[Kind::Int])
                    .await?;
                if first_int(&rows) == Some(1) {
                    return Err(Box::new(ReadOnlyReplica {
                        reason: "a PostgreSQL standby: pg_is_in_recovery() is true".to_owned(),
                    }));
                }
            }
            Dialect::Mysql => {
                let rows = self
                    .query(
                        "SHOW VARIABLES WHERE Variable_name IN \
                         ('read_only', 'super_read_only', 'wsrep_on')",
                        &[],
                        &[Kind::Text, Kind::Text],
                    )
                    .await?;
                for row in rows {
                    let mut cells = row.into_iter();
                    let name = cells.next().and_then(|c| c.into_text()).unwrap_or_default();
                    let value = cells.next().and_then(|c| c.into_text()).unwrap_or_default();
                    let on = value.eq_ignore_ascii_case("ON") || value == "1";
                    match name.to_ascii_lowercase().as_str() {
                        "wsrep_on" => galera = on,
                        other if on => {
                            return Err(Box::new(ReadOnlyReplica {
                                reason: format!("{other} is ON"),
                            }));
                        }
                        _ => {}
                    }
                }
            }
            _ => {}
        }
        let leasing = match (dialect, self.lock.mode) {
            (Dialect::Sqlite, _) => false,
            (_, LockMode::Lease) => true,
            (Dialect::Mysql, LockMode::Auto) => galera,
            _ => false,
        };
        if galera || leasing {
            tracing::debug!(galera, leasing, "chose the migration lock");
        }
        self.lock.leasing = Some(leasing);
        Ok(leasing)
    }

    /// The lock table of a tracking table, qualified and quoted.
    async fn lease_relation(&mut self, table: &TableName) -> BackendResult<String> {
        let namespace = self.namespace(table).await?;
        let name = format!("{}_lock", table.table());
        Ok(match self.dialect() {
            Dialect::Mysql => format!("{}.{}", quote_backticks(&namespace), quote_backticks(&name)),
            _ => format!("{}.{}", quote_part(&namespace), quote_part(&name)),
        })
    }

    async fn create_lease_table(&mut self, table: &TableName, relation: &str) -> BackendResult<()> {
        let sql = match self.dialect() {
            Dialect::Mysql => format!(
                "CREATE TABLE IF NOT EXISTS {relation} (
                    id INT PRIMARY KEY,
                    owner VARCHAR(255) NOT NULL,
                    host VARCHAR(255) NOT NULL,
                    pid BIGINT NOT NULL,
                    acquired_at DATETIME(6) NOT NULL,
                    expires_at DATETIME(6) NOT NULL
                ) ENGINE=InnoDB"
            ),
            _ => {
                if let Some(schema) = table.schema() {
                    let create = format!("CREATE SCHEMA IF NOT EXISTS {}", quote_part(schema));
                    self.adapter.batch(&create).await?;
                }
                format!(
                    "CREATE TABLE IF NOT EXISTS {relation} (
                        id INT PRIMARY KEY,
                        owner TEXT NOT NULL,
                        host TEXT NOT NULL,
                        pid BIGINT NOT NULL,
                        acquired_at TIMESTAMPTZ NOT NULL,
                        expires_at TIMESTAMPTZ NOT NULL
                    )"
                )
            }
        };
        match self.adapter.batch(&sql).await {
            Ok(()) => Ok(()),
            // Two runs creating it at once on PostgreSQL: one of them is refused
            // (a duplicate catalog row), and the table is there.
            Err(e) if self.dialect() == Dialect::Postgres => {
                let rows = self
                    .query(
                        "SELECT (to_regclass($1::text) IS NOT NULL)::int::bigint",
                        &[Param::Text(Some(relation))],
                        &[Kind::Int],
                    )
                    .await?;
                if first_int(&rows) == Some(1) {
                    Ok(())
                } else {
                    Err(e)
                }
            }
            Err(e) => Err(e),
        }
    }

    /// One try at the lease: whether this run holds it now.
    async fn try_lease(&mut self, table: &TableName) -> BackendResult<bool> {
        let relation = self.lease_relation(table).await?;
        let owner = owner_token();
        let length = self.lock.lease;
        let got = match self.lease_attempt(&relation, &owner, length).await {
            Err(e) if self.is_missing_table(&e) => {
                self.create_lease_table(table, &relation).await?;
                self.lease_attempt(&relation, &owner, length).await
            }
            other => other,
        };
        let got = match got {
            Ok(got) => got,
            // Galera: another node's insert won certification.
            Err(e) if self.adapter.sqlstate(&e).as_deref() == Some(SERIALIZATION) => false,
            Err(e) => return Err(e),
        };
        if got {
            if let Some(slot) = &self.lock.slot {
                slot.hold(&owner);
            }
            self.lease = Some(Lease {
                relation,
                table: table.to_string(),
                owner,
                length,
                renewed: Instant::now(),
            });
        }
        Ok(got)
    }

    fn is_missing_table(&self, error: &crate::BoxError) -> bool {
        matches!(
            self.adapter.sqlstate(error).as_deref(),
            Some(UNDEFINED_TABLE | NO_SUCH_TABLE)
        )
    }

    async fn lease_attempt(
        &mut self,
        relation: &str,
        owner: &str,
        length: Duration,
    ) -> BackendResult<bool> {
        let host = host_name();
        let pid = i64::from(std::process::id());
        match self.dialect() {
            Dialect::Postgres => {
                let sql = format!(
                    "INSERT INTO {relation} AS held (id, owner, host, pid, acquired_at, expires_at) \
                     VALUES (1, $1::text, $2::text, $3::bigint, clock_timestamp(), \
                     clock_timestamp() + $4::bigint * interval '1 millisecond') \
                     ON CONFLICT (id) DO UPDATE SET owner = EXCLUDED.owner, host = EXCLUDED.host, \
                     pid = EXCLUDED.pid, acquired_at = EXCLUDED.acquired_at, \
                     expires_at = EXCLUDED.expires_at \
                     WHERE held.expires_at < clock_timestamp() \
                     RETURNING 1::bigint"
                );
                let rows = self
                    .query(
                        &sql,
                        &[
                            Param::Text(Some(owner)),
                            Param::Text(Some(&host)),
                            Param::Int(Some(pid)),
                            Param::Int(Some(millis(length))),
                        ],
                        &[Kind::Int],
                    )
                    .await?;
                Ok(!rows.is_empty())
            }
            _ => {
                // An expired lease is removed first; then one insert wins.
                self.adapter
                    .execute(
                        &format!(
                            "DELETE FROM {relation} WHERE id = 1 AND expires_at < UTC_TIMESTAMP(6)"
                        ),
                        &[],
                    )
                    .await?;
                self.adapter
                    .execute(
                        &format!(
                            "INSERT IGNORE INTO {relation} \
                             (id, owner, host, pid, acquired_at, expires_at) \
                             VALUES (1, ?, ?, ?, UTC_TIMESTAMP(6), UTC_TIMESTAMP(6) + INTERVAL ? MICROSECOND)"
                        ),
                        &[
                            Param::Text(Some(owner)),
                            Param::Text(Some(&host)),
                            Param::Int(Some(pid)),
                            Param::Int(Some(millis(length).saturating_mul(1000))),
                        ],
                    )
                    .await?;
                self.lease_owned(relation, owner).await
            }
        }
    }

    /// Whether the lease row names `owner`.
    async fn lease_owned(&mut self, relation: &str, owner: &str) -> BackendResult<bool> {
        let sql = format!(
            "SELECT CAST(owner AS {}) FROM {relation} WHERE id = 1",
            if self.dialect() == Dialect::Mysql {
                "CHAR"
            } else {
                "TEXT"
            }
        );
        let rows = self.query(&sql, &[], &[Kind::Text]).await?;
        Ok(texts(rows).first().map(String::as_str) == Some(owner))
    }

    /// Takes the lease, trying until `timeout` has passed.
    pub(super) async fn lease_lock(
        &mut self,
        table: &TableName,
        timeout: Duration,
    ) -> BackendResult<bool> {
        let mut retry = Retry::new(timeout);
        loop {
            if self.try_lease(table).await? {
                return Ok(true);
            }
            if !retry.pause(&mut self.adapter).await {
                return Ok(false);
            }
        }
    }

    /// Renews the lease if a third of it has passed since it was last renewed. Only
    /// outside a transaction: a renewal inside one is seen by no other run until it
    /// commits.
    pub(super) async fn renew_lease_if_due(&mut self) -> BackendResult<()> {
        match &self.lease {
            Some(lease) if lease.renewed.elapsed() >= lease.length / 3 => {}
            _ => return Ok(()),
        }
        if self.in_transaction {
            return Ok(());
        }
        self.renew_lease().await
    }

    async fn renew_lease(&mut self) -> BackendResult<()> {
        let Some(lease) = self.lease.take() else {
            return Ok(());
        };
        let result = self.renew(&lease).await;
        let held = match result {
            Ok(held) => held,
            Err(e) => {
                self.lease = Some(lease);
                return Err(e);
            }
        };
        if !held {
            self.forget(&lease);
            return Err(lost(&lease).into());
        }
        self.lease = Some(Lease {
            renewed: Instant::now(),
            ..lease
        });
        Ok(())
    }

    /// No longer tells the slot about `lease`.
    fn forget(&self, lease: &Lease) {
        if let Some(slot) = &self.lock.slot {
            slot.clear(&lease.owner);
        }
    }

    /// From a connection other than the one that took it: extends the lease `owner`
    /// holds on `table`'s lock table by `length`, if it still holds it — whether it
    /// does. Does nothing before the lease is taken, after it is released or once
    /// another run has taken it over, so it can run beside the run at any moment.
    pub(super) async fn renew_lease_of(
        &mut self,
        table: &TableName,
        owner: &str,
        length: Duration,
    ) -> BackendResult<bool> {
        let lease = Lease {
            relation: self.lease_relation(table).await?,
            table: table.to_string(),
            owner: owner.to_owned(),
            length,
            renewed: Instant::now(),
        };
        match self.renew(&lease).await {
            Err(e) if self.is_missing_table(&e) => Ok(false),
            other => other,
        }
    }

    async fn renew(&mut self, lease: &Lease) -> BackendResult<bool> {
        let relation = &lease.relation;
        let owner = Param::Text(Some(&lease.owner));
        let length = millis(lease.length);
        match self.dialect() {
            Dialect::Postgres => {
                let sql = format!(
                    "UPDATE {relation} SET expires_at = clock_timestamp() + $2::bigint * interval \
                     '1 millisecond' WHERE id = 1 AND owner = $1::text RETURNING 1::bigint"
                );
                let rows = self
                    .query(&sql, &[owner, Param::Int(Some(length))], &[Kind::Int])
                    .await?;
                Ok(!rows.is_empty())
            }
            _ => {
                let sql = format!(
                    "UPDATE {relation} SET expires_at = UTC_TIMESTAMP(6) + INTERVAL ? MICROSECOND \
                     WHERE id = 1 AND owner = ?"
                );
                let params = [Param::Int(Some(length.saturating_mul(1000))), owner];
                if let Err(e) = self.adapter.execute(&sql, &params).await
                    && self.adapter.sqlstate(&e).as_deref() != Some(SERIALIZATION)
                {
                    return Err(e);
                }
                self.lease_owned(relation, &lease.owner).await
            }
        }
    }

    /// Releases the lease: whether this run still held it.
    pub(super) async fn release_lease(&mut self) -> BackendResult<bool> {
        let Some(lease) = self.lease.take() else {
            return Ok(true);
        };
        self.forget(&lease);
        let relation = &lease.relation;
        let owner = Param::Text(Some(&lease.owner));
        match self.dialect() {
            Dialect::Postgres => {
                let sql = format!(
                    "DELETE FROM {relation} WHERE id = 1 AND owner = $1::text RETURNING 1::bigint"
                );
                let rows = self.query(&sql, &[owner], &[Kind::Int]).await?;
                Ok(!rows.is_empty())
            }
            _ => {
                let held = self.lease_owned(relation, &lease.owner).await?;
                let sql = format!("DELETE FROM {relation} WHERE id = 1 AND owner = ?");
                self.adapter.execute(&sql, &[owner]).await?;
                Ok(held)
            }
        }
    }
}

/// The error of a run that found its lease taken by another run.
fn lost(lease: &Lease) -> String {
    format!(
        "the migration lease on table {} expired and was taken by another run while this one \
         held it: a step ran longer than the lease of {} s; nothing more runs here. Raise the \
         lease (--lock-lease SECONDS, TERRACE_LOCK_LEASE, or `lock_lease` in terrace.toml) above \
         the longest migration",
        lease.table,
        lease.length.as_secs()
    )
}

#[cfg(test)]
mod tests {
    use super::token_on;

    #[test]
    fn tokens_fit_the_owner_column_and_differ() {
        let long = token_on(&"h".repeat(300));
        assert!(long.chars().count() <= 255, "{long}");
        assert_ne!(token_on("a"), token_on("a"));
    }
}
