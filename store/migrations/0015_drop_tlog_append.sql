-- vouch_tlog_append (migrations 0012 and 0013) appended inside an ingest batch and then set
-- `snapshots.log_index`. Since the sequencer of migration 0014 nothing calls it: batches queue
-- their snapshots and vouch_tlog_sequence appends them (through vouch_tlog_append_leaves,
-- which stays). Dropped so that no caller can take the old path, which held the log's lock
-- through a batch's commit. `snapshots.log_index` stays: it holds the leaf indexes of
-- snapshots appended before migration 0014, and `log_index` reads it after `tlog_leaves`.
DROP FUNCTION IF EXISTS vouch_tlog_append(TEXT[], BIGINT);
