-- RFC 3161 time-stamp tokens of the log's checkpoints (issue 19): the same as step 14 of the
-- SQLite schema.
CREATE TABLE tlog_timestamps(
    size BIGINT PRIMARY KEY,
    token BYTEA NOT NULL,
    gen_time BIGINT NOT NULL);
