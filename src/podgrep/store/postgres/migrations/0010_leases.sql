-- issue 15: who holds a claimed job and since when (see SQLite's 0010_leases.sql)
ALTER TABLE jobs ADD COLUMN worker TEXT;
ALTER TABLE jobs ADD COLUMN started DOUBLE PRECISION;
UPDATE jobs SET lease_until = 0 WHERE state = 'running';
