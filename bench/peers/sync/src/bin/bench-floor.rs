//! The floor again, on the peers' rusqlite (the SQLite that rusqlite_migration,
//! refinery and diesel run on): a control for the SQLite version. See
//! `common/floor.rs`.

#[path = "../../../../common/floor.rs"]
mod floor;
#[path = "../../../../common/harness.rs"]
mod harness;

fn main() {
    floor::main();
}
