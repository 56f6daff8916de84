-- R20: what a job needs besides its id (the scrub job: the erasure's transaction id on
-- PostgreSQL, so it waits until no older snapshot can still see the erased rows).
ALTER TABLE jobs ADD COLUMN payload TEXT;
