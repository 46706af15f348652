//! A connection to a server's own database, over which scratch databases are created,
//! dropped and listed: through whichever driver for that server the build has.
//!
//! terrace's blocking driver (`postgres`, `mysql`) when it is compiled in, else sqlx's
//! (`sqlx-postgres`, `sqlx-mysql`, driven on a small runtime of its own), else diesel's
//! (`diesel-postgres`, `diesel-mysql`). An application that uses only one of these
//! gets its test databases without a second driver in its build.

use crate::connection::Scheme;
use crate::error::BoxError;

/// What a scratch database's server is asked to do.
pub(super) trait Admin {
    /// Creates a database; `false` if one of that name exists.
    fn create(&mut self, name: &str) -> Result<bool, BoxError>;

    /// Drops a database if it exists, ending the sessions still connected to it first.
    fn drop_database(&mut self, name: &str) -> Result<(), BoxError>;

    /// Every database on the server.
    fn names(&mut self) -> Result<Vec<String>, BoxError>;
}

/// Connects to the server `url` names and runs `job` on that connection. Inside a
/// running async runtime (a test of the application's own, say), where a blocking
/// driver or a runtime of this module's own cannot run, both happen on a thread of
/// their own.
pub(super) fn with_admin<T: Send, E: Send>(
    scheme: Scheme,
    url: &str,
    connect_failed: impl FnOnce(BoxError) -> E + Send,
    job: impl FnOnce(&mut dyn Admin) -> Result<T, E> + Send,
) -> Result<T, E> {
    let run = || {
        let mut admin = connect(scheme, url).map_err(connect_failed)?;
        job(&mut *admin)
    };
    if tokio::runtime::Handle::try_current().is_err() {
        return run();
    }
    std::thread::scope(|scope| {
        scope
            .spawn(run)
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}

/// A connection to the server `url` names.
fn connect(scheme: Scheme, url: &str) -> Result<Box<dyn Admin>, BoxError> {
    match scheme {
        Scheme::Postgres => connect_postgres(url),
        Scheme::Mysql => connect_mysql(url),
        Scheme::Sqlite => Err("a SQLite database has no server".into()),
    }
}

/// Why a server's scratch database cannot be made in this build.
#[allow(
    dead_code,
    reason = "only a build without a driver for a server says it"
)]
fn no_driver(server: &str, feature: &str) -> BoxError {
    format!(
        "this build has no {server} driver to create a scratch database with (enable \
         terrace's '{feature}', 'sqlx-{feature}' or 'diesel-{feature}' feature)"
    )
    .into()
}

fn connect_postgres(url: &str) -> Result<Box<dyn Admin>, BoxError> {
    #[cfg(feature = "postgres")]
    {
        return Ok(Box::new(super::scratch::open_url(url)?));
    }
    #[cfg(all(not(feature = "postgres"), feature = "sqlx-postgres"))]
    {
        return Ok(Box::new(on_sqlx::Sqlx::<::sqlx::PgConnection>::connect(
            url,
        )?));
    }
    #[cfg(all(
        not(feature = "postgres"),
        not(feature = "sqlx-postgres"),
        feature = "diesel-postgres"
    ))]
    {
        return Ok(Box::new(on_diesel::establish::<diesel::PgConnection>(url)?));
    }
    #[cfg(not(any(
        feature = "postgres",
        feature = "sqlx-postgres",
        feature = "diesel-postgres"
    )))]
    {
        let _ = url;
        Err(no_driver("PostgreSQL", "postgres"))
    }
}

fn connect_mysql(url: &str) -> Result<Box<dyn Admin>, BoxError> {
    #[cfg(feature = "mysql")]
    {
        return Ok(Box::new(super::scratch::open_url(url)?));
    }
    #[cfg(all(not(feature = "mysql"), feature = "sqlx-mysql"))]
    {
        return Ok(Box::new(on_sqlx::Sqlx::<::sqlx::MySqlConnection>::connect(
            url,
        )?));
    }
    #[cfg(all(
        not(feature = "mysql"),
        not(feature = "sqlx-mysql"),
        feature = "diesel-mysql"
    ))]
    {
        return Ok(Box::new(on_diesel::establish::<diesel::MysqlConnection>(
            url,
        )?));
    }
    #[cfg(not(any(feature = "mysql", feature = "sqlx-mysql", feature = "diesel-mysql")))]
    {
        let _ = url;
        Err(no_driver("MySQL", "mysql"))
    }
}

/// The statements, the same on every driver.
#[allow(
    dead_code,
    reason = "a build uses those of the servers it has drivers for"
)]
mod sql {
    pub(super) fn create_postgres(name: &str) -> String {
        format!("CREATE DATABASE \"{name}\"")
    }

