-- Envelopes moved to object storage (then `envelope` is empty and `envelope_sha256` names the
-- object), claims of the uploaders of every replica, expiry by retention, and the audit periods
-- that hold evidence back from expiry. The same as step 8 of the SQLite schema.
ALTER TABLE snapshots ADD COLUMN envelope_sha256 TEXT;
ALTER TABLE snapshots ADD COLUMN object_at BIGINT;
ALTER TABLE snapshots ADD COLUMN upload_lease BIGINT;
ALTER TABLE snapshots ADD COLUMN expired_at BIGINT;
CREATE INDEX snapshots_to_upload ON snapshots(received_at)
    WHERE object_at IS NULL AND expired_at IS NULL;
CREATE TABLE audit_periods(
    id BIGSERIAL PRIMARY KEY,
    framework TEXT NOT NULL,
    label TEXT NOT NULL,
    from_at BIGINT NOT NULL,
    to_at BIGINT NOT NULL,
    opened_at BIGINT NOT NULL,
    closed_at BIGINT);
