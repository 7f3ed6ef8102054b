//! Audit samples and evidence bundles (`/v1/sample`, `/v1/export`).

use super::*;

/// `GET /v1/sample?from=…&to=…&kinds=…&size=…&seed=…`: the population's size and fingerprint
/// and the reproducible sample.
pub(super) async fn sample(
    _reader: Reader,
    State(state): State<AppState>,
    query: Result<Query<SampleQuery>, QueryRejection>,
) -> Result<Response, AppError> {
    let query = scoped(&state, sample_query(query)?)?;
    let (population, drawn) = bundle::draw(state.store().as_ref(), &query)
        .await
        .map_err(bundle_error)?;
    let digests: Vec<Digest> = population.iter().map(|m| m.digest).collect();
    Ok(Json(SampleResponse {
        algorithm: vouch_evidence::sample::SAMPLE_ALGORITHM.into(),
        population_count: population.len() as u64,
        population_fingerprint: vouch_evidence::sample::population_fingerprint(&digests),
        sample: drawn,
        query,
    })
    .into_response())
}

/// `GET /v1/export?…` (the sample's parameters): the evidence bundle, `.tar.gz`, streamed as
/// it is made ([`bundle::stream`]).
pub(super) async fn export(
    _reader: Reader,
    State(state): State<AppState>,
    query: Result<Query<SampleQuery>, QueryRejection>,
) -> Result<Response, AppError> {
    let query = scoped(&state, sample_query(query)?)?;
    let chunks = bundle::stream(
        state.store().clone(),
        bundle::Signers {
            // The task that writes the bundle outlives this call: it gets its own copy.
            receipt_key: vouch_evidence::SigningKey::from_seed(&state.receipt_key().seed()),
            log: state.log(),
            quorum: state.cosigners().map(|c| c.quorum()),
            verdicts: state.verdicts(),
        },
        query,
        state.now(),
    )
    .await
    .map_err(bundle_error)?;
    let body = futures::stream::unfold(chunks, |mut chunks| async move {
        chunks.recv().await.map(|chunk| (chunk, chunks))
    });
    Ok((
        [
            (header::CONTENT_TYPE, "application/gzip".to_string()),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"vouch-bundle.tar.gz\"".to_string(),
            ),
        ],
        Body::from_stream(body),
    )
        .into_response())
}

/// The sampling query, or a JSON 400 naming what is wrong with it.
pub(super) fn sample_query(
    q: Result<Query<SampleQuery>, QueryRejection>,
) -> Result<SampleQuery, AppError> {
    q.map(|Query(q)| q).map_err(|e| {
        AppError::Client(
            RejectReason::BadRequest,
            format!(
                "{} (expected from, to, size, seed and optionally kinds)",
                e.body_text()
            ),
        )
    })
}

/// The query with its scope (`control`) resolved to asset kinds, or a 400 naming the problem.
pub(super) fn scoped(state: &AppState, query: SampleQuery) -> Result<SampleQuery, AppError> {
    sample_scope(state, query).map_err(|m| {
        state.metrics().rejected(RejectReason::BadRequest);
        AppError::Client(RejectReason::BadRequest, m)
    })
}

/// Resolves a sampling query's scope: a framework or control becomes the asset kinds the
/// policies of the pack in force evidence it with (intersected with the kinds asked for).
pub fn sample_scope(state: &AppState, mut query: SampleQuery) -> Result<SampleQuery, String> {
    let scope = query.control.trim().to_string();
    if scope.is_empty() {
        return Ok(query);
    }
    let (framework, control) = match scope.split_once(':') {
        Some((f, c)) => (f.to_string(), Some(c.to_string())),
        None => (scope.clone(), None),
    };
    let catalog = state
        .catalogs()
        .get(&framework)
        .ok_or_else(|| format!("control: framework {framework:?} is in no loaded catalog"))?;
    if let Some(c) = &control
        && !catalog.controls.iter().any(|x| &x.id.control == c)
    {
        return Err(format!("control: {scope} is not a control of {framework}"));
    }
    let policies = state
        .policies()
        .ok_or_else(|| "control: policy evaluation is off, so no scope by control".to_string())?;
    let judge = policies.in_force();
    let mut kinds: Vec<AssetKind> = judge
        .pack()
        .policies()
        .iter()
        .filter(|p| {
            p.controls.iter().any(|id| {
                id.framework == framework && control.as_ref().is_none_or(|c| &id.control == c)
            })
        })
        .flat_map(|p| p.asset_kinds.iter().copied())
        .collect();
    kinds.sort_by_key(|k| k.as_str());
    kinds.dedup();
    let asked = query.asset_kinds()?;
    kinds.retain(|k| asked.contains(k));
    if kinds.is_empty() {
        return Err(format!(
            "control: no policy of the pack in force evidences {scope} on the asset kinds asked for"
        ));
    }
    query.kinds = kinds
        .iter()
        .map(|k| k.as_str())
        .collect::<Vec<_>>()
        .join(",");
    Ok(query)
}

pub(super) fn bundle_error(e: bundle::BundleError) -> AppError {
    match e {
        bundle::BundleError::Query(m) => AppError::Client(RejectReason::BadRequest, m),
        other => AppError::Internal(other.to_string()),
    }
}
