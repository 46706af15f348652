//! diesel's connections as Terrace databases: `SqliteConnection`, `PgConnection` and
//! `MysqlConnection`, each behind its feature (`diesel-sqlite`, `diesel-postgres`,
//! `diesel-mysql`).
//!
//! diesel is blocking: each verb does its work when called. Statements with
//! parameters go through `sql_query`, boxed so that any number of typed parameters
//! binds to one query type; rows of any shape are read field by field, each as the
//! [`Kind`] the caller asked for.

use crate::backend::Database;
use crate::backend::sealed::Sealed;
use crate::error::Error;
use diesel::backend::Backend as DieselBackend;
use diesel::deserialize::{FromSql, QueryableByName};
use diesel::query_builder::{BoxedSqlQuery, SqlQuery};
use diesel::row::{Field, NamedRow, Row};
use diesel::sql_types::{BigInt, Nullable, Text};
use std::any::Any;
use std::cell::RefCell;
use std::time::Duration;
use terrace_core::backend::BackendResult;
use terrace_core::backend::BoxFuture;
use terrace_core::{Adapter, BoxError, Cell, Kind, Param, Rows, SqlBackend, ready};
use terrace_format::Dialect;

/// A diesel connection, borrowed for one command.
struct DieselAdapter<'c, C> {
    conn: &'c mut C,
}

thread_local! {
    /// The kinds of the columns of the query being read on this thread: diesel builds
    /// each row from a type, with no value to carry them, and a query is read on the
    /// thread that runs it.
    static READING: RefCell<Vec<Kind>> = const { RefCell::new(Vec::new()) };
}

/// A row of any shape, read as [`READING`] says.
struct AnyRow(Vec<Cell>);

impl<DB> QueryableByName<DB> for AnyRow
where
    DB: DieselBackend,
    i64: FromSql<BigInt, DB>,
    String: FromSql<Text, DB>,
{
    fn build<'a>(row: &impl NamedRow<'a, DB>) -> diesel::deserialize::Result<Self> {
        READING.with(|kinds| {
            let kinds = kinds.borrow();
            if row.field_count() != kinds.len() {
                return Err(format!(
                    "the query returned {} columns where {} were expected",
                    row.field_count(),
                    kinds.len()
                )
                .into());
            }
            let mut cells = Vec::with_capacity(kinds.len());
            for (index, kind) in kinds.iter().enumerate() {
                let field = Row::get(row, index).ok_or(diesel::result::UnexpectedEndOfRow)?;
                let cell = match (kind, field.value()) {
                    (_, None) => Cell::Null,
                    (Kind::Int, Some(raw)) => {
                        Cell::Int(<i64 as FromSql<BigInt, DB>>::from_sql(raw)?)
                    }
                    (Kind::Text, Some(raw)) => {
                        Cell::Text(<String as FromSql<Text, DB>>::from_sql(raw)?)
                    }
                };
                cells.push(cell);
            }
            Ok(AnyRow(cells))
        })
    }
}

/// Sets the kinds [`AnyRow`] reads for as long as it lives.
struct Reading;

impl Reading {
    fn start(kinds: &[Kind]) -> Reading {
        READING.with(|k| *k.borrow_mut() = kinds.to_vec());
        Reading
    }
}

impl Drop for Reading {
    fn drop(&mut self) {
        READING.with(|k| k.borrow_mut().clear());
    }
}

/// The statement with its parameters bound, in order.
fn bind<'a, DB>(sql: &str, params: &[Param<'a>]) -> BoxedSqlQuery<'a, DB, SqlQuery>
where
    DB: DieselBackend
        + diesel::sql_types::HasSqlType<Nullable<BigInt>>
        + diesel::sql_types::HasSqlType<Nullable<Text>>,
    Option<i64>: diesel::serialize::ToSql<Nullable<BigInt>, DB>,
    Option<&'a str>: diesel::serialize::ToSql<Nullable<Text>, DB>,
{
    let mut query = diesel::sql_query(sql).into_boxed::<DB>();
    for param in params {
        query = match *param {
            Param::Int(value) => query.bind::<Nullable<BigInt>, _>(value),
            Param::Text(value) => query.bind::<Nullable<Text>, _>(value),
        };
    }
    query
}

/// The diesel error behind a backend error, if it is one.
fn database_error(
    error: &BoxError,
) -> Option<&(dyn diesel::result::DatabaseErrorInformation + Send + Sync)> {
    match error.downcast_ref::<diesel::result::Error>()? {
        diesel::result::Error::DatabaseError(_, info) => Some(info.as_ref()),
        _ => None,
    }
}

fn boxed(error: diesel::result::Error) -> BoxError {
    Box::new(error)
}

