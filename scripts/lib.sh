# shellcheck shell=bash
#
# scripts/lib.sh: shell functions shared by scripts/test.sh and
# scripts/demo.sh.  Source it, do not run it.
#
# What it provides:
#   gs_log / gs_warn / gs_die      messages ("==> ..." on stdout, errors on stderr)
#   gs_require_root                both scripts install packages and the extension
#   gs_ensure_packages             apt-get install whatever is missing
#   gs_pg_env                      PG_CONFIG, PG_BINDIR, PG_PKGLIBDIR, PGXS_DIR
#   gs_build [make args...]        make clean; make ARGS; make ARGS install
#   gs_mktemp_postgres             a temp dir owned by postgres, removed on exit
#   gs_as_postgres DIR CMD...      run CMD as postgres with DIR as working dir
#   gs_free_port                   a port no server uses
#   gs_cluster_start DIR [conf]    initdb + start a throwaway cluster in DIR
#   gs_cluster_stop                stop it (fast, then immediate)
#   gs_psql ARGS...                psql as postgres against that cluster
#   gs_run_bounded SECS LOG CMD... run CMD with a time limit, output to the
#                                  terminal and to LOG, interruptible
#   gs_cleanup                     stop the cluster, end the bounded job and
#                                  remove temp dirs (idempotent; call from
#                                  the caller's EXIT trap)
#
# The PostgreSQL server refuses to run as root, so every server and every
# client that writes files the server must read (pg_regress, TAP) runs as
# the `postgres` user, in directories that user owns.

# The PostgreSQL major version this extension is built for.
GS_PG_MAJOR=15

# The packages both scripts need on a fresh Debian 12 machine.
GS_PACKAGES=(
    "postgresql-${GS_PG_MAJOR}"
    "postgresql-server-dev-${GS_PG_MAJOR}"
    libcurl4-openssl-dev
    zlib1g-dev
    libjansson-dev
    libssl-dev
    "postgresql-${GS_PG_MAJOR}-pgtap"
    libtap-parser-sourcehandler-pgtap-perl
    libipc-run-perl
    make
    gcc
    # the HTTP tests' receivers and their TLS certificates
    python3
    openssl
    # the stand-ins of the s3 (SigV4 checks) and snowflake (JWT checks) tests
    python3-botocore
    python3-jwt
    python3-cryptography
)

# State of the throwaway cluster and the temp dirs (read by gs_cleanup).
GS_TMPDIRS=()           # removed by gs_cleanup unless GS_KEEP=1
GS_KEEP=0               # 1: leave the cluster running and the dirs in place
GS_PGDATA=""            # data directory of the running throwaway cluster
GS_PGHOST=""            # its unix socket directory
GS_PGPORT=""            # its port
GS_PGLOG=""             # its server log
GS_BOUNDED_PID=""       # pid of the running gs_run_bounded job (timeout)
GS_TAIL_PID=""          # pid of the tail that shows its output

gs_log() { printf '==> %s\n' "$*"; }
gs_warn() { printf 'warning: %s\n' "$*" >&2; }
gs_die() {
    printf 'error: %s\n' "$*" >&2
    exit 1
}

# Print a heading that stands out in a long CI log.
gs_banner() {
    printf '\n======================================================================\n'
    printf '  %s\n' "$*"
    printf '======================================================================\n'
}

gs_require_root() {
    if [[ $(id -u) -ne 0 ]]; then
        gs_die "run this as root (it installs packages and the extension, then runs the server as postgres)"
    fi
}

