#!/usr/bin/env bash
#
# bench/deliver/run.sh: how fast globalsync's sync worker delivers captured
# changes to a file target, against logical decoding with wal2json
# (pg_recvlogical) on the same rows, in one run.
#
# Phases, on one throwaway server:
#   (W) reference: two logical slots with wal2json (format-version 2,
#       add-tables) are made; ROWS rows are inserted into bench_plain, a
#       table shaped like bench_rows but not tracked (so the WAL holds just
#       the rows, as it would without globalsync), in transactions of
#       TXN_ROWS rows.  One pg_recvlogical streams during the load: time
#       from the start of the load until its file holds every row ("live").
#       The other slot is drained after the load with --endpos at the WAL
#       position after the load: time of the drain alone ("drain").
#   (G) globalsync, twice: a file target with max_batch_events 10000, then
#       a new one with 1000 (created just before their load, removed after
#       it, so the worker serves one target at a time).  ROWS rows are
#       inserted into the tracked table bench_rows in transactions of
#       TXN_ROWS rows; time from the start of the load until the target's
#       folder holds every event (a watcher lists it every 20 ms), and until
#       target_health says pending_events = 0 (acknowledged).  Afterwards
#       every event line is checked: each id of the load exactly once.
#       The 10,000 run goes first so that the 1,000 run, which makes ten
#       times more batches, shows any memory the worker keeps per batch or
#       per event on top of its largest buffers.
#   (D) globalsync backlog drain, the counterpart of the wal2json drain: a
#       file target (max_batch_events 1000) is made inactive, ROWS rows are
#       loaded, then the target is made active: time from then until every
#       event is in its folder.
#   (L) latency: a new file target with default options; pgbench -R RATE
#       inserts one row per transaction for LAT_SECS seconds.  A watcher
#       lists the target's folder every 5 ms and records when each batch
#       file appears; latency of an event = that time - its captured_at
#       (clock_timestamp() when the row was written, just before commit).
#   (H) http target (issue 5): a loopback receiver (sink.py, Python
#       standard library, answering 200 as soon as a body is read) and an
#       http target with max_batch_events 1000, once with format ndjson and
#       once with json (each created just before its load, removed after
#       it).  ROWS rows into bench_rows as in (G); time from the start of
#       the load until the receiver has received every event (its 200 is
#       the acknowledgement), and until target_health says pending_events
#       = 0.  The receiver takes the primary-key id of every event out of
#       each body: each id of the load exactly once.
#   (HL) http latency: as (L), to an http target with default options
#       (format json); latency of an event = the receiver's receive time of
#       its request - its captured_at.
#   The worker's RSS (and RssAnon, the private memory) before and after
#   each phase.
#
#   On this 2-core machine the receiver (one Python process) competes for
#   the CPU with the loading backend and the worker: the http figures are
#   a floor for what the worker can do against a receiver on another host.
#
# It prints numbers and whether the issue's goals are met; it is not a test
# and does not fail because a goal is missed.  It exits non-zero only if it
# could not run at all.
#
#   bench/deliver/run.sh              full run: 1,000,000 rows per phase,
#                                     30 s latency phase (about 2 minutes
#                                     on 2 cores if the worker keeps up)
#   bench/deliver/run.sh --quick      smoke test: 100,000 rows, 10 s (about 30 s)
#   bench/deliver/run.sh --only http  just the http phases (H, HL)
#   bench/deliver/run.sh --only file  just the file and wal2json phases
#
# Run as root: missing Debian packages (postgresql-15-wal2json, the client
# programs, python3) are installed with apt-get, and the throwaway server
# (initdb in a temporary directory, a unix socket only, wal_level logical,
# shared_preload_libraries = globalsync) runs as user postgres; it is
# stopped and removed on exit, also on failure or Ctrl-C.  If the extension
# is not installed it runs `make install` in the repository first; --build
# always does.

set -euo pipefail

usage() {
	cat <<EOF
usage: $0 [--quick] [--only file|http] [-n ROWS] [--txn-rows N] [--rate EVENTS_PER_S]
          [--latency-secs SECS] [--max-wait SECS] [--skip-wal2json] [--skip-drain]
          [--build] [--keep] [--out FILE]

  --quick            smoke test: -n 100000 --latency-secs 10
  --only file|http   run only the file target phases (W, G, D, L) or only the
                     http target phases (H, HL); default: all of them
  -n ROWS            rows per throughput phase (default 1000000)
  --txn-rows N       rows per transaction of the load (default 10000)
  --rate N           events/s of the latency phase (default 1000)
  --latency-secs S   length of the latency phase (default 30)
  --max-wait SECS    longest wait for one phase's delivery or drain
                     (default 120 + ROWS/1000, i.e. at least ~1,000 events/s)
  --skip-wal2json    leave out the wal2json reference
  --skip-drain       leave out the globalsync backlog drain (D)
  --build            run 'make install' in the repository first
  --keep             leave the throwaway server running, print how to stop it
  --out FILE         also write the report to FILE
EOF
}

ARGS="$*"
ROWS=1000000
TXN_ROWS=10000
LAT_RATE=1000
LAT_SECS=30
LAT_CLIENTS=4
MAX_WAIT=
SKIP_W2J=0
DRAIN=1
BUILD=0
KEEP=0
OUT=
DO_FILE=1
DO_HTTP=1
H_BATCH=1000

while [ $# -gt 0 ]; do
	case "$1" in
		--quick) ROWS=100000; LAT_SECS=10; shift ;;
		--only)
			case "${2:-}" in
				file) DO_FILE=1; DO_HTTP=0 ;;
				http) DO_FILE=0; DO_HTTP=1 ;;
				all) DO_FILE=1; DO_HTTP=1 ;;
				*) echo "run.sh: --only takes file, http or all, not '${2:-}'" >&2; exit 2 ;;
			esac
			shift 2 ;;
		-n) ROWS="$2"; shift 2 ;;
		--txn-rows) TXN_ROWS="$2"; shift 2 ;;
		--rate) LAT_RATE="$2"; shift 2 ;;
		--latency-secs) LAT_SECS="$2"; shift 2 ;;
		--max-wait) MAX_WAIT="$2"; shift 2 ;;
		--skip-wal2json) SKIP_W2J=1; shift ;;
		--skip-drain) DRAIN=0; shift ;;
		--build) BUILD=1; shift ;;
		--keep) KEEP=1; shift ;;
		--out) OUT="$2"; shift 2 ;;
		-h|--help) usage; exit 0 ;;
		*) echo "run.sh: unknown argument: $1" >&2; usage >&2; exit 2 ;;
	esac
done
# without the file phases there is no wal2json reference to compare with
[ "$DO_FILE" -eq 1 ] || SKIP_W2J=1
[ -n "$MAX_WAIT" ] || MAX_WAIT=$((120 + ROWS / 1000))
for v in ROWS TXN_ROWS LAT_RATE LAT_SECS MAX_WAIT; do
	case "${!v}" in ''|*[!0-9]*) echo "run.sh: $v needs a positive integer, not '${!v}'" >&2; exit 2 ;; esac
	[ "${!v}" -ge 1 ] || { echo "run.sh: $v must be at least 1" >&2; exit 2; }
done
[ "$ROWS" -ge 1000 ] || { echo "run.sh: -n must be at least 1000" >&2; exit 2; }
if [ "$(id -u)" -ne 0 ]; then
	echo "run.sh: run as root (it installs packages and runs the server as postgres)" >&2
	exit 1
fi
id postgres >/dev/null 2>&1 || { echo "run.sh: no user postgres to run the server" >&2; exit 1; }

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
if [ -z "${PG_CONFIG:-}" ]; then
	PG_CONFIG=/usr/lib/postgresql/15/bin/pg_config
	[ -x "$PG_CONFIG" ] || PG_CONFIG=pg_config
fi
BINDIR=$("$PG_CONFIG" --bindir)
PSQL="$BINDIR/psql"
PGBENCH="$BINDIR/pgbench"
RECVLOGICAL="$BINDIR/pg_recvlogical"
SHAREDIR=$("$PG_CONFIG" --sharedir)
PKGLIBDIR=$("$PG_CONFIG" --pkglibdir)
PGMAJOR=$("$PG_CONFIG" --version | sed -E 's/^PostgreSQL ([0-9]+).*/\1/')

log() { echo "bench/deliver: $*" >&2; }

as_pg() { runuser -u postgres -- "$@"; }

# ---------------------------------------------------------------- packages
pkg_installed() {
	dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}
NEED=()
{ [ -x "$PGBENCH" ] && [ -x "$RECVLOGICAL" ]; } || pkg_installed "postgresql-client-$PGMAJOR" ||
	NEED+=("postgresql-client-$PGMAJOR")