/// Implements [`Adapter`] and [`Database`] for one diesel connection type.
macro_rules! diesel_database {
    ($feature:literal, $conn:ty, $backend:ty, $dialect:expr) => {
        #[cfg(feature = $feature)]
        impl Adapter for DieselAdapter<'_, $conn> {
            fn dialect(&self) -> Dialect {
                $dialect
            }

            fn blocking(&self) -> bool {
                true
            }

            fn batch<'a>(&'a mut self, sql: &'a str) -> BoxFuture<'a, BackendResult<()>> {
                use diesel::connection::SimpleConnection;
                ready(self.conn.batch_execute(sql).map_err(boxed))
            }

            fn execute<'a>(
                &'a mut self,
                sql: &'a str,
                params: &'a [Param<'a>],
            ) -> BoxFuture<'a, BackendResult<()>> {
                use diesel::RunQueryDsl;
                let query = bind::<$backend>(sql, params);
                ready(query.execute(&mut *self.conn).map(drop).map_err(boxed))
            }

            fn query<'a>(
                &'a mut self,
                sql: &'a str,
                params: &'a [Param<'a>],
                kinds: &'a [Kind],
            ) -> BoxFuture<'a, BackendResult<Rows>> {
                use diesel::RunQueryDsl;
                let query = bind::<$backend>(sql, params);
                let reading = Reading::start(kinds);
                let rows = query.load::<AnyRow>(&mut *self.conn);
                drop(reading);
                ready(
                    rows.map(|rows| rows.into_iter().map(|row| row.0).collect())
                        .map_err(boxed),
                )
            }

            fn sleep(&mut self, duration: Duration) -> BoxFuture<'_, ()> {
                std::thread::sleep(duration);
                ready(())
            }

            fn sqlstate(&self, error: &BoxError) -> Option<String> {
                database_error(error)?
                    .sqlstate()
                    .map(|state| state.as_str().to_owned())
            }

            fn is_busy(&self, error: &BoxError) -> bool {
                $dialect == Dialect::Sqlite
                    && database_error(error)
                        .is_some_and(|info| info.message().contains("database is locked"))
            }

            fn connection(&mut self) -> Option<&mut dyn Any> {
                Some(&mut *self.conn)
            }
        }

        #[cfg(feature = $feature)]
        impl Sealed for $conn {}

        #[cfg(feature = $feature)]
        impl Database for $conn {
            fn backend(&mut self) -> Result<Box<dyn terrace_core::Backend + '_>, Error> {
                Ok(Box::new(SqlBackend::new(DieselAdapter { conn: self })))
            }
        }
    };
}

diesel_database!(
    "diesel-sqlite",
    diesel::SqliteConnection,
    diesel::sqlite::Sqlite,
    Dialect::Sqlite
);
diesel_database!(
    "diesel-postgres",
    diesel::PgConnection,
    diesel::pg::Pg,
    Dialect::Postgres
);
diesel_database!(
    "diesel-mysql",
    diesel::MysqlConnection,
    diesel::mysql::Mysql,
    Dialect::Mysql
);

#[cfg(all(
    test,
    feature = "diesel-sqlite",
    feature = "diesel-postgres",
    feature = "diesel-mysql"
))]
#[expect(clippy::unwrap_used, reason = "a test fails loudly on any setup error")]
mod tests {
    use super::*;
    use diesel::Connection as _;
    use std::task::{Context, Poll, Waker};

    /// The value of a blocking adapter's future, complete when returned.
    fn done<T>(mut future: BoxFuture<'_, T>) -> T {
        match future
            .as_mut()
            .poll(&mut Context::from_waker(Waker::noop()))
        {
            Poll::Ready(value) => value,
            Poll::Pending => panic!("a blocking adapter's future was not complete"),
        }
    }

    fn memory() -> diesel::SqliteConnection {
        diesel::SqliteConnection::establish(":memory:").expect("an in-memory database")
    }

    #[test]
    fn parameters_bind_in_order_and_rows_read_as_asked() {
        let mut conn = memory();
        let mut adapter = DieselAdapter { conn: &mut conn };
        done(adapter.batch("CREATE TABLE t (n INTEGER, s TEXT); CREATE TABLE u (x INTEGER);"))
            .expect("create");
        let rows = [
            [Param::Int(Some(7)), Param::Text(Some("seven"))],
            [Param::Int(None), Param::Text(Some("none"))],
            [Param::Int(Some(-1)), Param::Text(None)],
        ];
        for params in &rows {
            done(adapter.execute("INSERT INTO t (n, s) VALUES (?, ?)", params)).expect("insert");
        }
        let read = done(adapter.query(
            "SELECT n, s, CAST(n AS TEXT) FROM t WHERE s IS NULL OR s <> ? ORDER BY rowid",
            &[Param::Text(Some("none"))],
            &[Kind::Int, Kind::Text, Kind::Text],
        ))
        .expect("select");
        assert_eq!(
            read,
            [
                vec![
                    Cell::Int(7),
                    Cell::Text("seven".into()),
                    Cell::Text("7".into())
                ],
                vec![Cell::Int(-1), Cell::Null, Cell::Text("-1".into())],
            ]
        );
        let none = done(adapter.query("SELECT x FROM u", &[], &[Kind::Int])).expect("empty");
        assert!(none.is_empty());
    }

    #[test]
    fn a_row_of_another_shape_is_an_error() {
        let mut conn = memory();
        let mut adapter = DieselAdapter { conn: &mut conn };
        let err = done(adapter.query("SELECT 1, 2", &[], &[Kind::Int])).unwrap_err();
        assert!(err.to_string().contains("2 columns where 1"), "{err}");
    }

