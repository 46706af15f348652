-- migrate:up
CREATE TABLE notes (
    id INTEGER PRIMARY KEY,
    body TEXT NOT NULL
);

-- migrate:down
DROP TABLE notes;
