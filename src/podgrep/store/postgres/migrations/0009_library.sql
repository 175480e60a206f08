-- issue 14: which library a database holds (see SQLite's 0009_library.sql)
CREATE TABLE library (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
INSERT INTO library (key, value) VALUES ('id', replace(gen_random_uuid()::text, '-', ''));
