//! Rebuilds the contender binaries when `bench gen` adds or removes migration files.

fn main() {
    for tool in ["diesel", "terrace"] {
        for n in ["100", "1000", "10000"] {
            println!("cargo:rerun-if-changed=../../generated/{tool}/{n}");
        }
    }
    println!("cargo:rerun-if-changed=../../generated/rusqlite_migration");
    println!("cargo:rerun-if-changed=build.rs");
}
