#!/usr/bin/env bash
#
# scripts/test.sh: the whole globalsync test suite, for a fresh Debian 12
# machine, run as root (CI runs it through .ci/run).
#
#   1. installs with apt-get whatever is missing (PostgreSQL 15, its server
#      headers, pgTAP, pg_prove, IPC::Run, libcurl, jansson, OpenSSL, gcc,
#      Python's botocore, jwt and cryptography, Node.js) and with npm the
#      pinned test peers of test/node (s3rver, FHIR validators);
#   2. builds with warnings as errors (make clean; make COPT=-Werror) and
#      installs (make install);
#   3. copies the checkout to a temp dir owned by postgres and starts a
#      throwaway cluster there as postgres (private port, unix socket in the
#      temp dir, no TCP, shared_preload_libraries = 'globalsync');
#   4. runs, in this order:
#        regress  pg_regress through `make installcheck` (sql/ + expected/,
#                 and the isolation specs once the Makefile lists ISOLATION)
#        pgtap    pg_prove over test/pgtap/*.sql in a fresh database with
#                 the pgtap and globalsync extensions
#        tap      prove over test/t/*.pl (PostgreSQL::Test::Cluster; these
#                 tests start their own servers)
#   5. stops the cluster and removes the temp dirs, also on failure or
#      interrupt, and prints as its very last line
#        N passed, N failed
#      summed over all suites.  The exit status is non-zero on any failure
#      (a build failure counts as `0 passed, 1 failed`).
#
# Usage: scripts/test.sh [--only SUITE[,SUITE...]] [--skip-build] [--help]
#   --only regress|pgtap|tap   run only these suites (default: all three)
#   --skip-build               use the extension as installed; no apt-get,
#                              no make (quick re-runs while developing)
#
# Environment: GS_REGRESS_TIMEOUT, GS_PGTAP_TIMEOUT, GS_TAP_TIMEOUT (seconds
# per suite; defaults 420, 180, 900), PG_CONFIG (default: PostgreSQL 15's).
#
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=scripts/lib.sh
source "$REPO/scripts/lib.sh"

REGRESS_TIMEOUT=${GS_REGRESS_TIMEOUT:-420}
PGTAP_TIMEOUT=${GS_PGTAP_TIMEOUT:-180}
TAP_TIMEOUT=${GS_TAP_TIMEOUT:-900}
PGTAP_DB=globalsync_pgtap

# Connection settings of the caller must not leak into the suites, and the
# temp files of the tools (run as postgres) must go where postgres may write.
unset PGDATABASE PGSERVICE PGOPTIONS PGHOSTADDR PGHOST PGPORT PGUSER
export TMPDIR=/tmp

usage() {
    sed -n '/^# Usage:/,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d' | sed '$d' | sed 's/^# \{0,1\}//'
}

# ---------------------------------------------------------------------
# options
# ---------------------------------------------------------------------
SUITES="regress,pgtap,tap"
SKIP_BUILD=0
while [[ $# -gt 0 ]]; do
    case $1 in
        --only)
            [[ $# -ge 2 ]] || gs_die "--only needs an argument: regress, pgtap or tap"
            SUITES=$2
            shift 2
            ;;
        --only=*)
            SUITES=${1#--only=}
            shift
            ;;
        --skip-build)
            SKIP_BUILD=1
            shift
            ;;
        -h | --help)
            usage
            exit 0
            ;;
        *)
            usage >&2
            gs_die "unknown argument: $1"
            ;;
    esac
done
IFS=, read -r -a suite_list <<<"$SUITES"
for s in "${suite_list[@]}"; do
    case $s in
        regress | pgtap | tap) ;;
        *) gs_die "unknown suite \"$s\" (choose among regress, pgtap, tap)" ;;
    esac
done
wanted() { [[ ,$SUITES, == *,"$1",* ]]; }

# ---------------------------------------------------------------------
# results and the final summary
# ---------------------------------------------------------------------
TOTAL_PASSED=0
TOTAL_FAILED=0
RESULTS=()      # one line per suite, printed before the summary
FINISHED=0      # 1 once every wanted suite ran to its end

# record SUITE PASSED FAILED [NOTE]
record() {
    local suite=$1 passed=$2 failed=$3 note=${4:-}
    TOTAL_PASSED=$((TOTAL_PASSED + passed))
    TOTAL_FAILED=$((TOTAL_FAILED + failed))
    RESULTS+=("$(printf '%-8s %4d passed, %4d failed%s' "$suite" "$passed" "$failed" "${note:+  ($note)}")")
}

