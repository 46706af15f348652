//! refinery's `embed_migrations!` for each N (paths relative to this crate).

/// N = 100.
pub mod r100 {
    refinery::embed_migrations!("../../../generated/refinery/100");
}
/// N = 1000.
pub mod r1000 {
    refinery::embed_migrations!("../../../generated/refinery/1000");
}
/// N = 10000.
pub mod r10000 {
    refinery::embed_migrations!("../../../generated/refinery/10000");
}
