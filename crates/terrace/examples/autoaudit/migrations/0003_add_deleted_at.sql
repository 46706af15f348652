-- Soft deletion: a project with a deleted_at is hidden but keeps its audit trail.

-- migrate:up
ALTER TABLE projects ADD COLUMN deleted_at TIMESTAMP NULL;

-- migrate:down
ALTER TABLE projects DROP COLUMN deleted_at;
