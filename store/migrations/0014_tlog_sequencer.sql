-- The transparency log's appends move out of the ingest batches' transactions into a
-- sequencer (issue 19), as Trillian does it. With the append inside each batch, the log's lock
-- was held from the append through the batch's commit, so the writers' commits (each a WAL
-- flush) followed one another instead of sharing one: 13-16 % of ingest's rate end to end.
--
-- Now a batch queues its accepted snapshots (tlog_queue) in the commit that stores them, and
-- takes no lock for the log. The sequencer (vouch_tlog_sequence, run by every replica after
-- its batches commit and before it answers them) takes the lock, appends everything queued in
-- the order it was queued, records each leaf's index by digest (tlog_leaves) and empties the
-- queue, in one transaction. A snapshot is acknowledged only once that transaction has
-- committed, so an acknowledged snapshot is in the log as before; one whose batch committed
-- but whose sequencing did not (a crash between the two) is still queued, and the next round
-- of any replica (at the latest, the next start) appends it.

CREATE TABLE tlog_queue(
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    digest TEXT NOT NULL);

CREATE TABLE tlog_leaves(
    digest TEXT PRIMARY KEY,
    idx BIGINT NOT NULL);

-- Snapshots stored before the log existed and not appended yet: queued in the order they were
-- received, as the start-up catch-up appended them.
INSERT INTO tlog_queue(digest)
SELECT digest FROM snapshots WHERE log_index IS NULL ORDER BY received_at, digest;

-- Appends up to `most` queued snapshots, in the order they were queued, under the log's lock;
-- answers how many. Every statement after the lock sees what committed before it was taken.
CREATE FUNCTION vouch_tlog_sequence(lock_key BIGINT, most BIGINT) RETURNS BIGINT
LANGUAGE plpgsql AS $$
DECLARE
    first_index BIGINT;
    digests TEXT[];
BEGIN
    PERFORM pg_advisory_xact_lock(lock_key);
    WITH taken AS (
        DELETE FROM tlog_queue
         WHERE seq IN (SELECT q.seq FROM tlog_queue q ORDER BY q.seq LIMIT most)
        RETURNING seq, digest)
    SELECT array_agg(t.digest ORDER BY t.seq) INTO digests FROM taken t;
    IF digests IS NULL THEN
        RETURN 0;
    END IF;
    first_index := vouch_tlog_append_leaves(digests, lock_key);
    INSERT INTO tlog_leaves(digest, idx)
    SELECT u.d, first_index + u.o - 1 FROM UNNEST(digests) WITH ORDINALITY AS u(d, o);
    RETURN array_length(digests, 1);
END
$$;
