//! Tests of judging's tables on SQLite.

use std::sync::Arc;

use vouch_evidence::Timestamp;

use super::super::SqliteStore;
use super::super::tests::{at, snap};
use crate::prelude::*;
use crate::{Evaluation, NewException, NewRun, PackRecord, StoreError, StoredResult};

fn result(policy: &str, status: &str) -> StoredResult {
    StoredResult {
        policy_id: policy.into(),
        status: status.into(),
        reason: format!("{policy} is {status}"),
        evidence: vec!["host.ssh.permit_root_login".into()],
    }
}

fn evaluation(s: &crate::NewSnapshot, pack: &str, secs: i64, status: &str) -> Evaluation {
    Evaluation {
        digest: s.digest,
        pack_digest: pack.into(),
        evaluated_at: at(secs),
        run_id: None,
        results: vec![result("host.ssh.root_login_disabled", status)].into(),
    }
}

async fn store_with_chain(
    n: u64,
) -> (tempfile::TempDir, Arc<SqliteStore>, Vec<crate::NewSnapshot>) {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(&dir.path().join("v.db")).unwrap());
    let mut snaps = Vec::new();
    let mut previous = None;
    for seq in 1..=n {
        let s = snap(seq, previous, "r");
        previous = Some(s.digest);
        store.ingest(s.clone()).await.unwrap();
        snaps.push(s);
    }
    for pack in ["p1", "p2"] {
        store
            .record_pack(PackRecord {
                digest: pack.into(),
                loaded_at: at(0),
                files: vec![(format!("host/{pack}.rego"), b"package x".to_vec())],
            })
            .await
            .unwrap();
    }
    (dir, store, snaps)
}

/// Identical results of many snapshots are kept once (a host judged hourly repeats its
/// results), and evaluations stored before result sets, one row per result, still read.
#[tokio::test]
async fn identical_results_are_kept_once_and_older_rows_still_read() {
    let (dir, store, snaps) = store_with_chain(3).await;
    store
        .record_evaluations(vec![
            evaluation(&snaps[0], "p1", 10, "fail"),
            evaluation(&snaps[1], "p1", 20, "fail"),
        ])
        .await
        .unwrap();
    let conn = rusqlite::Connection::open(dir.path().join("v.db")).unwrap();
    let sets: i64 = conn
        .query_row("SELECT count(*) FROM result_sets", [], |r| r.get(0))
        .unwrap();
    assert_eq!(sets, 1);
    assert_eq!(
        *store.evaluations_of(snaps[1].digest).await.unwrap()[0].results,
        [result("host.ssh.root_login_disabled", "fail")]
    );
    // As a store of schema version 6 kept it.
    let digest = snaps[2].digest.to_hex();
    conn.execute(
        "INSERT INTO evaluations(digest, pack_digest, evaluated_at, run_id) VALUES (?1, 'p1', 30, NULL)",
        [&digest],
    )
    .unwrap();
    conn.execute(
        "INSERT INTO results(digest, pack_digest, policy_id, status, reason, evidence)
         VALUES (?1, 'p1', 'host.ssh.root_login_disabled', 'pass', 'why', '[\"host.ssh.permit_root_login\"]')",
        [&digest],
    )
    .unwrap();
    let old = store.evaluations_of(snaps[2].digest).await.unwrap();
    assert_eq!(old[0].results[0].status, "pass");
    assert_eq!(old[0].results[0].evidence, ["host.ssh.permit_root_login"]);
}

