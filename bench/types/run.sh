#!/usr/bin/env bash
#
# bench/types/run.sh: throughput of globalsync's ist_timestamp and
# zoned_timestamp against timestamptz, measured in the same run.
#
# It prints numbers (a Markdown table of medians and ratios); it is not a
# test and never fails because a goal is missed.  It exits non-zero only if
# it could not run.
#
#   bench/types/run.sh                    throwaway cluster, 1,000,000 values
#   bench/types/run.sh -n 200000 -r 3     fewer values, fewer repetitions
#   bench/types/run.sh --host /tmp/pgdev --port 55432
#                                         use a running server (a database
#                                         gs_bench_types_<pid> is made there
#                                         and dropped at the end)
#
# Run as root (the throwaway server runs as user postgres) or as postgres.
# If the extension is not installed it runs `make install` in the repository
# first; --build always does.  See docs/performance.md for what is measured.

set -euo pipefail

usage() {
	cat <<EOF
usage: $0 [-n VALUES] [-r REPS] [--host HOST --port PORT [--user USER]]
          [--keep] [--build] [--samples] [--out FILE]

  -n VALUES     values per measurement (default 1000000)
  -r REPS       timed repetitions per query, median reported (default 7)
  --host HOST   use a running server (host name or socket directory)
  --port PORT   its port (default 5432)
  --user USER   role to connect as (default postgres; needs CREATEDB and
                the right to CREATE EXTENSION globalsync)
  --keep        leave the throwaway server running (or, with --host, the
                benchmark database) and print how to connect and stop it
  --build       run 'make install' in the repository first
  --samples     also print every timed run (ms), not only the medians
  --out FILE    also write the report to FILE
EOF
}

ARGS="$*"
N=1000000
REPS=7
HOST=
PORT=
PGUSER_OPT=postgres
KEEP=0
SAMPLES=0
BUILD=0
OUT=

while [ $# -gt 0 ]; do
	case "$1" in
		-n) N="$2"; shift 2 ;;
		-r) REPS="$2"; shift 2 ;;
		--host) HOST="$2"; shift 2 ;;
		--port) PORT="$2"; shift 2 ;;
		--user) PGUSER_OPT="$2"; shift 2 ;;
		--keep) KEEP=1; shift ;;
		--samples) SAMPLES=1; shift ;;
		--build) BUILD=1; shift ;;
		--out) OUT="$2"; shift 2 ;;
		-h|--help) usage; exit 0 ;;
		*) echo "run.sh: unknown argument: $1" >&2; usage >&2; exit 2 ;;
	esac
done

case "$N" in ''|*[!0-9]*) echo "run.sh: -n needs a positive integer" >&2; exit 2 ;; esac
case "$REPS" in ''|*[!0-9]*) echo "run.sh: -r needs a positive integer" >&2; exit 2 ;; esac
if [ "$N" -lt 2 ] || [ "$REPS" -lt 1 ]; then
	echo "run.sh: need -n >= 2 and -r >= 1" >&2
	exit 2
fi
if [ -n "$PORT" ] && [ -z "$HOST" ]; then HOST=localhost; fi
if [ -n "$HOST" ] && [ -z "$PORT" ]; then PORT=5432; fi

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
PG_CONFIG=${PG_CONFIG:-pg_config}
BINDIR=$("$PG_CONFIG" --bindir)
PSQL="$BINDIR/psql"

