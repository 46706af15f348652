//! Rebuilds the contender binaries when `bench gen` adds or removes migration files
//! (editing one is already tracked by the embedding macros).

fn main() {
    for tool in ["terrace"] {
        for n in ["100", "1000", "10000"] {
            println!("cargo:rerun-if-changed=generated/{tool}/{n}");
        }
    }
    println!("cargo:rerun-if-changed=build.rs");
}
