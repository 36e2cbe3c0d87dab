#!/usr/bin/env bash
# The adk-pg demo: an ADK agent whose session survives a restart.
#
#   scripts/demo.sh            (what `make demo` runs, after installing the venv)
#
# 1. makes sure PostgreSQL answers (scripts/ensure-postgres.sh) and takes the DSN it reports;
# 2. runs examples/demo.py twice, as two separate processes, on the same session;
# 3. prints, then runs, the psql queries that show what adk-pg stored.
# Each run uses a fresh session id, demo-<unix time> (set DEMO_SESSION_ID to pick one), so it
# can be run again and again; the user- and app-scope state (user:visits, app:notes_saved)
# deliberately carries over between runs.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
PYTHON="${PYTHON:-$REPO/.venv/bin/python}"
[[ -x "$PYTHON" ]] || PYTHON="$(command -v python3)"

if [[ -t 1 ]]; then BOLD=$'\033[1m' PLAIN=$'\033[0m'; else BOLD="" PLAIN=""; fi
heading() { printf '\n%s=== %s%s\n' "$BOLD" "$*" "$PLAIN"; }

heading "PostgreSQL"
ADK_PG_DSN="$(bash scripts/ensure-postgres.sh --print-dsn)"
export ADK_PG_DSN
SESSION_ID="${DEMO_SESSION_ID:-demo-$(date +%s)}"

heading "Process 1: tell the agent something (session $SESSION_ID)"
"$PYTHON" examples/demo.py --session-id "$SESSION_ID" \
    --message "my name is Ada, remember that I like tea"

heading "Process 2: a new process asks what it remembers (same session)"
"$PYTHON" examples/demo.py --session-id "$SESSION_ID" --message "what do you remember?"

# psql wants a libpq URL: drop SQLAlchemy's driver suffix if the DSN has one.
REDACTED="$(sed -E -e 's#(://[^:/@]*):[^@]*@#\1:***@#' -e 's#([?&]password=)[^&]*#\1***#' <<<"${ADK_PG_DSN/+asyncpg:\/\//://}")"
# The password goes to psql in PGPASSWORD, never on its command line, where `ps` shows it to
# every user. Of the query string only sslmode is kept: the rest may be pool options psql
# does not know.
dsn_re='^[A-Za-z][A-Za-z0-9+.-]*://(([^@/?]*)@)?([^/?]*)(/[^?]*)?(\?(.*))?$'
if [[ ! "$ADK_PG_DSN" =~ $dsn_re ]]; then
    echo "demo: cannot parse ADK_PG_DSN=$REDACTED" >&2
    exit 2
fi
userinfo="${BASH_REMATCH[2]}" hostport="${BASH_REMATCH[3]}" path="${BASH_REMATCH[4]}"
query="${BASH_REMATCH[6]}"
percent_decoded() { local s="${1//\\/\\\\}"; printf '%b' "${s//%/\\x}"; }
if [[ "$userinfo" == *:* ]]; then
    PGPASSWORD="$(percent_decoded "${userinfo#*:}")"
    export PGPASSWORD
    userinfo="${userinfo%%:*}"
fi
if [[ "$query" =~ (^|&)password=([^&]*) ]]; then
    PGPASSWORD="$(percent_decoded "${BASH_REMATCH[2]}")"
    export PGPASSWORD
fi
sslmode=""
if [[ "$query" =~ (^|&)(sslmode=[a-z-]+) ]]; then sslmode="?${BASH_REMATCH[2]}"; fi
PSQL_DSN="postgresql://${userinfo:+$userinfo@}$hostport$path$sslmode"
TITLES=("the session row (session-scope state only)" "its events, in order"
        "app-scope state (the app: keys)" "user-scope state (the user: keys)")
QUERIES=(
"SELECT id, revision, state, create_time, update_time FROM adk.sessions
  WHERE app_name = 'demo_agent' AND user_id = 'demo-user' AND id = '$SESSION_ID';"
"SELECT to_timestamp(\"timestamp\")::time(3) AS at, author,
       left(coalesce(content #>> '{parts,0,text}',
                     'call ' || (content #>> '{parts,0,function_call,name}')
                             || (content #> '{parts,0,function_call,args}')::text,
                     'result ' || (content #> '{parts,0,function_response,response}')::text),
            100) AS content
   FROM adk.events
  WHERE app_name = 'demo_agent' AND user_id = 'demo-user' AND session_id = '$SESSION_ID'
  ORDER BY \"timestamp\", id;"
"SELECT app_name, state, update_time FROM adk.app_states WHERE app_name = 'demo_agent';"
"SELECT app_name, user_id, state, update_time FROM adk.user_states
  WHERE app_name = 'demo_agent' AND user_id = 'demo-user';"
)

heading "What PostgreSQL holds (psql)"
echo "# with ADK_PG_DSN=$REDACTED"
for query in "${QUERIES[@]}"; do
    printf 'psql "$ADK_PG_DSN" -c "%s"\n' "${query//\"/\\\"}"
done
if ! command -v psql >/dev/null 2>&1; then
    echo "(psql is not installed here: apt-get install postgresql-client, then paste the above)"
    exit 0
fi
for i in "${!QUERIES[@]}"; do
    printf '\n-- %s\n' "${TITLES[$i]}"
    psql "$PSQL_DSN" -X -P pager=off -c "${QUERIES[$i]}"
done
