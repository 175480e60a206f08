-- issue 12: choosing the next job is an index lookup, not a sort of every job row.
--
-- Each episode carries its next step (the first job in pipeline order that is not done; NULL
-- when all are) and, when that step has failed, its attempts. Triggers on jobs keep both up
-- to date in the same transaction as every job change, whoever makes it. A partial index over
-- the episodes with a step left, in queue order (show, newest published first, id), answers
-- "the next runnable job after this position" with LIMIT 1 and no sort.
--
-- The step order below is STEPS in store/sqlite.py; a migration that adds a step must
-- recreate these triggers and recompute next_step.

ALTER TABLE episodes ADD COLUMN next_step TEXT;
ALTER TABLE episodes ADD COLUMN next_failed INTEGER;   -- attempts of next_step when it failed
-- queue order inside a show: newest first, so an ascending index can serve it
ALTER TABLE episodes ADD COLUMN queue_age REAL GENERATED ALWAYS AS (-COALESCE(published, added)) VIRTUAL;

UPDATE episodes SET (next_step, next_failed) = (
    SELECT j.step, CASE WHEN j.state = 'failed' THEN j.attempts END FROM jobs j
    WHERE j.episode_id = episodes.id AND j.state != 'done'
    ORDER BY CASE j.step WHEN 'fetch' THEN 0 WHEN 'transcribe' THEN 1 WHEN 'speakers' THEN 2
             WHEN 'index' THEN 3 END, j.id
    LIMIT 1
);

CREATE INDEX episodes_queue ON episodes(show_id, queue_age) WHERE next_step IS NOT NULL;

CREATE TRIGGER jobs_queue_ai AFTER INSERT ON jobs BEGIN
    UPDATE episodes SET (next_step, next_failed) = (
        SELECT j.step, CASE WHEN j.state = 'failed' THEN j.attempts END FROM jobs j
        WHERE j.episode_id = new.episode_id AND j.state != 'done'
        ORDER BY CASE j.step WHEN 'fetch' THEN 0 WHEN 'transcribe' THEN 1 WHEN 'speakers' THEN 2
                 WHEN 'index' THEN 3 END, j.id
        LIMIT 1
    ) WHERE id = new.episode_id;
END;

CREATE TRIGGER jobs_queue_au AFTER UPDATE OF state, attempts, step, episode_id ON jobs BEGIN
    UPDATE episodes SET (next_step, next_failed) = (
        SELECT j.step, CASE WHEN j.state = 'failed' THEN j.attempts END FROM jobs j
        WHERE j.episode_id = new.episode_id AND j.state != 'done'
        ORDER BY CASE j.step WHEN 'fetch' THEN 0 WHEN 'transcribe' THEN 1 WHEN 'speakers' THEN 2
                 WHEN 'index' THEN 3 END, j.id
        LIMIT 1
    ) WHERE id = new.episode_id;
    UPDATE episodes SET (next_step, next_failed) = (
        SELECT j.step, CASE WHEN j.state = 'failed' THEN j.attempts END FROM jobs j
        WHERE j.episode_id = old.episode_id AND j.state != 'done'
        ORDER BY CASE j.step WHEN 'fetch' THEN 0 WHEN 'transcribe' THEN 1 WHEN 'speakers' THEN 2
                 WHEN 'index' THEN 3 END, j.id
        LIMIT 1
    ) WHERE id = old.episode_id AND old.episode_id != new.episode_id;
END;

CREATE TRIGGER jobs_queue_ad AFTER DELETE ON jobs BEGIN
    UPDATE episodes SET (next_step, next_failed) = (
        SELECT j.step, CASE WHEN j.state = 'failed' THEN j.attempts END FROM jobs j
        WHERE j.episode_id = old.episode_id AND j.state != 'done'
        ORDER BY CASE j.step WHEN 'fetch' THEN 0 WHEN 'transcribe' THEN 1 WHEN 'speakers' THEN 2
                 WHEN 'index' THEN 3 END, j.id
        LIMIT 1
    ) WHERE id = old.episode_id;
END;