if [ "$SKIP_W2J" -eq 0 ] && [ ! -f "$PKGLIBDIR/wal2json.so" ]; then
	NEED+=("postgresql-$PGMAJOR-wal2json")
fi
command -v python3 >/dev/null 2>&1 || NEED+=(python3)
command -v ps >/dev/null 2>&1 || NEED+=(procps)
if [ "${#NEED[@]}" -gt 0 ]; then
	log "apt-get install ${NEED[*]}"
	{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${NEED[@]}"; } </dev/null >&2 ||
		log "apt-get failed; going on without what it could not install"
fi
for p in "$PGBENCH" "$RECVLOGICAL"; do
	[ -x "$p" ] || { echo "run.sh: $p not found (package postgresql-client-$PGMAJOR)" >&2; exit 1; }
done
command -v python3 >/dev/null 2>&1 || { echo "run.sh: python3 not found" >&2; exit 1; }
PYTHON=$(command -v python3)
HAVE_W2J=0
if [ "$SKIP_W2J" -eq 0 ]; then
	if [ -f "$PKGLIBDIR/wal2json.so" ]; then
		HAVE_W2J=1
	else
		log "wal2json is not installed (postgresql-$PGMAJOR-wal2json): the reference is left out"
	fi
fi

# ---------------------------------------------------------------- install
installed() {
	[ -f "$SHAREDIR/extension/globalsync.control" ] && [ -f "$PKGLIBDIR/globalsync.so" ] &&
		grep -q add_target "$SHAREDIR"/extension/globalsync--*.sql 2>/dev/null
}
if [ "$BUILD" -eq 1 ] || ! installed; then
	log "make -C $REPO install"
	make -C "$REPO" PG_CONFIG="$PG_CONFIG" install >&2
fi
installed || { echo "run.sh: the installed globalsync has no sync engine (no add_target in its install script)" >&2; exit 1; }

# ---------------------------------------------------------------- server
TMP=
CHILD=
BG=()       # background jobs of this script (watchers, pg_recvlogical), ended on exit
cleanup() {
	local rc=$? p
	trap - EXIT INT TERM
	for p in $CHILD "${BG[@]}"; do
		kill "$p" 2>/dev/null || true
	done
	for p in $CHILD "${BG[@]}"; do
		wait "$p" 2>/dev/null || true
	done
	if [ -n "$TMP" ]; then
		if [ "$KEEP" -eq 1 ]; then
			log "kept; connect with: $PSQL -h $TMP -p $PORT -U postgres -d $DB"
			log "stop with: runuser -u postgres -- $BINDIR/pg_ctl -D $TMP/data stop && rm -rf $TMP"
		else
			if [ -f "$TMP/data/postmaster.pid" ]; then
				as_pg "$BINDIR/pg_ctl" -D "$TMP/data" -m immediate -w -t 60 stop >/dev/null 2>&1 || true
			fi
			rm -rf "$TMP"
		fi
	fi
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

SO_SUM=$(sha256sum "$PKGLIBDIR/globalsync.so" | cut -c1-12)
SQL_SUM=$(cat "$SHAREDIR"/extension/globalsync--*.sql | sha256sum | cut -c1-12)
W2J_VER=$(dpkg-query -W -f='${Version}' "postgresql-$PGMAJOR-wal2json" 2>/dev/null || true)

TMP=$(mktemp -d /tmp/gs-bench-deliver.XXXXXX)
chmod 700 "$TMP"
chown postgres: "$TMP"
FILES=$TMP/files
mkdir "$FILES"
chown postgres: "$FILES"
# No TCP: the socket lives in the private directory, so the port only names
# the socket file and cannot clash with another server.
PORT=$((50000 + $$ % 10000))
DB=gs_bench_deliver
as_pg "$BINDIR/initdb" -D "$TMP/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 \
	>"$TMP/initdb.log" 2>&1 || { cat "$TMP/initdb.log" >&2; exit 1; }
# fsync and synchronous_commit stay on: latency includes a real commit.
# autovacuum stays on: it summarizes the BRIN index the worker reads the
# log through.  jit off as in bench/capture: compiling the worker's queries
# would only add noise.
cat >>"$TMP/data/postgresql.conf" <<EOF
# bench/deliver
port = $PORT
listen_addresses = ''
unix_socket_directories = '$TMP'
shared_preload_libraries = 'globalsync'
wal_level = logical
max_replication_slots = 10
max_wal_senders = 10
shared_buffers = 512MB
max_wal_size = 16GB
min_wal_size = 1GB
checkpoint_timeout = 30min
jit = off
globalsync.file_target_dir = '$FILES'
EOF
as_pg "$BINDIR/pg_ctl" -D "$TMP/data" -l "$TMP/server.log" -w -t 60 start >/dev/null ||
	{ tail -n 30 "$TMP/server.log" >&2; exit 1; }

"$PSQL" -X -q -v ON_ERROR_STOP=1 -h "$TMP" -p "$PORT" -U postgres -d postgres \
	-c "CREATE DATABASE $DB TEMPLATE template0 ENCODING 'UTF8'"

PSQL_RUN=("$PSQL" -X -q -v ON_ERROR_STOP=1 -h "$TMP" -p "$PORT" -U postgres -d "$DB")
q() { "${PSQL_RUN[@]}" -At -c "$1"; }
# A query on the extension's views: on error, an empty answer and a note.
PROBLEMS=()
qs() {
	local out
	if out=$("${PSQL_RUN[@]}" -At -c "$1" 2>"$TMP/qs.err"); then
		printf '%s\n' "$out"
	else
		note "query failed: $(head -c 300 "$TMP/qs.err" | tr '\n' ' ') -- $(head -c 120 <<<"$1" | tr '\n' ' ')"
	fi
}
note() {
	local m=$1 x
	for x in "${PROBLEMS[@]}"; do [ "$x" != "$m" ] || return 0; done
	PROBLEMS+=("$m")
	log "problem: $m"
}

# Long steps run in the background and are waited for, so that a signal
# reaches the trap at once (bash defers traps while a foreground child
# runs); cleanup then ends the child.
run_bg() {
	local rc=0
	"$@" &
	CHILD=$!
	wait "$CHILD" || rc=$?
	CHILD=
	return $rc
}

now() { date +%s.%N; }
# seconds from $1 to $2, 3 decimals; "-" if either is missing
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "-" || b == "-" || a == "" || b == "") print "-"; else printf "%.3f", b - a }'; }
# $1 / $2, rounded; "-" if $2 is missing or zero
rate() { awk -v n="$1" -v s="$2" 'BEGIN { if (s == "-" || s == "" || s + 0 <= 0) print "-"; else printf "%.0f", n / s }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "-" || b == "-" || a == "" || b == "" || b + 0 <= 0) print "-"; else printf "%.2f", a / b }'; }
# key from a watcher summary file
sumval() { awk -v k="$2" '$1 == k { print $2; found = 1 } END { if (!found) print "-" }' "$1" 2>/dev/null || echo -; }

# ---------------------------------------------------------------- setup
# The patched server only lets slots use the output plugins named in
# output_plugin_libraries, where that setting exists.
OPL_NOTE="no output_plugin_libraries setting on this server"
# the names in a list setting as SHOW prints it: comma separated, maybe
# double-quoted; one a line
list_names() {
	"$PYTHON" -c '
import re, sys
for m in re.finditer(r"\s*(?:\"((?:[^\"]|\"\")*)\"|([^,]*?))\s*(?:,|$)", sys.argv[1]):
    w = m.group(1).replace("\"\"", "\"") if m.group(1) is not None else m.group(2)
    if w:
        print(w)
' "$1"
}
names_wal2json() { list_names "$1" | grep -qx wal2json; }
if [ "$HAVE_W2J" -eq 1 ]; then
	opl_exists=$(q "SELECT count(*) FROM pg_settings WHERE name = 'output_plugin_libraries'")
	if [ "$opl_exists" = 1 ]; then
		opl=$(q "SHOW output_plugin_libraries")
		if ! names_wal2json "$opl"; then
			# a list setting: one quoted item per library
			items=$( { list_names "$opl"; echo wal2json; } | sed "s/'/''/g; s/.*/'&'/" | paste -sd, | sed 's/,/, /g')
			q "ALTER SYSTEM SET output_plugin_libraries = $items" >/dev/null
			q "SELECT pg_reload_conf()" >/dev/null
			for _ in $(seq 1 50); do
				opl=$(q "SHOW output_plugin_libraries")
				if names_wal2json "$opl"; then break; fi
				sleep 0.1
			done
		fi
		OPL_NOTE="output_plugin_libraries = '$opl'"
		if ! names_wal2json "$opl"; then
			note "could not add wal2json to output_plugin_libraries ('$opl'): the wal2json reference is left out"
			HAVE_W2J=0
		fi
	fi
fi