    pub(super) fn create_mysql(name: &str) -> String {
        format!("CREATE DATABASE `{name}`")
    }

    /// PostgreSQL 13 and later end the other sessions themselves (`FORCE`).
    pub(super) fn drop_postgres(name: &str, version: i32) -> String {
        if version >= 130_000 {
            format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)")
        } else {
            format!("DROP DATABASE IF EXISTS \"{name}\"")
        }
    }

    pub(super) fn drop_mysql(name: &str) -> String {
        format!("DROP DATABASE IF EXISTS `{name}`")
    }

    pub(super) fn kill_mysql(id: u64) -> String {
        format!("KILL {id}")
    }

    pub(super) const POSTGRES_VERSION: &str =
        "SELECT current_setting('server_version_num')::int AS version";
    /// Before PostgreSQL 13, the sessions on the database (`$1`) are ended by hand.
    pub(super) const POSTGRES_TERMINATE: &str = "SELECT pg_terminate_backend(pid) FROM \
         pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()";
    pub(super) const POSTGRES_NAMES: &str = "SELECT datname::text AS name FROM pg_database";
    /// The other sessions on the database (`?`).
    pub(super) const MYSQL_SESSIONS: &str = "SELECT CAST(ID AS UNSIGNED) AS id FROM \
         information_schema.PROCESSLIST WHERE DB = ? AND ID <> CONNECTION_ID()";
    pub(super) const MYSQL_NAMES: &str =
        "SELECT CAST(schema_name AS CHAR) AS name FROM information_schema.schemata";
    /// MySQL's error number for a database that exists.
    pub(super) const MYSQL_DATABASE_EXISTS: u16 = 1007;
    /// PostgreSQL's SQLSTATE for a database that exists.
    pub(super) const POSTGRES_DUPLICATE_DATABASE: &str = "42P04";
}

/// terrace's blocking drivers.
#[cfg(any(feature = "postgres", feature = "mysql"))]
mod on_blocking {
    use super::{Admin, sql};
    use crate::connection::Connection;
    use crate::error::BoxError;

    impl Admin for Connection {
        fn create(&mut self, name: &str) -> Result<bool, BoxError> {
            match self {
                #[cfg(feature = "postgres")]
                Connection::Postgres(client) => {
                    match client.batch_execute(&sql::create_postgres(name)) {
                        Ok(()) => Ok(true),
                        Err(e)
                            if e.code() == Some(&postgres::error::SqlState::DUPLICATE_DATABASE) =>
                        {
                            Ok(false)
                        }
                        Err(e) => Err(e.into()),
                    }
                }
                #[cfg(feature = "mysql")]
                Connection::Mysql(conn) => {
                    use mysql::prelude::Queryable;
                    match conn.query_drop(sql::create_mysql(name)) {
                        Ok(()) => Ok(true),
                        Err(mysql::Error::MySqlError(e))
                            if e.code == sql::MYSQL_DATABASE_EXISTS =>
                        {
                            Ok(false)
                        }
                        Err(e) => Err(e.into()),
                    }
                }
                #[allow(unreachable_patterns, reason = "the server backends are optional")]
                _ => Err(format!("cannot create {name}: not a server connection").into()),
            }
        }

        fn drop_database(&mut self, name: &str) -> Result<(), BoxError> {
            match self {
                #[cfg(feature = "postgres")]
                Connection::Postgres(client) => {
                    let version: i32 = client.query_one(sql::POSTGRES_VERSION, &[])?.get(0);
                    if version < 130_000 {
                        client.execute(sql::POSTGRES_TERMINATE, &[&name])?;
                    }
                    client.batch_execute(&sql::drop_postgres(name, version))?;
                    Ok(())
                }
                #[cfg(feature = "mysql")]
                Connection::Mysql(conn) => {
                    use mysql::prelude::Queryable;
                    let sessions: Vec<u64> = conn.exec(sql::MYSQL_SESSIONS, (name,))?;
                    for id in sessions {
                        // A session that ended meanwhile cannot be killed: nothing to do.
                        let _ = conn.query_drop(sql::kill_mysql(id));
                    }
                    conn.query_drop(sql::drop_mysql(name))?;
                    Ok(())
                }
                #[allow(unreachable_patterns, reason = "the server backends are optional")]
                _ => Err(format!("cannot drop {name}: not a server connection").into()),
            }
        }

        fn names(&mut self) -> Result<Vec<String>, BoxError> {
            match self {
                #[cfg(feature = "postgres")]
                Connection::Postgres(client) => Ok(client
                    .query(sql::POSTGRES_NAMES, &[])?
                    .iter()
                    .map(|row| row.get(0))
                    .collect()),
                #[cfg(feature = "mysql")]
                Connection::Mysql(conn) => {
                    Ok(mysql::prelude::Queryable::query(conn, sql::MYSQL_NAMES)?)
                }
                #[allow(unreachable_patterns, reason = "the server backends are optional")]
                _ => Err("not a server connection".into()),
            }
        }
    }
}

