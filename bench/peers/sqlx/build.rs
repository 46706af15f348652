//! Rebuilds the contender binary when `bench gen` adds or removes migration files.

fn main() {
    // Literal lines, as `terrace::embed_migrations!` reads them to see that its folders
    // are watched.
    println!("cargo:rerun-if-changed=../../generated/sqlx");
    println!("cargo:rerun-if-changed=../../generated/terrace");
    println!("cargo:rerun-if-changed=build.rs");
}
