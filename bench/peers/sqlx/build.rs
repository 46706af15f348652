//! Rebuilds the contender binary when `bench gen` adds or removes migration files.

fn main() {
    for tool in ["sqlx", "terrace"] {
        for n in ["100", "1000", "10000"] {
            println!("cargo:rerun-if-changed=../../generated/{tool}/{n}");
        }
    }
    println!("cargo:rerun-if-changed=build.rs");
}
