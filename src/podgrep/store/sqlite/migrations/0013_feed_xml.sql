-- issue 18: the feed's raw XML as last fetched (a 200, not a 304), so `podgrep publish`
-- republishes the original feed, every tag kept, rather than a rebuild from the metadata.
-- NULL: not fetched since this migration, or larger than the cap (store.sql.FEED_XML_MAX).
ALTER TABLE shows ADD COLUMN feed_xml BLOB;
