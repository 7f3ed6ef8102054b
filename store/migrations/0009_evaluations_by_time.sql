-- Evaluations in the order they were made, for the feed of signed verdicts (issue 19): the
-- same as step 13 of the SQLite schema.
CREATE INDEX evaluations_by_time ON evaluations(evaluated_at, digest, pack_digest);
