-- The PostgreSQL schema of the Vouch store: the same tables as the SQLite store at its
-- schema version 7. Instants are microseconds since the Unix epoch (BIGINT), digests hex.
CREATE TABLE agents(
    agent_id TEXT PRIMARY KEY,
    keyid TEXT NOT NULL UNIQUE,
    public_key TEXT NOT NULL,
    name TEXT NOT NULL,
    enrolled_at BIGINT NOT NULL);
CREATE TABLE enroll_tokens(
    hash TEXT PRIMARY KEY,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT,
    used_by TEXT);
CREATE TABLE api_tokens(
    hash TEXT PRIMARY KEY,
    role TEXT NOT NULL,
    label TEXT NOT NULL,
    created_at BIGINT NOT NULL);
CREATE TABLE chains(
    agent_id TEXT NOT NULL,
    asset_kind TEXT NOT NULL,
    asset_id TEXT NOT NULL,
    asset_name TEXT NOT NULL,
    head_sequence BIGINT NOT NULL,
    head_digest TEXT NOT NULL,
    snapshot_count BIGINT NOT NULL,
    last_collected_at BIGINT NOT NULL,
    last_received_at BIGINT NOT NULL,
    PRIMARY KEY(agent_id, asset_kind, asset_id));
-- The backstop of exactly-once ingest across replicas: a digest is stored once and a chain
-- position is taken once, whatever the application does.
CREATE TABLE snapshots(
    digest TEXT PRIMARY KEY,
    agent_id TEXT NOT NULL,
    asset_kind TEXT NOT NULL,
    asset_id TEXT NOT NULL,
    asset_name TEXT NOT NULL,
    sequence BIGINT NOT NULL,
    previous_digest TEXT,
    collected_at BIGINT NOT NULL,
    received_at BIGINT NOT NULL,
    envelope BYTEA NOT NULL,
    receipt BYTEA NOT NULL,
    UNIQUE(asset_kind, asset_id, agent_id, sequence));
CREATE INDEX snapshots_by_time ON snapshots(collected_at);
CREATE INDEX snapshots_by_received ON snapshots(received_at);
CREATE INDEX snapshots_by_chain_time ON snapshots(agent_id, asset_kind, asset_id, collected_at);
CREATE TABLE rejections(
    id BIGSERIAL PRIMARY KEY,
    at BIGINT NOT NULL,
    remote TEXT NOT NULL,
    reason TEXT NOT NULL,
    message TEXT NOT NULL,
    agent_id TEXT,
    body_sha256 TEXT NOT NULL,
    body_size BIGINT NOT NULL);
CREATE TABLE policy_packs(
    digest TEXT PRIMARY KEY,
    loaded_at BIGINT NOT NULL);
CREATE TABLE policy_pack_files(
    pack_digest TEXT NOT NULL REFERENCES policy_packs(digest),
    path TEXT NOT NULL,
    content BYTEA NOT NULL,
    PRIMARY KEY(pack_digest, path));
CREATE TABLE result_sets(
    id TEXT PRIMARY KEY,
    results TEXT NOT NULL);
CREATE TABLE evaluations(
    digest TEXT NOT NULL REFERENCES snapshots(digest),
    pack_digest TEXT NOT NULL REFERENCES policy_packs(digest),
    evaluated_at BIGINT NOT NULL,
    run_id BIGINT,
    result_set TEXT NOT NULL REFERENCES result_sets(id),
    PRIMARY KEY(digest, pack_digest));
CREATE TABLE evaluation_runs(
    id BIGSERIAL PRIMARY KEY,
    requested_by TEXT NOT NULL,
    requested_at BIGINT NOT NULL,
    reason TEXT NOT NULL,
    pack_digest TEXT NOT NULL,
    scope_from BIGINT NOT NULL,
    scope_to BIGINT NOT NULL,
    finished_at BIGINT,
    evaluated BIGINT NOT NULL DEFAULT 0);
CREATE TABLE exceptions(
    id BIGSERIAL PRIMARY KEY,
    policy_id TEXT NOT NULL,
    asset_kind TEXT,
    asset_id TEXT,
    justification TEXT NOT NULL,
    owner TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL);
CREATE TABLE attestations(
    digest TEXT PRIMARY KEY,
    control TEXT NOT NULL,
    recorded_at BIGINT NOT NULL,
    valid_until BIGINT NOT NULL,
    envelope BYTEA NOT NULL,
    document BYTEA);
CREATE INDEX attestations_by_control ON attestations(control, recorded_at);
CREATE TABLE control_history(
    framework TEXT NOT NULL,
    control TEXT NOT NULL,
    since BIGINT NOT NULL,
    state TEXT NOT NULL,
    recorded_at BIGINT NOT NULL,
    PRIMARY KEY(framework, control, since));
CREATE INDEX control_history_by_since ON control_history(framework, since);
CREATE TABLE asset_tags(
    asset_kind TEXT NOT NULL,
    asset_id TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY(asset_kind, asset_id, key));