# Run a command as the user that owns the throwaway cluster.
as_pg() {
	if [ "$(id -u)" -eq 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

# ---------------------------------------------------------------- install
installed() {
	[ -f "$("$PG_CONFIG" --sharedir)/extension/globalsync.control" ] &&
		[ -f "$("$PG_CONFIG" --pkglibdir)/globalsync.so" ]
}
if [ "$BUILD" -eq 1 ] || ! installed; then
	echo "bench/types: make -C $REPO install" >&2
	make -C "$REPO" PG_CONFIG="$PG_CONFIG" install >&2
fi

# ---------------------------------------------------------------- server
TMP=
DB=
CHILD=
WORK=
cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	if [ -n "$CHILD" ]; then
		kill "$CHILD" 2>/dev/null || true
		wait "$CHILD" 2>/dev/null || true
	fi
	[ -z "$WORK" ] || rm -rf "$WORK"
	if [ "$KEEP" -eq 1 ] && [ -n "$DB" ]; then
		echo "bench/types: kept; connect with: $PSQL -h $HOST -p $PORT -U $PGUSER_OPT -d $DB" >&2
		if [ -n "$TMP" ]; then
			echo "bench/types: stop with: runuser -u postgres -- $BINDIR/pg_ctl -D $TMP/data stop && rm -rf $TMP" >&2
		fi
		exit $rc
	fi
	if [ -n "$TMP" ]; then
		if [ -f "$TMP/data/postmaster.pid" ]; then
			as_pg "$BINDIR/pg_ctl" -D "$TMP/data" -m immediate -w stop >/dev/null 2>&1 || true
		fi
		rm -rf "$TMP"
	elif [ -n "$DB" ]; then
		"$PSQL" -X -q -h "$HOST" -p "$PORT" -U "$PGUSER_OPT" -d postgres \
			-c "DROP DATABASE IF EXISTS \"$DB\" WITH (FORCE)" >/dev/null 2>&1 || true
	fi
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM
WORK=$(mktemp -d /tmp/gs-bench-types-out.XXXXXX)

if [ -z "$HOST" ]; then
	if [ "$(id -u)" -eq 0 ]; then
		id postgres >/dev/null 2>&1 || { echo "run.sh: no user postgres to run the server" >&2; exit 1; }
	elif [ "$(id -un)" != postgres ]; then
		echo "run.sh: run as root or postgres (or give --host/--port)" >&2
		exit 1
	fi
	TMP=$(mktemp -d /tmp/gs-bench-types.XXXXXX)
	chmod 700 "$TMP"
	[ "$(id -u)" -eq 0 ] && chown postgres: "$TMP"
	HOST="$TMP"
	# No TCP: the socket lives in the private directory, so the port only
	# names the socket file and cannot clash with another server.
	PORT=$((50000 + $$ % 10000))
	as_pg "$BINDIR/initdb" -D "$TMP/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 \
		>"$TMP/initdb.log" 2>&1 || { cat "$TMP/initdb.log" >&2; exit 1; }
	cat >>"$TMP/data/postgresql.conf" <<EOF
# bench/types
port = $PORT
listen_addresses = ''
unix_socket_directories = '$TMP'
shared_preload_libraries = 'globalsync'
shared_buffers = 512MB
max_wal_size = 4GB
fsync = off
synchronous_commit = off
full_page_writes = off
autovacuum = off
EOF
	as_pg "$BINDIR/pg_ctl" -D "$TMP/data" -l "$TMP/server.log" -w -t 60 start >/dev/null ||
		{ tail -n 30 "$TMP/server.log" >&2; exit 1; }
	DBNAME=gs_bench_types
	PGUSER_OPT=postgres
else
	DBNAME="gs_bench_types_$$"
fi

"$PSQL" -X -q -v ON_ERROR_STOP=1 -h "$HOST" -p "$PORT" -U "$PGUSER_OPT" -d postgres \
	-c "CREATE DATABASE \"$DBNAME\" TEMPLATE template0 ENCODING 'UTF8'"
DB=$DBNAME		# from here on, cleanup drops it

# Settings every timed query runs with: no JIT and no parallel workers (one
# core per query, the per-value cost is what is compared), sorts and index
# builds in memory, ISO output, the default abbreviation set.  globalsync is
# on search_path so that "a < b" finds the type's own operator wherever the
# install script puts it (an ist_timestamp would otherwise be compared
# through its implicit cast to timestamptz).
export PGOPTIONS="-c search_path=public,globalsync -c jit=off -c max_parallel_workers_per_gather=0 -c max_parallel_maintenance_workers=0 -c work_mem=512MB -c maintenance_work_mem=512MB -c DateStyle=ISO,YMD -c timezone_abbreviations=Default"

PSQL_RUN=("$PSQL" -X -q -v ON_ERROR_STOP=1 -h "$HOST" -p "$PORT" -U "$PGUSER_OPT" -d "$DB"
	-v n="$N" -v reps="$REPS")
run_psql() {
	"${PSQL_RUN[@]}" "$@"
}

# The long steps run psql in the background and wait for it, so that a
# signal reaches the trap at once (bash defers traps while a foreground
# child runs); cleanup then ends that psql.
run_bg() {
	local rc=0
	"$@" <&0 &
	CHILD=$!
	wait "$CHILD" || rc=$?
	CHILD=
	return $rc
}

LOAD_START=$(cut -d ' ' -f 1-3 /proc/loadavg)
START=$(date +%s)
echo "bench/types: generating $N values ..." >&2
run_bg "${PSQL_RUN[@]}" -At -F '	' -f "$HERE/setup.sql" -o "$WORK/checks.txt"
CHECKS=$(cat "$WORK/checks.txt")
echo "bench/types: timing ($REPS runs per query, median) ..." >&2
run_bg "${PSQL_RUN[@]}" <"$HERE/measure.sql"	# stdin: notices without file:line prefixes
ELAPSED=$(($(date +%s) - START))
LOAD_END=$(cut -d ' ' -f 1-3 /proc/loadavg)

PGVER=$(run_psql -At -c "SELECT current_setting('server_version')")
CPU=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo 2>/dev/null | head -n 1)

report() {
	echo "## bench/types results"
	echo
	echo "- command: \`bench/types/run.sh${ARGS:+ $ARGS}\` (as $(id -un); $N values, median of $REPS runs)"
	echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "- machine: $(nproc) cores${CPU:+, $CPU}, $(uname -sr)"
	echo "- PostgreSQL $PGVER; session: jit off, no parallel workers, work_mem and maintenance_work_mem 512MB"
	echo "- server: $([ -n "$TMP" ] && echo "throwaway cluster (fsync off, shared_buffers 512MB)" || echo "$HOST:$PORT")"
	echo "- each query timed in the server, one warm-up run then $REPS runs, median; data generation and timing took $ELAPSED s"
	echo "- load average before / after: $LOAD_START / $LOAD_END"
	if awk -v l="${LOAD_END%% *}" -v c="$(nproc)" 'BEGIN { exit !(l > c / 2 + 1) }'; then
		echo "- **warning**: the machine was busy with other work; times are inflated and ratios noisier than usual"
	fi
	echo
	run_psql -f "$HERE/report.sql"
	if [ "$SAMPLES" -eq 1 ]; then
		echo
		echo "Every timed run (ms, in run order):"
		echo
		run_psql -At -c "SELECT '- ' || label || ': ' || string_agg(to_char(ms, 'FM999990.0'), ' ' ORDER BY rep) FROM bench.sample GROUP BY label ORDER BY label"
	fi
	echo
	echo "Checks (rows where the types disagree; see docs/performance.md):"
	printf '%s\n' "$CHECKS" | awk -F '\t' '$1 == "check" { printf "- %s: %s\n", $2, $3 }'
}

if [ -n "$OUT" ]; then
	report | tee "$OUT"
else
	report
fi
