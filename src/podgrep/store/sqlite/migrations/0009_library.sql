-- issue 14: which library a database holds, so `podgrep db copy` resumes into its own copy and
-- refuses a store that holds another library. Made at random once; a copy takes its source's.
CREATE TABLE library (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
INSERT INTO library (key, value) VALUES ('id', lower(hex(randomblob(16))));
