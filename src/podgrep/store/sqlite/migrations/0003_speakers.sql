-- who spoke: the speakers of each episode (label S1, S2… by speech time, a name when known) and
-- one voiceprint per named speaker of a show, matched against the speakers of new episodes
CREATE TABLE speakers (
    id          INTEGER PRIMARY KEY,
    episode_id  INTEGER NOT NULL REFERENCES episodes(id) ON DELETE CASCADE,
    label       TEXT NOT NULL,                  -- S1, S2, … in order of speech time
    name        TEXT,
    name_source TEXT,                           -- user | feed | intro | address | notes | voiceprint
    role        TEXT,                           -- host | guest | … when known
    confidence  REAL,                           -- evidence score of the name (user: none)
    seconds     REAL NOT NULL DEFAULT 0,        -- speech time in the transcript
    embedding   BLOB,                           -- float32 voice centroid (256 values)
    UNIQUE (episode_id, label)
);
CREATE INDEX segments_speaker ON segments(speaker_id);

CREATE TABLE voiceprints (
    id        INTEGER PRIMARY KEY,
    show_id   INTEGER NOT NULL REFERENCES shows(id) ON DELETE CASCADE,
    name      TEXT NOT NULL,
    embedding BLOB NOT NULL,                    -- normed mean of the named speakers' centroids
    episodes  INTEGER NOT NULL DEFAULT 0,
    updated   REAL NOT NULL,
    UNIQUE (show_id, name)
);

-- episodes added before this step existed get it too (transcripts are labelled on next sync)
INSERT OR IGNORE INTO jobs (episode_id, step, updated)
    SELECT id, 'speakers', strftime('%s', 'now') FROM episodes;
