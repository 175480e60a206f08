-- issue 15: the jobs table is a work queue that many workers share. A claimed job records who
-- holds it (worker: "host:pid/lane") and since when; lease_until (already there) is renewed
-- while the step runs, and a job whose lease ran out (its worker died) is claimed again.
ALTER TABLE jobs ADD COLUMN worker TEXT;
ALTER TABLE jobs ADD COLUMN started REAL;
-- a run before leases left its running jobs with an hour's lease: free them now
UPDATE jobs SET lease_until = 0 WHERE state = 'running';