# EXIT trap: clean up, then print the results and, last, the summary line.
# Reaching it before FINISHED (setup failure, build failure, interrupt)
# counts as one more failure, so the run can never look green.
# shellcheck disable=SC2317  # invoked by the trap below
on_exit() {
    local rc=$?
    set +e
    # cleanup is bounded (pg_ctl -t, timeout -k); let nothing cut it short
    trap '' INT TERM HUP
    gs_cleanup
    if [[ $FINISHED -ne 1 ]]; then
        [[ $rc -eq 0 ]] && rc=1
        if [[ $TOTAL_FAILED -eq 0 ]]; then
            record aborted 0 1 "the run stopped early, exit status $rc"
        fi
    elif [[ $TOTAL_FAILED -gt 0 ]]; then
        rc=1
    fi
    gs_banner "results"
    local line
    for line in "${RESULTS[@]}"; do
        printf '  %s\n' "$line"
    done
    printf '%d passed, %d failed\n' "$TOTAL_PASSED" "$TOTAL_FAILED"
    exit "$rc"
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# count_tap LOG: "PASSED FAILED" from a TAP stream shown by prove -v /
# pg_prove -v.  Only top-level test lines count (subtests are summarised
# by their parent's line); `not ok ... # TODO` is an expected failure.
count_tap() {
    awk '
        /^ok [0-9]+/      { p++; next }
        /^not ok [0-9]+/  { if ($0 ~ /#[ \t]*TODO/) p++; else f++; next }
        END               { printf "%d %d\n", p, f }
    ' "$1"
}

# count_regress LOG: "PASSED FAILED IGNORED" from pg_regress output
# (PostgreSQL 15: "test name ... ok   12 ms", in parallel groups the name
# is indented instead; a failure says FAILED, an ignored one
# "failed (ignored)").
count_regress() {
    awk '
        /^(test +| +)[^ ]+ +\.\.\. +ok( |$)/            { p++; next }
        /^(test +| +)[^ ]+ +\.\.\. +failed \(ignored\)/ { i++; next }
        /^(test +| +)[^ ]+ +\.\.\. +(FAILED|failed)/    { f++; next }
        END { printf "%d %d %d\n", p, f, i }
    ' "$1"
}

# show_file TITLE FILE [MAX_LINES]: print a file into the log, bounded.
show_file() {
    local title=$1 file=$2 max=${3:-2000} n
    [[ -s $file ]] || return 0
    n=$(wc -l <"$file")
    printf '\n----- %s (%s, %d lines) -----\n' "$title" "$file" "$n"
    head -n "$max" "$file"
    [[ $n -le $max ]] || printf '... (%d more lines)\n' "$((n - max))"
    printf -- '----- end of %s -----\n' "$title"
}

show_server_log() {
    [[ -n $GS_PGLOG && -f $GS_PGLOG ]] || return 0
    printf '\n----- server log, last 60 lines (%s) -----\n' "$GS_PGLOG"
    tail -n 60 "$GS_PGLOG"
    printf -- '----- end of server log -----\n'
}

# ---------------------------------------------------------------------
# the suites
# ---------------------------------------------------------------------

# pg_regress through `make installcheck`, as postgres, in the copy.  make -i
# keeps going when REGRESS fails so that ISOLATION (once the Makefile has
# it) runs as well; make then reports each failed step as
# "Error N (ignored)", which is how a failure without a test line (the
# server unreachable, CREATE EXTENSION failing) is still counted.
run_regress() {
    gs_banner "pg_regress: make installcheck"
    local log=$LOGDIR/regress.log rc=0 passed failed ignored make_errors note=""
    gs_run_bounded "$REGRESS_TIMEOUT" "$log" \
        runuser -u postgres -- env \
        PGHOST="$GS_PGHOST" PGPORT="$GS_PGPORT" PGUSER=postgres \
        make -i --no-print-directory PG_CONFIG="$PG_CONFIG" installcheck || rc=$?
    read -r passed failed ignored < <(count_regress "$log")
    make_errors=$(grep -c 'Error [0-9]* (ignored)' "$log" || true)
    [[ $ignored -gt 0 ]] && note="$ignored ignored"
    if [[ $rc -eq 124 || $rc -eq 137 ]]; then
        failed=$((failed + 1))
        note="timed out after ${REGRESS_TIMEOUT}s"
    elif [[ $failed -eq 0 && ($rc -ne 0 || $make_errors -gt 0) ]]; then
        failed=1
        note="make installcheck failed (exit $rc) without a failed test line"
    fi
    if [[ $failed -gt 0 ]]; then
        show_file "regression.diffs" "$COPY/regression.diffs"
        show_file "isolation regression.diffs" "$COPY/output_iso/regression.diffs"
        show_server_log
    fi
    record regress "$passed" "$failed" "$note"
}

# pgTAP: a fresh database with both extensions, then pg_prove as postgres.
run_pgtap() {
    gs_banner "pgTAP: pg_prove test/pgtap/*.sql"
    local files=() f
    for f in "$COPY"/test/pgtap/*.sql; do
        [[ -f $f ]] && files+=("test/pgtap/${f##*/}")
    done
    if [[ ${#files[@]} -eq 0 ]]; then
        gs_log "pgtap: no test files in test/pgtap/, skipped"
        record pgtap 0 0 "no test files"
        return 0
    fi
    if ! gs_psql -q -d postgres -c "CREATE DATABASE $PGTAP_DB" ||
        ! gs_psql -q -d "$PGTAP_DB" -c "CREATE EXTENSION pgtap" -c "CREATE EXTENSION globalsync"; then
        show_server_log
        record pgtap 0 1 "could not create the pgTAP database"
        return 0
    fi
    local log=$LOGDIR/pgtap.log rc=0 passed failed note=""
    gs_run_bounded "$PGTAP_TIMEOUT" "$log" \
        runuser -u postgres -- env PATH="$PG_BINDIR:$PATH" \
        pg_prove --norc --nocolor --verbose --merge \
        --psql-bin "$PG_BINDIR/psql" \
        -h "$GS_PGHOST" -p "$GS_PGPORT" -U postgres -d "$PGTAP_DB" \
        "${files[@]}" || rc=$?
    read -r passed failed < <(count_tap "$log")
    if [[ $rc -eq 124 || $rc -eq 137 ]]; then
        failed=$((failed + 1))
        note="timed out after ${PGTAP_TIMEOUT}s"
    elif [[ $rc -ne 0 && $failed -eq 0 ]]; then
        failed=1
        note="pg_prove failed (exit $rc) without a failed assertion"
    fi
    [[ $failed -gt 0 ]] && show_server_log
    record pgtap "$passed" "$failed" "$note"
}

# TAP: prove as postgres in the copy, with the PGXS Perl modules (and
# test/, test/lib/ for helper modules of our own).  The tests start their
# own clusters (PostgreSQL::Test::Cluster) under tmp_check/.
run_tap() {
    gs_banner "TAP: prove test/t/*.pl"
    local files=() f
    for f in "$COPY"/test/t/*.pl; do
        [[ -f $f ]] && files+=("test/t/${f##*/}")
    done
    if [[ ${#files[@]} -eq 0 ]]; then
        gs_log "tap: no test files in test/t/, skipped"
        record tap 0 0 "no test files"
        return 0
    fi
    gs_as_postgres "$COPY" rm -rf tmp_check
    gs_as_postgres "$COPY" mkdir -p tmp_check
    local log=$LOGDIR/tap.log rc=0 passed failed note=""
    gs_run_bounded "$TAP_TIMEOUT" "$log" \
        runuser -u postgres -- env \
        PATH="$PG_BINDIR:$PATH" \
        PERL5LIB="$PGXS_DIR/src/test/perl${PERL5LIB:+:$PERL5LIB}" \
        TESTDIR="$COPY" \
        PG_REGRESS="$PGXS_DIR/src/test/regress/pg_regress" \
        PG_TEST_TIMEOUT_DEFAULT="${PG_TEST_TIMEOUT_DEFAULT:-120}" \
        prove --norc --nocolor --verbose --merge -I test -I test/lib \
        "${files[@]}" || rc=$?
    read -r passed failed < <(count_tap "$log")
    if [[ $rc -eq 124 || $rc -eq 137 ]]; then
        failed=$((failed + 1))
        note="timed out after ${TAP_TIMEOUT}s"
    elif [[ $rc -ne 0 && $failed -eq 0 ]]; then
        failed=1
        note="prove failed (exit $rc) without a failed assertion"
    fi
    if [[ $failed -gt 0 ]]; then
        local l
        for l in "$COPY"/tmp_check/log/*; do
            [[ -f $l ]] || continue
            printf '\n----- %s, last 80 lines -----\n' "${l#"$COPY"/}"
            tail -n 80 "$l"
        done
    fi
    record tap "$passed" "$failed" "$note"
}

# ---------------------------------------------------------------------
# main
# ---------------------------------------------------------------------
gs_require_root
gs_banner "globalsync test suite (suites: $SUITES)"

if [[ $SKIP_BUILD -eq 0 ]]; then
    gs_ensure_packages
fi
gs_pg_env

if [[ $SKIP_BUILD -eq 0 ]]; then
    gs_banner "build: make COPT=-Werror && make install"
    if ! gs_build "$REPO" COPT=-Werror; then
        record build 0 1 "build or install failed"
        exit 1
    fi
fi

# The TAP tests' npm peers, installed in the checkout before it is copied.
if wanted tap; then
    gs_ensure_node_peers "$REPO/test/node"
fi

# A postgres-owned copy of the tree: pg_regress writes results/ and
# regression.diffs there, TAP writes tmp_check/, the server may read it.
gs_mktemp_postgres
WORK=$GS_LAST_TMPDIR
COPY=$WORK/src
LOGDIR=$WORK/logs
mkdir -p "$COPY" "$LOGDIR"
gs_copy_tree "$REPO" "$COPY"
chown postgres:postgres "$LOGDIR"
gs_log "work dir: $WORK"
cd "$COPY"

if wanted regress || wanted pgtap; then
    gs_banner "throwaway cluster"
    gs_cluster_start "$WORK"
fi

if wanted regress; then run_regress; fi
if wanted pgtap; then run_pgtap; fi
# The TAP tests start clusters of their own; free the machine first.
gs_cluster_stop
if wanted tap; then run_tap; fi

FINISHED=1
exit "$((TOTAL_FAILED > 0 ? 1 : 0))"
