-- Where the screenshot a visual verification was judged on is stored.

-- migrate:up
ALTER TABLE visual_verifications ADD COLUMN screenshot_path TEXT;

-- migrate:down
ALTER TABLE visual_verifications DROP COLUMN screenshot_path;
