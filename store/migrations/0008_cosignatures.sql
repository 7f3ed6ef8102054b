-- Witnesses' cosignatures of the log's checkpoints (issue 19): the same as step 12 of the
-- SQLite schema. One signature line per witness and checkpoint size, kept until a later
-- checkpoint has as many.
CREATE TABLE tlog_cosignatures(
    size BIGINT NOT NULL,
    witness TEXT NOT NULL,
    line TEXT NOT NULL,
    received_at BIGINT NOT NULL,
    PRIMARY KEY(size, witness));