/// A snapshot is judged once per pack; a second evaluation by the same pack changes nothing,
/// and one by a new pack is kept beside the first rather than replacing it.
#[tokio::test]
async fn evaluations_are_kept_per_pack_and_never_overwritten() {
    let (_dir, store, snaps) = store_with_chain(2).await;
    assert_eq!(
        store.unevaluated(10).await.unwrap(),
        vec![snaps[0].digest, snaps[1].digest]
    );
    store
        .record_evaluations(vec![evaluation(&snaps[0], "p1", 10, "fail")])
        .await
        .unwrap();
    // The same pack again, now claiming pass: ignored.
    store
        .record_evaluations(vec![evaluation(&snaps[0], "p1", 11, "pass")])
        .await
        .unwrap();
    store
        .record_evaluations(vec![evaluation(&snaps[0], "p2", 12, "pass")])
        .await
        .unwrap();
    let evals = store.evaluations_of(snaps[0].digest).await.unwrap();
    assert_eq!(evals.len(), 2);
    assert_eq!(
        (
            evals[0].pack_digest.as_str(),
            evals[0].results[0].status.as_str()
        ),
        ("p1", "fail")
    );
    assert_eq!(
        (
            evals[1].pack_digest.as_str(),
            evals[1].results[0].status.as_str()
        ),
        ("p2", "pass")
    );
    assert_eq!(evals[0].results[0].evidence, ["host.ssh.permit_root_login"]);
    assert_eq!(store.unevaluated(10).await.unwrap(), vec![snaps[1].digest]);
    let pack = store.pack("p1").await.unwrap().unwrap();
    assert_eq!(
        pack.files,
        [("host/p1.rego".to_string(), b"package x".to_vec())]
    );
    assert!(store.pack("p3").await.unwrap().is_none());
}

/// An evaluation names a stored snapshot and a kept pack: anything else is refused.
#[tokio::test]
async fn an_evaluation_of_an_unknown_snapshot_or_pack_is_refused() {
    let (_dir, store, snaps) = store_with_chain(1).await;
    let err = store
        .record_evaluations(vec![evaluation(&snaps[0], "nope", 1, "pass")])
        .await;
    assert!(matches!(err, Err(StoreError::Backend(_))), "{err:?}");
    let bad = evaluation(&snaps[0], "p1", 1, "maybe");
    assert!(store.record_evaluations(vec![bad]).await.is_err());
    assert!(
        store
            .evaluations_of(snaps[0].digest)
            .await
            .unwrap()
            .is_empty()
    );
}

/// "As of" an instant: the newest snapshot collected by then, judged by the newest
/// evaluation made by then — a later re-evaluation does not rewrite the past.
#[tokio::test]
async fn latest_evaluations_as_of_an_instant() {
    let (_dir, store, snaps) = store_with_chain(3).await; // collected at 1, 2, 3
    store
        .record_evaluations(vec![
            evaluation(&snaps[0], "p1", 10, "fail"),
            evaluation(&snaps[1], "p1", 20, "fail"),
            evaluation(&snaps[1], "p2", 30, "pass"),
        ])
        .await
        .unwrap();
    let now = store.latest_evaluations(None).await.unwrap();
    assert_eq!(now.len(), 1, "one chain");
    // Snapshot 3 is not evaluated yet: the newest evaluated one stands.
    assert_eq!(now[0].evaluation.digest, snaps[1].digest);
    assert_eq!(now[0].evaluation.pack_digest, "p2");
    assert_eq!(now[0].asset_name, "web-1");
    let then = store.latest_evaluations(Some(at(25))).await.unwrap();
    assert_eq!(
        (
            then[0].evaluation.digest,
            then[0].evaluation.pack_digest.as_str()
        ),
        (snaps[1].digest, "p1")
    );
    let earlier = store.latest_evaluations(Some(at(15))).await.unwrap();
    assert_eq!(earlier[0].evaluation.digest, snaps[0].digest);
    assert!(
        store
            .latest_evaluations(Some(at(5)))
            .await
            .unwrap()
            .is_empty()
    );
}

/// A re-evaluation run is recorded with who, why and its scope, and finds exactly the
/// snapshots in scope its pack has not judged.
#[tokio::test]
async fn runs_are_recorded_and_scope_what_they_re_evaluate() {
    let (_dir, store, snaps) = store_with_chain(3).await;
    store
        .record_evaluations(vec![evaluation(&snaps[1], "p2", 10, "pass")])
        .await
        .unwrap();
    let run = store
        .start_run(NewRun {
            requested_by: "alice (security-lead)".into(),
            requested_at: at(40),
            reason: "pack p2 adds SSH checks".into(),
            pack_digest: "p2".into(),
            from: at(1),
            to: at(3),
        })
        .await
        .unwrap();
    assert_eq!(
        store.pending_for_run(run, 10).await.unwrap(),
        vec![snaps[0].digest]
    );
    store.finish_run(run, at(41), 1).await.unwrap();
    let runs = store.runs().await.unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].run.reason, "pack p2 adds SSH checks");
    assert_eq!((runs[0].finished_at, runs[0].evaluated), (Some(at(41)), 1));
    assert!(store.finish_run(run + 1, at(42), 0).await.is_err());
}