log "creating the extension and the tables ..."
q "CREATE EXTENSION globalsync" >/dev/null
LAT_FIRST=$((4 * ROWS + 1))
# the http phases' ids: above those the file latency phase can take
H_BASE=$((4 * ROWS + 10 * LAT_RATE * LAT_SECS + 1000000))
q "CREATE TABLE public.bench_rows (id bigint PRIMARY KEY, facility_id text, payload text);
   SELECT globalsync.track('public.bench_rows');
   CREATE TABLE public.bench_plain (id bigint PRIMARY KEY, facility_id text, payload text);
   CREATE SEQUENCE public.bench_lat_id START $LAT_FIRST" >/dev/null

# Insert ids $2..$3 into table $1 in transactions of TXN_ROWS rows (one
# statement each, psql autocommit); facility ids spread over 50 values,
# 64 characters of payload.
LOAD_TIMEOUT=$((60 + ROWS / 1000))
load_rows() {
	local tbl=$1 first=$2 last=$3 a b
	for ((a = first; a <= last; a += TXN_ROWS)); do
		b=$((a + TXN_ROWS - 1))
		[ "$b" -le "$last" ] || b=$last
		printf "INSERT INTO public.%s SELECT g, 'FAC_' || lpad((g %% 50)::text, 8, '0'), md5(g::text) || md5((g * 7)::text) FROM generate_series(%d, %d) g;\n" \
			"$tbl" "$a" "$b"
	done >"$TMP/load.sql"
	run_bg timeout -k 10 "$LOAD_TIMEOUT" "${PSQL_RUN[@]}" -f "$TMP/load.sql" >/dev/null ||
		{ log "the load into $tbl failed or took more than $LOAD_TIMEOUT s"; exit 1; }
}

# Start the watcher (watch.py MODE ARGS...) in the background as $1.*;
# wait until it watches.
WATCH_PID=
start_watch() {
	local base=$1 k
	shift
	rm -f "$base".ready "$base".done "$base".summary
	"$PYTHON" "$HERE/watch.py" "$@" --ready "$base.ready" --done "$base.done" --summary "$base.summary" \
		2>"$base.err" &
	WATCH_PID=$!
	BG+=("$WATCH_PID")
	for k in $(seq 1 200); do
		[ ! -e "$base.ready" ] || return 0
		kill -0 "$WATCH_PID" 2>/dev/null || break
		sleep 0.05
	done
	log "the watcher did not start: $(cat "$base.err")"
	exit 1
}
# Wait until the watcher has reached its count ($1.done) or ended, at most
# until the epoch second $2.
wait_done() {
	local base=$1 deadline=$2
	while [ ! -e "$base.done" ] && kill -0 "$WATCH_PID" 2>/dev/null; do
		[ "$(date +%s)" -lt "$deadline" ] || return 1
		sleep 0.05
	done
}
# Wait for the watcher to exit (it verifies after the count is reached).
wait_watch() {
	local rc=0
	wait "$WATCH_PID" || rc=$?
	[ "$rc" -eq 0 ] || note "watcher exited with $rc: $(tail -n 3 "$1.err" | tr '\n' ' ')"
	WATCH_PID=
	BG=()
}

