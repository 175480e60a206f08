-- issue 16: a recording that switches language is read in each language; each segment keeps
-- the language it was read in (NULL: the transcript's).
ALTER TABLE segments ADD COLUMN language TEXT;
