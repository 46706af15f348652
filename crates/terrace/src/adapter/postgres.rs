//! `postgres::Client`, behind the `postgres` feature.
//!
//! The client is blocking: each verb does its work when called. Migration SQL and
//! transaction control run through `batch_execute` (the simple query protocol,
//! several statements at once); Terrace's own statements as unnamed statements with
//! typed parameters, one round trip each (`query_typed`), so that nothing depends on
//! a server connection's prepared statements (see PgBouncer's transaction pooling).

use crate::backend::{Database, sealed::Sealed};
use crate::error::Error;
use crate::postgres_error::{bind, cells, server_error, sqlstate};
use postgres::Client;
use std::any::Any;
use std::time::Duration;
use terrace_core::backend::{BackendResult, BoxFuture};
use terrace_core::{Adapter, BoxError, Kind, Param, Rows, SqlBackend, ready};
use terrace_format::Dialect;

/// A `postgres::Client`, borrowed for one command.
struct Postgres<'c> {
    client: &'c mut Client,
}

impl Postgres<'_> {
    fn query_now(
        &mut self,
        sql: &str,
        params: &[Param<'_>],
        kinds: &[Kind],
    ) -> BackendResult<Rows> {
        let rows = self
            .client
            .query_typed(sql, &bind(params))
            .map_err(server_error)?;
        cells(&rows, kinds)
    }
}

impl Adapter for Postgres<'_> {
    fn dialect(&self) -> Dialect {
        Dialect::Postgres
    }

    fn blocking(&self) -> bool {
        true
    }

    fn batch<'a>(&'a mut self, sql: &'a str) -> BoxFuture<'a, BackendResult<()>> {
        ready(self.client.batch_execute(sql).map_err(server_error))
    }

    fn execute<'a>(
        &'a mut self,
        sql: &'a str,
        params: &'a [Param<'a>],
    ) -> BoxFuture<'a, BackendResult<()>> {
        ready(
            self.client
                .query_typed(sql, &bind(params))
                .map(drop)
                .map_err(server_error),
        )
    }

    fn query<'a>(
        &'a mut self,
        sql: &'a str,
        params: &'a [Param<'a>],
        kinds: &'a [Kind],
    ) -> BoxFuture<'a, BackendResult<Rows>> {
        ready(self.query_now(sql, params, kinds))
    }

    fn sleep(&mut self, duration: Duration) -> BoxFuture<'_, ()> {
        std::thread::sleep(duration);
        ready(())
    }

    fn sqlstate(&self, error: &BoxError) -> Option<String> {
        sqlstate(error)
    }

    fn connection(&mut self) -> Option<&mut dyn Any> {
        Some(&mut *self.client)
    }
}

impl Sealed for Client {}

impl Database for Client {
    fn backend(&mut self) -> Result<Box<dyn terrace_core::Backend + '_>, Error> {
        Ok(Box::new(SqlBackend::new(Postgres { client: self })))
    }
}
