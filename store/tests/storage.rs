//! The storage contract, run against both backends: SQLite in a temporary directory and
//! PostgreSQL (a fresh database in the cluster `VOUCH_TEST_POSTGRES_URL` names, which
//! `.ci/with-services` starts). Exactly-once ingest and chain checks, racing resends, enrolment
//! tokens, evaluations kept once per pack with their result sets, the view as of an instant,
//! exceptions, attestations, runs, history, tags and populations behave the same on both.

use std::collections::BTreeMap;
use std::sync::Arc;

use vouch_evidence::tlog;
use vouch_evidence::{AssetKind, ChainKey, Digest, PublicKey, SigningKey, Timestamp};
use vouch_store::Role;
use vouch_store::postgres::PgStore;
use vouch_store::sqlite::SqliteStore;
use vouch_store::{
    AgentRecord, ControlChange, Evaluation, IngestOutcome, NewException, NewRun, NewSnapshot,
    PackRecord, Revocation, RevokeOutcome, Store, StoreError, StoredResult, TokenKind,
};

fn at(secs: i64) -> Timestamp {
    Timestamp::from_unix_micros(1_790_000_000_000_000 + secs * 1_000_000).unwrap()
}

fn snap(agent: &str, sequence: u64, previous: Option<Digest>, tag: &str) -> NewSnapshot {
    let envelope = format!("envelope {agent} {sequence} {tag}").into_bytes();
    NewSnapshot {
        digest: Digest::of(&envelope),
        chain: ChainKey {
            agent_id: agent.into(),
            asset_kind: AssetKind::Host,
            asset_id: format!("m-{agent}"),
        },
        asset_name: format!("web-{agent}"),
        sequence,
        previous_digest: previous,
        collected_at: at(sequence as i64 * 10),
        received_at: at(sequence as i64 * 10 + 1),
        receipt: format!("receipt of {tag}").into_bytes(),
        envelope,
    }
}

/// A chain of `n` for `agent`, linked.
fn chain(agent: &str, n: u64) -> Vec<NewSnapshot> {
    let mut out: Vec<NewSnapshot> = Vec::new();
    for seq in 1..=n {
        let previous = out.last().map(|s| s.digest);
        out.push(snap(agent, seq, previous, "a"));
    }
    out
}

/// A fresh database in the test cluster; its URL.
async fn fresh_postgres() -> String {
    let base = std::env::var("VOUCH_TEST_POSTGRES_URL")
        .expect("VOUCH_TEST_POSTGRES_URL is not set: run the tests under `bash .ci/with-services`");
    vouch_store::postgres::create_test_database(&base)
        .await
        .unwrap()
}

