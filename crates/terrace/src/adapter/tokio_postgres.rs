//! `tokio_postgres::Client`, behind the `tokio-postgres` feature.
//!
//! Migration SQL and transaction control run through `batch_execute` (the simple query
//! protocol, several statements at once); Terrace's own statements as unnamed
//! statements with typed parameters, one round trip each (`query_typed`), so that
//! nothing depends on a server connection's prepared statements (see PgBouncer's
//! transaction pooling).

use crate::backend::{AsyncDatabase, sealed::Sealed};
use crate::error::Error;
use crate::postgres_error::{bind, cells, server_error, sqlstate};
use std::time::Duration;
use terrace_core::adapter::{Adapter, Kind, Param, Rows};
use terrace_core::backend::{BackendResult, BoxFuture};
use terrace_core::{BoxError, SqlBackend};
use terrace_format::Dialect;
use tokio_postgres::Client;

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
            self.client
                .query_typed(sql, &bind(params))
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
            let rows = self
                .client
                .query_typed(sql, &bind(params))
                .await
                .map_err(server_error)?;
            cells(&rows, kinds)
        })
    }

    fn sleep(&mut self, duration: Duration) -> BoxFuture<'_, ()> {
        super::sleep(duration)
    }

    fn sqlstate(&self, error: &BoxError) -> Option<String> {
        sqlstate(error)
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
