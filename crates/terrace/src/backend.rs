//! The connections Terrace can migrate: [`Database`] for the blocking drivers and
//! [`AsyncDatabase`] for the async ones. Each driver's adapter (in `adapter/`) offers
//! a few verbs to run SQL; `terrace_core::SqlBackend` builds the run's backend from
//! them, once for every driver.

use crate::error::Error;
use terrace_core::backend::BoxFuture;

/// A connection Terrace can migrate with the blocking API: `rusqlite::Connection`,
/// and with their features `postgres::Client`, `mysql::Conn` and
/// [`Connection`](crate::Connection). Sealed: the set of drivers is Terrace's.
pub trait Database: sealed::Sealed {
    /// A backend working on this connection for the duration of one command.
    #[doc(hidden)]
    fn backend(&mut self) -> Result<Box<dyn terrace_core::Backend + '_>, Error>;
}

/// A connection Terrace can migrate with the async API
/// ([`Migrations::run_async`](crate::Migrations::run_async) and the other `_async`
/// methods): with their features, sqlx's `SqliteConnection`, `PgConnection` and
/// `MySqlConnection` and their pools, and `tokio_postgres::Client`. Sealed: the set of
/// drivers is Terrace's.
pub trait AsyncDatabase: sealed::Sealed {
    /// A backend working on this connection for the duration of one command (a pool
    /// gives one of its connections, held until the command ends).
    #[doc(hidden)]
    fn backend(&mut self) -> BoxFuture<'_, Result<Box<dyn terrace_core::Backend + '_>, Error>>;
}

pub(crate) mod sealed {
    /// Keeps [`Database`](super::Database) to the connections Terrace supports.
    pub trait Sealed {}
}
