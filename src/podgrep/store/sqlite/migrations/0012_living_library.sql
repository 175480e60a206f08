-- issue 17: living with a library.
-- A paused show is neither checked nor synced (1 = paused).
ALTER TABLE shows ADD COLUMN paused INTEGER NOT NULL DEFAULT 0;
-- What is kept of a show's media once transcribed: original | opus | none (NULL: the
-- `keep_media` setting).
ALTER TABLE shows ADD COLUMN keep_media TEXT;
-- Seconds the feed asks between checks (<ttl>, podcast:updateFrequency), NULL: not said.
ALTER TABLE shows ADD COLUMN check_every REAL;
-- Failed checks in a row, for backing off a failing feed (0 after a good check).
ALTER TABLE shows ADD COLUMN check_failures INTEGER NOT NULL DEFAULT 0;
-- The model a retranscription asked for (NULL: the `model` setting).
ALTER TABLE episodes ADD COLUMN model TEXT;
-- What retention left of the media: original | opus | none (NULL: not applied yet).
ALTER TABLE episodes ADD COLUMN media_kept TEXT;