/// sqlx's drivers, on a current-thread tokio runtime of their own.
#[cfg(any(
    all(not(feature = "postgres"), feature = "sqlx-postgres"),
    all(not(feature = "mysql"), feature = "sqlx-mysql")
))]
mod on_sqlx {
    use super::sql;
    use crate::error::BoxError;
    use ::sqlx::{AssertSqlSafe, Connection};
    use std::future::Future;

    /// An sqlx connection and the runtime it runs on.
    pub(super) struct Sqlx<C: Connection> {
        runtime: tokio::runtime::Runtime,
        /// `None` once closed.
        conn: Option<C>,
    }

    impl<C: Connection> Sqlx<C> {
        pub(super) fn connect(url: &str) -> Result<Self, BoxError> {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            let conn = runtime.block_on(C::connect(url))?;
            Ok(Sqlx {
                runtime,
                conn: Some(conn),
            })
        }

        /// Runs `work` on the connection.
        fn run<'a, T, F>(&'a mut self, work: impl FnOnce(&'a mut C) -> F) -> Result<T, BoxError>
        where
            F: Future<Output = Result<T, BoxError>> + 'a,
        {
            let conn = self.conn.as_mut().ok_or("the connection is closed")?;
            self.runtime.block_on(work(conn))
        }
    }

    impl<C: Connection> Drop for Sqlx<C> {
        fn drop(&mut self) {
            if let Some(conn) = self.conn.take() {
                // A connection that cannot say goodbye is closed all the same.
                let _ = self.runtime.block_on(conn.close());
            }
        }
    }

    /// Runs a statement built at run time, unprepared.
    async fn execute<C: Connection>(conn: &mut C, statement: String) -> Result<(), ::sqlx::Error>
    where
        for<'c> &'c mut C: ::sqlx::Executor<'c, Database = C::Database>,
    {
        ::sqlx::raw_sql(AssertSqlSafe(statement))
            .execute(conn)
            .await
            .map(drop)
    }

    /// Whether an error is the server's, with this code.
    fn database_error(error: &::sqlx::Error) -> Option<&dyn ::sqlx::error::DatabaseError> {
        match error {
            ::sqlx::Error::Database(e) => Some(&**e),
            _ => None,
        }
    }

    #[cfg(all(not(feature = "postgres"), feature = "sqlx-postgres"))]
    impl super::Admin for Sqlx<::sqlx::PgConnection> {
        fn create(&mut self, name: &str) -> Result<bool, BoxError> {
            self.run(|conn| async move {
                match execute(conn, sql::create_postgres(name)).await {
                    Ok(()) => Ok(true),
                    Err(e)
                        if database_error(&e).and_then(|d| d.code()).as_deref()
                            == Some(sql::POSTGRES_DUPLICATE_DATABASE) =>
                    {
                        Ok(false)
                    }
                    Err(e) => Err(e.into()),
                }
            })
        }

        fn drop_database(&mut self, name: &str) -> Result<(), BoxError> {
            self.run(|conn| async move {
                let version: i32 = ::sqlx::query_scalar(sql::POSTGRES_VERSION)
                    .fetch_one(&mut *conn)
                    .await?;
                if version < 130_000 {
                    ::sqlx::query(sql::POSTGRES_TERMINATE)
                        .bind(name)
                        .execute(&mut *conn)
                        .await?;
                }
                execute(conn, sql::drop_postgres(name, version)).await?;
                Ok(())
            })
        }

        fn names(&mut self) -> Result<Vec<String>, BoxError> {
            self.run(|conn| async move {
                Ok(::sqlx::query_scalar(sql::POSTGRES_NAMES)
                    .fetch_all(conn)
                    .await?)
            })
        }
    }

    #[cfg(all(not(feature = "mysql"), feature = "sqlx-mysql"))]
    impl super::Admin for Sqlx<::sqlx::MySqlConnection> {
        fn create(&mut self, name: &str) -> Result<bool, BoxError> {
            self.run(|conn| async move {
                match execute(conn, sql::create_mysql(name)).await {
                    Ok(()) => Ok(true),
                    Err(e)
                        if database_error(&e)
                            .and_then(|d| d.try_downcast_ref::<::sqlx::mysql::MySqlDatabaseError>())
                            .is_some_and(|d| d.number() == sql::MYSQL_DATABASE_EXISTS) =>
                    {
                        Ok(false)
                    }
                    Err(e) => Err(e.into()),
                }
            })
        }

