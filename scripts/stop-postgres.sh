#!/usr/bin/env bash
# Stop the private PostgreSQL cluster that scripts/ensure-postgres.sh made under .pgdata/.
#
#   scripts/stop-postgres.sh           # stop it (its data stays for next time)
#   scripts/stop-postgres.sh --purge   # stop it and delete .pgdata/ entirely
#
# It never touches Docker containers or the system's own clusters
# (for those: docker compose down / pg_ctlcluster <version> main stop).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PGDATA_ROOT="$REPO/.pgdata"
DATA_DIR="$PGDATA_ROOT/data"

PURGE=0
case "${1:-}" in
    --purge) PURGE=1 ;;
    "") ;;
    -h|--help) sed -n '2,8p' "$0"; exit 0 ;;
    *) echo "usage: $0 [--purge]" >&2; exit 2 ;;
esac

say() { echo "stop-postgres: $*" >&2; }

if [[ ! -f "$DATA_DIR/PG_VERSION" ]]; then
    say "no cluster under .pgdata/; nothing to stop."
    if [[ "$PURGE" -eq 1 && -d "$PGDATA_ROOT" ]]; then rm -rf "$PGDATA_ROOT"; fi
    exit 0
fi

version="$(cat "$DATA_DIR/PG_VERSION")"
pg_ctl=""
for dir in "/usr/lib/postgresql/$version/bin" "$(pg_config --bindir 2>/dev/null || true)" \
        /usr/local/pgsql/bin /opt/homebrew/bin /usr/local/bin /usr/bin; do
    if [[ -n "$dir" && -x "$dir/pg_ctl" ]]; then pg_ctl="$dir/pg_ctl"; break; fi
done
if [[ -z "$pg_ctl" ]]; then
    say "pg_ctl for PostgreSQL $version not found; stop the postgres process by hand"
    exit 1
fi

owner="$(stat -c %U "$DATA_DIR")"
as_owner() {  # pg_ctl refuses to run as root
    if [[ "$(id -u)" -ne 0 ]]; then "$@"
    elif command -v runuser >/dev/null 2>&1; then runuser -u "$owner" -- "$@"
    else su -s /bin/sh "$owner" -c "$(printf '%q ' "$@")"; fi
}

if as_owner "$pg_ctl" status -D "$DATA_DIR" >/dev/null 2>&1; then
    as_owner "$pg_ctl" stop -D "$DATA_DIR" -m fast -w >/dev/null
    said="stopped the .pgdata cluster"
else
    said="the .pgdata cluster was not running"
fi
if [[ "$PURGE" -eq 1 ]]; then
    rm -rf "$PGDATA_ROOT"
    said="$said and deleted .pgdata/"
fi
say "$said."