# The worker of this database: pid from pg_stat_activity, or from ps.
worker_pid() {
	local pid pm oid
	pid=$(qs "SELECT pid FROM pg_stat_activity
	           WHERE backend_type LIKE 'globalsync worker%' AND datname = current_database()
	           ORDER BY backend_start DESC LIMIT 1")
	if [ -z "$pid" ]; then
		pm=$(head -n 1 "$TMP/data/postmaster.pid")
		oid=$(q "SELECT oid FROM pg_database WHERE datname = current_database()" 2>/dev/null || true)
		pid=$(ps -o pid=,args= --ppid "$pm" | awk -v db="$DB" -v oid="${oid:-none}" '
			$0 ~ ("globalsync worker " db "( |$)") || $0 ~ ("globalsync worker.* " oid "( |$)") { print $1; exit }')
	fi
	echo "$pid"
}
# "pid rss_kB anon_kB shmem_kB hwm_kB" of the worker, labelled $1, appended
# to MEM_ROWS
MEM_ROWS=()
mem_sample() {
	local label=$1 pid rss anon shmem hwm
	pid=$(worker_pid)
	if [ -z "$pid" ] || [ ! -r "/proc/$pid/status" ]; then
		MEM_ROWS+=("$label|-|-|-|-|-")
		note "no globalsync worker process found ($label)"
		return 0
	fi
	rss=$(ps -o rss= -p "$pid" | tr -d ' ')
	read -r anon shmem hwm < <(awk '/^RssAnon:/ { a = $2 } /^RssShmem:/ { s = $2 } /^VmHWM:/ { h = $2 }
	                                END { print (a == "" ? "-" : a), (s == "" ? "-" : s), (h == "" ? "-" : h) }' "/proc/$pid/status")
	MEM_ROWS+=("$label|$pid|${rss:--}|$anon|$shmem|$hwm")
	log "worker $pid $label: RSS ${rss:-?} kB (anonymous $anon kB, shared $shmem kB, peak $hwm kB)"
}

log "waiting for the globalsync worker of $DB ..."
WPID=
for _ in $(seq 1 150); do
	WPID=$(worker_pid)
	[ -z "$WPID" ] || break
	sleep 0.2
done
[ -n "$WPID" ] || note "no globalsync worker for $DB 30 s after CREATE EXTENSION"

START=$(date +%s)
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
declare -A R=()

# ---------------------------------------------------------------- (W) wal2json
W2J_OPTS=(-o format-version=2 -o add-tables=public.bench_plain)
if [ "$HAVE_W2J" -eq 1 ]; then
	log "(W) wal2json: $ROWS rows into the untracked bench_plain, streamed by pg_recvlogical ..."
	q "SELECT pg_create_logical_replication_slot('gs_bench_live', 'wal2json');
	   SELECT pg_create_logical_replication_slot('gs_bench_drain', 'wal2json')" >/dev/null
	timeout -s INT -k 10 $((MAX_WAIT + LOAD_TIMEOUT)) "$RECVLOGICAL" -h "$TMP" -p "$PORT" -U postgres -d "$DB" \
		-S gs_bench_live --start -s 1 -f "$TMP/w2j-live.json" "${W2J_OPTS[@]}" 2>"$TMP/w2j-live.err" &
	LIVE_PID=$!
	BG+=("$LIVE_PID")
	for _ in $(seq 1 100); do
		[ "$(q "SELECT active FROM pg_replication_slots WHERE slot_name = 'gs_bench_live'")" != t ] || break
		kill -0 "$LIVE_PID" 2>/dev/null || break
		sleep 0.1
	done
	if [ "$(q "SELECT active FROM pg_replication_slots WHERE slot_name = 'gs_bench_live'")" != t ]; then
		log "pg_recvlogical did not start: $(cat "$TMP/w2j-live.err")"
		exit 1
	fi
	start_watch "$TMP/wl" tail --file "$TMP/w2j-live.json" --pattern '"action":"I"' --expect "$ROWS" \
		--timeout $((MAX_WAIT + LOAD_TIMEOUT)) --interval 0.02
	t0=$(now)
	load_rows bench_plain 1 "$ROWS"
	t1=$(now)
	wait_done "$TMP/wl" $(($(date +%s) + MAX_WAIT)) || true
	wait_watch "$TMP/wl"
	kill -INT "$LIVE_PID" 2>/dev/null || true
	wait "$LIVE_PID" 2>/dev/null || true
	R[w_load]=$(elapsed "$t0" "$t1")
	R[wl_rows]=$(sumval "$TMP/wl.summary" lines)
	R[wl_done]=$(elapsed "$t0" "$(sumval "$TMP/wl.summary" done_at)")
	[ "${R[wl_rows]}" = "$ROWS" ] || note "wal2json live: $(sumval "$TMP/wl.summary" lines) of $ROWS rows seen within the wait"
	rm -f "$TMP/w2j-live.json"

	log "(W) wal2json: draining the other slot up to the end of the load ..."
	endpos=$(q "SELECT pg_current_wal_insert_lsn()")
	# something past endpos, so that decoding reaches it even when idle
	q "SELECT pg_logical_emit_message(false, 'gs-bench', 'end')" >/dev/null
	t2=$(now)
	rc=0
	run_bg timeout -s INT -k 10 "$MAX_WAIT" "$RECVLOGICAL" -h "$TMP" -p "$PORT" -U postgres -d "$DB" \
		-S gs_bench_drain --start --endpos="$endpos" -f "$TMP/w2j-drain.json" "${W2J_OPTS[@]}" \
		2>"$TMP/w2j-drain.err" || rc=$?
	t3=$(now)
	R[wd_rows]=$(grep -o '"action":"I"' "$TMP/w2j-drain.json" 2>/dev/null | wc -l)
	R[wd_secs]=$(elapsed "$t2" "$t3")
	R[wd_bytes]=$(stat -c %s "$TMP/w2j-drain.json" 2>/dev/null || echo 0)
	if [ "$rc" -ne 0 ]; then
		note "pg_recvlogical drain exited with $rc: $(head -c 300 "$TMP/w2j-drain.err" | tr '\n' ' ')"
		R[wd_secs]=-
	fi
	[ "${R[wd_rows]}" = "$ROWS" ] || note "wal2json drain: ${R[wd_rows]} of $ROWS rows"
	rm -f "$TMP/w2j-drain.json"
	for s in gs_bench_live gs_bench_drain; do
		for _ in $(seq 1 50); do
			q "SELECT pg_drop_replication_slot('$s')" >/dev/null 2>&1 && break
			sleep 0.1
		done
	done
	log "(W) load ${R[w_load]} s; live: all rows after ${R[wl_done]} s; drain: ${R[wd_rows]} rows in ${R[wd_secs]} s"
fi

# ---------------------------------------------------------------- (G) globalsync
# target_phase LABEL MAX_BATCH_EVENTS FIRST_ID MODE
#   MODE live: the target is active during the load; timed from the start
#   of the load.  drain: the target is made inactive before the load and
#   active after it; timed from alter_target(is_active => true).
target_phase() {
	local lab=$1 maxb=$2 first=$3 mode=$4 last tid t0 t1 tack deadline pe k
	last=$((first + ROWS - 1))
	if [ "$mode" = live ]; then
		log "(G) globalsync, max_batch_events $maxb: $ROWS rows into bench_rows ..."
	else
		log "(D) globalsync backlog, max_batch_events $maxb: $ROWS rows into bench_rows with the target inactive, then drained ..."
	fi
	tid=$(q "SELECT globalsync.add_target('bench_$lab', 'file', 'bench_$lab', '{\"max_batch_events\": $maxb}')")
	R[${lab}_tid]=$tid
	[ "$mode" = live ] || q "SELECT globalsync.alter_target('$tid', is_active => false)" >/dev/null
	sleep 1
	mem_sample "before ${lab} run"
	start_watch "$TMP/g$lab" dir --dir "$FILES/bench_$lab" --expect "$ROWS" \
		--timeout $((MAX_WAIT + LOAD_TIMEOUT)) --interval 0.02 --verify "$first" "$last"
	t0=$(now)
	load_rows bench_rows "$first" "$last"
	t1=$(now)
	R[${lab}_load]=$(elapsed "$t0" "$t1")
	if [ "$mode" = drain ]; then
		if [ -e "$TMP/g$lab.done" ] || [ -n "$(find "$FILES" -path "*/bench_$lab/*.ndjson" 2>/dev/null | head -n 1)" ]; then
			note "$lab: batch files appeared while the target was inactive"
		fi
		t0=$(now)
		t1=$t0
		q "SELECT globalsync.alter_target('$tid', is_active => true)" >/dev/null
	fi
	deadline=$(($(date +%s) + MAX_WAIT))
	tack=-
	if wait_done "$TMP/g$lab" "$deadline" && [ -e "$TMP/g$lab.done" ]; then
		# every event is in a file: now wait for the acknowledgement
		for k in $(seq 1 600); do
			pe=$(qs "SELECT pending_events FROM globalsync.target_health WHERE target_id = '$tid'")
			if [ "$pe" = 0 ]; then tack=$(now); break; fi
			[ "$(date +%s)" -lt "$deadline" ] || break
			sleep 0.1
		done
		[ "$tack" != - ] || note "$lab: every event is in a file, but target_health.pending_events is '$pe', not 0"
	fi
	wait_watch "$TMP/g$lab"
	local s=$TMP/g$lab.summary
	R[${lab}_events]=$(sumval "$s" lines)
	R[${lab}_files]=$(sumval "$s" files)
	R[${lab}_done]=$(elapsed "$t0" "$(sumval "$s" done_at)")
	R[${lab}_ack]=$(elapsed "$t0" "$tack")
	R[${lab}_after_load]=$(elapsed "$t1" "$(sumval "$s" done_at)")
	R[${lab}_check]="missing $(sumval "$s" verify_missing), duplicate $(sumval "$s" verify_duplicate), other $(sumval "$s" verify_outside), ops $(sumval "$s" verify_ops)"
	if [ "$(sumval "$s" timed_out)" = 1 ] || [ "${R[${lab}_done]}" = - ]; then
		note "$lab: only ${R[${lab}_events]} of $ROWS events in files after $(elapsed "$t0" "$(now)") s (gave up)"
		pe=$(qs "SELECT pending_events FROM globalsync.target_health WHERE target_id = '$tid'")
		R[${lab}_check]="${R[${lab}_check]}; pending_events at give-up: ${pe:-?}"
	fi
	if [ "$(sumval "$s" verify_missing)" != 0 ] || [ "$(sumval "$s" verify_duplicate)" != 0 ] ||
		[ "$(sumval "$s" verify_outside)" != 0 ] || [ "$(sumval "$s" verify_duplicate_event_id)" != 0 ]; then
		note "$lab: delivered events do not match the load: ${R[${lab}_check]}, duplicate event_id $(sumval "$s" verify_duplicate_event_id)"
	fi
	# let the realtime run end (about 1 s idle), then read its history
	for k in $(seq 1 100); do
		[ "$(qs "SELECT count(*) FROM globalsync.sync_log WHERE target_id = '$tid' AND status IN ('running', 'queued')")" != 0 ] || break
		sleep 0.1
	done
	R[${lab}_runs]=$(qs "SELECT format('%s runs (%s completed, %s failed, %s cancelled, %s still running), %s records',
	                             count(*), count(*) FILTER (WHERE status = 'completed'),
	                             count(*) FILTER (WHERE status = 'failed'), count(*) FILTER (WHERE status = 'cancelled'),
	                             count(*) FILTER (WHERE status IN ('running', 'queued')), coalesce(sum(record_count), 0))
	                       FROM globalsync.sync_log WHERE target_id = '$tid'")
	R[${lab}_health]=$(qs "SELECT format('state %s, breaker %s, pending %s, dead letters %s%s', state, breaker, pending_events,
	                              dead_letters, coalesce(', last error: ' || left(last_error, 200), ''))
	                         FROM globalsync.target_health WHERE target_id = '$tid'")
	local failed
	failed=$(qs "SELECT count(*) FROM globalsync.sync_log WHERE target_id = '$tid' AND status = 'failed'")
	[ "${failed:-0}" = 0 ] || note "$lab: $failed failed runs: $(qs "SELECT string_agg(DISTINCT left(error_message, 150), ' | ') FROM globalsync.sync_log WHERE target_id = '$tid' AND status = 'failed'")"
	local dl
	dl=$(qs "SELECT count(*) FROM globalsync.dead_letters WHERE target_id = '$tid'")
	[ "${dl:-0}" = 0 ] || note "$lab: $dl dead letters"
	mem_sample "after ${lab} run"
	qs "SELECT globalsync.remove_target('$tid')" >/dev/null
	rm -rf "${FILES:?}/bench_$lab"
	if [ "$mode" = live ]; then
		log "(G) max_batch_events $maxb: load ${R[${lab}_load]} s, every event in files after ${R[${lab}_done]} s, acknowledged after ${R[${lab}_ack]} s"
	else
		log "(D) load ${R[${lab}_load]} s; after the target was made active, every event in files after ${R[${lab}_done]} s, acknowledged after ${R[${lab}_ack]} s"
	fi
}
if [ "$DO_FILE" -eq 1 ]; then
target_phase 10k 10000 $((ROWS + 1)) live
target_phase 1k 1000 $((2 * ROWS + 1)) live
[ "$DRAIN" -eq 0 ] || target_phase drain 1000 $((3 * ROWS + 1)) drain

# ---------------------------------------------------------------- (L) latency
log "(L) latency: $LAT_RATE rows/s for $LAT_SECS s, one row per transaction ..."
LTID=$(q "SELECT globalsync.add_target('bench_latency', 'file', 'bench_latency')")
sleep 1
start_watch "$TMP/lat" dir --dir "$FILES/bench_latency" --expect-file "$TMP/lat.expect" \
	--timeout $((LAT_SECS + 180)) --interval 0.005 --latency "$TMP/lat.samples"
rc=0
run_bg "$PGBENCH" -n -R "$LAT_RATE" -T "$LAT_SECS" -c "$LAT_CLIENTS" -j 2 -f "$HERE/latency.sql" \
	-h "$TMP" -p "$PORT" -U postgres "$DB" >"$TMP/pgbench.out" 2>&1 || rc=$?
[ "$rc" -eq 0 ] || note "pgbench exited with $rc: $(grep -m 3 -iE 'error|abort' "$TMP/pgbench.out" | tr '\n' ' ')"
LAT_N=$(q "SELECT count(*) FROM public.bench_rows WHERE id >= $LAT_FIRST")
echo "$LAT_N" >"$TMP/lat.expect"
wait_done "$TMP/lat" $(($(date +%s) + 180)) || true
wait_watch "$TMP/lat"
R[lat_rows]=$LAT_N
R[lat_tps]=$(awk '/^tps = / { printf "%.0f", $3; exit }' "$TMP/pgbench.out")
R[lat_txn_ms]=$(awk '/^latency average/ { print $4; exit }' "$TMP/pgbench.out")
R[lat_sched_ms]=$(awk '/^rate limit schedule lag/ { print $6; exit }' "$TMP/pgbench.out")
for k in lines files lat_samples lat_p50_ms lat_p90_ms lat_p99_ms lat_p99_9_ms lat_max_ms lat_min_ms mtime_p50_ms mtime_p99_ms bad_timestamps timed_out; do
	R[lat_$k]=$(sumval "$TMP/lat.summary" "$k")
done
[ "${R[lat_lines]}" = "$LAT_N" ] || note "latency: ${R[lat_lines]} of $LAT_N events in files within 180 s after pgbench"
[ "${R[lat_bad_timestamps]}" = 0 ] || note "latency: ${R[lat_bad_timestamps]} event lines without a readable captured_at"
R[lat_runs]=$(qs "SELECT format('%s runs (%s completed, %s failed, %s still running), %s records', count(*),
                         count(*) FILTER (WHERE status = 'completed'), count(*) FILTER (WHERE status = 'failed'),
                         count(*) FILTER (WHERE status IN ('running', 'queued')), coalesce(sum(record_count), 0))
                    FROM globalsync.sync_log WHERE target_id = '$LTID'")
# the worker's own lag figures: per acknowledged batch and facility, the
# acknowledgement minus the capture time of the batch's oldest event
R[lat_db]=$(qs "SELECT format('%s rows, p50 %s ms, p99 %s ms, max %s ms', count(*),
                        round((percentile_cont(0.5) WITHIN GROUP (ORDER BY lag_seconds) * 1000)::numeric, 1),
                        round((percentile_cont(0.99) WITHIN GROUP (ORDER BY lag_seconds) * 1000)::numeric, 1),
                        round((max(lag_seconds) * 1000)::numeric, 1))
                  FROM globalsync.deliveries WHERE target_id = '$LTID'")
mem_sample "after latency run"
qs "SELECT globalsync.remove_target('$LTID')" >/dev/null
log "(L) p50 ${R[lat_lat_p50_ms]} ms, p99 ${R[lat_lat_p99_ms]} ms over ${R[lat_lat_samples]} events"
fi # DO_FILE

# ---------------------------------------------------------------- (H) http
# Start the loopback receiver (sink.py ARGS...) in the background as $1.*;
# wait until it listens; its port is in $1.ready.  WATCH_PID is its pid, so
# wait_done works on it.
start_sink() {
	local base=$1 k
	shift
	rm -f "$base".ready "$base".done "$base".summary
	"$PYTHON" "$HERE/sink.py" "$@" --ready "$base.ready" --done "$base.done" --summary "$base.summary" \
		2>"$base.err" &
	WATCH_PID=$!
	BG+=("$WATCH_PID")
	for k in $(seq 1 200); do
		[ ! -s "$base.ready" ] || return 0
		kill -0 "$WATCH_PID" 2>/dev/null || break
		sleep 0.05
	done
	log "the receiver did not start: $(cat "$base.err")"
	exit 1
}
# Stop the receiver (SIGTERM: it writes its summary and exits).
stop_sink() {
	local rc=0
	kill -TERM "$WATCH_PID" 2>/dev/null || true
	wait "$WATCH_PID" || rc=$?
	[ "$rc" -eq 0 ] || note "receiver exited with $rc: $(tail -n 3 "$1.err" | tr '\n' ' ')"
	[ -s "$1.summary" ] || note "receiver wrote no summary: $(tail -n 3 "$1.err" | tr '\n' ' ')"
	WATCH_PID=
	BG=()
}
# sync_log, target_health, failed runs and dead letters of target $2, into
# R[$1_runs] and R[$1_health]
target_history() {
	local lab=$1 tid=$2 k failed dl
	for k in $(seq 1 100); do
		[ "$(qs "SELECT count(*) FROM globalsync.sync_log WHERE target_id = '$tid' AND status IN ('running', 'queued')")" != 0 ] || break
		sleep 0.1
	done
	R[${lab}_runs]=$(qs "SELECT format('%s runs (%s completed, %s failed, %s cancelled, %s still running), %s records',
	                             count(*), count(*) FILTER (WHERE status = 'completed'),
	                             count(*) FILTER (WHERE status = 'failed'), count(*) FILTER (WHERE status = 'cancelled'),
	                             count(*) FILTER (WHERE status IN ('running', 'queued')), coalesce(sum(record_count), 0))
	                       FROM globalsync.sync_log WHERE target_id = '$tid'")
	R[${lab}_health]=$(qs "SELECT format('state %s, breaker %s, pending %s, dead letters %s%s', state, breaker, pending_events,
	                              dead_letters, coalesce(', last error: ' || left(last_error, 200), ''))
	                         FROM globalsync.target_health WHERE target_id = '$tid'")
	failed=$(qs "SELECT count(*) FROM globalsync.sync_log WHERE target_id = '$tid' AND status = 'failed'")
	[ "${failed:-0}" = 0 ] || note "$lab: $failed failed runs: $(qs "SELECT string_agg(DISTINCT left(error_message, 150), ' | ') FROM globalsync.sync_log WHERE target_id = '$tid' AND status = 'failed'")"
	dl=$(qs "SELECT count(*) FROM globalsync.dead_letters WHERE target_id = '$tid'")
	[ "${dl:-0}" = 0 ] || note "$lab: $dl dead letters"
}
# http_phase LABEL FORMAT FIRST_ID: an http target (format FORMAT,
# max_batch_events H_BATCH) active during the load of ROWS rows.
http_phase() {
	local lab=$1 fmt=$2 first=$3 last port tid t0 t1 tack deadline pe k s
	last=$((first + ROWS - 1))
	log "(H) http target, format $fmt, max_batch_events $H_BATCH: $ROWS rows into bench_rows ..."
	start_sink "$TMP/$lab" --expect "$ROWS" --timeout $((MAX_WAIT + LOAD_TIMEOUT + 600)) \
		--verify "$first" "$last" --log "$TMP/$lab.requests"
	port=$(cat "$TMP/$lab.ready")
	tid=$(q "SELECT globalsync.add_target('bench_$lab', 'http', 'http://127.0.0.1:$port/$lab',
	                                      '{\"format\": \"$fmt\", \"max_batch_events\": $H_BATCH}')")
	R[${lab}_tid]=$tid
	sleep 1
	mem_sample "before $lab run"
	t0=$(now)
	load_rows bench_rows "$first" "$last"
	t1=$(now)
	R[${lab}_load]=$(elapsed "$t0" "$t1")
	deadline=$(($(date +%s) + MAX_WAIT))
	tack=-
	if wait_done "$TMP/$lab" "$deadline" && [ -e "$TMP/$lab.done" ]; then
		for k in $(seq 1 600); do
			pe=$(qs "SELECT pending_events FROM globalsync.target_health WHERE target_id = '$tid'")
			if [ "$pe" = 0 ]; then tack=$(now); break; fi
			[ "$(date +%s)" -lt "$deadline" ] || break
			sleep 0.1
		done
		[ "$tack" != - ] || note "$lab: the receiver has every event, but target_health.pending_events is '$pe', not 0"
	fi
	# a moment for resends (none expected) before the receiver stops
	sleep 0.5
	stop_sink "$TMP/$lab"
	s=$TMP/$lab.summary
	R[${lab}_events]=$(sumval "$s" lines)
	R[${lab}_requests]=$(sumval "$s" requests)
	R[${lab}_done]=$(elapsed "$t0" "$(sumval "$s" done_at)")
	R[${lab}_ack]=$(elapsed "$t0" "$tack")
	R[${lab}_after_load]=$(elapsed "$t1" "$(sumval "$s" done_at)")
	R[${lab}_check]="missing $(sumval "$s" verify_missing), duplicate $(sumval "$s" verify_duplicate), other $(sumval "$s" verify_outside), duplicate event_id $(sumval "$s" verify_duplicate_event_id), resent requests $(sumval "$s" resent_requests)"
	R[${lab}_sink]="$(sumval "$s" requests) requests on $(sumval "$s" connections) connection(s), $(awk -v b="$(sumval "$s" bytes)" 'BEGIN { printf "%.0f", b / 1048576 }') MB, events per request p50 $(sumval "$s" events_per_request_p50) max $(sumval "$s" events_per_request_max), body read (first byte after the headers to last) p50 $(sumval "$s" read_p50_ms) ms p99 $(sumval "$s" read_p99_ms) ms, gap from one request's receipt to the next one's start p50 $(sumval "$s" gap_p50_ms) ms p99 $(sumval "$s" gap_p99_ms) ms, bodies $(sumval "$s" formats), receiver CPU $(sumval "$s" cpu_s) s"
	if [ "$(sumval "$s" timed_out)" = 1 ] || [ "${R[${lab}_done]}" = - ]; then
		pe=$(qs "SELECT pending_events FROM globalsync.target_health WHERE target_id = '$tid'")
		note "$lab: the receiver got only ${R[${lab}_events]} of $ROWS events after $(elapsed "$t0" "$(now)") s (gave up; pending_events ${pe:-?})"
	fi
	if [ "$(sumval "$s" verify_missing)" != 0 ] || [ "$(sumval "$s" verify_duplicate)" != 0 ] ||
		[ "$(sumval "$s" verify_outside)" != 0 ] || [ "$(sumval "$s" verify_duplicate_event_id)" != 0 ]; then
		note "$lab: events received do not match the load: ${R[${lab}_check]}"
	fi
	[ "$(sumval "$s" lines)" = "$(sumval "$s" pk_ids)" ] ||
		note "$lab: the receiver counted $(sumval "$s" lines) events but found $(sumval "$s" pk_ids) primary keys"
	target_history "$lab" "$tid"
	mem_sample "after $lab run"
	qs "SELECT globalsync.remove_target('$tid')" >/dev/null
	log "(H) $fmt: load ${R[${lab}_load]} s, every event received after ${R[${lab}_done]} s ($(rate "$ROWS" "${R[${lab}_done]}") events/s), acknowledged after ${R[${lab}_ack]} s; ${R[${lab}_check]}"
}

if [ "$DO_HTTP" -eq 1 ]; then
	log "(H) note: $(nproc) cores; the receiver (Python) competes with PostgreSQL for them"
	http_phase http_ndjson ndjson $((H_BASE + 1))
	http_phase http_json json $((H_BASE + ROWS + 1))

	# ------------------------------------------------------------ (HL)
	HL_FIRST=$((H_BASE + 2 * ROWS + 1))
	log "(HL) http latency: $LAT_RATE rows/s for $LAT_SECS s, one row per transaction ..."
	q "SELECT setval('public.bench_lat_id', $HL_FIRST, false)" >/dev/null
	rm -f "$TMP/hl.expect"
	start_sink "$TMP/hl" --expect-file "$TMP/hl.expect" --timeout $((LAT_SECS + 900)) \
		--latency "$TMP/hl.samples" --log "$TMP/hl.requests"
	HL_PORT=$(cat "$TMP/hl.ready")
	HLTID=$(q "SELECT globalsync.add_target('bench_http_latency', 'http', 'http://127.0.0.1:$HL_PORT/latency')")
	sleep 1
	rc=0
	run_bg "$PGBENCH" -n -R "$LAT_RATE" -T "$LAT_SECS" -c "$LAT_CLIENTS" -j 2 -f "$HERE/latency.sql" \
		-h "$TMP" -p "$PORT" -U postgres "$DB" >"$TMP/hl-pgbench.out" 2>&1 || rc=$?
	[ "$rc" -eq 0 ] || note "pgbench (http latency) exited with $rc: $(grep -m 3 -iE 'error|abort' "$TMP/hl-pgbench.out" | tr '\n' ' ')"
	HL_N=$(q "SELECT count(*) FROM public.bench_rows WHERE id >= $HL_FIRST")
	echo "$HL_N" >"$TMP/hl.expect"
	wait_done "$TMP/hl" $(($(date +%s) + 180)) || true
	sleep 0.5
	stop_sink "$TMP/hl"
	R[hl_rows]=$HL_N
	R[hl_tps]=$(awk '/^tps = / { printf "%.0f", $3; exit }' "$TMP/hl-pgbench.out")
	R[hl_txn_ms]=$(awk '/^latency average/ { print $4; exit }' "$TMP/hl-pgbench.out")
	R[hl_sched_ms]=$(awk '/^rate limit schedule lag/ { print $6; exit }' "$TMP/hl-pgbench.out")
	for k in lines requests lat_samples lat_p50_ms lat_p90_ms lat_p99_ms lat_p99_9_ms lat_max_ms lat_min_ms bad_timestamps timed_out resent_requests verify_duplicate_event_id formats cpu_s; do
		R[hl_$k]=$(sumval "$TMP/hl.summary" "$k")
	done
	[ "${R[hl_lines]}" = "$HL_N" ] || note "http latency: the receiver got ${R[hl_lines]} of $HL_N events within 180 s after pgbench"
	[ "${R[hl_bad_timestamps]}" = 0 ] || note "http latency: ${R[hl_bad_timestamps]} events without a readable captured_at"
	R[hl_db]=$(qs "SELECT format('%s rows, p50 %s ms, p99 %s ms, max %s ms', count(*),
	                        round((percentile_cont(0.5) WITHIN GROUP (ORDER BY lag_seconds) * 1000)::numeric, 1),
	                        round((percentile_cont(0.99) WITHIN GROUP (ORDER BY lag_seconds) * 1000)::numeric, 1),
	                        round((max(lag_seconds) * 1000)::numeric, 1))
	                  FROM globalsync.deliveries WHERE target_id = '$HLTID'")
	target_history hl "$HLTID"
	mem_sample "after http latency run"
	qs "SELECT globalsync.remove_target('$HLTID')" >/dev/null
	log "(HL) p50 ${R[hl_lat_p50_ms]} ms, p99 ${R[hl_lat_p99_ms]} ms over ${R[hl_lat_samples]} events"
fi

ELAPSED=$(($(date +%s) - START))
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)

# server log: errors and warnings
LOG_ERR=$(grep -cE '(ERROR|FATAL|PANIC):' "$TMP/server.log" || true)
LOG_WARN=$(grep -cE 'WARNING:' "$TMP/server.log" || true)
LOG_SAMPLE=$(grep -E '(ERROR|FATAL|PANIC|WARNING):' "$TMP/server.log" | sed -E 's/^[0-9-]+ [0-9:.]+ [A-Z]+ \[[0-9]+\] //' |
	sort | uniq -c | sort -rn | head -n 5 || true)
if grep -qE 'PANIC:|terminated by signal|was terminated' "$TMP/server.log"; then
	note "the server log shows a crash: $(grep -m 2 -E 'PANIC:|terminated by signal|was terminated' "$TMP/server.log" | tr '\n' ' ')"
fi
W_END=$(worker_pid)

# ---------------------------------------------------------------- report
PGVER=$(q "SELECT current_setting('server_version')")
CPU=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo 2>/dev/null | head -n 1)
MEM=$(awk '/^MemTotal/ { printf "%.0f GB RAM", $2 / 1048576 }' /proc/meminfo 2>/dev/null)
SO_NOTE=
if [ "$(sha256sum "$PKGLIBDIR/globalsync.so" | cut -c1-12)" != "$SO_SUM" ]; then
	SO_NOTE=" (reinstalled while the benchmark ran; the server measured this one, loaded at its start)"
fi

verdict() { # value goal higher|lower -> met / MISSED / unknown
	awk -v v="$1" -v g="$2" -v d="$3" 'BEGIN {
		if (v == "-" || v == "") { print "unknown (no figure)"; exit }
		if (d == "higher") print (v + 0 >= g + 0 ? "met" : "MISSED"); else print (v + 0 < g + 0 ? "met" : "MISSED") }'
}

# the RssAnon and pid of the memory sample labelled $1: "pid anon"
mem_of() {
	local row p a
	row=$(printf '%s\n' "${MEM_ROWS[@]}" | grep -m 1 "^$1|" || echo "$1|-|-|-|-|-")
	IFS='|' read -r _ p _ a _ _ <<<"$row"
	echo "$p $a"
}
# growth of RssAnon from sample $1 to sample $2: "+123" kB, or "-"
mem_growth() {
	local p1 a1 p2 a2
	read -r p1 a1 <<<"$(mem_of "$1")"
	read -r p2 a2 <<<"$(mem_of "$2")"
	if [ "$a1" = - ] || [ "$a2" = - ]; then
		echo -
	elif [ "$p1" != "$p2" ]; then
		echo "restarted"
	else
		awk -v a="$a1" -v b="$a2" 'BEGIN { printf "%+d", b - a }'
	fi
}

report() {
	local lab n10 n1 nd lr ld r10 r1 rd l10 l1 row g1 g2 gd mv
	echo "## bench/deliver results"
	echo
	echo "- command: \`bench/deliver/run.sh${ARGS:+ $ARGS}\` (as $(id -un))"
	echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC'); measuring took $((ELAPSED / 60)) min $((ELAPSED % 60)) s"
	echo "- machine: $(nproc) cores${CPU:+, $CPU}${MEM:+, $MEM}, $(uname -sr)"
	echo "- PostgreSQL $PGVER, globalsync.so sha256 $SO_SUM...$SO_NOTE, install script $SQL_SUM...${W2J_VER:+, wal2json $W2J_VER}"
	echo "- load average (1, 5, 15 min) before measuring: $LOAD_START; after: $LOAD_END"
	echo "- server: throwaway cluster, wal_level logical, shared_buffers 512MB, fsync on, synchronous_commit on, autovacuum on, jit off; $OPL_NOTE"
	echo "- each throughput phase: $ROWS rows (id bigint, facility_id text, 64-character payload) by INSERT ... SELECT in transactions of $TXN_ROWS rows from one session"
	local ph=()
	if [ "$DO_FILE" -eq 1 ]; then
		[ "$HAVE_W2J" -eq 0 ] || ph+=("wal2json (W)")
		ph+=("file target (G$([ "$DRAIN" -eq 1 ] && echo ", D"), L)")
	fi
	[ "$DO_HTTP" -eq 0 ] || ph+=("http target (H, HL)")
	echo "- phases: $(printf '%s; ' "${ph[@]}" | sed 's/; $//')"
	if [ "$DO_FILE" -eq 1 ]; then
	echo
	echo "### Throughput: $ROWS inserts"
	echo
	echo "\"delivered\": every event (row) is in the target's files; \"acknowledged\": target_health.pending_events = 0 afterwards. Timed from the start of the load, except the two drains (from the moment delivery is allowed to start)."
	echo
	echo "| run | load s | load rows/s | delivered s | events/s delivered | acknowledged s | events/s acknowledged | delivered s after the load | files | check |"
	echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"
	for lab in 10k 1k drain; do
		[ -n "${R[${lab}_tid]:-}" ] || continue
		case $lab in
			10k) row="globalsync file target, max_batch_events 10000, active during the load" ;;
			1k) row="globalsync file target, max_batch_events 1000, active during the load" ;;
			drain) row="globalsync backlog drain: target (max_batch_events 1000) inactive during the load, then made active" ;;
		esac
		echo "| $row | ${R[${lab}_load]:--} | $(rate "$ROWS" "${R[${lab}_load]:--}") | ${R[${lab}_done]:--} | $(rate "$ROWS" "${R[${lab}_done]:--}") | ${R[${lab}_ack]:--} | $(rate "$ROWS" "${R[${lab}_ack]:--}") | ${R[${lab}_after_load]:--} | ${R[${lab}_files]:--} | ${R[${lab}_events]:--} events; ${R[${lab}_check]:--} |"
	done
	if [ "$HAVE_W2J" -eq 1 ]; then
		echo "| wal2json: pg_recvlogical streaming during the load (of the untracked bench_plain) | ${R[w_load]:--} | $(rate "$ROWS" "${R[w_load]:--}") | ${R[wl_done]:--} | $(rate "$ROWS" "${R[wl_done]:--}") | - | - | $(elapsed "${R[w_load]:--}" "${R[wl_done]:--}") | - | ${R[wl_rows]:--} rows |"
		echo "| wal2json drain: pg_recvlogical reading the other slot after the load, up to --endpos | - | - | ${R[wd_secs]:--} | $(rate "$ROWS" "${R[wd_secs]:--}") | - | - | - | - | ${R[wd_rows]:--} rows, $(awk -v b="${R[wd_bytes]:-0}" 'BEGIN { printf "%.0f", b / 1048576 }') MB |"
	fi
	echo
	for lab in 10k 1k drain; do
		[ -n "${R[${lab}_tid]:-}" ] || continue
		echo "- $lab: sync_log ${R[${lab}_runs]:--}; target_health afterwards: ${R[${lab}_health]:--}"
	done
	n10=$(rate "$ROWS" "${R[10k_done]:--}")
	n1=$(rate "$ROWS" "${R[1k_done]:--}")
	nd=$(rate "$ROWS" "${R[drain_done]:--}")
	lr=$(rate "$ROWS" "${R[wl_done]:--}")
	ld=$(rate "$ROWS" "${R[wd_secs]:--}")
	r10=$(ratio "$n10" "$ld")
	r1=$(ratio "$n1" "$ld")
	rd=$(ratio "$nd" "$ld")
	l10=$(ratio "$n10" "$lr")
	l1=$(ratio "$n1" "$lr")
	if [ "$HAVE_W2J" -eq 1 ]; then
		echo "- globalsync / wal2json drain: max_batch_events 10000 ${r10}x, 1000 ${r1}x (from the start of the load); backlog drain against drain ${rd}x"
		echo "- globalsync / wal2json streaming, both from the start of the load: 10000 ${l10}x, 1000 ${l1}x"
		echo "- the figures from the start of the load include the load itself, and globalsync's load carries the capture trigger: it alone ran at $(rate "$ROWS" "${R[10k_load]:--}") and $(rate "$ROWS" "${R[1k_load]:--}") rows/s, against $(rate "$ROWS" "${R[w_load]:--}") rows/s for the untracked table"
	fi
	echo
	echo "### Latency: $LAT_RATE events/s for $LAT_SECS s (pgbench -R, $LAT_CLIENTS clients, one row per transaction)"
	echo
	echo "| target rate | achieved tps | events | batch files | p50 ms | p90 ms | p99 ms | p99.9 ms | max ms | p50 / p99 ms by file mtime | pgbench latency ms (schedule lag) |"
	echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
	echo "| $LAT_RATE | ${R[lat_tps]:--} | ${R[lat_lat_samples]:--} of ${R[lat_rows]:--} | ${R[lat_files]:--} | ${R[lat_lat_p50_ms]:--} | ${R[lat_lat_p90_ms]:--} | ${R[lat_lat_p99_ms]:--} | ${R[lat_lat_p99_9_ms]:--} | ${R[lat_lat_max_ms]:--} | ${R[lat_mtime_p50_ms]:--} / ${R[lat_mtime_p99_ms]:--} | ${R[lat_txn_ms]:--} (${R[lat_sched_ms]:--}) |"
	echo
	echo "- latency of an event: when a watcher listing the target folder every 5 ms first saw its batch file, minus its captured_at (clock_timestamp() at the insert, so it includes the commit); by mtime: the file's modification time instead (before its fsync and rename)"
	echo "- the worker's own figure, globalsync.deliveries.lag_seconds (per acknowledged batch and facility, from its oldest event): ${R[lat_db]:--}"
	echo "- sync_log: ${R[lat_runs]:--}"
	echo
	fi # DO_FILE
	if [ "$DO_HTTP" -eq 1 ]; then
	[ "$DO_FILE" -eq 1 ] || echo
	echo "### HTTP target: $ROWS inserts to a loopback receiver (max_batch_events $H_BATCH)"
	echo
	echo "The receiver is bench/deliver/sink.py (Python standard library ThreadingHTTPServer on 127.0.0.1, HTTP/1.1 keep-alive), answering 200 with an empty body as soon as a request's body is read; it verifies nothing, counts the events of each request (ndjson: lines; json: len(events)) and takes every event's primary-key id and event_id out of the body. **This machine has $(nproc) cores: the receiver competes for them with the loading backend and the globalsync worker**, so these figures are a floor for the worker against a receiver on another host."
	echo
	echo "\"received\": the receiver has every event (the 200 answering the request that completed them is the acknowledgement); \"acknowledged\": target_health.pending_events = 0 afterwards. Timed from the start of the load."
	echo
	echo "| run | load s | load rows/s | received s | events/s received (acknowledged by the receiver) | acknowledged s | events/s acknowledged (pending_events = 0) | received s after the load | requests | check |"
	echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"
	for lab in http_ndjson http_json; do
		[ -n "${R[${lab}_tid]:-}" ] || continue
		echo "| http target, format ${lab#http_}, max_batch_events $H_BATCH, active during the load | ${R[${lab}_load]:--} | $(rate "$ROWS" "${R[${lab}_load]:--}") | ${R[${lab}_done]:--} | $(rate "$ROWS" "${R[${lab}_done]:--}") | ${R[${lab}_ack]:--} | $(rate "$ROWS" "${R[${lab}_ack]:--}") | ${R[${lab}_after_load]:--} | ${R[${lab}_requests]:--} | ${R[${lab}_events]:--} events; ${R[${lab}_check]:--} |"
	done
	echo
	for lab in http_ndjson http_json; do
		[ -n "${R[${lab}_tid]:-}" ] || continue
		echo "- ${lab#http_}: receiver: ${R[${lab}_sink]:--}"
		echo "  sync_log ${R[${lab}_runs]:--}; target_health afterwards: ${R[${lab}_health]:--}"
	done
	echo
	echo "### HTTP latency: $LAT_RATE events/s for $LAT_SECS s (pgbench -R, $LAT_CLIENTS clients, one row per transaction; http target with default options, format json)"
	echo
	echo "| target rate | achieved tps | events | requests | p50 ms | p90 ms | p99 ms | p99.9 ms | max ms | pgbench latency ms (schedule lag) |"
	echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
	echo "| $LAT_RATE | ${R[hl_tps]:--} | ${R[hl_lat_samples]:--} of ${R[hl_rows]:--} | ${R[hl_requests]:--} | ${R[hl_lat_p50_ms]:--} | ${R[hl_lat_p90_ms]:--} | ${R[hl_lat_p99_ms]:--} | ${R[hl_lat_p99_9_ms]:--} | ${R[hl_lat_max_ms]:--} | ${R[hl_txn_ms]:--} (${R[hl_sched_ms]:--}) |"
	echo
	echo "- latency of an event: the receiver's receive time of the request carrying it (body read, just before its 200) minus its captured_at (clock_timestamp() at the insert, so it includes the commit)"
	echo "- receiver: resent requests ${R[hl_resent_requests]:--}, duplicate event ids ${R[hl_verify_duplicate_event_id]:--}, bodies ${R[hl_formats]:--}, receiver CPU ${R[hl_cpu_s]:--} s"
	echo "- the worker's own figure, globalsync.deliveries.lag_seconds (per acknowledged batch and facility, from its oldest event): ${R[hl_db]:--}"
	echo "- sync_log: ${R[hl_runs]:--}; target_health afterwards: ${R[hl_health]:--}"
	echo
	fi # DO_HTTP
	echo "### Worker memory (globalsync worker $DB)"
	echo
	echo "| when | pid | RSS kB (ps) | RssAnon kB | RssShmem kB | VmHWM kB |"
	echo "|---|---:|---:|---:|---:|---:|"
	for row in "${MEM_ROWS[@]}"; do
		echo "| ${row//|/ | } |"
	done
	echo
	echo "RSS counts the pages of shared_buffers the worker has touched (RssShmem), which grows with whatever it reads; RssAnon is its private memory, what a leak would raise."
	echo
	if [ "$DO_FILE" -eq 1 ]; then
	# flat: the private memory does not grow over the second million events
	# (1,000-event batches, ten times more of them than in the first) nor
	# over the latency phase (hundreds of small batches)
	g1=$(mem_growth "after 10k run" "after 1k run")
	if [ -n "${R[drain_tid]:-}" ]; then
		g2=$(mem_growth "after drain run" "after latency run")
		gd=$(mem_growth "after 1k run" "after drain run")
	else
		g2=$(mem_growth "after 1k run" "after latency run")
		gd=-
	fi
	if [ "$g1" = - ] || [ "$g2" = - ]; then
		mv="unknown (no figure)"
	elif [ "$g1" = restarted ] || [ "$g2" = restarted ]; then
		mv="unknown: the worker restarted"
	elif [ "$g1" -le 4096 ] && [ "$g2" -le 4096 ]; then
		mv=met
	else
		mv=MISSED
	fi
	echo "### Goals (issue 4)"
	echo
	if [ "$HAVE_W2J" -eq 1 ]; then
		echo "- delivery at least as fast as the wal2json drain ($ld rows/s):"
		echo "  - from the start of the load: max_batch_events 10000 $n10 events/s (${r10}x): $(verdict "$r10" 1 higher); 1000 $n1 events/s (${r1}x): $(verdict "$r1" 1 higher)"
		[ -z "${R[drain_tid]:-}" ] ||
			echo "  - drain against drain (globalsync backlog, max_batch_events 1000): $nd events/s (${rd}x): $(verdict "$rd" 1 higher)"
		echo "  - (against wal2json streaming during the load, $lr rows/s: ${l10}x and ${l1}x)"
	else
		echo "- delivery at least as fast as the wal2json drain: unknown (no wal2json); globalsync $n10 / $n1 events/s"
	fi
	echo "- p99 latency under 200 ms at $LAT_RATE events/s: ${R[lat_lat_p99_ms]:--} ms: $(verdict "${R[lat_lat_p99_ms]:--}" 200 lower)"
	echo "- worker RSS flat (RssAnon grows by at most 4 MB over the second load (max_batch_events 1000) and over the latency phase): $g1 kB and $g2 kB: $mv${R[drain_tid]:+ (over the backlog drain: $gd kB)}"
	echo
	fi # DO_FILE
	if [ "$DO_HTTP" -eq 1 ]; then
	local hn hj hmv h1 h2 h3 h4 hloss lab
	hn=$(rate "$ROWS" "${R[http_ndjson_done]:--}")
	hj=$(rate "$ROWS" "${R[http_json_done]:--}")
	h1=$(mem_growth "before http_ndjson run" "after http_ndjson run")
	h2=$(mem_growth "before http_json run" "after http_json run")
	h3=$(mem_growth "after http_ndjson run" "after http_json run")
	h4=$(mem_growth "after http_json run" "after http latency run")
	if [ "$h3" = - ] || [ "$h4" = - ]; then
		hmv="unknown (no figure)"
	elif [ "$h3" = restarted ] || [ "$h4" = restarted ]; then
		hmv="unknown: the worker restarted"
	elif [ "$h3" -le 4096 ] && [ "$h4" -le 4096 ]; then
		hmv=met
	else
		hmv=MISSED
	fi
	hloss=met
	for lab in http_ndjson http_json; do
		[ "${R[${lab}_check]:-}" != "" ] || { hloss="unknown (no figure)"; continue; }
		case "${R[${lab}_check]}" in
			"missing 0, duplicate 0, other 0, duplicate event_id 0, resent requests 0") ;;
			"missing 0, "*) [ "$hloss" != met ] || hloss="met (no event missing), but: ${R[${lab}_check]}" ;;
			*) hloss=MISSED ;;
		esac
	done
	[ "${R[hl_lines]:-}" = "${R[hl_rows]:-x}" ] || hloss="$hloss; latency phase: ${R[hl_lines]:--} of ${R[hl_rows]:--} events received"
	echo "### Goals (issue 5: http target; $(nproc) cores shared by PostgreSQL and the Python receiver)"
	echo
	echo "- at least 100,000 events/s from commit to acknowledged by a loopback receiver ($ROWS inserts, max_batch_events $H_BATCH, from the start of the load until the receiver has every event): ndjson $hn events/s: $(verdict "$hn" 100000 higher); json $hj events/s: $(verdict "$hj" 100000 higher)"
	echo "  (until target_health.pending_events = 0: ndjson $(rate "$ROWS" "${R[http_ndjson_ack]:--}"), json $(rate "$ROWS" "${R[http_json_ack]:--}") events/s; the load alone ran at $(rate "$ROWS" "${R[http_ndjson_load]:--}") and $(rate "$ROWS" "${R[http_json_load]:--}") rows/s)"
	echo "- every event arrived (each id of the load exactly once): $hloss"
	echo "- p99 commit-to-ack latency under 200 ms at $LAT_RATE events/s: ${R[hl_lat_p99_ms]:--} ms: $(verdict "${R[hl_lat_p99_ms]:--}" 200 lower) (p50 ${R[hl_lat_p50_ms]:--} ms)"
	echo "- worker RSS flat (RssAnon grows by at most 4 MB over the second http load (json) and over the http latency phase): $h3 kB and $h4 kB: $hmv (over the ndjson load: $h1 kB; over the json load: $h2 kB$([ "$DO_FILE" -eq 0 ] && echo "; with --only http the ndjson load is the worker's first, so its growth includes its warm-up"))"
	echo
	fi # DO_HTTP
	echo "### Problems seen"
	echo
	if [ "${#PROBLEMS[@]}" -eq 0 ]; then
		echo "- none"
	else
		for row in "${PROBLEMS[@]}"; do echo "- $row"; done
	fi
	echo "- server log: $LOG_ERR ERROR/FATAL/PANIC lines, $LOG_WARN WARNING lines"
	if [ -n "$LOG_SAMPLE" ]; then
		echo "  most frequent:"
		while IFS= read -r row; do echo "      $row"; done <<<"$LOG_SAMPLE"
	fi
	[ "$W_END" = "$WPID" ] || echo "- worker pid at start: ${WPID:-none}, at the end: ${W_END:-none}"
}

if [ -n "$OUT" ]; then
	report | tee "$OUT"
else
	report
fi
