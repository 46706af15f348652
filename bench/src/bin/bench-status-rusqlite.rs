//! The reference for the CLI `status` rows: the least a status command can do. Opens
//! the database, reads the whole tracking table, prints how many rows it holds.
//!
//! ```text
//! bench-status-rusqlite <db path> [table]
//! ```

use rusqlite::Connection;

fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(path), table) = (args.next(), args.next()) else {
        eprintln!("usage: bench-status-rusqlite <db path> [table]");
        std::process::exit(2);
    };
    let table = table.unwrap_or_else(|| "schema_migrations".to_owned());
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
    match run() {
        Ok(count) => println!("{count} applied"),
        Err(e) => {
            eprintln!("bench-status-rusqlite: {e}");
            std::process::exit(1);
        }
    }
}