    #[test]
    fn errors_keep_the_message_and_a_busy_database_is_told_apart() {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let path = dir.path().join("busy.db");
        let path = path.to_str().expect("a UTF-8 path");
        let mut holder = diesel::SqliteConnection::establish(path).expect("open");
        let mut conn = diesel::SqliteConnection::establish(path).expect("open again");
        let mut adapter = DieselAdapter { conn: &mut conn };

        let missing = done(adapter.batch("INSERT INTO nowhere VALUES (1)")).unwrap_err();
        assert!(
            missing.to_string().contains("no such table: nowhere"),
            "{missing}"
        );
        assert!(!adapter.is_busy(&missing));
        assert_eq!(adapter.sqlstate(&missing), None);

        use diesel::connection::SimpleConnection;
        holder
            .batch_execute("CREATE TABLE t (n INTEGER); BEGIN IMMEDIATE; INSERT INTO t VALUES (1);")
            .expect("hold the write lock");
        let busy = done(adapter.batch("BEGIN IMMEDIATE")).unwrap_err();
        assert!(adapter.is_busy(&busy), "{busy}");
        assert!(busy.to_string().contains("database is locked"), "{busy}");
    }

    #[test]
    fn a_code_migration_gets_the_diesel_connection() {
        let mut conn = memory();
        let mut adapter = DieselAdapter { conn: &mut conn };
        assert!(adapter.blocking());
        let any = adapter.connection().expect("a connection");
        assert!(any.downcast_mut::<diesel::SqliteConnection>().is_some());
    }

    /// The SQLSTATE of a server's error, read on a fresh connection to the test server.
    fn server_sqlstate<C>(var: &str) -> Option<String>
    where
        C: diesel::Connection + 'static,
        for<'c> DieselAdapter<'c, C>: Adapter,
    {
        let url = std::env::var(var).unwrap();
        let mut conn = C::establish(&url).unwrap();
        let mut adapter = DieselAdapter { conn: &mut conn };
        let err = done(adapter.batch("SELECT * FROM nowhere")).unwrap_err();
        assert!(err.to_string().contains("nowhere"), "{err}");
        assert!(!adapter.is_busy(&err));
        adapter.sqlstate(&err)
    }

    #[test]
    #[cfg_attr(
        not(terrace_test_postgres),
        ignore = "TERRACE_TEST_POSTGRES_URL was not set when the tests were built"
    )]
    fn postgres_errors_carry_their_sqlstate() {
        assert_eq!(
            server_sqlstate::<diesel::PgConnection>("TERRACE_TEST_POSTGRES_URL").as_deref(),
            Some("42P01")
        );
    }

    #[test]
    #[cfg_attr(
        not(terrace_test_mysql),
        ignore = "TERRACE_TEST_MYSQL_URL was not set when the tests were built"
    )]
    fn mysql_errors_carry_their_sqlstate() {
        assert_eq!(
            server_sqlstate::<diesel::MysqlConnection>("TERRACE_TEST_MYSQL_URL").as_deref(),
            Some("42S02")
        );
    }

    /// A row of parameters read back from a server, as integers and text.
    fn server_round_trip<C>(var: &str, sql: &str)
    where
        C: diesel::Connection + 'static,
        for<'c> DieselAdapter<'c, C>: Adapter,
    {
        let url = std::env::var(var).unwrap();
        let mut conn = C::establish(&url).unwrap();
        let mut adapter = DieselAdapter { conn: &mut conn };
        let params = [
            Param::Int(Some(i64::MAX)),
            Param::Text(Some("héllo")),
            Param::Int(None),
            Param::Text(None),
        ];
        let kinds = [Kind::Int, Kind::Text, Kind::Int, Kind::Text];
        let rows = done(adapter.query(sql, &params, &kinds)).unwrap();
        assert_eq!(
            rows,
            [vec![
                Cell::Int(i64::MAX),
                Cell::Text("héllo".into()),
                Cell::Null,
                Cell::Null
            ]]
        );
    }

    #[test]
    #[cfg_attr(
        not(terrace_test_postgres),
        ignore = "TERRACE_TEST_POSTGRES_URL was not set when the tests were built"
    )]
    fn postgres_parameters_and_rows() {
        server_round_trip::<diesel::PgConnection>(
            "TERRACE_TEST_POSTGRES_URL",
            "SELECT CAST($1 AS BIGINT), CAST($2 AS TEXT), CAST($3 AS BIGINT), CAST($4 AS TEXT)",
        );
    }

    #[test]
    #[cfg_attr(
        not(terrace_test_mysql),
        ignore = "TERRACE_TEST_MYSQL_URL was not set when the tests were built"
    )]
    fn mysql_parameters_and_rows() {
        server_round_trip::<diesel::MysqlConnection>(
            "TERRACE_TEST_MYSQL_URL",
            "SELECT CAST(? AS SIGNED), CAST(? AS CHAR), CAST(? AS SIGNED), CAST(? AS CHAR)",
        );
    }
}
