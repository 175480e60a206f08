-- issue 12: sources added through the API of a server others can reach are held to the
-- content rules (public addresses only, or allow_networks) on every later fetch too: refresh,
-- feed health, media. 1 = added by a remote caller.
ALTER TABLE shows ADD COLUMN remote INTEGER NOT NULL DEFAULT 0;
ALTER TABLE episodes ADD COLUMN remote INTEGER NOT NULL DEFAULT 0;
