-- Nobody in (issue 15): the same as the SQLite store's schema step 9.
--
-- Agents bound to the assets they may write (fixed at enrolment) and revocable; enrolment
-- tokens scoped and revocable; API tokens that expire and are revocable, with their last use;
-- the audit log; refusals of unknown clients counted per minute and reason, not kept one by
-- one. Agents enrolled before are bound to the assets they had written; API tokens issued
-- before expire 90 days after the upgrade; enrolment tokens issued before (no scope) cannot
-- be used.
ALTER TABLE agents ADD COLUMN assets TEXT NOT NULL DEFAULT '[]';
ALTER TABLE agents ADD COLUMN revoked_at BIGINT;
ALTER TABLE agents ADD COLUMN revoked_reason TEXT;
ALTER TABLE agents ADD COLUMN revoked_by TEXT;
UPDATE agents SET assets = COALESCE((
    SELECT json_agg(c.asset_kind || ':' || c.asset_id ORDER BY c.asset_kind, c.asset_id)::text
    FROM chains c WHERE c.agent_id = agents.agent_id), '[]');
ALTER TABLE enroll_tokens ADD COLUMN scope TEXT;
ALTER TABLE enroll_tokens ADD COLUMN label TEXT NOT NULL DEFAULT '';
ALTER TABLE enroll_tokens ADD COLUMN revoked_at BIGINT;
ALTER TABLE api_tokens ADD COLUMN expires_at BIGINT;
ALTER TABLE api_tokens ADD COLUMN revoked_at BIGINT;
ALTER TABLE api_tokens ADD COLUMN last_used_at BIGINT;
UPDATE api_tokens SET expires_at =
    (CAST(EXTRACT(EPOCH FROM now()) AS BIGINT) + 90 * 86400) * 1000000;
CREATE TABLE audit_log(
    id BIGSERIAL PRIMARY KEY,
    at BIGINT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    subject TEXT NOT NULL,
    detail TEXT NOT NULL);
CREATE TABLE rejection_counts(
    minute BIGINT NOT NULL,
    reason TEXT NOT NULL,
    count BIGINT NOT NULL,
    PRIMARY KEY(minute, reason));
