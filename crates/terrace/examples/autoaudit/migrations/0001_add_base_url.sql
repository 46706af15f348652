-- The address of the site a project audits.

-- migrate:up
ALTER TABLE projects ADD COLUMN base_url TEXT;

-- migrate:down
ALTER TABLE projects DROP COLUMN base_url;
