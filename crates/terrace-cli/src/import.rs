//! `terrace import`: another tool's migrations folder read into one list
//! ([`source`]), one module per tool, written as a Terrace folder ([`writer`]), and
//! that tool's history adopted as Terrace's ([`adopt`], reading the tool's table
//! through [`foreign`]).

pub mod adopt;
pub mod dbmate;
pub mod diesel;
pub mod flyway;
pub mod foreign;
pub mod golang_migrate;
pub mod goose;
pub mod refinery;
pub mod source;
pub mod sqlx;
pub mod writer;

pub use source::{Down, Tool};
