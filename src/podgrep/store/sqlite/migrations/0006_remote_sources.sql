-- issue 12: sources added through the API of a server others can reach are held to the
-- content rules (public addresses only, or allow_networks) on every later fetch too: refresh,
-- feed health, media. 1 = added by a remote caller.
ALTER TABLE shows ADD COLUMN remote INTEGER NOT NULL DEFAULT 0;
-- 1 while shows.feed_url is an address the user typed; 0 once the feed itself moved the show
-- (new-feed-url, a permanent redirect): only a typed address is fetched wherever it leads
ALTER TABLE shows ADD COLUMN typed INTEGER NOT NULL DEFAULT 1;
ALTER TABLE episodes ADD COLUMN remote INTEGER NOT NULL DEFAULT 0;
