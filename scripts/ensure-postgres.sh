#!/usr/bin/env bash
# Make sure a PostgreSQL server answers for the adk-pg DSN, starting one if it has to.
#
#   scripts/ensure-postgres.sh               # reports what it did on stderr
#   ADK_PG_DSN="$(scripts/ensure-postgres.sh --print-dsn)"   # ...and the DSN to use on stdout
#
# DSN: $ADK_PG_DSN, else $POSTGRES_URL, else
#      postgresql://postgres:postgres@127.0.0.1:5432/adk_sessions
# In order, the first that works wins:
#   1. something already answers at the DSN's host:port         -> nothing to do
#   2. a cluster this script made earlier under .pgdata/         -> start it if stopped
#   3. a Docker engine answers                                   -> docker compose up -d --wait
#   4. the system's own cluster on that port is merely stopped   -> pg_ctlcluster ... start
#   5. PostgreSQL server binaries are installed                  -> initdb + start under .pgdata/
#      (on the DSN's port if free, else 54329; the DSN to use is written to .pgdata/dsn)
#   6. otherwise: print how to get a server, exit 1
# Steps 2-5 only for a DSN on this machine. Finally the DSN's database is created if missing
# (when psql is available). Running it again is harmless. Passwords are never printed, except
# in the --print-dsn output that a caller captures.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PGDATA_ROOT="$REPO/.pgdata"
DATA_DIR="$PGDATA_ROOT/data"
FALLBACK_PORT=54329
DEFAULT_DSN="postgresql://postgres:postgres@127.0.0.1:5432/adk_sessions"

PRINT_DSN=0
case "${1:-}" in
    --print-dsn) PRINT_DSN=1 ;;
    "") ;;
    -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
    *) echo "usage: $0 [--print-dsn]" >&2; exit 2 ;;
esac

say() { echo "ensure-postgres: $*" >&2; }

DSN="${ADK_PG_DSN:-${POSTGRES_URL:-$DEFAULT_DSN}}"

# --- parse the DSN (URL form): scheme://[user[:password]@]host[:port][/db][?query] ---------
dsn_re='^([A-Za-z][A-Za-z0-9+.-]*)://(([^@/?]*)@)?(\[[^]/]*\]|[^:/?]*)(:([0-9]+))?(/([^?]*))?(\?(.*))?$'
if [[ ! "$DSN" =~ $dsn_re ]]; then
    say "cannot parse the DSN (expected postgresql://user:password@host:port/database)"
    exit 2
fi
SCHEME="${BASH_REMATCH[1]}"
USERINFO="${BASH_REMATCH[3]}"
HOST="${BASH_REMATCH[4]}"
PORT="${BASH_REMATCH[6]:-5432}"
DBNAME="${BASH_REMATCH[8]}"
QUERY="${BASH_REMATCH[10]}"
DB_USER="${USERINFO%%:*}"
DB_USER="${DB_USER:-${USER:-postgres}}"
DBNAME="${DBNAME:-$DB_USER}"
case "$SCHEME" in
    postgresql|postgres|postgresql+asyncpg|postgres+asyncpg) ;;
    *) say "unsupported DSN scheme '$SCHEME://'"; exit 2 ;;
esac
PROBE_HOST="${HOST#[}"; PROBE_HOST="${PROBE_HOST%]}"
PROBE_HOST="${PROBE_HOST:-127.0.0.1}"
# Only sslmode is passed on to psql/pg_isready: the rest may be asyncpg or pool options.
SSL_QUERY=""
if [[ "$QUERY" =~ (^|&)(sslmode=[a-z-]+) ]]; then SSL_QUERY="?${BASH_REMATCH[2]}"; fi

redacted() {  # the DSN without its password
    local userinfo="$USERINFO"
    [[ "$userinfo" == *:* ]] && userinfo="${userinfo%%:*}:***"
    echo "postgresql://${userinfo:+$userinfo@}$HOST:$PORT/$DBNAME"
}
is_local() {
    case "$PROBE_HOST" in localhost|127.0.0.1|::1|0.0.0.0) return 0 ;; *) return 1 ;; esac
}
python_bin() {
    if [[ -x "$REPO/.venv/bin/python" ]]; then echo "$REPO/.venv/bin/python"
    elif command -v python3 >/dev/null 2>&1; then command -v python3
    else return 1; fi
}

