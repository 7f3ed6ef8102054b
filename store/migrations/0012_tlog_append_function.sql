-- Appending to the transparency log in one round trip (issue 19). A batch appends while it
-- holds the log's advisory lock, and every replica's next batch waits for that lock until the
-- batch commits; the five round trips the append took (lock, size, frontier, nodes, indexes)
-- were five waits for every writer behind it. This function does the same work inside the
-- server: it takes the lock, reads the log's size and frontier, hashes each leaf and every
-- perfect subtree it completes (RFC 9162: SHA-256 of 0x00 || entry for a leaf, of
-- 0x01 || left || right for a node, the same as vouch_evidence::tlog::Frontier::push),
-- stores them, gives each snapshot its leaf index, and answers the first index it used.
-- Nothing about the tables changes; SQLite appends in the process that owns the database.
CREATE FUNCTION vouch_tlog_append(digests TEXT[], lock_key BIGINT) RETURNS BIGINT
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
    PERFORM pg_advisory_xact_lock(lock_key);
    SELECT COALESCE(MAX(n.idx) + 1, 0) INTO log_size FROM tlog_nodes n WHERE n.level = 0;
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
    -- One row at a time by its primary key: a join with the array could be planned as a scan
    -- of every snapshot, whose cost grows with the store.
    FOR i IN 1..COALESCE(array_length(digests, 1), 0) LOOP
        UPDATE snapshots SET log_index = first_index + i - 1 WHERE digest = digests[i];
    END LOOP;
    RETURN first_index;
END
$$;