# Install with apt-get whatever in GS_PACKAGES is not installed yet.
# `apt-get update` runs once, and only if something has to be installed.
gs_ensure_packages() {
    local pkg status missing=()
    for pkg in "${GS_PACKAGES[@]}"; do
        status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
        if [[ $status != installed ]]; then
            missing+=("$pkg")
        fi
    done
    if [[ ${#missing[@]} -eq 0 ]]; then
        gs_log "packages: all ${#GS_PACKAGES[@]} required packages are installed"
        return 0
    fi
    gs_log "packages: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update </dev/null
    apt-get install -y --no-install-recommends "${missing[@]}" </dev/null
}

# The npm test peers (s3rver, FHIR R4 validators) pinned in test/node:
# Node.js and npm from Debian when the machine has no npm, then `npm ci`
# from the registry when node_modules is missing or older than the lock.
gs_ensure_node_peers() {
    local dir=$1
    if ! command -v npm >/dev/null 2>&1; then
        gs_log "packages: installing nodejs npm"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update </dev/null
        apt-get install -y --no-install-recommends nodejs npm </dev/null
    fi
    if [[ -d $dir/node_modules && $dir/node_modules/.package-lock.json -nt $dir/package-lock.json ]]; then
        gs_log "test peers: $dir/node_modules is up to date"
        return 0
    fi
    gs_log "test peers: npm ci in $dir"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error </dev/null)
}

# Locate the PostgreSQL installation the extension is built against.
# PG_CONFIG may be set by the caller; by default the version-specific one,
# so that another major version's pg_config on PATH cannot get in the way.
gs_pg_env() {
    PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/${GS_PG_MAJOR}/bin/pg_config}
    [[ -x $PG_CONFIG ]] || gs_die "pg_config not found at $PG_CONFIG (is postgresql-server-dev-${GS_PG_MAJOR} installed?)"
    PG_BINDIR=$("$PG_CONFIG" --bindir)
    PG_PKGLIBDIR=$("$PG_CONFIG" --pkglibdir)
    PGXS_DIR="$PG_PKGLIBDIR/pgxs"
    export PG_CONFIG PG_BINDIR PG_PKGLIBDIR PGXS_DIR
}

# Build and install the extension from the checkout in $1; the remaining
# arguments go to make (e.g. COPT=-Werror).  Output goes to the terminal.
gs_build() {
    local src=$1
    shift
    gs_log "build: make clean"
    make -C "$src" --no-print-directory PG_CONFIG="$PG_CONFIG" clean || return
    gs_log "build: make $*"
    make -C "$src" --no-print-directory PG_CONFIG="$PG_CONFIG" "$@" || return
    gs_log "build: make install"
    make -C "$src" --no-print-directory PG_CONFIG="$PG_CONFIG" "$@" install || return
}

# Create a temp dir owned by postgres (mode 700) and print its path.  It is
# registered for removal by gs_cleanup, so call this in the main shell:
#   gs_mktemp_postgres; dir=$GS_LAST_TMPDIR
gs_mktemp_postgres() {
    # Always under /tmp: postgres must be able to reach it, and the unix
    # socket path inside it must stay short (about 100 bytes at most).
    GS_LAST_TMPDIR=$(mktemp -d /tmp/globalsync.XXXXXX)
    GS_TMPDIRS+=("$GS_LAST_TMPDIR")
    chown postgres:postgres "$GS_LAST_TMPDIR"
    chmod 700 "$GS_LAST_TMPDIR"
}

# Copy the checkout in $1 to $2 (a postgres-owned dir), without git data
# or the outputs of earlier test runs, and give it to postgres.
gs_copy_tree() {
    local src=$1 dst=$2
    tar -C "$src" \
        --exclude=./.git --exclude=./results --exclude=./output_iso \
        --exclude=./tmp_check --exclude=./log \
        --exclude=./regression.diffs --exclude=./regression.out \
        -cf - . | tar -C "$dst" -xf -
    chown -R postgres:postgres "$dst"
}

# gs_as_postgres DIR CMD [ARGS...]: run CMD as postgres in DIR.  The
# environment is kept (runuser without -l), except HOME/USER/LOGNAME/SHELL.
gs_as_postgres() {
    local dir=$1
    shift
    (cd "$dir" && runuser -u postgres -- "$@")
}

# Print a TCP port that no server uses: nothing listens on it on loopback
# and no unix socket for it exists in the usual socket directories.
gs_free_port() {
    local i port
    for ((i = 0; i < 200; i++)); do
        port=$((20000 + RANDOM % 40000))
        [[ -e /var/run/postgresql/.s.PGSQL.$port || -e /tmp/.s.PGSQL.$port ]] && continue
        if timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$port" 2>/dev/null; then
            continue
        fi
        printf '%s\n' "$port"
        return 0
    done
    gs_die "could not find a free port after 200 attempts"
}

# gs_cluster_start DIR [EXTRA_CONF_LINE...]
# initdb in DIR/data and start a server as postgres: private port, unix
# socket in DIR only (listen_addresses = ''), trust authentication for the
# local user postgres, shared_preload_libraries = 'globalsync', log in
# DIR/server.log.  Sets GS_PGDATA, GS_PGHOST, GS_PGPORT, GS_PGLOG.
gs_cluster_start() {
    local dir=$1 line
    shift
    GS_PGPORT=$(gs_free_port)
    GS_PGHOST=$dir
    GS_PGLOG=$dir/server.log
    gs_log "cluster: initdb in $dir/data (port $GS_PGPORT, socket in $dir)"
    gs_as_postgres "$dir" "$PG_BINDIR/initdb" -D "$dir/data" -U postgres \
        --auth=trust --encoding=UTF8 --locale=C.UTF-8 --no-sync >"$dir/initdb.log" 2>&1 ||
        {
            cat "$dir/initdb.log" >&2
            gs_die "initdb failed"
        }
    GS_PGDATA=$dir/data
    {
        printf '\n# --- added by scripts/lib.sh (throwaway cluster) ---\n'
        printf "port = %s\n" "$GS_PGPORT"
        printf "listen_addresses = ''\n"
        printf "unix_socket_directories = '%s'\n" "$dir"
        printf "shared_preload_libraries = 'globalsync'\n"
        printf "fsync = off\n"
        printf "max_connections = 50\n"
        printf "logging_collector = off\n"
        printf "log_min_messages = warning\n"
        for line in "$@"; do
            printf '%s\n' "$line"
        done
    } >>"$GS_PGDATA/postgresql.conf"
    gs_log "cluster: starting"
    if ! gs_as_postgres "$dir" "$PG_BINDIR/pg_ctl" -D "$GS_PGDATA" -l "$GS_PGLOG" \
        -w -t 60 start >/dev/null; then
        gs_warn "the server did not start; its log:"
        tail -n 50 "$GS_PGLOG" >&2 || true
        gs_die "pg_ctl start failed"
    fi
    gs_log "cluster: running (PGHOST=$GS_PGHOST PGPORT=$GS_PGPORT)"
}

# Stop the throwaway cluster if it runs: fast shutdown, immediate if that
# does not finish within 60 s.  Safe to call more than once.
gs_cluster_stop() {
    [[ -n $GS_PGDATA && -f $GS_PGDATA/postmaster.pid ]] || return 0
    gs_log "cluster: stopping"
    if ! gs_as_postgres "$GS_PGHOST" "$PG_BINDIR/pg_ctl" -D "$GS_PGDATA" \
        -m fast -w -t 60 stop >/dev/null 2>&1; then
        gs_warn "fast shutdown did not finish; stopping immediately"
        gs_as_postgres "$GS_PGHOST" "$PG_BINDIR/pg_ctl" -D "$GS_PGDATA" \
            -m immediate -w -t 30 stop >/dev/null 2>&1 || true
    fi
}

# gs_psql ARGS...: psql as postgres against the throwaway cluster, no
# psqlrc, stop at the first error.
gs_psql() {
    gs_as_postgres "$GS_PGHOST" "$PG_BINDIR/psql" -X -v ON_ERROR_STOP=1 \
        -h "$GS_PGHOST" -p "$GS_PGPORT" -U postgres "$@"
}

# gs_run_bounded SECS LOG CMD [ARGS...]
# Run CMD with a time limit of SECS seconds (then TERM, 30 s later KILL, to
# its whole process group).  Its output goes to LOG and, as it comes, to the
# terminal.  Returns CMD's exit status (124 on timeout).  CMD runs in the
# background and the shell waits with `wait`, so an interrupt (Ctrl-C,
# TERM) reaches the caller's trap at once; gs_cleanup then ends the job.
gs_run_bounded() {
    local secs=$1 log=$2 rc=0
    shift 2
    : >"$log"
    timeout -k 30 "$secs" "$@" </dev/null >>"$log" 2>&1 &
    GS_BOUNDED_PID=$!
    tail -n +1 -f --pid="$GS_BOUNDED_PID" "$log" &
    GS_TAIL_PID=$!
    wait "$GS_BOUNDED_PID" || rc=$?
    GS_BOUNDED_PID=""
    wait "$GS_TAIL_PID" || true
    GS_TAIL_PID=""
    if [[ $rc -eq 124 || $rc -eq 137 ]]; then
        gs_warn "timed out after ${secs}s: $*"
    fi
    return "$rc"
}

# Undo everything: end a bounded job still running, stop the cluster,
# remove the temp dirs.  With GS_KEEP=1 the cluster and dirs stay.
gs_cleanup() {
    if [[ -n $GS_BOUNDED_PID ]]; then
        kill -TERM "$GS_BOUNDED_PID" 2>/dev/null || true
        # bounded: timeout itself KILLs the group 30 s after the TERM
        wait "$GS_BOUNDED_PID" 2>/dev/null || true
        GS_BOUNDED_PID=""
    fi
    if [[ -n $GS_TAIL_PID ]]; then
        kill -TERM "$GS_TAIL_PID" 2>/dev/null || true
        wait "$GS_TAIL_PID" 2>/dev/null || true
        GS_TAIL_PID=""
    fi
    [[ $GS_KEEP -eq 1 ]] && return 0
    gs_cluster_stop
    GS_PGDATA=""
    local d
    for d in "${GS_TMPDIRS[@]}"; do
        [[ -n $d && -d $d ]] && rm -rf -- "$d"
    done
    GS_TMPDIRS=()
}
