#!/usr/bin/env bash
# Ingest benchmark of the scaled-out server (issue 7): `vouch serve` (release build) over
# PostgreSQL, envelopes moved to an S3 bucket under Object Lock (compliance, 1 day) in the moto
# emulator, loaded by `vouch loadgen` with real keys and chains over loopback HTTPS:
#   1. 10,000 agents × 1 snapshot;
#   2. 1,000 agents × 100 snapshots (100,000).
# Prints loadgen's reports (accepted per second, latency percentiles, rejections), then how long
# after the load the evaluator had judged every snapshot and the uploader had emptied the
# database into the bucket, and checks that every snapshot was judged and every envelope ended
# up in the bucket (one object per envelope).
#
# Usage: bash .ci/with-services bash tests/benches/scaleout.sh [AGENTS_1 [AGENTS_2 PER_AGENT_2]]
# (PostgreSQL and moto come from .ci/with-services; loadgen runs on the same machine.)
set -euo pipefail
cd "$(dirname "$0")/../.."
agents1=${1:-10000}
agents2=${2:-1000}
per2=${3:-100}
: "${VOUCH_TEST_POSTGRES_URL:?run under bash .ci/with-services}"
: "${VOUCH_TEST_MOTO_URL:?run under bash .ci/with-services}"

cargo build --release --locked -p vouch-server
vouch=$PWD/target/release/vouch
work=$(mktemp -d)
server_pid=""
cleanup() {
    if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

# A fresh database and a fresh bucket with Object Lock enabled.
name="bench_$(date +%s)"
psql=$(ls /usr/lib/postgresql/*/bin/psql 2>/dev/null | sort -V | tail -1)
"$psql" "$VOUCH_TEST_POSTGRES_URL" -qc "CREATE DATABASE $name"
db_url="${VOUCH_TEST_POSTGRES_URL%/*}/$name"
bucket="vouch-bench-$(date +%s)"
export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1
python3 - "$VOUCH_TEST_MOTO_URL" "$bucket" <<'EOF'
import sys, boto3
s3 = boto3.client("s3", endpoint_url=sys.argv[1], region_name="us-east-1")
s3.create_bucket(Bucket=sys.argv[2], ObjectLockEnabledForBucket=True)
EOF

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat >"$work/server.toml" <<EOF
listen = "127.0.0.1:$port"
data_dir = "$work/data"
database_url = "$db_url"

[objects]
bucket = "$bucket"
endpoint_url = "$VOUCH_TEST_MOTO_URL"
path_style = true
region = "us-east-1"

[objects.lock]
mode = "compliance"
days = 1

# Every agent of the load enrols from this one address: lift the per-address enrolment limit
# that protects a real server.
[connections]
enroll_per_minute = 1000000
EOF

VOUCH_DATABASE_URL=$db_url "$vouch" token create --role admin --label bench \
    --data-dir "$work/data" >"$work/admin.token"
"$vouch" serve --config "$work/server.toml" >"$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 100); do
    curl -fsS --cacert "$work/data/tls/ca.pem" "https://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
    sleep 0.2
done

load() {
    "$vouch" loadgen --server "https://127.0.0.1:$port" --ca "$work/data/tls/ca.pem" \
        --token-file "$work/admin.token" --agents "$1" --snapshots-per-agent "$2" --concurrency 64
}
unjudged() { "$psql" "$db_url" -Atc "SELECT count(*) FROM unjudged"; }
pending() {
    curl -fsS --cacert "$work/data/tls/ca.pem" "https://127.0.0.1:$port/metrics" \
        | awk '/^vouch_objects_pending /{print $2}'
}

echo "== $agents1 agents x 1 snapshot"
load "$agents1" 1
echo "   envelopes not yet in the bucket: $(pending)"
echo "   snapshots not yet judged: $(unjudged)"
echo "== $agents2 agents x $per2 snapshots"
load "$agents2" "$per2"
started=$(date +%s.%N)
echo "   envelopes not yet in the bucket: $(pending)"
echo "   snapshots not yet judged: $(unjudged)"
since() { python3 -c "import time; print(round(time.time() - $started, 1))"; }
judged=""
while [ "$(pending)" != "0" ] || [ -z "$judged" ]; do
    if [ -z "$judged" ] && [ "$(unjudged)" = "0" ]; then judged=$(since); fi
    sleep 1
done
echo "== every snapshot judged ${judged} s after the load ended"
echo "== the bucket backlog emptied $(since) s after the load ended"
total=$((agents1 + agents2 * per2))
evaluated=$("$psql" "$db_url" -Atc "SELECT count(DISTINCT digest) FROM evaluations")
echo "   evaluated: $evaluated snapshots (expected $total)"
[ "$evaluated" = "$total" ]
# Count the objects with ListObjectsV2 (moto's version listing of 100,000 keys takes ~15 GB).
python3 - "$VOUCH_TEST_MOTO_URL" "$bucket" "$((agents1 + agents2 * per2))" <<'EOF'
import sys, boto3
s3 = boto3.client("s3", endpoint_url=sys.argv[1], region_name="us-east-1")
n = sum(p.get("KeyCount", 0) for p in s3.get_paginator("list_objects_v2").paginate(Bucket=sys.argv[2]))
print(f"   bucket: {n} objects (expected {sys.argv[3]})")
assert n == int(sys.argv[3])
EOF
