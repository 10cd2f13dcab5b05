#!/usr/bin/env bash
#
# bench/capture/run.sh: the cost of change capture on writes, globalsync's
# C trigger against the alternatives, measured in one run with pgbench.
#
# A table shaped like globalsync.patient_registrations (same column types,
# text primary key, generated columns, indexes), prefilled with 100,000
# rows, gets single-row INSERTs and single-row UPDATEs (contact_number of a
# random existing row) from 2 pgbench clients, under four configurations:
#   (a) no trigger
#   (b) PL/pgSQL AFTER ROW trigger writing to_jsonb(NEW)/to_jsonb(OLD) into an
#       audit table (bigserial id, timestamptz), supa_audit style
#   (c) PgQ's C trigger pgq.logutriga('bench') (Debian postgresql-15-pgq3)
#   (d) globalsync.track()
# with synchronous_commit = off (CPU-bound: the figure that tells the
# triggers apart) and on.  Every run starts from a fresh copy of the table
# and empty logs, right after a CHECKPOINT; configurations are interleaved
# and each is repeated, the median TPS is reported.  WAL bytes per
# transaction come from pg_current_wal_insert_lsn() before and after a run.
# The CPU time the server and pgbench spend per transaction is measured
# too (from /proc): on a shared machine it is the figure that other load
# does not move, and with synchronous_commit off the ratio of CPU per
# transaction is the ratio of throughput the configurations would reach on
# a quiet machine.
#
# It prints numbers (Markdown tables of medians and ratios, and whether the
# issue's goals are met); it is not a test and does not fail because a
# goal is missed.  It exits non-zero only if it could not run at all.
#
#   bench/capture/run.sh                 full run (about 14 minutes)
#   bench/capture/run.sh --quick         smoke test (about 1 minute)
#   bench/capture/run.sh -T 30 -r 5      longer runs, more repetitions
#   bench/capture/run.sh --profile DIR   afterwards, perf profiles of each
#                                        configuration's backends into DIR
#
# Run as root: missing Debian packages are installed with apt-get, and the
# throwaway server (initdb in a temporary directory, a unix socket only,
# shared_preload_libraries = globalsync) runs as user postgres; it is
# stopped and removed on exit.  If the extension is not installed it runs
# `make install` in the repository first; --build always does.

set -euo pipefail

usage() {
	cat <<EOF
usage: $0 [-T SECS] [-r REPS] [--T-on SECS] [--r-on REPS] [-n ROWS] [-c CLIENTS]
          [--configs LIST] [--ops LIST] [--sync LIST] [--checks] [--quick]
          [--profile DIR [--profile-secs SECS] [--profile-only]]
          [--build] [--keep] [--samples] [--out FILE]

  -T SECS         length of one run with synchronous_commit off (default 15)
  -r REPS         runs per configuration with synchronous_commit off, median
                  reported (default 5)
  --T-on SECS     length of one run with synchronous_commit on (default 6)
  --r-on REPS     runs per configuration with synchronous_commit on (default 3)
  -n ROWS         prefilled rows (default 100000)
  -c CLIENTS      pgbench clients (default 2)
  --configs LIST  of none,plpgsql,pgq,globalsync (default: all four)
  --ops LIST      of insert,update (default: both)
  --sync LIST     of off,on (default: both)
  --checks        also give the table the CHECK constraints of
                  patient_registrations (more work per row for every
                  configuration, so smaller differences)
  --quick         smoke test: -T 3 -r 1 --T-on 2 --r-on 1 -n 20000
  --profile DIR   after measuring, profile each configuration's backends
                  with perf (synchronous_commit off) and write perf.data and
                  reports into DIR (installs linux-perf if missing)
  --profile-secs  seconds recorded per profile (default 10)
  --profile-only  profile without measuring
  --build         run 'make install' in the repository first
  --keep          leave the throwaway server running, print how to stop it
  --samples       also print every run, not only the medians
  --out FILE      also write the report to FILE
EOF
}

