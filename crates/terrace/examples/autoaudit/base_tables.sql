-- AutoAudit's base tables, as its first release created them. Every later column comes
-- from a migration. Portable: SQLite, PostgreSQL and MySQL/MariaDB all take it.
CREATE TABLE IF NOT EXISTS projects (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    created_at TIMESTAMP NULL DEFAULT CURRENT_TIMESTAMP
);
CREATE TABLE IF NOT EXISTS compliance_checks (
    id INTEGER PRIMARY KEY,
    project_id INTEGER NOT NULL REFERENCES projects (id),
    check_name TEXT NOT NULL,
    result TEXT NOT NULL,
    details TEXT,
    checked_at TIMESTAMP NULL DEFAULT CURRENT_TIMESTAMP
);
CREATE TABLE IF NOT EXISTS visual_verifications (
    id INTEGER PRIMARY KEY,
    project_id INTEGER NOT NULL REFERENCES projects (id),
    page_url TEXT NOT NULL,
    verdict TEXT,
    verified_at TIMESTAMP NULL DEFAULT CURRENT_TIMESTAMP
);