        fn drop_database(&mut self, name: &str) -> Result<(), BoxError> {
            self.run(|conn| async move {
                let sessions: Vec<u64> = ::sqlx::query_scalar(sql::MYSQL_SESSIONS)
                    .bind(name)
                    .fetch_all(&mut *conn)
                    .await?;
                for id in sessions {
                    // A session that ended meanwhile cannot be killed: nothing to do.
                    let _ = execute(&mut *conn, sql::kill_mysql(id)).await;
                }
                execute(conn, sql::drop_mysql(name)).await?;
                Ok(())
            })
        }

        fn names(&mut self) -> Result<Vec<String>, BoxError> {
            self.run(|conn| async move {
                Ok(::sqlx::query_scalar(sql::MYSQL_NAMES)
                    .fetch_all(conn)
                    .await?)
            })
        }
    }
}

/// diesel's drivers. diesel does not say which error a server gave, so a name taken is
/// told by listing the databases first: the names are this process's own, and only a
/// dead process with the same id can have left one behind.
#[cfg(any(
    all(
        not(feature = "postgres"),
        not(feature = "sqlx-postgres"),
        feature = "diesel-postgres"
    ),
    all(
        not(feature = "mysql"),
        not(feature = "sqlx-mysql"),
        feature = "diesel-mysql"
    )
))]
mod on_diesel {
    use super::sql;
    use crate::error::BoxError;
    use diesel::sql_types::Text;
    use diesel::{Connection, QueryableByName, RunQueryDsl, sql_query};

    pub(super) fn establish<C: Connection>(url: &str) -> Result<C, BoxError> {
        Ok(C::establish(url)?)
    }

    #[derive(QueryableByName)]
    struct Name {
        #[diesel(sql_type = Text)]
        name: String,
    }

    fn names<C>(conn: &mut C, query: &str) -> Result<Vec<String>, BoxError>
    where
        C: Connection,
        diesel::query_builder::SqlQuery: diesel::query_dsl::LoadQuery<'static, C, Name>,
    {
        Ok(sql_query(query)
            .load::<Name>(conn)?
            .into_iter()
            .map(|row| row.name)
            .collect())
    }

    #[cfg(all(
        not(feature = "postgres"),
        not(feature = "sqlx-postgres"),
        feature = "diesel-postgres"
    ))]
    impl super::Admin for diesel::PgConnection {
        fn create(&mut self, name: &str) -> Result<bool, BoxError> {
            if self.names()?.iter().any(|taken| taken == name) {
                return Ok(false);
            }
            sql_query(sql::create_postgres(name)).execute(self)?;
            Ok(true)
        }

        fn drop_database(&mut self, name: &str) -> Result<(), BoxError> {
            #[derive(QueryableByName)]
            struct Version {
                #[diesel(sql_type = diesel::sql_types::Integer)]
                version: i32,
            }
            let version = sql_query(sql::POSTGRES_VERSION)
                .get_result::<Version>(self)?
                .version;
            if version < 130_000 {
                sql_query(sql::POSTGRES_TERMINATE)
                    .bind::<Text, _>(name)
                    .execute(self)?;
            }
            sql_query(sql::drop_postgres(name, version)).execute(self)?;
            Ok(())
        }

        fn names(&mut self) -> Result<Vec<String>, BoxError> {
            names(self, sql::POSTGRES_NAMES)
        }
    }

    #[cfg(all(
        not(feature = "mysql"),
        not(feature = "sqlx-mysql"),
        feature = "diesel-mysql"
    ))]
    impl super::Admin for diesel::MysqlConnection {
        fn create(&mut self, name: &str) -> Result<bool, BoxError> {
            if self.names()?.iter().any(|taken| taken == name) {
                return Ok(false);
            }
            sql_query(sql::create_mysql(name)).execute(self)?;
            Ok(true)
        }

        fn drop_database(&mut self, name: &str) -> Result<(), BoxError> {
            #[derive(QueryableByName)]
            struct Session {
                #[diesel(sql_type = diesel::sql_types::Unsigned<diesel::sql_types::BigInt>)]
                id: u64,
            }
            let sessions = sql_query(sql::MYSQL_SESSIONS)
                .bind::<Text, _>(name)
                .load::<Session>(self)?;
            for session in sessions {
                // A session that ended meanwhile cannot be killed: nothing to do.
                let _ = sql_query(sql::kill_mysql(session.id)).execute(self);
            }
            sql_query(sql::drop_mysql(name)).execute(self)?;
            Ok(())
        }

        fn names(&mut self) -> Result<Vec<String>, BoxError> {
            names(self, sql::MYSQL_NAMES)
        }
    }
}
