-- Migration 4 as SQL, for running AutoAudit's migrations with the terrace CLI against
-- a PostgreSQL or MySQL server. The application itself runs the Rust version
-- (add_token_tracking in ../compliance.rs), which makes the same change idempotently.
-- The other files here are links to ../migrations/.

-- migrate:up
ALTER TABLE compliance_checks ADD COLUMN input_tokens INTEGER NOT NULL DEFAULT 0;
ALTER TABLE compliance_checks ADD COLUMN output_tokens INTEGER NOT NULL DEFAULT 0;
CREATE INDEX idx_compliance_checks_tokens ON compliance_checks (input_tokens, output_tokens);

-- migrate:down
-- Dropping the indexed columns drops the index with them (PostgreSQL, MySQL).
ALTER TABLE compliance_checks DROP COLUMN output_tokens;
ALTER TABLE compliance_checks DROP COLUMN input_tokens;