# answers HOST PORT: does a PostgreSQL server accept connections there?
answers() {
    local host="$1" port="$2" py
    if command -v pg_isready >/dev/null 2>&1; then
        pg_isready -q -h "$host" -p "$port" -t 3
        return
    fi
    # No pg_isready: a server that answers a login attempt at all (even "no such database"
    # or "password failed") is up; with no asyncpg either, a TCP connect has to do.
    py="$(python_bin)" || { (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null; return; }
    "$py" - "$host" "$port" <<'PY' 2>/dev/null
import asyncio, socket, sys
host, port = sys.argv[1], int(sys.argv[2])
try:
    import asyncpg
except ImportError:
    socket.create_connection((host, port), timeout=3).close()
    sys.exit(0)
async def probe() -> None:
    try:
        conn = await asyncpg.connect(host=host, port=port, user="postgres", database="postgres",
                                     timeout=3)
        await conn.close()
    except (OSError, asyncio.TimeoutError):
        sys.exit(1)
    except Exception:
        pass  # the server answered, it just did not like the login
asyncio.run(probe())
PY
}

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# --- PostgreSQL server binaries and the user to run them as -------------------------------
find_bindir() {  # [major version]: a directory holding initdb, pg_ctl and postgres
    local want="${1:-}" dir candidates=()
    if [[ -n "$want" ]]; then candidates+=("/usr/lib/postgresql/$want/bin"); fi
    if command -v pg_config >/dev/null 2>&1; then
        candidates+=("$(pg_config --bindir 2>/dev/null || true)")
    fi
    while IFS= read -r dir; do candidates+=("$dir"); done < <(
        ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k4 -rn)
    candidates+=(/usr/local/pgsql/bin /usr/pgsql-*/bin /opt/homebrew/bin /usr/local/bin /usr/bin)
    for dir in "${candidates[@]}"; do
        if [[ -n "$dir" && -x "$dir/initdb" && -x "$dir/pg_ctl" && -x "$dir/postgres" ]]; then
            if [[ -z "$want" ]] || "$dir/postgres" --version | grep -q " $want"; then
                echo "$dir"
                return 0
            fi
        fi
    done
    return 1
}

RUN_USER="$(id -un)"
as_owner() {  # run a command as the cluster's owner (PostgreSQL refuses to run as root)
    if [[ "$(id -u)" -ne 0 ]]; then "$@"
    elif command -v runuser >/dev/null 2>&1; then runuser -u "$RUN_USER" -- "$@"
    else su -s /bin/sh "$RUN_USER" -c "$(printf '%q ' "$@")"; fi
}
pick_run_user() {
    if [[ "$(id -u)" -ne 0 ]]; then return 0; fi
    if [[ -d "$DATA_DIR" ]]; then RUN_USER="$(stat -c %U "$DATA_DIR")"; return 0; fi
    RUN_USER=postgres
    if ! id -u postgres >/dev/null 2>&1; then
        if command -v useradd >/dev/null 2>&1; then
            useradd --system --no-create-home --home-dir /nonexistent \
                --shell /usr/sbin/nologin postgres
        else
            adduser -S -H -s /sbin/nologin postgres  # busybox / Alpine
        fi
        say "created system user 'postgres' to run the server (PostgreSQL refuses root)"
    fi
}

fail_with_log() {  # message, log file
    say "$1; the end of ${2#"$REPO/"}:"
    tail -n 15 "$2" | sed 's/^/    /' >&2
    exit 1
}
pg_ctl_start() {  # bindir
    as_owner "$1/pg_ctl" start -D "$DATA_DIR" -l "$PGDATA_ROOT/postgres.log" -w -t 60 \
        >/dev/null 2>&1 \
        || fail_with_log "the .pgdata server did not start" "$PGDATA_ROOT/postgres.log"
}
pgdata_port() { sed -n 's/^port = \([0-9]*\).*/\1/p' "$DATA_DIR/postgresql.conf" | tail -1; }
pgdata_dsn() { echo "postgresql://postgres:postgres@127.0.0.1:$1/$DBNAME"; }

start_pgdata() {  # start the existing .pgdata cluster if it is not running
    local bindir port
    bindir="$(find_bindir "$(cat "$DATA_DIR/PG_VERSION")")" || {
        say "$DATA_DIR needs PostgreSQL $(cat "$DATA_DIR/PG_VERSION") binaries, none found"
        exit 1
    }
    pick_run_user
    port="$(pgdata_port)"
    if as_owner "$bindir/pg_ctl" status -D "$DATA_DIR" >/dev/null 2>&1; then
        STATUS="the .pgdata cluster is already running on 127.0.0.1:$port"
    else
        if port_in_use "$port"; then
            say "port $port of the .pgdata cluster is taken by another program;" \
                "free it or remove .pgdata (scripts/stop-postgres.sh --purge)"
            exit 1
        fi
        pg_ctl_start "$bindir"
        STATUS="started the .pgdata cluster (PostgreSQL $(cat "$DATA_DIR/PG_VERSION"),"
        STATUS+=" run as user $RUN_USER) on 127.0.0.1:$port"
    fi
    use_pgdata_dsn "$port"
}

init_pgdata() {  # initdb a fresh cluster under .pgdata and start it
    local bindir="$1" port pwfile
    if ! port_in_use "$PORT"; then port="$PORT"
    elif ! port_in_use "$FALLBACK_PORT"; then port="$FALLBACK_PORT"
    else say "ports $PORT and $FALLBACK_PORT are both taken; set ADK_PG_DSN"; exit 1; fi
    pick_run_user
    mkdir -p "$PGDATA_ROOT"
    chmod 755 "$PGDATA_ROOT"
    pwfile="$PGDATA_ROOT/.pwfile"
    (umask 077 && echo postgres >"$pwfile")
    if [[ "$(id -u)" -eq 0 ]]; then chown "$RUN_USER" "$PGDATA_ROOT" "$pwfile"; fi
    if ! as_owner test -w "$PGDATA_ROOT"; then
        say "user $RUN_USER cannot write $PGDATA_ROOT (can it reach $REPO?);" \
            "move the checkout or set ADK_PG_DSN"
        exit 1
    fi
    # trust is safe only because the server listens on loopback alone (below); the
    # password is set anyway so password DSNs and tools that insist on one work.
    as_owner "$bindir/initdb" -D "$DATA_DIR" -U postgres --pwfile="$pwfile" \
        --auth-local=trust --auth-host=trust -E UTF8 --no-locale >"$PGDATA_ROOT/initdb.log" 2>&1 \
        || fail_with_log "initdb failed" "$PGDATA_ROOT/initdb.log"
    rm -f "$pwfile"
    # No unix socket: its default directory (/var/run/postgresql) may not exist or not be
    # writable by this user, and every client here connects over TCP anyway.
    as_owner tee -a "$DATA_DIR/postgresql.conf" >/dev/null <<EOF

# --- written by scripts/ensure-postgres.sh ---
port = $port
listen_addresses = '127.0.0.1'
unix_socket_directories = ''
EOF
    pg_ctl_start "$bindir"
    STATUS="initialised .pgdata/data (PostgreSQL $(cat "$DATA_DIR/PG_VERSION"),"
    STATUS+=" run as user $RUN_USER) and started it on 127.0.0.1:$port"
    use_pgdata_dsn "$port"
}

use_pgdata_dsn() {  # from here on the DSN is the .pgdata cluster's; record it for others
    local port="$1" old_port="$PORT"
    DSN="$(pgdata_dsn "$port")"
    USERINFO="postgres:postgres"; DB_USER=postgres; HOST=127.0.0.1; PROBE_HOST=127.0.0.1
    PORT="$port"; SSL_QUERY=""
    (umask 077 && echo "$DSN" >"$PGDATA_ROOT/dsn")
    if [[ "$port" != "$old_port" ]]; then
        STATUS="$STATUS; use ADK_PG_DSN=\$(cat .pgdata/dsn)"
    fi
}

start_system_cluster() {  # a stopped Debian/Ubuntu cluster on the DSN's port
    command -v pg_lsclusters >/dev/null 2>&1 && command -v pg_ctlcluster >/dev/null 2>&1 \
        || return 1
    local ver name port status
    while read -r ver name port status _; do
        if [[ "$port" == "$PORT" && "$status" == down* ]]; then
            if pg_ctlcluster --skip-systemctl-redirect "$ver" "$name" start >/dev/null 2>&1 \
                && answers "$PROBE_HOST" "$PORT"; then
                STATUS="started the system cluster $ver/$name (pg_ctlcluster) on port $PORT"
                return 0
            fi
            say "the system cluster $ver/$name on port $PORT is stopped and could not be" \
                "started here (try: sudo pg_ctlcluster $ver $name start)"
            return 1
        fi
    done < <(pg_lsclusters -h 2>/dev/null)
    return 1
}

docker_up() {
    command -v docker >/dev/null 2>&1 || return 1
    timeout 5 docker info >/dev/null 2>&1 || return 1
    local compose=(docker compose)
    docker compose version >/dev/null 2>&1 || compose=(docker-compose)
    say "starting PostgreSQL with ${compose[*]} (first run pulls the image)..."
    (cd "$REPO" && ADK_PG_PORT="$PORT" "${compose[@]}" up -d --wait >&2)
    STATUS="started PostgreSQL with docker compose (docker-compose.yml) on 127.0.0.1:$PORT"
}

ensure_database() {  # CREATE DATABASE if missing; fail clearly if we cannot log in
    local psql="" out
    if command -v psql >/dev/null 2>&1; then psql="$(command -v psql)"
    elif [[ -n "${BINDIR:-}" && -x "$BINDIR/psql" ]]; then psql="$BINDIR/psql"
    else return 0; fi  # no client here: the application will report a missing database
    local maint="postgresql://${USERINFO:+$USERINFO@}$HOST:$PORT/postgres$SSL_QUERY"
    if ! out="$(PGCONNECT_TIMEOUT=5 "$psql" "$maint" -X -w -v ON_ERROR_STOP=1 -v db="$DBNAME" \
            2>&1 <<'SQL'
SELECT format('CREATE DATABASE %I', :'db')
WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = :'db') \gexec
SQL
    )"; then
        say "$STATUS."
        say "PostgreSQL answers at $PROBE_HOST:$PORT but $(redacted) is not usable:"
        echo "    ${out//$'\n'/$'\n'    }" >&2
        say "fix the credentials in ADK_PG_DSN (or POSTGRES_URL), or create the role/database"
        exit 1
    fi
    if [[ "$out" == *"CREATE DATABASE"* ]]; then STATUS="$STATUS; created database $DBNAME"; fi
}

