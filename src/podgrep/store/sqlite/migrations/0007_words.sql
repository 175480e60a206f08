-- every word said, as said (lowercased, accents folded) with its Porter stem: the full-text
-- index holds only stems, so a prefix query (`regulat*`) is widened with the words here that
-- begin with it but whose stems do not (regulation -> regul). Filled from segments on upgrade.
CREATE TABLE words (
    word TEXT PRIMARY KEY,
    stem TEXT NOT NULL
) WITHOUT ROWID;
