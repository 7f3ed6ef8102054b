-- Ingest at thousands of snapshots a second (issue 7):
--
-- 1. The snapshots no pack has judged yet, as a queue: the evaluator read them with an
--    anti-join of every snapshot against every evaluation, which grew with the store (a hash
--    join over both tables each round). Ingest adds a row in the statement that stores the
--    snapshot, recording evaluations removes it; the evaluator reads the oldest by index.
CREATE TABLE unjudged(
    digest TEXT PRIMARY KEY,
    received_at BIGINT NOT NULL);
CREATE INDEX unjudged_by_received ON unjudged(received_at);
INSERT INTO unjudged(digest, received_at)
    SELECT s.digest, s.received_at FROM snapshots s
    WHERE NOT EXISTS (SELECT 1 FROM evaluations e WHERE e.digest = s.digest);

-- 2. Envelopes (about 13 KB of base64 JSON each) compressed with LZ4 rather than pglz, several
--    times cheaper on the ingest path. Servers built without LZ4 keep pglz.
DO $$
BEGIN
    ALTER TABLE snapshots ALTER COLUMN envelope SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported THEN
    RAISE NOTICE 'LZ4 is not available: envelopes stay compressed with pglz';
END $$;
