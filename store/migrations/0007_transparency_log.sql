-- The transparency log (issue 19): the same as step 11 of the SQLite schema. Each accepted
-- snapshot's digest is a leaf, appended in the commit that stores it; the hash of every
-- perfect subtree is kept so that any proof is a few lookups. Snapshots stored before are
-- appended at start-up, in the order they were received.
ALTER TABLE snapshots ADD COLUMN log_index BIGINT;
CREATE UNIQUE INDEX snapshots_by_log_index ON snapshots(log_index);
CREATE TABLE tlog_nodes(
    level BIGINT NOT NULL,
    idx BIGINT NOT NULL,
    hash BYTEA NOT NULL,
    PRIMARY KEY(level, idx));
