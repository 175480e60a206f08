-- podgrep schema, version 1
CREATE TABLE shows (
    id             INTEGER PRIMARY KEY,
    feed_url       TEXT NOT NULL UNIQUE,
    kind           TEXT NOT NULL DEFAULT 'feed',   -- feed | url | local
    title          TEXT NOT NULL,
    author         TEXT,
    description    TEXT,
    image          TEXT,
    language       TEXT,
    link           TEXT,
    persons_json   TEXT NOT NULL DEFAULT '[]',
    etag           TEXT,
    last_modified  TEXT,
    last_checked   REAL,
    last_error     TEXT,
    added          REAL NOT NULL
);

CREATE TABLE episodes (
    id               INTEGER PRIMARY KEY,
    show_id          INTEGER NOT NULL REFERENCES shows(id) ON DELETE CASCADE,
    guid             TEXT NOT NULL,
    title            TEXT NOT NULL,
    published        REAL,
    duration         REAL,
    media_url        TEXT,
    media_type       TEXT,
    media_length     INTEGER,
    link             TEXT,
    show_notes_html  TEXT,
    image            TEXT,
    transcripts_json TEXT NOT NULL DEFAULT '[]',
    chapters_url     TEXT,
    persons_json     TEXT NOT NULL DEFAULT '[]',
    media_sha256     TEXT,
    media_path       TEXT,
    status           TEXT NOT NULL DEFAULT 'new',  -- new | fetched | transcribed | indexed | failed
    error            TEXT,
    added            REAL NOT NULL,
    UNIQUE (show_id, guid)
);
CREATE INDEX episodes_show ON episodes(show_id, published);

CREATE TABLE transcripts (
    id            INTEGER PRIMARY KEY,
    episode_id    INTEGER NOT NULL REFERENCES episodes(id) ON DELETE CASCADE,
    source        TEXT NOT NULL,                   -- whisper | publisher
    model         TEXT,
    language      TEXT,
    language_prob REAL,
    windows_done  INTEGER NOT NULL DEFAULT 0,      -- audio windows fully written (resume point)
    complete      INTEGER NOT NULL DEFAULT 0,
    created       REAL NOT NULL
);
CREATE INDEX transcripts_episode ON transcripts(episode_id);

CREATE TABLE segments (
    id            INTEGER PRIMARY KEY,
    transcript_id INTEGER NOT NULL REFERENCES transcripts(id) ON DELETE CASCADE,
    idx           INTEGER NOT NULL,
    window        INTEGER NOT NULL DEFAULT 0,
    start         REAL NOT NULL,
    "end"         REAL NOT NULL,
    speaker_id    INTEGER,
    text          TEXT NOT NULL,
    -- what the full-text index sees: the text plus the first words of the next segment, so a
    -- phrase said across a segment boundary is still found; empty for flagged segments
    search_text   TEXT NOT NULL DEFAULT '',
    words_json    TEXT NOT NULL DEFAULT '[]',
    flags         TEXT NOT NULL DEFAULT '',
    UNIQUE (transcript_id, idx)
);

CREATE VIRTUAL TABLE segments_fts USING fts5(
    search_text,
    content = 'segments',
    content_rowid = 'id',
    tokenize = 'porter unicode61 remove_diacritics 2'
);

CREATE TRIGGER segments_ai AFTER INSERT ON segments BEGIN
    INSERT INTO segments_fts(rowid, search_text) VALUES (new.id, new.search_text);
END;
CREATE TRIGGER segments_ad AFTER DELETE ON segments BEGIN
    INSERT INTO segments_fts(segments_fts, rowid, search_text) VALUES ('delete', old.id, old.search_text);
END;
CREATE TRIGGER segments_au AFTER UPDATE OF search_text ON segments BEGIN
    INSERT INTO segments_fts(segments_fts, rowid, search_text) VALUES ('delete', old.id, old.search_text);
    INSERT INTO segments_fts(rowid, search_text) VALUES (new.id, new.search_text);
END;

CREATE TABLE jobs (
    id          INTEGER PRIMARY KEY,
    episode_id  INTEGER NOT NULL REFERENCES episodes(id) ON DELETE CASCADE,
    step        TEXT NOT NULL,                      -- fetch | transcribe | index
    state       TEXT NOT NULL DEFAULT 'pending',    -- pending | running | done | failed
    attempts    INTEGER NOT NULL DEFAULT 0,
    lease_until REAL,
    error       TEXT,
    updated     REAL NOT NULL,
    UNIQUE (episode_id, step)
);
CREATE INDEX jobs_state ON jobs(state, step);
