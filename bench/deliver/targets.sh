#!/usr/bin/env bash
#
# bench/deliver/targets.sh: events per second delivered to each network
# target kind's loopback stand-in, in one run, beside the http figure.
#
# One throwaway cluster (scripts/lib.sh), one target per kind, all with
# schedule manual and the same max_batch_events.  ROWS patient
# registrations are loaded in one transaction (after the targets exist, so
# every target has the same ROWS events waiting); then each target is
# synced in turn with start_sync() + wait_sync(), alone on the machine.
# events/s = events delivered / wall time of the sync; the peer is then
# asked what it holds, so a figure only counts what really arrived.
# worker_cpu and peer_cpu: CPU seconds the database's sync worker and the
# peer process used during the sync (from /proc/PID/stat).
#
# The kinds and their peers (the test suite's stand-ins, test/lib):
#   http       webhook_receiver.py (Standard Webhooks, format ndjson)
#   s3         s3_sigv4_receiver.py (checks every SigV4 signature)
#   s3rver     the npm package s3rver (a real S3 API, no signature check)
#   snowflake  snowflake_standin.py (checks the JWT, runs the MERGE itself)
#   fhir       fhir_standin.py (applies the transaction Bundles)
# The stand-ins are Python/Node programs that log every request: on this
# 2-core machine they share the CPU with the server, so the figures are
# figures of the whole loop on one machine, not of the targets' services.
#
# Usage: bench/deliver/targets.sh [--rows N] [--batch N] [--only LIST] [--out FILE]
#   --rows N      patient registrations to load (default 20000)
#   --batch N     max_batch_events of every target (default 1000)
#   --only LIST   comma-separated kinds (default http,s3,s3rver,snowflake,fhir)
#   --out FILE    also write the result table to FILE
# Run as root after `make install` (scripts/test.sh or make install);
# prints the table last.  Numbers, not a test: it fails only if a peer or
# the server does not start, or a sync does not finish within 10 minutes.
#
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
# shellcheck source=scripts/lib.sh
source "$REPO/scripts/lib.sh"

ROWS=20000
BATCH=1000
ONLY="http,s3,s3rver,snowflake,fhir"
OUT=""
while [[ $# -gt 0 ]]; do
    case $1 in
        --rows) ROWS=$2; shift 2 ;;
        --batch) BATCH=$2; shift 2 ;;
        --only) ONLY=$2; shift 2 ;;
        --out) OUT=$2; shift 2 ;;
        -h | --help) sed -n '/^# Usage:/,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) gs_die "unknown argument: $1" ;;
    esac
done
[[ $ROWS =~ ^[0-9]+$ && $ROWS -gt 0 ]] || gs_die "--rows takes a positive number"
[[ $BATCH =~ ^[0-9]+$ && $BATCH -gt 0 ]] || gs_die "--batch takes a positive number"
wanted() { [[ ,$ONLY, == *,"$1",* ]]; }

gs_require_root
gs_pg_env
[[ -f $PG_PKGLIBDIR/globalsync.so ]] || gs_die "globalsync is not installed: run make install (or scripts/test.sh) first"
PYTHON=/usr/bin/python3
[[ -x $PYTHON ]] || gs_die "/usr/bin/python3 is missing (scripts/test.sh installs it)"
if wanted s3rver; then gs_ensure_node_peers "$REPO/test/node"; fi

PIDS=()
stop_peers() {
    local p
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
    PIDS=()
}
trap 'stop_peers; gs_cleanup' EXIT
trap 'exit 130' INT TERM

gs_mktemp_postgres
W=$GS_LAST_TMPDIR
gs_cluster_start "$W" "globalsync.tick_interval = '50ms'" "max_worker_processes = 16"
gs_psql -q -c "CREATE EXTENSION globalsync" >/dev/null
q() { gs_psql -At -c "$1"; }