ARGS="$*"
SECS=15
SECS_ON=6
REPS=5
REPS_ON=3
ROWS=100000
CLIENTS=2
CONFIGS="none,plpgsql,pgq,globalsync"
OPS="insert,update"
SYNCS="off,on"
CHECKS=off
PROFILE_DIR=
PROFILE_SECS=10
PROFILE_ONLY=0
BUILD=0
KEEP=0
SAMPLES=0
OUT=

while [ $# -gt 0 ]; do
	case "$1" in
		-T) SECS="$2"; shift 2 ;;
		--T-on) SECS_ON="$2"; shift 2 ;;
		-r) REPS="$2"; shift 2 ;;
		--r-on) REPS_ON="$2"; shift 2 ;;
		-n) ROWS="$2"; shift 2 ;;
		-c) CLIENTS="$2"; shift 2 ;;
		--configs) CONFIGS="$2"; shift 2 ;;
		--ops) OPS="$2"; shift 2 ;;
		--sync) SYNCS="$2"; shift 2 ;;
		--checks) CHECKS=on; shift ;;
		--quick) SECS=3; SECS_ON=2; REPS=1; REPS_ON=1; ROWS=20000; shift ;;
		--profile) PROFILE_DIR="$2"; shift 2 ;;
		--profile-secs) PROFILE_SECS="$2"; shift 2 ;;
		--profile-only) PROFILE_ONLY=1; shift ;;
		--build) BUILD=1; shift ;;
		--keep) KEEP=1; shift ;;
		--samples) SAMPLES=1; shift ;;
		--out) OUT="$2"; shift 2 ;;
		-h|--help) usage; exit 0 ;;
		*) echo "run.sh: unknown argument: $1" >&2; usage >&2; exit 2 ;;
	esac
done

for v in SECS SECS_ON REPS REPS_ON ROWS CLIENTS PROFILE_SECS; do
	case "${!v}" in ''|*[!0-9]*) echo "run.sh: $v needs a positive integer, not '${!v}'" >&2; exit 2 ;; esac
	[ "${!v}" -ge 1 ] || { echo "run.sh: $v must be at least 1" >&2; exit 2; }
done
[ "$ROWS" -ge 100 ] || { echo "run.sh: -n must be at least 100" >&2; exit 2; }
CONFIGS=${CONFIGS//,/ }
OPS=${OPS//,/ }
SYNCS=${SYNCS//,/ }
for c in $CONFIGS; do
	case "$c" in none|plpgsql|pgq|globalsync) ;; *) echo "run.sh: unknown configuration '$c'" >&2; exit 2 ;; esac
done
for o in $OPS; do
	case "$o" in insert|update) ;; *) echo "run.sh: unknown operation '$o'" >&2; exit 2 ;; esac
done
for s in $SYNCS; do
	case "$s" in on|off) ;; *) echo "run.sh: synchronous_commit is on or off, not '$s'" >&2; exit 2 ;; esac
done
if [ "$PROFILE_ONLY" -eq 1 ] && [ -z "$PROFILE_DIR" ]; then
	echo "run.sh: --profile-only needs --profile DIR" >&2
	exit 2
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "run.sh: run as root (it installs packages and runs the server as postgres)" >&2
	exit 1
fi
id postgres >/dev/null 2>&1 || { echo "run.sh: no user postgres to run the server" >&2; exit 1; }

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
PG_CONFIG=${PG_CONFIG:-pg_config}
BINDIR=$("$PG_CONFIG" --bindir)
PSQL="$BINDIR/psql"
PGBENCH="$BINDIR/pgbench"
SHAREDIR=$("$PG_CONFIG" --sharedir)
PKGLIBDIR=$("$PG_CONFIG" --pkglibdir)
PGMAJOR=$("$PG_CONFIG" --version | sed -E 's/^PostgreSQL ([0-9]+).*/\1/')

log() { echo "bench/capture: $*" >&2; }

as_pg() { runuser -u postgres -- "$@"; }

