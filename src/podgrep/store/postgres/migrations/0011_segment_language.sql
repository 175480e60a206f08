-- issue 16: the language each segment was read in (see SQLite's 0011_segment_language.sql)
ALTER TABLE segments ADD COLUMN language TEXT;
