//! The floor, on the bench crate's rusqlite (the same SQLite as Terrace). See
//! `common/floor.rs`.

#[path = "../../common/floor.rs"]
mod floor;
#[path = "../../common/harness.rs"]
mod harness;

fn main() {
    floor::main();
}