# ---------------------------------------------------------------- packages
pkg_installed() {
	dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}
NEED=()
[ -x "$PGBENCH" ] || pkg_installed "postgresql-client-$PGMAJOR" || NEED+=("postgresql-client-$PGMAJOR")
if [[ " $CONFIGS " == *" pgq "* ]] && [ ! -f "$SHAREDIR/extension/pgq.control" ]; then
	NEED+=("postgresql-$PGMAJOR-pgq3")
fi
if [ -n "$PROFILE_DIR" ] && ! command -v perf >/dev/null 2>&1; then
	NEED+=(linux-perf)
fi
if [ "${#NEED[@]}" -gt 0 ]; then
	log "apt-get install ${NEED[*]}"
	{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${NEED[@]}"; } >&2 ||
		log "apt-get failed; going on without what it could not install"
fi
[ -x "$PGBENCH" ] || { echo "run.sh: $PGBENCH not found (package postgresql-client-$PGMAJOR)" >&2; exit 1; }
HAVE_PGQ=off
if [ -f "$SHAREDIR/extension/pgq.control" ]; then
	HAVE_PGQ=on
elif [[ " $CONFIGS " == *" pgq "* ]]; then
	log "PgQ is not installed (postgresql-$PGMAJOR-pgq3): configuration (c) is left out"
	CONFIGS=$(echo " $CONFIGS " | sed 's/ pgq / /; s/^ *//; s/ *$//')
fi
if [ -n "$PROFILE_DIR" ] && ! command -v perf >/dev/null 2>&1; then
	log "perf is not available: no profiles"
	PROFILE_DIR=
	[ "$PROFILE_ONLY" -eq 0 ] || exit 1
fi

# ---------------------------------------------------------------- install
installed() {
	[ -f "$SHAREDIR/extension/globalsync.control" ] && [ -f "$PKGLIBDIR/globalsync.so" ]
}
if [ "$BUILD" -eq 1 ] || ! installed; then
	log "make -C $REPO install"
	make -C "$REPO" PG_CONFIG="$PG_CONFIG" install >&2
fi

# ---------------------------------------------------------------- server
TMP=
CHILD=
cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	if [ -n "$CHILD" ]; then
		kill "$CHILD" 2>/dev/null || true
		wait "$CHILD" 2>/dev/null || true
	fi
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

# What is measured: the library the server loads at start (it may be
# reinstalled while the benchmark runs) and the capture source next to it.
SO_SUM=$(sha256sum "$PKGLIBDIR/globalsync.so" | cut -c1-12)
SRC_SUM=$( (sha256sum "$REPO/src/capture/capture.c" 2>/dev/null || echo '?') | cut -c1-12)
SQL_SUM=$(cat "$SHAREDIR"/extension/globalsync--*.sql | sha256sum | cut -c1-12)
if [ -n "$PROFILE_DIR" ]; then
	# perf finds the loaded library by build id even if it is reinstalled
	# before the report is made
	perf buildid-cache -a "$PKGLIBDIR/globalsync.so" >/dev/null 2>&1 || true
fi

TMP=$(mktemp -d /tmp/gs-bench-capture.XXXXXX)
chmod 700 "$TMP"
chown postgres: "$TMP"
# No TCP: the socket lives in the private directory, so the port only names
# the socket file and cannot clash with another server.
PORT=$((50000 + $$ % 10000))
DB=gs_bench_capture
as_pg "$BINDIR/initdb" -D "$TMP/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 \
	>"$TMP/initdb.log" 2>&1 || { cat "$TMP/initdb.log" >&2; exit 1; }
# fsync stays on, so that synchronous_commit = on waits for the disk.
# full_page_writes off: WAL per event is then the records themselves, not
# 8 kB page images whose share depends on how many transactions a run did.
# No checkpoint or autovacuum during a run: each run starts after a
# CHECKPOINT on a freshly loaded, vacuumed table.
cat >>"$TMP/data/postgresql.conf" <<EOF
# bench/capture
port = $PORT
listen_addresses = ''
unix_socket_directories = '$TMP'
shared_preload_libraries = 'globalsync'
shared_buffers = 512MB
max_wal_size = 16GB
min_wal_size = 1GB
checkpoint_timeout = 1h
full_page_writes = off
autovacuum = off
jit = off
EOF
as_pg "$BINDIR/pg_ctl" -D "$TMP/data" -l "$TMP/server.log" -w -t 60 start >/dev/null ||
	{ tail -n 30 "$TMP/server.log" >&2; exit 1; }

"$PSQL" -X -q -v ON_ERROR_STOP=1 -h "$TMP" -p "$PORT" -U postgres -d postgres \
	-c "CREATE DATABASE $DB TEMPLATE template0 ENCODING 'UTF8'"

PSQL_RUN=("$PSQL" -X -q -v ON_ERROR_STOP=1 -h "$TMP" -p "$PORT" -U postgres -d "$DB")
q() { "${PSQL_RUN[@]}" -At -c "$1"; }

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

log "prefilling $ROWS rows ..."
run_bg "${PSQL_RUN[@]}" -At -v rows="$ROWS" -v pgq="$HAVE_PGQ" -f "$HERE/setup.sql" >/dev/null

# Fresh table with the configuration's trigger, empty logs, a checkpoint.
reset() {
	q "SELECT bench.reset('$1', '$CHECKS')" >/dev/null
	q "VACUUM (ANALYZE) bench.patients" >/dev/null
	q "VACUUM bench.audit" >/dev/null
	q "CHECKPOINT" >/dev/null
}

# CPU time, in clock ticks, of the server (the postmaster, its live
# children, and the children it has reaped: every backend that has
# exited) and of the whole machine (busy = everything but idle and iowait;
# steal counts as busy: the hypervisor gave the time to someone else).
HZ=$(getconf CLK_TCK 2>/dev/null || echo 100)
server_ticks() {
	local pm
	pm=$(head -n 1 "$TMP/data/postmaster.pid")
	{
		cat "/proc/$pm/stat"
		for c in $(ps -o pid= --ppid "$pm"); do cat "/proc/$c/stat" 2>/dev/null || true; done
	} | awk -v pm="$pm" '
		{ sub(/^.*\) /, ""); n = split($0, f, " ") }
		# after "pid (comm) ": f[12] utime, f[13] stime, f[14] cutime, f[15] cstime
		{ t += f[12] + f[13] }
		NR == 1 { t += f[14] + f[15] }
		END { print t + 0 }'
}
server_children() { ps -o pid= --ppid "$(head -n 1 "$TMP/data/postmaster.pid")" | sort; }
# Wait (at most 5 s) until the server has reaped every process that was not
# its child at the time of $1 (a server_children list): then the CPU time of
# the pgbench backends is all in the postmaster's children's time.
wait_reaped() {
	local k
	for k in $(seq 1 100); do
		[ -n "$(comm -13 <(printf '%s\n' "$1") <(server_children))" ] || return 0
		sleep 0.05
	done
	log "backends still running 5 s after pgbench ended; CPU figure of this run is low"
}
machine_busy_ticks() {
	awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9; exit }' /proc/stat
}

