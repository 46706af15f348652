-- migrate:up
ALTER TABLE notes ADD COLUMN author TEXT NOT NULL DEFAULT 'anonymous';

-- migrate:down
ALTER TABLE notes DROP COLUMN author;
