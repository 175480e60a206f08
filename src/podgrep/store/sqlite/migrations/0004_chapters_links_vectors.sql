-- issue 6: chapters, links, and passages of transcript text with their sentence vectors

CREATE TABLE chapters (
    id          INTEGER PRIMARY KEY,
    episode_id  INTEGER NOT NULL REFERENCES episodes(id) ON DELETE CASCADE,
    start       REAL NOT NULL,
    "end"       REAL,
    title       TEXT NOT NULL,
    url         TEXT,
    img         TEXT,
    toc         INTEGER NOT NULL DEFAULT 1,
    source      TEXT NOT NULL              -- feed | notes | transcript | generated
);
CREATE INDEX chapters_episode ON chapters(episode_id, start);

CREATE TABLE links (
    id          INTEGER PRIMARY KEY,
    episode_id  INTEGER NOT NULL REFERENCES episodes(id) ON DELETE CASCADE,
    url         TEXT NOT NULL,             -- normalised: no fragment, no tracking parameters
    title       TEXT,
    origin      TEXT NOT NULL,             -- notes | spoken
    start       REAL,                      -- where a spoken link was said
    UNIQUE (episode_id, url)
);
CREATE INDEX links_url ON links(url);

-- a few consecutive segments of a transcript and the unit vector of their text; the vector is
-- int8 (DIM bytes) times `scale`, so a million passages take about 400 MB
CREATE TABLE passages (
    id             INTEGER PRIMARY KEY,
    transcript_id  INTEGER NOT NULL REFERENCES transcripts(id) ON DELETE CASCADE,
    first_idx      INTEGER NOT NULL,
    last_idx       INTEGER NOT NULL,
    start          REAL NOT NULL,
    "end"          REAL NOT NULL,
    model          TEXT NOT NULL,
    vector         BLOB NOT NULL,
    scale          REAL NOT NULL
);
CREATE INDEX passages_transcript ON passages(transcript_id, first_idx);

-- how many segments hold each (stemmed) term: hybrid search leaves out words too common to help
CREATE VIRTUAL TABLE segments_vocab USING fts5vocab(segments_fts, 'row');
