//! Terrace on this crate's SQLite: see `common/terrace.rs`.

#[path = "../../common/floor.rs"]
mod floor;
#[path = "../../common/harness.rs"]
mod harness;
#[path = "../../common/terrace.rs"]
mod terrace_bench;

use terrace::Migrations;

static M100: Migrations = terrace::embed_migrations!("generated/terrace/100");
static M1000: Migrations = terrace::embed_migrations!("generated/terrace/1000");
static M10000: Migrations = terrace::embed_migrations!("generated/terrace/10000");

fn main() {
    terrace_bench::main(&M100, &M1000, &M10000);
}