finish() {
    ensure_database
    say "$STATUS."
    if [[ "$PRINT_DSN" -eq 1 ]]; then echo "$DSN"; fi
    exit 0
}

instructions() {
    cat >&2 <<EOF
ensure-postgres: no PostgreSQL answers at $PROBE_HOST:$PORT ($(redacted)),
and none could be started here.
Pick one:
  * Docker:      docker compose up -d --wait        (uses $REPO/docker-compose.yml)
  * Debian/Ubuntu: sudo apt-get install -y postgresql   then run this script again
                 (it initialises a private cluster under .pgdata/ from the server binaries)
  * Homebrew:    brew install postgresql@16 && brew services start postgresql@16
  * Your own server: export ADK_PG_DSN=postgresql://USER:PASSWORD@HOST:5432/adk_sessions
EOF
    exit 1
}

# --- the steps -----------------------------------------------------------------------------
STATUS=""
BINDIR=""
if answers "$PROBE_HOST" "$PORT"; then
    STATUS="PostgreSQL answers at $PROBE_HOST:$PORT; nothing to start"
    finish
fi
if ! is_local; then
    say "the DSN points at $PROBE_HOST, which is not this machine: not starting anything"
    instructions
fi
if [[ -f "$DATA_DIR/PG_VERSION" ]]; then
    start_pgdata
    finish
fi
if docker_up; then finish; fi
if start_system_cluster; then finish; fi
if BINDIR="$(find_bindir)"; then
    init_pgdata "$BINDIR"
    finish
fi
instructions
