//! One module per command: each calls the library and renders what it returns.

pub mod baseline;
pub mod completions;
pub mod fleet;
pub mod history;
pub mod import;
pub mod init;
pub mod lint;
pub mod migrate;
pub mod new;
pub mod rehearse;
pub mod renumber;
pub mod repair;
pub mod reset;
pub mod rollback;
pub mod schema;
pub mod squash;
pub mod status;
pub mod sum;
pub mod validate;
