-- The view as of an instant (`assets_as_of`) counts each chain's snapshots received by then and
-- finds its newest by collection time then: with the receipt and collection instants beside
-- the chain position, both are read from this index alone, without a visit to each row.
CREATE INDEX snapshots_by_chain_covered ON snapshots(asset_kind, asset_id, agent_id, sequence)
    INCLUDE (collected_at, received_at);
