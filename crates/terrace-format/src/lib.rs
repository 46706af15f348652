//! The Terrace migration file format, free of any database code.
//!
//! This crate is shared by the `terrace` library (which reads migration folders at run
//! time) and by `terrace-macros` (which reads them at compile time), so both read a
//! folder with exactly the same rules:
//!
//! * a file is named `NNNN_descriptive_name.sql`: the number is the version, the rest
//!   the name ([`name`]);
//! * it holds an up section after `-- migrate:up` and an optional down section after
//!   `-- migrate:down`, or `-- migrate:down noop` for a rollback that runs nothing
//!   ([`sections`]);
//! * its checksum is the SHA-256 of the normalised up text ([`checksum`](mod@checksum));
//! * its SQL is split into statements for execution and error reports ([`statements`]);
//! * the numbers in a folder's file names, and renumbering files ([`numbering`],
//!   [`renumber`]);
//! * `terrace.sum`, the folder's list of files and checksums ([`sum`]);
//! * lines for a database's command-line client rather than its server (psql
//!   meta-commands, `DELIMITER`) are refused ([`scan`]);
//! * lint rules that flag risky SQL in a migration, per dialect ([`lint`]);
//! * whether a package's build script makes cargo rebuild it when a migration file is
//!   added ([`build_script`]).
//!
//! ```
//! let text = "-- migrate:up\nALTER TABLE projects ADD COLUMN base_url TEXT;\n\
//!             -- migrate:down\nALTER TABLE projects DROP COLUMN base_url;\n";
//! let sections = terrace_format::parse_sections(text).unwrap();
//! assert_eq!(sections.up, "ALTER TABLE projects ADD COLUMN base_url TEXT;");
//! assert!(sections.transactional);
//! ```

pub mod build_script;
pub mod checksum;
pub mod folder;
mod lex;
pub mod lint;
pub mod name;
pub mod numbering;
pub mod renumber;
pub mod scan;
pub mod sections;
pub mod statements;
pub mod sum;

pub use checksum::{CHECKSUM_PREFIX, checksum, cumulative_checksum, normalize, unify_line_endings};
pub use folder::{
    FileProblem, FileProblemKind, Folder, IgnoredFile, MAX_FILE_SIZE, MigrationFile, read_file,
    read_folder,
};
pub use name::{NameProblem, check_name, parse_file_name};
pub use scan::{ClientCommand, client_command};
pub use sections::{SQUASHED_PREFIX, Sections, SectionsError, Squashed, parse_sections};
pub use statements::{Dialect, Statement, split_statements, transaction_control};
pub use sum::{SUM_FILE, Sum, SumEntry, SumProblem, check_sum, write_sum};
