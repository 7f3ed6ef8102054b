-- Each snapshot's leaf index written by the INSERT that stores it (issue 19), not by an UPDATE
-- after it. Updating `snapshots.log_index` (an indexed column) made a second version of every
-- stored row and a new entry in each of the table's indexes: the largest part of what the
-- log cost ingest on PostgreSQL. A batch now appends first, in the statement that stores its
-- snapshots (vouch_tlog_append_leaves answers the first index it used), and inserts each
-- snapshot with its index; the log's lock is held until the batch commits, so no other batch
-- can take the same indexes. Every writer (a batch, the one-snapshot path) takes that lock
-- before it writes any snapshot row, so two never wait on each other in a circle.
-- vouch_tlog_append keeps its meaning (append, then set the indexes of rows already stored)
-- for the snapshots stored before the log existed.

-- Takes the log's advisory lock (until the transaction ends) and answers the log's size:
-- the index the next leaf gets.
CREATE FUNCTION vouch_tlog_lock(lock_key BIGINT) RETURNS BIGINT
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(lock_key);
    RETURN (SELECT COALESCE(MAX(n.idx) + 1, 0) FROM tlog_nodes n WHERE n.level = 0);
END
$$;

-- Appends `digests` in order under the lock, as vouch_tlog_append of migration 0012 did,
-- without touching `snapshots`; answers the first index it used.
CREATE FUNCTION vouch_tlog_append_leaves(digests TEXT[], lock_key BIGINT) RETURNS BIGINT
LANGUAGE plpgsql AS $$
DECLARE
    first_index BIGINT;
    log_size BIGINT;
    stack BYTEA[] := '{}';
    levels BIGINT[] := '{}';
    idxs BIGINT[] := '{}';
    hashes BYTEA[] := '{}';
    h BYTEA;
    l BIGINT;
    i BIGINT;
    d TEXT;
    top INT;
BEGIN
    log_size := vouch_tlog_lock(lock_key);
    first_index := log_size;
    -- The frontier: the perfect subtrees the log ends with, largest (leftmost) first.
    FOR l IN REVERSE 62..0 LOOP
        IF (log_size >> l::INT) & 1 = 1 THEN
            SELECT n.hash INTO h FROM tlog_nodes n
             WHERE n.level = l AND n.idx = (log_size >> l::INT) - 1;
            IF h IS NULL THEN
                RAISE EXCEPTION 'the log holds no node %/%', l, (log_size >> l::INT) - 1;
            END IF;
            stack := stack || h;
        END IF;
    END LOOP;
    FOREACH d IN ARRAY digests LOOP
        h := sha256('\x00'::BYTEA || decode(d, 'hex'));
        i := log_size;
        l := 0;
        levels := levels || l;
        idxs := idxs || i;
        hashes := hashes || h;
        WHILE i & 1 = 1 LOOP
            top := array_length(stack, 1);
            h := sha256('\x01'::BYTEA || stack[top] || h);
            stack := stack[1:top - 1];
            l := l + 1;
            i := i >> 1;
            levels := levels || l;
            idxs := idxs || i;
            hashes := hashes || h;
        END LOOP;
        stack := stack || h;
        log_size := log_size + 1;
    END LOOP;
    INSERT INTO tlog_nodes(level, idx, hash) SELECT * FROM UNNEST(levels, idxs, hashes);
    RETURN first_index;
END
$$;

-- Migration 0012's function, now the leaves appended above and then the indexes set on rows
-- already stored, one row at a time by its primary key.
CREATE OR REPLACE FUNCTION vouch_tlog_append(digests TEXT[], lock_key BIGINT) RETURNS BIGINT
LANGUAGE plpgsql AS $$
DECLARE
    first_index BIGINT;
BEGIN
    first_index := vouch_tlog_append_leaves(digests, lock_key);
    FOR i IN 1..COALESCE(array_length(digests, 1), 0) LOOP
        UPDATE snapshots SET log_index = first_index + i - 1 WHERE digest = digests[i];
    END LOOP;
    RETURN first_index;
END
$$;
