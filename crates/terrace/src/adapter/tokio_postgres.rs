//! `tokio_postgres::Client`, behind the `tokio-postgres` feature.
//!
//! Migration SQL and transaction control run through `batch_execute` (the simple query
//! protocol, several statements at once); Terrace's own statements as prepared
//! statements with typed parameters.

use crate::backend::{AsyncDatabase, sealed::Sealed};
use crate::error::Error;
use std::time::Duration;
use terrace_core::adapter::{Adapter, Cell, Kind, Param, Rows};
use terrace_core::backend::{BackendResult, BoxFuture};
use terrace_core::{BoxError, SqlBackend};
use terrace_format::Dialect;
use tokio_postgres::Client;
use tokio_postgres::types::ToSql;

/// A server error: its text is the server's message with its SQLSTATE, detail and
/// hint (the driver's own `Display` says only "db error"), and its source is the
/// driver's `DbError`, for programs that match on the SQLSTATE.
#[derive(Debug)]
struct ServerError {
    text: String,
    error: tokio_postgres::Error,
}

impl std::fmt::Display for ServerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

impl std::error::Error for ServerError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        // The driver's error only says "db error" around the `DbError`: skip it.
        std::error::Error::source(&self.error)
    }
}

/// The driver's error, with the server's message as its text when there is one.
fn server_error(error: tokio_postgres::Error) -> BoxError {
    let Some(db) = error.as_db_error() else {
        return Box::new(error);
    };
    let mut text = format!(
        "{}: {} (SQLSTATE {})",
        db.severity(),
        db.message(),
        db.code().code()
    );
    if let Some(detail) = db.detail() {
        text.push_str(&format!("; detail: {detail}"));
    }
    if let Some(hint) = db.hint() {
        text.push_str(&format!("; hint: {hint}"));
    }
    Box::new(ServerError { text, error })
}

/// The parameters as the driver takes them.
fn params<'a>(params: &'a [Param<'a>]) -> Vec<Box<dyn ToSql + Send + Sync + 'a>> {
    params
        .iter()
        .map(|param| -> Box<dyn ToSql + Send + Sync + 'a> {
            match *param {
                Param::Int(value) => Box::new(value),
                Param::Text(value) => Box::new(value),
            }
        })
        .collect()
}

/// A `tokio_postgres::Client` seen as Terrace needs it.
struct TokioPostgres<'c> {
    client: &'c Client,
}

impl Adapter for TokioPostgres<'_> {
    fn dialect(&self) -> Dialect {
        Dialect::Postgres
    }

    fn blocking(&self) -> bool {
        false
    }

    fn batch<'a>(&'a mut self, sql: &'a str) -> BoxFuture<'a, BackendResult<()>> {
        Box::pin(async move { self.client.batch_execute(sql).await.map_err(server_error) })
    }

    fn execute<'a>(
        &'a mut self,
        sql: &'a str,
        params: &'a [Param<'a>],
    ) -> BoxFuture<'a, BackendResult<()>> {
        Box::pin(async move {
            let owned = self::params(params);
            let refs: Vec<&(dyn ToSql + Sync)> = owned
                .iter()
                .map(|param| &**param as &(dyn ToSql + Sync))
                .collect();
            self.client
                .execute(sql, &refs)
                .await
                .map(drop)
                .map_err(server_error)
        })
    }

    fn query<'a>(
        &'a mut self,
        sql: &'a str,
        params: &'a [Param<'a>],
        kinds: &'a [Kind],
    ) -> BoxFuture<'a, BackendResult<Rows>> {
        Box::pin(async move {
            let owned = self::params(params);
            let refs: Vec<&(dyn ToSql + Sync)> = owned
                .iter()
                .map(|param| &**param as &(dyn ToSql + Sync))
                .collect();
            let rows = self.client.query(sql, &refs).await.map_err(server_error)?;
            rows.iter()
                .map(|row| {
                    kinds
                        .iter()
                        .enumerate()
                        .map(|(index, kind)| -> BackendResult<Cell> {
                            Ok(match kind {
                                Kind::Int => row
                                    .try_get::<_, Option<i64>>(index)?
                                    .map_or(Cell::Null, Cell::Int),
                                Kind::Text => row
                                    .try_get::<_, Option<String>>(index)?
                                    .map_or(Cell::Null, Cell::Text),
                            })
                        })
                        .collect::<BackendResult<Vec<Cell>>>()
                })
                .collect()
        })
    }

    fn sleep(&mut self, duration: Duration) -> BoxFuture<'_, ()> {
        super::sleep(duration)
    }

    fn sqlstate(&self, error: &BoxError) -> Option<String> {
        let error = match error.downcast_ref::<ServerError>() {
            Some(server) => &server.error,
            None => error.downcast_ref::<tokio_postgres::Error>()?,
        };
        Some(error.as_db_error()?.code().code().to_owned())
    }
}

impl Sealed for Client {}

impl AsyncDatabase for Client {
    fn backend(&mut self) -> BoxFuture<'_, Result<Box<dyn terrace_core::Backend + '_>, Error>> {
        Box::pin(async move {
            let backend: Box<dyn terrace_core::Backend + '_> =
                Box::new(SqlBackend::new(TokioPostgres { client: self }));
            Ok(backend)
        })
    }
}
