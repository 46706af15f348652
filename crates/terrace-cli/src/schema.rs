//! `terrace schema`: a database's schema read from its catalog into a small model
//! (`model.rs`), read per backend (`catalog.rs` and `catalog/`), rendered as SQL that
//! recreates it (`render.rs`), and two models compared (`diff.rs`). Only reading: no
//! statement here changes a database.

pub mod catalog;
pub mod diff;
pub mod model;
pub mod render;
