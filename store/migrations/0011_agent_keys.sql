-- Agents' retired keys (issue 19, key rotation): the same as step 15 of the SQLite schema.
CREATE TABLE agent_keys(
    keyid TEXT PRIMARY KEY,
    agent_id TEXT NOT NULL,
    public_key TEXT NOT NULL,
    retired_at BIGINT NOT NULL,
    rotation BYTEA NOT NULL);