# pgbench for $4 seconds.  Writes "$3.res": tps txns failed cpu_seconds
# other_cores, where cpu_seconds is what the server and pgbench used and
# other_cores the average number of cores busy with anything else (other
# work on the machine) during the run; no file if pgbench printed no
# result at all.
pgbench_run() {
	local op=$1 sync=$2 out=$3 secs=$4 rc=0 s0 m0 t0 s1 m1 t1 kids
	rm -f "$out.res" "$out.times"
	kids=$(server_children)
	s0=$(server_ticks); m0=$(machine_busy_ticks); t0=$(date +%s%N)
	PGOPTIONS="-c synchronous_commit=$sync" run_bg bash -c '"$@"; rc=$?; times >"$0"; exit $rc' "$out.times" \
		"$PGBENCH" -n -M prepared -c "$CLIENTS" -j "$CLIENTS" \
		-T "$secs" -D rows="$ROWS" -f "$HERE/$op.sql" -h "$TMP" -p "$PORT" -U postgres "$DB" \
		>"$out" 2>&1 || rc=$?
	wait_reaped "$kids"
	t1=$(date +%s%N); s1=$(server_ticks); m1=$(machine_busy_ticks)
	[ "$rc" -eq 0 ] || log "pgbench exited with $rc: $(grep -m 3 -iE 'error|abort' "$out" | tr '\n' ' ')"
	awk -v s="$((s1 - s0))" -v m="$((m1 - m0))" -v wall="$((t1 - t0))" -v hz="$HZ" '
		FILENAME ~ /times$/ && FNR == 2 {
			# children of the wrapper shell: pgbench; "0m1.234s 0m0.567s"
			for (i = 1; i <= 2; i++) { split($i, a, /[ms]/); pgb += a[1] * 60 + a[2] }
		}
		FILENAME !~ /times$/ && /^number of transactions actually processed:/ { split($6, a, "/"); txns = a[1] }
		FILENAME !~ /times$/ && /^number of failed transactions:/ { failed = $5 }
		FILENAME !~ /times$/ && /^tps = / { tps = $3 }
		END {
			if (tps == "" || txns == "") exit
			cpu = s / hz + pgb
			other = (m / hz - cpu) / (wall / 1e9)
			printf "%s %s %s %.3f %.3f\n", tps, txns, (failed == "" ? 0 : failed), cpu, (other < 0 ? 0 : other)
		}' "$out" "$out.times" >"$out.res.tmp" 2>/dev/null || true
	if [ -s "$out.res.tmp" ]; then mv "$out.res.tmp" "$out.res"; else rm -f "$out.res.tmp"; fi
}

