//! Cargo reruns this script, and so rebuilds the application, when a file in
//! migrations/ is added, removed or changed, so that `terrace::embed_migrations!`
//! embeds a new migration (`terrace init` writes this line).
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