# wait_port FILE: the port a peer wrote into FILE (15 s at most)
wait_port() {
    local f=$1 i
    for ((i = 0; i < 150; i++)); do
        [[ -s $f ]] && { cat "$f"; return 0; }
        sleep 0.1
    done
    gs_die "a peer did not write its port into $f; see ${f%/*}"
}

# ---------------------------------------------------------------- peers
declare -A TID URL PEER
if wanted http; then
    mkdir -p "$W/http"
    "$PYTHON" "$REPO/test/lib/webhook_receiver.py" --log "$W/http/log.jsonl" --port 0 \
        --port-file "$W/http/port" --mode ok --max-lifetime 3600 >"$W/http/out" 2>&1 &
    PIDS+=($!)
    PEER[http]=$!
    URL[http]="http://127.0.0.1:$(wait_port "$W/http/port")/bench"
fi
if wanted s3; then
    mkdir -p "$W/s3"
    "$PYTHON" "$REPO/test/lib/s3_sigv4_receiver.py" serve --log "$W/s3/log.jsonl" --store "$W/s3/store" \
        --bucket gs-bench --access-key-id AKIAGSBENCH00000000 --secret-access-key benchsecretbenchsecretbenchsecret0000000 \
        --region eu-west-1 --port-file "$W/s3/port" --max-lifetime 3600 >"$W/s3/out" 2>&1 &
    PIDS+=($!)
    PEER[s3]=$!
    URL[s3]="http://127.0.0.1:$(wait_port "$W/s3/port")"
fi
if wanted s3rver; then
    mkdir -p "$W/s3rver/data"
    node "$REPO/test/node/node_modules/s3rver/bin/s3rver.js" -d "$W/s3rver/data" -a 127.0.0.1 -p 0 \
        --silent --configure-bucket gs-bench >"$W/s3rver/out" 2>&1 &
    PIDS+=($!)
    PEER[s3rver]=$!
    for ((i = 0; i < 150; i++)); do
        grep -qE 'listening on [^:[:space:]]+:[0-9]+' "$W/s3rver/out" 2>/dev/null && break
        sleep 0.1
    done
    port=$(grep -oE 'listening on [^:[:space:]]+:[0-9]+' "$W/s3rver/out" | head -1 | sed 's/.*://')
    [[ -n $port ]] || gs_die "s3rver did not start: $(cat "$W/s3rver/out")"
    URL[s3rver]="http://127.0.0.1:$port"
fi
if wanted snowflake; then
    mkdir -p "$W/snowflake"
    openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$W/snowflake/key.pem" 2>/dev/null
    openssl pkey -in "$W/snowflake/key.pem" -pubout -out "$W/snowflake/pub.pem"
    "$PYTHON" "$REPO/test/lib/snowflake_standin.py" --log "$W/snowflake/log.jsonl" \
        --public-key "$W/snowflake/pub.pem" --account XY12345 --user GS_BENCH --table PATIENT_EVENTS \
        --port-file "$W/snowflake/port" --max-lifetime 3600 >"$W/snowflake/out" 2>&1 &
    PIDS+=($!)
    PEER[snowflake]=$!
    URL[snowflake]="http://127.0.0.1:$(wait_port "$W/snowflake/port")"
fi
if wanted fhir; then
    mkdir -p "$W/fhir"
    "$PYTHON" "$REPO/test/lib/fhir_standin.py" --log "$W/fhir/log.jsonl" --port-file "$W/fhir/port" \
        --max-lifetime 3600 >"$W/fhir/out" 2>&1 &
    PIDS+=($!)
    PEER[fhir]=$!
    URL[fhir]="http://127.0.0.1:$(wait_port "$W/fhir/port")/fhir"
fi
chown -R postgres:postgres "$W"

