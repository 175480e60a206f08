-- the window boundaries (in samples) a transcript is cut into, fixed at its first run, so a
-- resumed run cuts exactly where the first did even if settings or VAD changed in between
ALTER TABLE transcripts ADD COLUMN windows_json TEXT;
