//! The references for the CLI `status` rows: the least a status command can do.
//!
//! ```text
//! bench-status-rusqlite <db path> [table]
//! bench-status-rusqlite --with-files <dir> <db path> [table]
//! ```
//!
//! Without `--with-files`: opens the database, reads the whole tracking table, prints how
//! many rows it holds. With it, also reads every `*.sql` file of the folder and hashes
//! it with SHA-256 (what any status command that verifies checksums against a folder
//! must do), and prints how many files and rows there are.

use rusqlite::Connection;
use sha2::{Digest, Sha256};

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let dir = if args.first().map(String::as_str) == Some("--with-files") && args.len() >= 2 {
        let dir = args.remove(1);
        args.remove(0);
        Some(dir)
    } else {
        None
    };
    let mut args = args.into_iter();
    let (Some(path), table) = (args.next(), args.next()) else {
        eprintln!("usage: bench-status-rusqlite [--with-files DIR] <db path> [table]");
        std::process::exit(2);
    };
    let table = table.unwrap_or_else(|| "schema_migrations".to_owned());
    let files = || -> std::io::Result<usize> {
        let Some(dir) = &dir else { return Ok(0) };
        let mut digests = Vec::new();
        for entry in std::fs::read_dir(dir)? {
            let path = entry?.path();
            if path.extension().is_some_and(|e| e == "sql") {
                digests.push(Sha256::digest(std::fs::read(&path)?));
            }
        }
        Ok(digests.len())
    };
    let run = || -> rusqlite::Result<usize> {
        let conn = Connection::open(&path)?;
        let mut stmt = conn.prepare(&format!("SELECT * FROM {table} ORDER BY version"))?;
        let columns = stmt.column_count();
        let mut rows = stmt.query([])?;
        let mut count = 0;
        while let Some(row) = rows.next()? {
            for column in 0..columns {
                let _ = row.get_ref(column)?;
            }
            count += 1;
        }
        Ok(count)
    };
    let files = match files() {
        Ok(files) => files,
        Err(e) => {
            eprintln!("bench-status-rusqlite: {e}");
            std::process::exit(1);
        }
    };
    match run() {
        Ok(count) => println!("{count} applied, {files} files"),
        Err(e) => {
            eprintln!("bench-status-rusqlite: {e}");
            std::process::exit(1);
        }
    }
}
