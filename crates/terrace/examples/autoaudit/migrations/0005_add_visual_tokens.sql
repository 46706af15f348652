-- Tokens spent on each visual verification. (Migration 4, add_token_tracking, is a
-- Rust function: see add_token_tracking in ../compliance.rs.)

-- migrate:up
ALTER TABLE visual_verifications ADD COLUMN tokens_used INTEGER NOT NULL DEFAULT 0;

-- migrate:down
ALTER TABLE visual_verifications DROP COLUMN tokens_used;
