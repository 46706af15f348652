//! Rebuilds when `bench gen` adds or removes migration files.

fn main() {
    for n in ["100", "1000", "10000"] {
        println!("cargo:rerun-if-changed=../../../generated/refinery/{n}");
    }
    println!("cargo:rerun-if-changed=build.rs");
}
