-- issue 18: the feed's raw XML as last fetched (see SQLite's 0013_feed_xml.sql)
ALTER TABLE shows ADD COLUMN feed_xml bytea;