/// Both backends, fresh. The temporary directory lives as long as the SQLite store is used.
async fn backends() -> (tempfile::TempDir, Vec<(&'static str, Arc<dyn Store>)>) {
    let dir = tempfile::tempdir().unwrap();
    let sqlite: Arc<dyn Store> = Arc::new(SqliteStore::open(&dir.path().join("v.db")).unwrap());
    let postgres: Arc<dyn Store> =
        Arc::new(PgStore::connect(&fresh_postgres().await).await.unwrap());
    (dir, vec![("sqlite", sqlite), ("postgres", postgres)])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ingest_is_exactly_once_and_chains_are_checked() {
    let (_dir, stores) = backends().await;
    for (name, store) in stores {
        let c = chain("agt_a", 3);
        let first = store.ingest(c[0].clone()).await.unwrap();
        assert_eq!(
            first,
            IngestOutcome::Stored {
                receipt: c[0].receipt.clone()
            },
            "{name}"
        );
        // A resend, even with another receipt offered, answers the original receipt.
        let mut again = c[0].clone();
        again.receipt = b"another".to_vec();
        assert_eq!(
            store.ingest(again).await.unwrap(),
            IngestOutcome::Duplicate {
                receipt: c[0].receipt.clone()
            },
            "{name}"
        );
        // A gap and a fork are refused and store nothing.
        let gap = store.ingest(c[2].clone()).await;
        assert!(
            matches!(gap, Err(StoreError::Chain { .. })),
            "{name}: {gap:?}"
        );
        let fork = store
            .ingest(snap("agt_a", 2, Some(Digest::of(b"elsewhere")), "fork"))
            .await;
        assert!(
            matches!(fork, Err(StoreError::Chain { .. })),
            "{name}: {fork:?}"
        );
        // A snapshot collected before its chain's head is refused (issue 15, defect 9).
        let mut earlier = c[1].clone();
        earlier.collected_at = at(5);
        earlier.envelope = b"back in time".to_vec();
        earlier.digest = Digest::of(&earlier.envelope);
        let back = store.ingest(earlier).await;
        assert!(
            matches!(
                back,
                Err(StoreError::Chain {
                    source: vouch_evidence::chain::LinkError::BackInTime { .. },
                    ..
                })
            ),
            "{name}: {back:?}"
        );
        store.ingest(c[1].clone()).await.unwrap();
        store.ingest(c[2].clone()).await.unwrap();
        assert_eq!(store.snapshot_count().await.unwrap(), 3, "{name}");
        let assets = store.assets().await.unwrap();
        assert_eq!(assets.len(), 1, "{name}");
        assert_eq!(
            (
                assets[0].snapshot_count,
                assets[0].last_sequence,
                assets[0].last_digest
            ),
            (3, 3, c[2].digest),
            "{name}"
        );
        let listed = store
            .snapshots(AssetKind::Host, "m-agt_a", 1, 10)
            .await
            .unwrap();
        assert_eq!(
            listed.iter().map(|s| s.sequence).collect::<Vec<_>>(),
            [2, 3],
            "{name}"
        );
        assert_eq!(
            store.envelope(c[1].digest).await.unwrap(),
            Some(c[1].envelope.clone())
        );
        assert_eq!(
            store.receipt(c[1].digest).await.unwrap(),
            Some(c[1].receipt.clone())
        );
        // As it stood after the second snapshot was received.
        let then = store.assets_as_of(at(25), None).await.unwrap();
        assert_eq!(
            (then[0].snapshot_count, then[0].last_sequence),
            (2, 2),
            "{name}"
        );
        let population = store
            .population(at(0), at(100), vec![AssetKind::Host], Some(at(25)))
            .await
            .unwrap();
        assert_eq!(population.len(), 2, "{name}");
        assert!(
            store
                .population(at(0), at(100), vec![AssetKind::AwsAccount], None)
                .await
                .unwrap()
                .is_empty(),
            "{name}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_resends_and_racing_first_snapshots_store_once() {
    let (_dir, stores) = backends().await;
    for (name, store) in stores {
        // Sixteen resends of one snapshot at once: one stored, every answer the same receipt.
        // Regression pinned here: on PostgreSQL a resend whose first look missed the winner's
        // row, and whose chain read then saw it committed, was refused as stale instead of
        // answered as a duplicate.
        let s = snap("agt_r", 1, None, "r");
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..16 {
            let (store, s) = (store.clone(), s.clone());
            tasks.spawn(async move { store.ingest(s).await });
        }
        let mut stored = 0;
        while let Some(done) = tasks.join_next().await {
            match done.unwrap().unwrap() {
                IngestOutcome::Stored { receipt } | IngestOutcome::Duplicate { receipt }
                    if receipt != s.receipt =>
                {
                    panic!("{name}: another receipt")
                }
                IngestOutcome::Stored { .. } => stored += 1,
                IngestOutcome::Duplicate { .. } => {}
            }
        }
        assert_eq!(stored, 1, "{name}");
        // Two different first snapshots of one chain at once: one wins, the other is a fork.
        let (a, b) = (snap("agt_f", 1, None, "a"), snap("agt_f", 1, None, "b"));
        let (ra, rb) = tokio::join!(store.ingest(a), store.ingest(b));
        let ok = [&ra, &rb].iter().filter(|r| r.is_ok()).count();
        assert_eq!(ok, 1, "{name}: {ra:?} {rb:?}");
        assert_eq!(store.snapshot_count().await.unwrap(), 2, "{name}");
    }
}

/// Two replicas (two stores over one PostgreSQL database) racing in their batches: resends of
/// one first snapshot, two different first snapshots of one chain, and snapshots of other
/// chains in the same batches. A batch that meets the other replica's row is rolled back and
/// stored one at a time; nothing innocent in it is lost and nothing is stored twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_racing_batches_store_once() {
    let url = fresh_postgres().await;
    let replicas: [Arc<dyn Store>; 2] = [
        Arc::new(PgStore::connect(&url).await.unwrap()),
        Arc::new(PgStore::connect(&url).await.unwrap()),
    ];
    let mut expected = 0;
    for round in 0..20 {
        let resent = snap(&format!("agt_resent{round}"), 1, None, "r");
        let forks = [
            snap(&format!("agt_fork{round}"), 1, None, "a"),
            snap(&format!("agt_fork{round}"), 1, None, "b"),
        ];
        let mut tasks = tokio::task::JoinSet::new();
        for (r, replica) in replicas.iter().enumerate() {
            for copy in 0..4 {
                let bystander = snap(&format!("agt_by{round}_{r}_{copy}"), 1, None, "x");
                for (what, s) in [
                    ("resent", resent.clone()),
                    ("fork", forks[r].clone()),
                    ("bystander", bystander),
                ] {
                    let store = replica.clone();
                    tasks.spawn(async move { (what, s.digest, store.ingest(s).await) });
                }
            }
        }
        let (mut stored, mut fork_winners) = (0, std::collections::BTreeSet::new());
        while let Some(done) = tasks.join_next().await {
            match done.unwrap() {
                (what, digest, Ok(outcome)) => {
                    let receipt = match outcome {
                        IngestOutcome::Stored { receipt } => {
                            stored += 1;
                            receipt
                        }
                        IngestOutcome::Duplicate { receipt } => receipt,
                    };
                    if what == "resent" {
                        assert_eq!(receipt, resent.receipt, "round {round}: another receipt");
                    }
                    if what == "fork" {
                        fork_winners.insert(digest);
                    }
                }
                ("fork", _, Err(StoreError::Chain { .. })) => {}
                (what, _, Err(e)) => panic!("round {round}: {what} refused: {e}"),
            }
        }
        // One resend, one of the two forks, eight bystanders.
        assert_eq!(stored, 10, "round {round}");
        assert_eq!(fork_winners.len(), 1, "round {round}: both forks accepted");
        expected += 10;
        for replica in &replicas {
            assert_eq!(replica.snapshot_count().await.unwrap(), expected);
        }
    }
    // Both replicas appended to one log: every stored snapshot once, the same head on each.
    let heads = [
        replicas[0].log_head().await.unwrap(),
        replicas[1].log_head().await.unwrap(),
    ];
    assert_eq!(heads[0], heads[1]);
    assert_eq!(heads[0].size, expected);
}

/// The transparency log on both backends: every accepted snapshot is one leaf (resends and
/// refused forks none), in a single order; proofs made from the stored subtrees verify against
/// the head; the log survives a restart and goes on from where it was.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_log_holds_every_accepted_snapshot_once_and_proves_it() {
    let (dir, stores) = backends().await;
    for (name, store) in stores {
        let mut tasks = tokio::task::JoinSet::new();
        for a in 0..6 {
            for s in chain(&format!("agt_log{a}"), 5) {
                let store = store.clone();
                tasks.spawn(async move {
                    store.ingest(s.clone()).await.ok()?;
                    let again = store.ingest(s.clone()).await;
                    assert!(matches!(again, Ok(IngestOutcome::Duplicate { .. })));
                    Some(s.digest)
                });
            }
        }
        let fork = snap("agt_log0", 1, None, "fork");
        let mut stored = Vec::new();
        while let Some(done) = tasks.join_next().await {
            // Links of one chain may arrive out of order here; those refused are sent again.
            if let Some(digest) = done.unwrap() {
                stored.push(digest);
            }
        }
        for a in 0..6 {
            for s in chain(&format!("agt_log{a}"), 5) {
                if !stored.contains(&s.digest) {
                    store.ingest(s.clone()).await.unwrap();
                    stored.push(s.digest);
                }
            }
        }
        assert!(
            store.ingest(fork).await.is_err(),
            "{name}: a fork was accepted"
        );
        let head = store.log_head().await.unwrap();
        assert_eq!(head.size, 30, "{name}");
        // Each snapshot's leaf, all different, together 0..30.
        let mut by_index = std::collections::BTreeMap::new();
        for d in &stored {
            let i = store.log_index(*d).await.unwrap().unwrap();
            assert!(by_index.insert(i, *d).is_none(), "{name}: leaf {i} twice");
        }
        assert_eq!(
            by_index.keys().copied().collect::<Vec<_>>(),
            (0..30).collect::<Vec<_>>()
        );
        let leaves: Vec<tlog::Hash> = by_index.values().map(|d| tlog::leaf_hash(&d.0)).collect();
        assert_eq!(tlog::root_of(&leaves), head.root, "{name}");
        for (&i, d) in &by_index {
            let proof = store
                .log_proof(&tlog::inclusion_ranges(i, head.size).unwrap())
                .await
                .unwrap();
            tlog::verify_inclusion(&tlog::leaf_hash(&d.0), i, head.size, &proof, &head.root)
                .unwrap_or_else(|e| panic!("{name}: leaf {i}: {e}"));
        }
        let old_root = tlog::root_of(&leaves[..13]);
        let proof = store
            .log_proof(&tlog::consistency_ranges(13, 30).unwrap())
            .await
            .unwrap();
        tlog::verify_consistency(13, 30, &old_root, &head.root, &proof).unwrap();
        assert!(
            store
                .log_nodes(vec![tlog::NodeId {
                    level: 0,
                    index: 30
                }])
                .await
                .is_err()
        );
        assert_eq!(
            store.log_index(Digest::of(b"never stored")).await.unwrap(),
            None
        );
        if name == "sqlite" {
            // Closed and opened again, the log goes on from its head.
            store.close().await.unwrap();
            drop(store);
            let again: Arc<dyn Store> =
                Arc::new(SqliteStore::open(&dir.path().join("v.db")).unwrap());
            assert_eq!(again.log_head().await.unwrap(), head);
            let next = chain("agt_log_after", 1).remove(0);
            again.ingest(next.clone()).await.unwrap();
            assert_eq!(again.log_index(next.digest).await.unwrap(), Some(30));
            let grown = again.log_head().await.unwrap();
            let proof = again
                .log_proof(&tlog::consistency_ranges(30, 31).unwrap())
                .await
                .unwrap();
            tlog::verify_consistency(30, 31, &head.root, &grown.root, &proof).unwrap();
        }
    }
}

/// On PostgreSQL the log is appended by a sequencer after each batch commits. An answer waits
/// until its snapshot is in the log: while another replica's sequencer holds the log's lock,
/// a snapshot is stored and queued but not acknowledged. A snapshot committed but never
/// appended (a crash between the two) is appended when the store next starts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_acknowledges_only_what_the_log_holds_and_appends_what_a_crash_left_queued() {
    let url = fresh_postgres().await;
    let store: Arc<dyn Store> = Arc::new(PgStore::connect(&url).await.unwrap());
    let pool = sqlx::PgPool::connect(&url).await.unwrap();
    let count = |table: &'static str| {
        let pool = pool.clone();
        async move {
            let n: i64 =
                sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT count(*) FROM {table}")))
                    .fetch_one(&pool)
                    .await
                    .unwrap();
            n
        }
    };
    let snaps = chain("agt_seq", 2);
    // The append of migrations 0012-0013, which held the lock through a batch's commit, is
    // gone (migration 0015); the sequencer's functions stay.
    let functions: Vec<String> = sqlx::query_scalar(
        "SELECT proname::text FROM pg_proc WHERE proname LIKE 'vouch_tlog%' ORDER BY proname",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(
        functions,
        [
            "vouch_tlog_append_leaves",
            "vouch_tlog_lock",
            "vouch_tlog_sequence"
        ]
    );

    // Another replica's sequencer holds the lock.
    let mut other = pool.acquire().await.unwrap();
    sqlx::query("SELECT pg_advisory_lock($1)")
        .bind(vouch_store::postgres::LOG_LOCK)
        .execute(&mut *other)
        .await
        .unwrap();
    let pending = tokio::spawn({
        let (store, s) = (store.clone(), snaps[0].clone());
        async move { store.ingest(s).await }
    });
    let mut waited = 0;
    while count("snapshots").await == 0 {
        waited += 1;
        assert!(waited < 1_000, "the batch never committed");
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_eq!(count("tlog_queue").await, 1);
    assert_eq!(store.log_index(snaps[0].digest).await.unwrap(), None);
    assert!(
        !pending.is_finished(),
        "answered before the snapshot was in the log"
    );
    sqlx::query("SELECT pg_advisory_unlock($1)")
        .bind(vouch_store::postgres::LOG_LOCK)
        .execute(&mut *other)
        .await
        .unwrap();
    assert!(matches!(
        pending.await.unwrap().unwrap(),
        IngestOutcome::Stored { .. }
    ));
    assert_eq!(store.log_index(snaps[0].digest).await.unwrap(), Some(0));
    assert_eq!(count("tlog_queue").await, 0);

    // The state a crash leaves between a batch's commit and its sequencing round.
    let s = &snaps[1];
    let mut tx = pool.begin().await.unwrap();
    sqlx::query(
        "INSERT INTO snapshots(digest, agent_id, asset_kind, asset_id, asset_name, sequence,
                               previous_digest, collected_at, received_at, envelope, receipt)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(s.digest.to_hex())
    .bind(&s.chain.agent_id)
    .bind(s.chain.asset_kind.as_str())
    .bind(&s.chain.asset_id)
    .bind(&s.asset_name)
    .bind(s.sequence as i64)
    .bind(s.previous_digest.map(|d| d.to_hex()))
    .bind(s.collected_at.unix_micros())
    .bind(s.received_at.unix_micros())
    .bind(&s.envelope)
    .bind(&s.receipt)
    .execute(&mut *tx)
    .await
    .unwrap();
    sqlx::query("INSERT INTO tlog_queue(digest) VALUES ($1)")
        .bind(s.digest.to_hex())
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(store.log_head().await.unwrap().size, 1);

    let restarted: Arc<dyn Store> = Arc::new(PgStore::connect(&url).await.unwrap());
    assert_eq!(restarted.log_index(s.digest).await.unwrap(), Some(1));
    assert_eq!(count("tlog_queue").await, 0);
    let head = restarted.log_head().await.unwrap();
    let leaves = [
        tlog::leaf_hash(&snaps[0].digest.0),
        tlog::leaf_hash(&s.digest.0),
    ];
    assert_eq!((head.size, head.root), (2, tlog::root_of(&leaves)));
}

/// Witnesses' cosignatures on both backends: one line per size and witness (a witness asked
/// again replaces its line), the largest size a quorum cosigned, and pruning below a size.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cosignatures_are_kept_per_size_and_witness() {
    let (_dir, stores) = backends().await;
    for (name, store) in stores {
        let at = Timestamp::from_unix_micros(1_780_000_000_000_000).unwrap();
        assert_eq!(store.witnessed_size(1).await.unwrap(), None, "{name}");
        store
            .add_cosignature(5, "w.b", "— w.b AAAA", at)
            .await
            .unwrap();
        store
            .add_cosignature(5, "w.a", "— w.a BBBB", at)
            .await
            .unwrap();
        store
            .add_cosignature(9, "w.a", "— w.a CCCC", at)
            .await
            .unwrap();
        // Asked again, a witness's line is replaced, not added.
        store
            .add_cosignature(9, "w.a", "— w.a DDDD", at)
            .await
            .unwrap();
        assert_eq!(
            store.cosignatures(5).await.unwrap(),
            vec![
                ("w.a".to_string(), "— w.a BBBB".to_string()),
                ("w.b".to_string(), "— w.b AAAA".to_string())
            ],
            "{name}"
        );
        assert_eq!(
            store.cosignatures(9).await.unwrap(),
            vec![("w.a".to_string(), "— w.a DDDD".to_string())],
            "{name}"
        );
        assert!(store.cosignatures(7).await.unwrap().is_empty(), "{name}");
        assert_eq!(store.witnessed_size(1).await.unwrap(), Some(9), "{name}");
        assert_eq!(store.witnessed_size(2).await.unwrap(), Some(5), "{name}");
        assert_eq!(store.witnessed_size(3).await.unwrap(), None, "{name}");
        // Time-stamps: one per size; the first holding a leaf, or the newest.
        assert_eq!(
            store.timestamp_covering(None).await.unwrap(),
            None,
            "{name}"
        );
        store.add_timestamp(4, b"t4".to_vec(), at).await.unwrap();
        store.add_timestamp(10, b"t10".to_vec(), at).await.unwrap();
        store.add_timestamp(4, b"again".to_vec(), at).await.unwrap();
        let size_of = |t: Option<(u64, Vec<u8>, Timestamp)>| t.map(|(s, tok, _)| (s, tok));
        assert_eq!(
            size_of(store.timestamp_covering(Some(3)).await.unwrap()),
            Some((4, b"t4".to_vec())),
            "{name}"
        );
        assert_eq!(
            size_of(store.timestamp_covering(Some(4)).await.unwrap()),
            Some((10, b"t10".to_vec())),
            "{name}"
        );
        assert_eq!(
            store.timestamp_covering(Some(10)).await.unwrap(),
            None,
            "{name}"
        );
        assert_eq!(
            size_of(store.timestamp_covering(None).await.unwrap()),
            Some((10, b"t10".to_vec())),
            "{name}"
        );
        assert_eq!(store.prune_cosignatures(9).await.unwrap(), 2, "{name}");
        assert!(store.cosignatures(5).await.unwrap().is_empty(), "{name}");
        assert_eq!(store.witnessed_size(1).await.unwrap(), Some(9), "{name}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enrolment_tokens_are_used_once_and_keys_enrol_once() {
    let (_dir, stores) = backends().await;
    for (name, store) in stores {
        let key = SigningKey::from_seed(&[5; 32]).public().clone();
        let binding = vouch_store::scope::Binding::of(["host:m-1".parse().unwrap()]);
        let agent = |id: &str, key: &PublicKey| AgentRecord {
            agent_id: id.into(),
            public_key: key.clone(),
            name: "web-1".into(),
            enrolled_at: at(10),
            binding: binding.clone(),
            revoked: None,
        };
        let scope = vouch_store::scope::Scope::parse(&["host"]).unwrap();
        for (token, expires) in [(&b"t1"[..], 100), (b"t2", 100), (b"old", 5), (b"gone", 100)] {
            store
                .add_enroll_token(Digest::of(token), at(0), at(expires), &scope, "fleet")
                .await
                .unwrap();
        }
        assert_eq!(
            store
                .enroll_token_scope(Digest::of(b"t1"), at(10))
                .await
                .unwrap(),
            Some(scope.clone()),
            "{name}"
        );
        for (token, t) in [(&b"x"[..], 10), (b"old", 10)] {
            assert_eq!(
                store
                    .enroll_token_scope(Digest::of(token), at(t))
                    .await
                    .unwrap(),
                None,
                "{name}: unknown or expired"
            );
        }
        store
            .enroll(Digest::of(b"t1"), agent("agt_1", &key))
            .await
            .unwrap();
        let reused = store.enroll(Digest::of(b"t1"), agent("agt_2", &key)).await;
        assert!(
            matches!(reused, Err(StoreError::BadToken)),
            "{name}: {reused:?}"
        );
        let expired = store.enroll(Digest::of(b"old"), agent("agt_3", &key)).await;
        assert!(
            matches!(expired, Err(StoreError::BadToken)),
            "{name}: {expired:?}"
        );
        let taken = store.enroll(Digest::of(b"t2"), agent("agt_4", &key)).await;
        assert!(
            matches!(taken, Err(StoreError::KeyTaken(ref a)) if a == "agt_1"),
            "{name}: {taken:?}"
        );
        // The refused enrolment did not use up its token.
        let other = SigningKey::from_seed(&[6; 32]).public().clone();
        store
            .enroll(Digest::of(b"t2"), agent("agt_5", &other))
            .await
            .unwrap();
        let agents = store.agents().await.unwrap();
        assert_eq!(
            agents
                .iter()
                .map(|a| a.agent_id.as_str())
                .collect::<Vec<_>>(),
            ["agt_1", "agt_5"],
            "{name}"
        );
        assert_eq!(agents[0].binding, binding, "{name}: the binding is kept");
        store
            .add_api_token(Digest::of(b"api"), Role::Auditor, "audit", at(1), at(50))
            .await
            .unwrap();
        let token = store.api_token(Digest::of(b"api")).await.unwrap().unwrap();
        assert_eq!(token.kind, TokenKind::Api(Role::Auditor), "{name}");
        assert_eq!(token.expires_at, Some(at(50)), "{name}");
        assert_eq!(store.api_token(Digest::of(b"nope")).await.unwrap(), None);
        store.touch_token(Digest::of(b"api"), at(20)).await.unwrap();

        // Revocations: a token by the first digits of its hash, an enrolment token (then
        // unusable), an agent; each once, each in the audit log.
        let revocation = |t: i64| Revocation {
            at: at(t),
            reason: "laptop stolen".into(),
            by: "admin token 0123456789ab".into(),
        };
        let api_id = &Digest::of(b"api").to_hex()[..10];
        assert!(matches!(
            store.revoke_token(api_id, revocation(30)).await.unwrap(),
            RevokeOutcome::Revoked(_)
        ));
        assert!(matches!(
            store.revoke_token(api_id, revocation(31)).await.unwrap(),
            RevokeOutcome::AlreadyRevoked(t) if t.revoked_at == Some(at(30))
        ));
        assert!(matches!(
            store.revoke_token("abc", revocation(31)).await.unwrap(),
            RevokeOutcome::NotFound
        ));
        let token = store.api_token(Digest::of(b"api")).await.unwrap().unwrap();
        assert_eq!(token.revoked_at, Some(at(30)), "{name}");
        assert_eq!(token.last_used_at, Some(at(20)), "{name}");
        let gone = &Digest::of(b"gone").to_hex()[..12];
        assert!(matches!(
            store.revoke_token(gone, revocation(32)).await.unwrap(),
            RevokeOutcome::Revoked(_)
        ));
        let third = SigningKey::from_seed(&[7; 32]).public().clone();
        assert!(
            matches!(
                store
                    .enroll(Digest::of(b"gone"), agent("agt_6", &third))
                    .await,
                Err(StoreError::BadToken)
            ),
            "{name}: a revoked enrolment token enrols nobody"
        );
        assert_eq!(store.tokens().await.unwrap().len(), 5, "{name}");
        assert!(matches!(
            store.revoke_agent("agt_1", revocation(40)).await.unwrap(),
            RevokeOutcome::Revoked(a) if a.revoked.as_ref().unwrap().at == at(40)
        ));
        assert!(matches!(
            store.revoke_agent("agt_1", revocation(41)).await.unwrap(),
            RevokeOutcome::AlreadyRevoked(a) if a.revoked.as_ref().unwrap().at == at(40)
        ));
        assert!(matches!(
            store
                .revoke_agent("agt_none", revocation(41))
                .await
                .unwrap(),
            RevokeOutcome::NotFound
        ));
        let agents = store.agents().await.unwrap();
        assert_eq!(agents[0].revoked, Some(revocation(40)), "{name}");
        assert_eq!(agents[1].revoked, None, "{name}");
        let log = store.audit_log(10).await.unwrap();
        let actions: Vec<&str> = log.iter().map(|e| e.action.as_str()).collect();
        assert_eq!(
            actions,
            [
                "agent.revoke",
                "token.revoke",
                "token.revoke",
                "agent.enroll",
                "agent.enroll"
            ],
            "{name}"
        );
        assert_eq!(log[0].subject, "agt_1");
        assert_eq!(log[0].detail, "laptop stolen");
    }
}

fn result(policy: &str, status: &str) -> StoredResult {
    StoredResult {
        policy_id: policy.into(),
        status: status.into(),
        reason: format!("{policy} is {status}"),
        evidence: vec!["host.ssh.permit_root_login".into()],
    }
}

fn evaluation(s: &NewSnapshot, pack: &str, secs: i64, status: &str) -> Evaluation {
    Evaluation {
        digest: s.digest,
        pack_digest: pack.into(),
        evaluated_at: at(secs),
        run_id: None,
        results: vec![result("host.ssh.root_login_disabled", status)].into(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn evaluations_runs_exceptions_attestations_history_and_tags() {
    let (_dir, stores) = backends().await;
    for (name, store) in stores {
        let c = chain("agt_e", 3); // collected at 10, 20, 30
        for s in &c {
            store.ingest(s.clone()).await.unwrap();
        }
        for pack in ["p1", "p2"] {
            store
                .record_pack(PackRecord {
                    digest: pack.into(),
                    loaded_at: at(0),
                    files: vec![(format!("{pack}.rego"), b"package x".to_vec())],
                })
                .await
                .unwrap();
        }
        assert_eq!(
            store.pack("p1").await.unwrap().unwrap().files.len(),
            1,
            "{name}"
        );
        assert!(store.pack("p9").await.unwrap().is_none());
        assert_eq!(store.unevaluated(10).await.unwrap().len(), 3, "{name}");
        store
            .record_evaluations(vec![
                evaluation(&c[0], "p1", 12, "fail"),
                evaluation(&c[1], "p1", 22, "fail"),
                evaluation(&c[1], "p2", 40, "pass"),
            ])
            .await
            .unwrap();
        // Once per pack: a second evaluation by p1 changes nothing.
        store
            .record_evaluations(vec![evaluation(&c[1], "p1", 50, "pass")])
            .await
            .unwrap();
        let of = store.evaluations_of(c[1].digest).await.unwrap();
        assert_eq!(
            of.iter()
                .map(|e| (e.pack_digest.as_str(), e.results[0].status.as_str()))
                .collect::<Vec<_>>(),
            [("p1", "fail"), ("p2", "pass")],
            "{name}"
        );
        // The feed: every evaluation in the order it was made, with its snapshot, page by page.
        let feed = store.evaluations_after(None, 10).await.unwrap();
        assert_eq!(
            feed.iter()
                .map(|(s, e)| (s.sequence, e.pack_digest.as_str(), e.evaluated_at))
                .collect::<Vec<_>>(),
            [(1, "p1", at(12)), (2, "p1", at(22)), (2, "p2", at(40))],
            "{name}"
        );
        assert_eq!(feed[1].0.asset_id, c[1].chain.asset_id, "{name}");
        assert_eq!(feed[1].0.previous_digest, Some(c[0].digest), "{name}");
        let first = store.evaluations_after(None, 1).await.unwrap();
        let (s0, e0) = &first[0];
        let rest = store
            .evaluations_after(
                Some((e0.evaluated_at, s0.digest, e0.pack_digest.clone())),
                10,
            )
            .await
            .unwrap();
        assert_eq!(rest.len(), 2, "{name}");
        assert_eq!(rest[0].1, feed[1].1, "{name}");
        // A bad status or an unknown pack is refused and stores nothing.
        let bad = evaluation(&c[2], "p1", 60, "maybe");
        assert!(store.record_evaluations(vec![bad]).await.is_err(), "{name}");
        assert!(
            store
                .record_evaluations(vec![evaluation(&c[2], "p9", 60, "pass")])
                .await
                .is_err()
        );
        assert!(
            store.evaluations_of(c[2].digest).await.unwrap().is_empty(),
            "{name}"
        );
        assert_eq!(
            store.unevaluated(10).await.unwrap(),
            [c[2].digest],
            "{name}"
        );
        // As of an instant: the newest snapshot collected by then, judged by then.
        let now = store.latest_evaluations(None).await.unwrap();
        assert_eq!(
            (
                now[0].evaluation.digest,
                now[0].evaluation.pack_digest.as_str()
            ),
            (c[1].digest, "p2")
        );
        let then = store.latest_evaluations(Some(at(25))).await.unwrap();
        assert_eq!(
            (
                then[0].evaluation.digest,
                then[0].evaluation.pack_digest.as_str()
            ),
            (c[1].digest, "p1"),
            "{name}"
        );
        let earlier = store.latest_evaluations(Some(at(15))).await.unwrap();
        assert_eq!(earlier[0].evaluation.digest, c[0].digest, "{name}");
        assert!(
            store
                .latest_evaluations(Some(at(11)))
                .await
                .unwrap()
                .is_empty(),
            "{name}"
        );

        let run = store
            .start_run(NewRun {
                requested_by: "lead".into(),
                requested_at: at(70),
                reason: "pack changed".into(),
                pack_digest: "p2".into(),
                from: at(0),
                to: at(100),
            })
            .await
            .unwrap();
        assert_eq!(
            store.pending_for_run(run, 10).await.unwrap(),
            [c[0].digest, c[2].digest],
            "{name}"
        );
        store.finish_run(run, at(80), 2).await.unwrap();
        assert!(store.finish_run(run + 1000, at(80), 2).await.is_err());
        assert_eq!(store.runs().await.unwrap()[0].evaluated, 2, "{name}");

        let id = store
            .add_exception(NewException {
                policy_id: "host.ssh.root_login_disabled".into(),
                asset: Some((AssetKind::Host, "m-agt_e".into())),
                justification: "bastion".into(),
                owner: "ops".into(),
                created_by: "lead".into(),
                created_at: at(1),
                expires_at: at(100),
            })
            .await
            .unwrap();
        let exceptions = store.exceptions().await.unwrap();
        assert_eq!((exceptions.len(), exceptions[0].id), (1, id), "{name}");
        assert!(exceptions[0].covers(
            "host.ssh.root_login_disabled",
            AssetKind::Host,
            "m-agt_e",
            at(50)
        ));

        let attestation = vouch_store::AttestationRecord {
            digest: Digest::of(b"att"),
            control: "iso27001-2022:A.5.1".into(),
            recorded_at: at(5),
            valid_until: at(500),
            envelope: b"{}".to_vec(),
        };
        store
            .add_attestation(attestation.clone(), Some(b"policy.pdf".to_vec()))
            .await
            .unwrap();
        store
            .add_attestation(attestation.clone(), None)
            .await
            .unwrap(); // a repeat changes nothing
        assert_eq!(
            store
                .attestations(Some("iso27001-2022:A.5.1".into()))
                .await
                .unwrap(),
            std::slice::from_ref(&attestation)
        );
        assert!(
            store
                .attestations(Some("iso27001-2022:A.5.2".into()))
                .await
                .unwrap()
                .is_empty()
        );
        assert_eq!(
            store
                .attestation_document(attestation.digest)
                .await
                .unwrap(),
            Some(b"policy.pdf".to_vec()),
            "{name}"
        );

        let change = |control: &str, state: &str, since: i64| ControlChange {
            framework: "iso27001-2022".into(),
            control: control.into(),
            state: state.into(),
            since: at(since),
            recorded_at: at(since + 1),
        };
        store
            .record_control_changes(vec![
                change("A.8.8", "fail", 10),
                change("A.8.8", "pass", 20),
            ])
            .await
            .unwrap();
        store
            .record_control_changes(vec![change("A.8.8", "pass", 20)])
            .await
            .unwrap();
        let history = store
            .control_history(Some("iso27001-2022".into()))
            .await
            .unwrap();
        assert_eq!(
            history.iter().map(|h| h.state.as_str()).collect::<Vec<_>>(),
            ["fail", "pass"],
            "{name}"
        );
        assert!(
            store
                .control_history(Some("iso27701-2019".into()))
                .await
                .unwrap()
                .is_empty()
        );

        let tags = BTreeMap::from([("env".to_string(), "prod".to_string())]);
        assert!(
            store
                .set_asset_tags(AssetKind::Host, "m-agt_e".into(), tags.clone())
                .await
                .unwrap()
        );
        assert!(
            !store
                .set_asset_tags(AssetKind::Host, "nope".into(), tags.clone())
                .await
                .unwrap()
        );
        assert_eq!(store.assets().await.unwrap()[0].tags, tags, "{name}");
        store
            .record_rejection(vouch_store::Rejection {
                at: at(3),
                remote: "127.0.0.1".into(),
                reason: "bad_signature".into(),
                message: "signature does not verify".into(),
                agent_id: None,
                body_sha256: Digest::of(b"body"),
                body_size: 4,
            })
            .await
            .unwrap();
        assert_eq!(
            store.rejections(5).await.unwrap()[0].reason,
            "bad_signature",
            "{name}"
        );
    }
}

/// The bookkeeping behind object storage and retention, on both backends: envelopes claimed
/// for upload once per lease (oldest first), moved (then read as objects), the backlog counted;
/// expiry candidates past a cutoff never include a chain's head, page by (instant, digest), and
/// an expired snapshot keeps its record and receipt but leaves populations; audit periods open
/// and close.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_expiry_and_audit_periods() {
    use vouch_store::{EnvelopeLocation, NewAuditPeriod};
    let (_dir, stores) = backends().await;
    for (name, store) in stores {
        let c = chain("agt_u", 4);
        for s in &c {
            store.ingest(s.clone()).await.unwrap();
        }
        assert_eq!(store.pending_uploads().await.unwrap(), 4, "{name}");

        // Claims: oldest received first, each envelope to one claimant until its lease runs out.
        let first = store.claim_uploads(at(100), at(160), 3).await.unwrap();
        assert_eq!(
            first.iter().map(|p| p.digest).collect::<Vec<_>>(),
            c[..3].iter().map(|s| s.digest).collect::<Vec<_>>(),
            "{name}"
        );
        assert_eq!(first[0].envelope, c[0].envelope, "{name}");
        let second = store.claim_uploads(at(101), at(161), 10).await.unwrap();
        assert_eq!(
            second.iter().map(|p| p.digest).collect::<Vec<_>>(),
            [c[3].digest],
            "{name}: only the unclaimed one"
        );
        let after_lease = store.claim_uploads(at(170), at(230), 10).await.unwrap();
        assert_eq!(after_lease.len(), 4, "{name}: every lease ran out");

        // Moved: read back as objects, the backlog drains, a repeat changes nothing.
        let moved: Vec<(Digest, Digest)> = c[..3]
            .iter()
            .map(|s| (s.digest, Digest::of(&s.envelope)))
            .collect();
        assert_eq!(
            store.mark_uploaded(moved.clone(), at(180)).await.unwrap(),
            3,
            "{name}"
        );
        assert_eq!(
            store.mark_uploaded(moved, at(181)).await.unwrap(),
            0,
            "{name}"
        );
        assert_eq!(store.pending_uploads().await.unwrap(), 1, "{name}");
        assert_eq!(
            store.envelope_location(c[0].digest).await.unwrap(),
            Some(EnvelopeLocation::Object {
                sha256: Digest::of(&c[0].envelope)
            }),
            "{name}"
        );
        assert_eq!(
            store.envelope_location(c[3].digest).await.unwrap(),
            Some(EnvelopeLocation::Inline(c[3].envelope.clone())),
            "{name}"
        );
        // Without object storage attached, an envelope moved there is an error, not a `None`.
        assert!(
            matches!(store.envelope(c[0].digest).await, Err(StoreError::Backend(m)) if m.contains("[objects]")),
            "{name}"
        );

        // Expiry candidates: collected before the cutoff, never the head (sequence 4).
        let all = store
            .expiry_candidates(vec![AssetKind::Host], at(1_000), None, 10)
            .await
            .unwrap();
        assert_eq!(
            all.iter().map(|x| x.sequence).collect::<Vec<_>>(),
            [1, 2, 3],
            "{name}"
        );
        assert_eq!(all[0].object, Some(Digest::of(&c[0].envelope)), "{name}");
        let before_third = store
            .expiry_candidates(vec![AssetKind::Host], at(30), None, 10)
            .await
            .unwrap();
        assert_eq!(before_third.len(), 2, "{name}: collected at 10 and 20 only");
        let paged = store
            .expiry_candidates(
                vec![AssetKind::Host],
                at(1_000),
                Some((all[0].collected_at, all[0].digest)),
                1,
            )
            .await
            .unwrap();
        assert_eq!(paged[0].sequence, 2, "{name}: the page after the first");
        assert!(
            store
                .expiry_candidates(vec![AssetKind::KubernetesCluster], at(1_000), None, 10)
                .await
                .unwrap()
                .is_empty(),
            "{name}"
        );

        // Expired: the envelope is gone, the record and receipt stay, populations leave it out.
        assert_eq!(
            store
                .mark_expired(vec![c[0].digest, c[1].digest], at(2_000))
                .await
                .unwrap(),
            2,
            "{name}"
        );
        assert_eq!(
            store
                .mark_expired(vec![c[0].digest], at(2_001))
                .await
                .unwrap(),
            0,
            "{name}: once"
        );
        assert_eq!(
            store.envelope_location(c[1].digest).await.unwrap(),
            Some(EnvelopeLocation::Expired { at: at(2_000) }),
            "{name}"
        );
        assert!(
            matches!(store.envelope(c[1].digest).await, Err(StoreError::Expired { at: t, .. }) if t == at(2_000)),
            "{name}"
        );
        assert_eq!(
            store.receipt(c[1].digest).await.unwrap(),
            Some(c[1].receipt.clone()),
            "{name}"
        );
        let population = store
            .population(at(0), at(1_000), vec![AssetKind::Host], None)
            .await
            .unwrap();
        let mut sequences: Vec<u64> = population.iter().map(|m| m.sequence).collect();
        sequences.sort();
        assert_eq!(sequences, [3, 4], "{name}");
        assert_eq!(
            store.snapshot_count().await.unwrap(),
            4,
            "{name}: records stay"
        );
        assert_eq!(
            store
                .expiry_candidates(vec![AssetKind::Host], at(1_000), None, 10)
                .await
                .unwrap()
                .len(),
            1,
            "{name}: only the third is left to expire"
        );
        // An expired envelope is not uploaded any more.
        assert_eq!(store.pending_uploads().await.unwrap(), 1, "{name}");

        // Audit periods.
        let id = store
            .add_audit_period(NewAuditPeriod {
                framework: "iso27001-2022".into(),
                label: "2026 surveillance".into(),
                from: at(0),
                to: at(500),
                opened_at: at(3_000),
            })
            .await
            .unwrap();
        let periods = store.audit_periods().await.unwrap();
        assert_eq!(periods.len(), 1, "{name}");
        assert!(periods[0].holds(at(30)), "{name}");
        assert!(!periods[0].holds(at(500)), "{name}: the end is exclusive");
        assert!(
            store.close_audit_period(id, at(4_000)).await.unwrap(),
            "{name}"
        );
        assert!(
            !store.close_audit_period(id, at(4_001)).await.unwrap(),
            "{name}: once"
        );
        let closed = &store.audit_periods().await.unwrap()[0];
        assert_eq!(closed.closed_at, Some(at(4_000)), "{name}");
        assert!(
            !closed.holds(at(30)),
            "{name}: a closed period holds nothing"
        );
    }
}

/// Key rotation on both backends: the agent's key changes in one step with its retired key,
/// the signed rotation and an audit entry kept; a retry of the same rotation changes nothing;
/// an old key that is not the agent's now, a new key another agent holds or held, an unknown
/// or revoked agent are each answered by name; the new key then enrols nobody else.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agent_keys_rotate_once_and_retired_keys_stay_known() {
    use vouch_store::RotateOutcome;
    let (_dir, stores) = backends().await;
    for (name, store) in stores {
        let k = |seed: u8| SigningKey::from_seed(&[seed; 32]).public().clone();
        let binding = vouch_store::scope::Binding::of(["host:m-1".parse().unwrap()]);
        let agent = |id: &str, key: &PublicKey| AgentRecord {
            agent_id: id.into(),
            public_key: key.clone(),
            name: "web-1".into(),
            enrolled_at: at(10),
            binding: binding.clone(),
            revoked: None,
        };
        let scope = vouch_store::scope::Scope::parse(&["host"]).unwrap();
        for token in [&b"r1"[..], b"r2", b"r3"] {
            store
                .add_enroll_token(Digest::of(token), at(0), at(100), &scope, "fleet")
                .await
                .unwrap();
        }
        store
            .enroll(Digest::of(b"r1"), agent("agt_a", &k(31)))
            .await
            .unwrap();
        store
            .enroll(Digest::of(b"r2"), agent("agt_b", &k(32)))
            .await
            .unwrap();
        let rotated = store
            .rotate_agent_key("agt_a", &k(31), &k(33), at(20), b"signed".to_vec())
            .await
            .unwrap();
        assert!(
            matches!(&rotated, RotateOutcome::Rotated(a) if a.public_key == k(33)),
            "{name}: {rotated:?}"
        );
        let again = store
            .rotate_agent_key("agt_a", &k(31), &k(33), at(21), b"signed".to_vec())
            .await
            .unwrap();
        assert!(
            matches!(again, RotateOutcome::Again(_)),
            "{name}: {again:?}"
        );
        let stale = store
            .rotate_agent_key("agt_a", &k(31), &k(34), at(22), b"x".to_vec())
            .await
            .unwrap();
        assert!(
            matches!(&stale, RotateOutcome::NotCurrent(a) if a.public_key == k(33)),
            "{name}: {stale:?}"
        );
        for taken in [k(32), k(31)] {
            let r = store
                .rotate_agent_key("agt_a", &k(33), &taken, at(23), b"x".to_vec())
                .await;
            assert!(matches!(r, Err(StoreError::KeyTaken(_))), "{name}: {r:?}");
        }
        assert_eq!(
            store
                .rotate_agent_key("agt_z", &k(1), &k(2), at(23), b"x".to_vec())
                .await
                .unwrap(),
            RotateOutcome::NotFound
        );
        let agents = store.agents().await.unwrap();
        let a = agents.iter().find(|a| a.agent_id == "agt_a").unwrap();
        assert_eq!(a.public_key, k(33), "{name}");
        let retired = store.retired_keys().await.unwrap();
        assert_eq!(retired.len(), 1, "{name}");
        assert_eq!(
            (
                retired[0].agent_id.as_str(),
                &retired[0].public_key,
                retired[0].retired_at
            ),
            ("agt_a", &k(31), at(20))
        );
        assert_eq!(retired[0].rotation, b"signed");
        let log = store.audit_log(10).await.unwrap();
        assert!(
            log.iter()
                .any(|e| e.action == "agent.rotate_key" && e.subject == "agt_a")
        );
        // A retired key enrols nobody else.
        let reuse = store
            .enroll(Digest::of(b"r3"), agent("agt_c", &k(33)))
            .await;
        assert!(
            matches!(reuse, Err(StoreError::KeyTaken(_))),
            "{name}: {reuse:?}"
        );
        store
            .revoke_agent(
                "agt_b",
                vouch_store::Revocation {
                    at: at(30),
                    reason: "left".into(),
                    by: "cli".into(),
                },
            )
            .await
            .unwrap();
        assert_eq!(
            store
                .rotate_agent_key("agt_b", &k(32), &k(35), at(31), b"x".to_vec())
                .await
                .unwrap(),
            RotateOutcome::Revoked
        );
    }
}
