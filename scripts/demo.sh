#!/usr/bin/env bash
#
# scripts/demo.sh: see globalsync work, on a fresh Debian 12 machine, as root.
#
#   1. installs with apt-get whatever is missing (PostgreSQL 15 and the
#      build dependencies; the same list as scripts/test.sh);
#   2. builds and installs the extension (make && make install);
#   3. starts a throwaway cluster as postgres in a temp dir (private port,
#      unix socket in the temp dir, no TCP,
#      shared_preload_libraries = 'globalsync');
#   4. creates database globalsync_demo with the extension and runs
#      scripts/demo.sql with psql: facilities in more than 15 time zones,
#      patients registered in local time, then health(), the registrations
#      with local and IST times, per-zone statistics, the IST calendar, the
#      zone registry and IST offsets; then syncs to the embedded file
#      target: a full sync and a facility-filtered manual one with their
#      progress and status, a realtime change, sync_history, target_health,
#      lag_stats and dashboard_overview, and the NDJSON files written;
#   5. stops the server and removes the temp dir -- unless --keep is given,
#      then it stays up and the script prints how to connect and stop it.
#
# Usage: scripts/demo.sh [--keep] [--skip-build] [--help]
#   --keep         leave the demo server running (prints psql and pg_ctl
#                  command lines)
#   --skip-build   use the extension as installed; no apt-get, no make
#
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=scripts/lib.sh
source "$REPO/scripts/lib.sh"

DEMO_DB=globalsync_demo

usage() {
    sed -n '/^# Usage:/,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d' | sed '$d' | sed 's/^# \{0,1\}//'
}

KEEP=0
SKIP_BUILD=0
while [[ $# -gt 0 ]]; do
    case $1 in
        --keep) KEEP=1 ;;
        --skip-build) SKIP_BUILD=1 ;;
        -h | --help)
            usage
            exit 0
            ;;
        *)
            usage >&2
            gs_die "unknown argument: $1"
            ;;
    esac
    shift
done

# Connection settings of the caller must not leak into the demo.
unset PGDATABASE PGSERVICE PGOPTIONS PGHOSTADDR PGHOST PGPORT PGUSER

# On any exit the server is stopped and the temp dir removed, unless the
# demo succeeded with --keep (gs_cleanup honours GS_KEEP).
trap 'gs_cleanup' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

gs_require_root
gs_banner "globalsync demo"

if [[ $SKIP_BUILD -eq 0 ]]; then
    gs_ensure_packages
fi
gs_pg_env
if [[ $SKIP_BUILD -eq 0 ]]; then
    gs_banner "build and install"
    gs_build "$REPO" || gs_die "the build failed"
fi

gs_banner "throwaway cluster"
gs_mktemp_postgres
WORK=$GS_LAST_TMPDIR
gs_cluster_start "$WORK"
gs_psql -q -d postgres -c "CREATE DATABASE $DEMO_DB"
gs_psql -q -d "$DEMO_DB" -c "CREATE EXTENSION globalsync"
gs_log "database $DEMO_DB: extension globalsync created"

# demo.sql is read by psql running as postgres: give it a copy it can read.
install -o postgres -g postgres -m 0644 "$REPO/scripts/demo.sql" "$WORK/demo.sql"

gs_banner "scripts/demo.sql"
gs_psql -d "$DEMO_DB" -f "$WORK/demo.sql"

# What the file targets wrote (demo.sql created them): the first lines of
# the newest batch files, as a reader of the folder sees them.
gs_banner "files written by the file targets"
OUT="$GS_PGDATA/globalsync"
if [[ -d $OUT ]]; then
    for dir in "$OUT"/*/; do
        n=$(find "$dir" -name '*.ndjson' | wc -l)
        lines=$(cat "$dir"/*.ndjson 2>/dev/null | wc -l)
        gs_log "$dir: $n files, $lines events"
    done
    newest=$(ls -t "$OUT"/warehouse/*.ndjson 2>/dev/null | head -n 1)
    if [[ -n $newest ]]; then
        gs_log "newest file: $(basename "$newest")"
        head -n 2 "$newest"
    fi
else
    gs_warn "no files were written below $OUT"
fi

gs_banner "done"
if [[ $KEEP -eq 1 ]]; then
    GS_KEEP=1
    cat <<EOF
The demo server keeps running (data directory $GS_PGDATA).

Connect (as root or postgres: the socket directory $WORK is private):
    psql -h $GS_PGHOST -p $GS_PGPORT -U postgres -d $DEMO_DB

Stop it and remove its files:
    runuser -u postgres -- $PG_BINDIR/pg_ctl -D $GS_PGDATA -m fast stop
    rm -rf $WORK
EOF
else
    echo "The demo server is being stopped and its files removed (use --keep to keep it)."
fi