# ---------------------------------------------------------------- targets
# secrets come from files the server reads, so no statement carries them
secret() { printf '%s' "$2" >"$W/$1.secret"; chown postgres "$W/$1.secret"; chmod 600 "$W/$1.secret"; }
q "SELECT globalsync.track('globalsync.facilities')" >/dev/null
opts="\"schedule\": \"manual\", \"max_batch_events\": $BATCH, \"max_batch_bytes\": 67108864"
if wanted http; then
    TID[http]=$(q "SELECT globalsync.add_target('bench_http', 'http', '${URL[http]}', '{$opts, \"format\": \"ndjson\"}')")
fi
if wanted s3; then
    TID[s3]=$(q "SELECT globalsync.add_target('bench_s3', 's3', '${URL[s3]}', '{$opts, \"bucket\": \"gs-bench\", \"region\": \"eu-west-1\", \"addressing\": \"path\", \"prefix\": \"bench\"}')")
    secret s3 '{"access_key_id": "AKIAGSBENCH00000000", "secret_access_key": "benchsecretbenchsecretbenchsecret0000000"}'
    q "SELECT globalsync.set_target_secret('${TID[s3]}', pg_read_file('$W/s3.secret'))" >/dev/null
fi
if wanted s3rver; then
    TID[s3rver]=$(q "SELECT globalsync.add_target('bench_s3rver', 's3', '${URL[s3rver]}', '{$opts, \"bucket\": \"gs-bench\", \"addressing\": \"path\", \"prefix\": \"bench\"}')")
    secret s3rver '{"access_key_id": "S3RVER", "secret_access_key": "S3RVER"}'
    q "SELECT globalsync.set_target_secret('${TID[s3rver]}', pg_read_file('$W/s3rver.secret'))" >/dev/null
fi
if wanted snowflake; then
    TID[snowflake]=$(q "SELECT globalsync.add_target('bench_snowflake', 'snowflake', '${URL[snowflake]}', '{$opts, \"account\": \"xy12345\", \"user\": \"gs_bench\", \"table\": \"PATIENT_EVENTS\"}')")
    cp "$W/snowflake/key.pem" "$W/snowflake.secret"
    chown postgres "$W/snowflake.secret"
    q "SELECT globalsync.set_target_secret('${TID[snowflake]}', pg_read_file('$W/snowflake.secret'))" >/dev/null
fi
if wanted fhir; then
    TID[fhir]=$(q "SELECT globalsync.add_target('bench_fhir', 'fhir', '${URL[fhir]}', '{$opts}')")
fi

# ---------------------------------------------------------------- load
gs_log "loading $ROWS patient registrations in 8 facilities (8 zones), one transaction"
q "SELECT globalsync.add_facility('Bench ' || z, z, 'Bench ' || z)
     FROM unnest(ARRAY['Asia/Kolkata', 'America/New_York', 'Europe/London', 'Asia/Tokyo',
                       'Australia/Sydney', 'America/Los_Angeles', 'Asia/Kathmandu', 'Africa/Nairobi']) z" >/dev/null
q "INSERT INTO globalsync.patient_registrations
          (patient_name, date_of_birth, contact_number, email, facility_id, registered_at)
   SELECT 'Bench Patient ' || i, date '1980-01-01' + (i % 9000),
          '+91 98' || lpad((i % 100000000)::text, 8, '0'),
          CASE WHEN i % 3 = 0 THEN 'p' || i || '@example.org' END,
          f.facility_id,
          ((timestamp '2026-01-05 08:00' + (i % 50000) * interval '7 seconds')::text || ' ' || f.timezone)::globalsync.zoned_timestamp
     FROM generate_series(1, $ROWS) i
     JOIN (SELECT facility_id, timezone, row_number() OVER (ORDER BY facility_id) - 1 AS n
             FROM globalsync.facilities) f ON f.n = i % 8" >/dev/null
EVENTS=$((ROWS + 8))

# ---------------------------------------------------------------- syncs
# held: what the peer holds afterwards (patient events or rows)
held() {
    case $1 in
        http)
            "$PYTHON" - "$W/http/log.jsonl" <<'EOF'
