-- migrate:up
CREATE TABLE notes (
    id INTEGER PRIMARY KEY,
    body VARCHAR(500) NOT NULL
);

-- migrate:down
DROP TABLE notes;