# Warm-up, not timed: touch all of shared_buffers once (a fresh server
# takes page faults the first time each buffer is used) with an unlogged
# table as large as the buffer pool, then a short pgbench run.
log "warming up ..."
q "SET client_min_messages = warning;
   DROP TABLE IF EXISTS bench.warm;
   CREATE UNLOGGED TABLE bench.warm AS
   SELECT repeat('x', 1000) AS pad
     FROM generate_series(1, (SELECT (setting::bigint * 8192 * 11 / 10 / 1024)::int
                                FROM pg_settings WHERE name = 'shared_buffers'));
   DROP TABLE bench.warm" >/dev/null
reset none
pgbench_run insert off "$TMP/pgbench.out" 5

# ---------------------------------------------------------------- measure
# One repetition runs every configuration once for each operation and
# synchronous_commit setting, so slow drift and bursts of other load on the
# machine hit all configurations alike; report.sql also gives the median of
# the per-repetition ratios for that reason.
reps_of() { if [ "$1" = off ]; then echo "$REPS"; else echo "$REPS_ON"; fi; }
secs_of() { if [ "$1" = off ]; then echo "$SECS"; else echo "$SECS_ON"; fi; }
START=$(date +%s)
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
if [ "$PROFILE_ONLY" -eq 0 ]; then
	read -r -a CFG_ARR <<<"$CONFIGS"
	NCFG=${#CFG_ARR[@]}
	NOPS=$(wc -w <<<"$OPS")
	TOTAL=0
	EST=0
	MAXREP=0
	for s in $SYNCS; do
		TOTAL=$((TOTAL + $(reps_of "$s") * NCFG * NOPS))
		EST=$((EST + $(reps_of "$s") * NCFG * NOPS * ($(secs_of "$s") + 1)))
		[ "$(reps_of "$s")" -le "$MAXREP" ] || MAXREP=$(reps_of "$s")
	done
	log "$TOTAL runs, about $((EST / 60 + 1)) minutes"
	i=0
	for rep in $(seq 1 "$MAXREP"); do
		for sync in $SYNCS; do
			[ "$rep" -le "$(reps_of "$sync")" ] || continue
			secs=$(secs_of "$sync")
			for op in $OPS; do
				# rotate the order of the configurations from one repetition
				# to the next, so none always runs first or last
				for k in $(seq 0 $((NCFG - 1))); do
					cfg=${CFG_ARR[$(((k + rep - 1) % NCFG))]}
					i=$((i + 1))
					reset "$cfg"
					lsn0=$(q "SELECT pg_current_wal_insert_lsn()")
					pgbench_run "$op" "$sync" "$TMP/pgbench.out" "$secs"
					lsn1=$(q "SELECT pg_current_wal_insert_lsn()")
					if [ ! -s "$TMP/pgbench.out.res" ]; then
						log "[$i/$TOTAL] rep $rep sync $sync $op $cfg: no result"
						continue
					fi
					read -r tps txns failed cpu other <"$TMP/pgbench.out.res"
					q "INSERT INTO bench.sample
					   SELECT $rep, '$cfg', '$op', '$sync', $secs, $tps, $txns, $failed,
					          pg_wal_lsn_diff('$lsn1', '$lsn0'), s.bytes, s.rows, $cpu, $other
					     FROM bench.log_size('$cfg') s" >/dev/null
					log "[$i/$TOTAL] rep $rep sync $sync $op $cfg: $(printf '%.0f' "$tps") tps," \
						"$(q "SELECT round(pg_wal_lsn_diff('$lsn1', '$lsn0') / nullif($txns, 0))") WAL bytes/txn," \
						"$(awk -v c="$cpu" -v n="$txns" 'BEGIN { printf "%.1f", c * 1e6 / n }') CPU us/txn, other load $other cores"
				done
			done
		done
	done
fi
ELAPSED=$(($(date +%s) - START))
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)