import json, sys
n = 0
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r.get("kind") == "request" and r.get("status") == 200:
        n += sum(1 for l in r["body"].splitlines() if '"globalsync.patient_registrations"' in l)
print(n)
EOF
            ;;
        s3)
            find "$W/s3/store" -type f -path '*patient_registrations*' -exec cat {} + 2>/dev/null | wc -l ;;
        s3rver)
            find "$W/s3rver/data" -type f -name '*._S3rver_object' -path '*patient_registrations*' -exec cat {} + 2>/dev/null | wc -l ;;
        snowflake)
            curl -s "${URL[snowflake]}/_rows" | "$PYTHON" -c 'import json,sys; d=json.load(sys.stdin); rows=d["rows"] if isinstance(d, dict) else d; print(sum(1 for r in rows if "patient_registrations" in json.dumps(r)))' ;;
        fhir)
            curl -s "${URL[fhir]%/fhir}/__state?base=/fhir" | "$PYTHON" -c 'import json,sys; print(len(json.load(sys.stdin).get("Patient", {})))' ;;
    esac
}

# cpu PID: user+system CPU seconds a process has used so far
TICK=$(getconf CLK_TCK)
cpu() { awk -v t="$TICK" '{ sub(/^.*\) /, ""); printf "%.2f", ($12 + $13) / t }' "/proc/$1/stat" 2>/dev/null || echo 0; }
WPID=$(q "SELECT pid FROM pg_stat_activity WHERE backend_type = 'globalsync worker' LIMIT 1")
[[ -n $WPID ]] || gs_die "no globalsync worker is running"

RESULT=$W/result.txt
printf '%-10s %9s %9s %9s %11s %9s %11s %11s\n' kind events held seconds events/s vs_http worker_cpu peer_cpu >"$RESULT"
HTTP_RATE=""
for kind in http s3 s3rver snowflake fhir; do
    wanted "$kind" || continue
    gs_log "sync to $kind (${URL[$kind]})"
    w0=$(cpu "$WPID")
    p0=$(cpu "${PEER[$kind]}")
    t0=$(date +%s.%N)
    sid=$(q "SELECT globalsync.start_sync('${TID[$kind]}')")
    st=$(q "SELECT globalsync.wait_sync('$sid', '10 minutes')")
    t1=$(date +%s.%N)
    wcpu=$(awk -v a="$w0" -v b="$(cpu "$WPID")" 'BEGIN { printf "%.2f", b - a }')
    pcpu=$(awk -v a="$p0" -v b="$(cpu "${PEER[$kind]}")" 'BEGIN { printf "%.2f", b - a }')
    [[ $st == completed ]] || gs_warn "$kind: sync $sid ended $st: $(q "SELECT error_message FROM globalsync.sync_history WHERE sync_id = '$sid'" 2>/dev/null || true)"
    secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
    n=$(held "$kind")
    rate=$(awk -v n="$EVENTS" -v s="$secs" 'BEGIN { printf "%.0f", n / s }')
    [[ $kind == http ]] && HTTP_RATE=$rate
    vs=$(awk -v r="$rate" -v h="$HTTP_RATE" 'BEGIN { if (h == "" || h == 0) print "-"; else printf "%.2fx", r / h }')
    printf '%-10s %9s %9s %9s %11s %9s %11s %11s\n' "$kind" "$EVENTS" "$n" "$secs" "$rate" "$vs" "$wcpu" "$pcpu" >>"$RESULT"
    [[ $n -eq $ROWS ]] || gs_warn "$kind: the peer holds $n patient events of $ROWS"
done

stop_peers
gs_log "done: $ROWS rows (+8 facility events), max_batch_events $BATCH, $(nproc) cores"
cat "$RESULT"
[[ -z $OUT ]] || cp "$RESULT" "$OUT"
