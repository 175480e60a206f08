-- issue 13: chapters JSON 1.2 `location` ({"name", "geo", "osm"}) kept with its chapter and
-- written back in the export. A chapter without a title is stored with title '' (the column
-- stays NOT NULL).
ALTER TABLE chapters ADD COLUMN location_json TEXT;