# ---------------------------------------------------------------- profile
# perf on the pgbench backends of each configuration (synchronous_commit
# off), call graphs by DWARF unwinding (Debian builds PostgreSQL without
# frame pointers).  Reports: flat (self time per symbol) and inclusive
# (children) per symbol.  pg_waldump --stats=record tells what the WAL of
# each profiled run is made of.
if [ -n "$PROFILE_DIR" ]; then
	mkdir -p "$PROFILE_DIR"
	for op in $OPS; do
		for cfg in $CONFIGS; do
			log "profiling $op $cfg for $PROFILE_SECS s ..."
			reset "$cfg"
			lsn0=$(q "SELECT pg_current_wal_insert_lsn()")
			PGOPTIONS="-c synchronous_commit=off" "$PGBENCH" -n -M prepared -c "$CLIENTS" -j "$CLIENTS" \
				-T $((PROFILE_SECS + 4)) -D rows="$ROWS" -f "$HERE/$op.sql" -h "$TMP" -p "$PORT" -U postgres "$DB" \
				>"$PROFILE_DIR/pgbench-$op-$cfg.txt" 2>&1 &
			CHILD=$!
			pids=
			for _ in $(seq 1 50); do
				sleep 0.1
				pids=$(q "SELECT string_agg(pid::text, ',') FROM pg_stat_activity
				          WHERE application_name = 'pgbench' AND datname = current_database()
				            AND pid <> pg_backend_pid()")
				[ "$(tr ',' '\n' <<<"$pids" | grep -c .)" -lt "$CLIENTS" ] || break
			done
			if [ -n "$pids" ]; then
				sleep 1
				perf record -q -e cpu-clock -F 499 --call-graph dwarf,16384 --buildid-mmap -p "$pids" \
					-o "$PROFILE_DIR/perf-$op-$cfg.data" -- sleep "$PROFILE_SECS" >/dev/null 2>&1 ||
					log "perf record failed for $op $cfg"
			else
				log "no pgbench backends found for $op $cfg"
			fi
			wait "$CHILD" || true
			CHILD=
			# what the run's WAL consists of, by record type
			lsn1=$(q "SELECT pg_current_wal_insert_lsn()")
			q "SELECT pg_switch_wal()" >/dev/null
			"$BINDIR/pg_waldump" -p "$TMP/data/pg_wal" -s "$lsn0" -e "$lsn1" --stats=record \
				>"$PROFILE_DIR/wal-$op-$cfg.txt" 2>&1 || true
			if [ -f "$PROFILE_DIR/perf-$op-$cfg.data" ]; then
				perf report -i "$PROFILE_DIR/perf-$op-$cfg.data" --stdio --no-children \
					--sort dso,symbol --percent-limit 0.7 -g none 2>/dev/null \
					>"$PROFILE_DIR/self-$op-$cfg.txt" || true
				perf report -i "$PROFILE_DIR/perf-$op-$cfg.data" --stdio --children \
					--sort symbol --percent-limit 2 -g none 2>/dev/null \
					>"$PROFILE_DIR/children-$op-$cfg.txt" || true
			fi
		done
	done
	log "profiles in $PROFILE_DIR (self-*.txt, children-*.txt, perf-*.data; WAL by record type: wal-*.txt)"
fi

[ "$PROFILE_ONLY" -eq 0 ] || exit 0

# ---------------------------------------------------------------- report
PGVER=$(q "SELECT current_setting('server_version')")
PGQVER=$(q "SELECT extversion FROM pg_extension WHERE extname = 'pgq'")
CPU=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo 2>/dev/null | head -n 1)
MEM=$(awk '/^MemTotal/ { printf "%.0f GB RAM", $2 / 1048576 }' /proc/meminfo 2>/dev/null)