#[tokio::test]
async fn exceptions_cover_their_policy_asset_and_period_only() {
    let (_dir, store, _) = store_with_chain(1).await;
    let base = NewException {
        policy_id: "host.ssh.root_login_disabled".into(),
        asset: Some((vouch_evidence::AssetKind::Host, "m1".into())),
        justification: "break-glass access until the bastion is live".into(),
        owner: "ops lead".into(),
        created_by: "alice".into(),
        created_at: at(10),
        expires_at: at(100),
    };
    let id = store.add_exception(base.clone()).await.unwrap();
    store
        .add_exception(NewException {
            asset: None,
            policy_id: "host.fw".into(),
            ..base.clone()
        })
        .await
        .unwrap();
    let all = store.exceptions().await.unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!((all[0].id, &all[0].exception), (id, &base));
    let host = vouch_evidence::AssetKind::Host;
    let covers = |i: usize, p: &str, a: &str, t: Timestamp| all[i].covers(p, host, a, t);
    assert!(covers(0, "host.ssh.root_login_disabled", "m1", at(50)));
    assert!(
        !covers(0, "host.ssh.root_login_disabled", "m2", at(50)),
        "other asset"
    );
    assert!(!covers(0, "host.fw", "m1", at(50)), "other policy");
    assert!(
        !covers(0, "host.ssh.root_login_disabled", "m1", at(100)),
        "expired"
    );
    assert!(
        !covers(0, "host.ssh.root_login_disabled", "m1", at(5)),
        "not yet recorded"
    );
    assert!(covers(1, "host.fw", "any-asset", at(50)), "every asset");
}

/// The latest evaluations handed over in chunks are the same, in the same order, as read at
/// once: 600 chains make three chunks. A receiver that goes away stops the read, which is no
/// error.
#[tokio::test]
async fn latest_evaluations_in_chunks_are_those_read_at_once() {
    let (_dir, store, _) = store_with_chain(0).await;
    let mut evaluations = Vec::new();
    for n in 0..600 {
        let mut s = snap(1, None, &format!("chunk {n}"));
        s.chain.agent_id = format!("agt_{n:04}");
        s.chain.asset_id = format!("m{n:04}");
        store.ingest(s.clone()).await.unwrap();
        evaluations.push(evaluation(
            &s,
            "p1",
            10,
            if n % 3 == 0 { "fail" } else { "pass" },
        ));
    }
    store.record_evaluations(evaluations).await.unwrap();
    let whole = store.latest_evaluations(None).await.unwrap();
    assert_eq!(whole.len(), 600);

    let (tx, mut rx) = tokio::sync::mpsc::channel(1);
    let reading = tokio::spawn({
        let store = store.clone();
        async move { store.latest_evaluations_chunked(None, tx).await }
    });
    let mut sizes = Vec::new();
    let mut chunked = Vec::new();
    while let Some(chunk) = rx.recv().await {
        sizes.push(chunk.len());
        chunked.extend(chunk);
    }
    reading.await.unwrap().unwrap();
    assert_eq!(sizes, [256, 256, 88]);
    let key = |e: &crate::AssetEvaluation| {
        (
            e.chain.asset_id.clone(),
            e.evaluation.digest,
            e.evaluation.results[0].status.clone(),
        )
    };
    assert_eq!(
        chunked.iter().map(key).collect::<Vec<_>>(),
        whole.iter().map(key).collect::<Vec<_>>()
    );

    let (tx, mut rx) = tokio::sync::mpsc::channel(1);
    let reading = tokio::spawn({
        let store = store.clone();
        async move { store.latest_evaluations_chunked(None, tx).await }
    });
    assert_eq!(rx.recv().await.unwrap().len(), 256);
    drop(rx);
    reading.await.unwrap().unwrap();
}
