-- Migration 4 as SQL, for running AutoAudit's migrations with the terrace CLI (which
-- runs SQL files only) on SQLite, PostgreSQL or MySQL. The application itself runs the
-- Rust version (add_token_tracking in ../compliance.rs), which makes the same columns
-- idempotently and also indexes them; the index is left out here because no one
-- DROP INDEX statement works on all three databases. The other files here are links
-- to ../migrations/.

-- migrate:up
ALTER TABLE compliance_checks ADD COLUMN input_tokens INTEGER NOT NULL DEFAULT 0;
ALTER TABLE compliance_checks ADD COLUMN output_tokens INTEGER NOT NULL DEFAULT 0;

-- migrate:down
ALTER TABLE compliance_checks DROP COLUMN output_tokens;
ALTER TABLE compliance_checks DROP COLUMN input_tokens;