SO_NOTE=
if [ "$(sha256sum "$PKGLIBDIR/globalsync.so" | cut -c1-12)" != "$SO_SUM" ]; then
	SO_NOTE=" (reinstalled while the benchmark ran; the server measured this one, loaded at its start)"
fi

report() {
	echo "## bench/capture results"
	echo
	echo "- command: \`bench/capture/run.sh${ARGS:+ $ARGS}\` (as $(id -un))"
	echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC'); measuring took $((ELAPSED / 60)) min $((ELAPSED % 60)) s"
	echo "- machine: $(nproc) cores${CPU:+, $CPU}${MEM:+, $MEM}, $(uname -sr)"
	echo "- PostgreSQL $PGVER${PGQVER:+, PgQ $PGQVER}, globalsync.so sha256 $SO_SUM...$SO_NOTE (src/capture/capture.c $SRC_SUM...), install script $SQL_SUM..."
	echo "- load average (1, 5, 15 min) before measuring: $LOAD_START; after: $LOAD_END (the benchmark itself keeps about $CLIENTS cores busy)"
	echo "- server: throwaway cluster, shared_buffers 512MB, fsync on, full_page_writes off, autovacuum off, no checkpoint during a run"
	echo "- pgbench -M prepared, $CLIENTS clients; $ROWS prefilled rows; CHECK constraints: $CHECKS;" \
		"runs per configuration: $REPS of $SECS s with synchronous_commit off, $REPS_ON of $SECS_ON s with it on; median"
	echo
	"${PSQL_RUN[@]}" -At -f "$HERE/report.sql"
	if [ "$SAMPLES" -eq 1 ]; then
		echo
		echo "Every run in repetition order: TPS (WAL bytes/txn)"
		echo
		q "SELECT format('- %s, synchronous_commit %s, %s: %s', upper(op), sync_commit, config,
		                 string_agg(format('%s (%s)', round(tps), round(wal_bytes / nullif(txns, 0))), ', ' ORDER BY rep))
		     FROM bench.sample
		    GROUP BY op, sync_commit, config
		    ORDER BY op, sync_commit DESC, array_position(ARRAY['none', 'plpgsql', 'pgq', 'globalsync'], config)"
	fi
}

if [ -n "$OUT" ]; then
	report | tee "$OUT"
else
	report
fi
