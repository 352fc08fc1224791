#!/usr/bin/env bash
# Webhook intake on Postgres, loaded by wrk from a second process:
#  1. the floor: a bare axum handler doing one INSERT per request, at
#     saturation and at 80 % of it;
#  2. Switchyard at saturation, then at 80 % of it, for a 3-step workflow;
#  3. after the load, every 202 must have a run that completed.
# Each phase starts from an empty queue and a fresh checkpoint.
# Usage: server/bench/webhooks.sh [seconds per phase, default 15]
source "$(dirname "$0")/../../.ci/lib.sh"
DURATION="${1:-15}"
CONNECTIONS=32
# The paced phase sends on a fixed schedule (post.lua, WRK_RATE) over
# more connections, so that a slow answer does not hold back the next.
PACED_CONNECTIONS=128
PG="${SWITCHYARD_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432}"
DB="switchyard_bench_$$"
LUA="$REPO_ROOT/server/bench/post.lua"

command -v wrk >/dev/null || { step "Installing wrk"; apt-get install -y -q wrk >/dev/null; }
psql "$PG/postgres" -qc "CREATE DATABASE $DB"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" || true
}
trap cleanup EXIT

step "Building (release)"
(cd "$REPO_ROOT" && cargo build --release -q -p server --bin server --example insert_floor)

# CPU seconds used so far by the processes named by `pgrep -f "$1"`.
cpu_seconds() {
  local ticks=0 pid
  for pid in $(pgrep -f "$1"); do
    ticks=$((ticks + $(awk '{ print $14 + $15 }' "/proc/$pid/stat" 2>/dev/null || echo 0)))
  done
  echo $((ticks * 1000 / $(getconf CLK_TCK)))
}
# Runs wrk (arguments after the first) and prints how the CPU was shared
# between the server (processes matching $1), Postgres and wrk.
wrk_with_cpu() {
  local name="$1"; shift
  local before_server before_pg after_server after_pg started=$SECONDS
  before_server=$(cpu_seconds "$name")
  before_pg=$(cpu_seconds "postgres")
  /usr/bin/time -f "%U %S" -o /tmp/wrk-cpu.txt wrk "$@"
  after_server=$(cpu_seconds "$name")
  after_pg=$(cpu_seconds "postgres")
  local wall=$(( (SECONDS - started) * 1000 ))
  read -r wrk_user wrk_sys < /tmp/wrk-cpu.txt
  awk -v s=$((after_server - before_server)) -v p=$((after_pg - before_pg)) -v u="$wrk_user" -v y="$wrk_sys" -v w="$wall" \
    'BEGIN { printf "CPU (cores busy): server %.2f, postgres %.2f, wrk %.2f\n", s / w, p / w, (u + y) * 1000 / w }' >&2
}

rate_of() { awk '/^Requests\/sec/ { print int($2) }' "$1"; }
latency_of() { awk -v p="$2" '$1 == p { print $2 }' "$1"; }
total_of() { awk '/requests in/ { print $1 }' "$1"; }
errors_of() { awk '/Non-2xx/ { n = $5 } END { print n + 0 }' "$1"; }
# Requests answered 2xx: every one of them must end as a finished run.
accepted_of() { echo $(( $(total_of "$1") - $(errors_of "$1") )); }

# Each phase starts from a clean slate: what earlier runs left for
# Postgres to write out is written before, not during, the measurement.
checkpoint() { psql "$PG/postgres" -qc CHECKPOINT; }

step "Floor: one INSERT per request"
checkpoint
DATABASE_URL="$PG/$DB" "$CARGO_TARGET_DIR/release/examples/insert_floor" 127.0.0.1:3901 >/dev/null &
pids+=($!)
for _ in $(seq 1 50); do (exec 3<>/dev/tcp/127.0.0.1/3901) 2>/dev/null && break; sleep 0.2; done
wrk_with_cpu examples/insert_floor -t1 -c$CONNECTIONS -d"${DURATION}s" --latency -s "$LUA" http://127.0.0.1:3901/ > /tmp/wrk-floor.txt
FLOOR=$(rate_of /tmp/wrk-floor.txt)
echo "floor: $FLOOR req/s (p50 $(latency_of /tmp/wrk-floor.txt 50%), p99 $(latency_of /tmp/wrk-floor.txt 99%))"
# The floor's own tail at 80 % says what this machine's disk allows.
checkpoint
WRK_RATE=$((FLOOR * 8 / 10)) wrk -t1 -c$PACED_CONNECTIONS -d"${DURATION}s" --latency -s "$LUA" http://127.0.0.1:3901/ > /tmp/wrk-floor-80.txt
echo "floor at 80 % (target $((FLOOR * 8 / 10))/s): $(rate_of /tmp/wrk-floor-80.txt) req/s (p50 $(latency_of /tmp/wrk-floor-80.txt 50%), p99 $(latency_of /tmp/wrk-floor-80.txt 99%))"
kill "${pids[0]}"

step "Switchyard"
DATA=$(mktemp -d)
DATABASE_URL="$PG/$DB" SWITCHYARD_DATA_DIR="$DATA" SWITCHYARD_BIND=127.0.0.1:3900 SWITCHYARD_LOG=warn \
  "$CARGO_TARGET_DIR/release/server" >/dev/null 2>&1 &
pids+=($!)
for _ in $(seq 1 50); do curl -fs http://127.0.0.1:3900/health >/dev/null && break; sleep 0.2; done
JAR=$(mktemp)
curl -fs -c "$JAR" -H 'Content-Type: application/json' -d '{"email":"bench@example.com","password":"correct horse battery"}' \
  http://127.0.0.1:3900/api/v1/auth/register >/dev/null
WORKFLOW=$(curl -fs -b "$JAR" -H 'Content-Type: application/json' http://127.0.0.1:3900/api/v1/workflows -d '{
  "name": "Webhook benchmark",
  "nodes": [
    {"id": "hook", "kind": "webhook_trigger"},
    {"id": "shape", "kind": "transform", "config": {"template": {"email": "{{ trigger.body.email }}", "cents": "{{ trigger.body.amount * 100 }}"}}},
    {"id": "check", "kind": "condition", "config": {"expression": "{{ steps.shape.output.cents > 0 }}"}},
    {"id": "label", "kind": "transform", "config": {"template": "{{ steps.shape.output.email }}: {{ steps.shape.output.cents }}"}}
  ],
  "edges": [{"source": "hook", "target": "shape"}, {"source": "shape", "target": "check"}, {"source": "check", "source_port": "true", "target": "label"}]
}')
ID=$(echo "$WORKFLOW" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
URL=$(echo "$WORKFLOW" | python3 -c 'import json,sys; print(json.load(sys.stdin)["webhook_url"])')
curl -fs -b "$JAR" -X POST "http://127.0.0.1:3900/api/v1/workflows/$ID/activate" >/dev/null

# Waits until every run queued so far has finished; prints how long it took.
drain() {
  local started=$SECONDS open
  while :; do
    open=$(psql "$PG/$DB" -tAc "SELECT count(*) FROM executions WHERE status NOT IN ('succeeded','failed','cancelled')")
    [ "$open" -eq 0 ] && break
    sleep 1
  done
  echo $((SECONDS - started))
}

checkpoint
wrk_with_cpu release/server -t1 -c$CONNECTIONS -d"${DURATION}s" --latency -s "$LUA" "$URL" > /tmp/wrk-saturation.txt
SATURATION=$(rate_of /tmp/wrk-saturation.txt)
echo "saturation: $SATURATION accepted/s (p50 $(latency_of /tmp/wrk-saturation.txt 50%), p99 $(latency_of /tmp/wrk-saturation.txt 99%)), non-2xx: $(errors_of /tmp/wrk-saturation.txt)"
# The runs queued at saturation are worked off before the next phase, so
# that it starts from the same state as this one.
echo "its runs finished $(drain) s after the load"

TARGET=$((SATURATION * 8 / 10))
drain >/dev/null
checkpoint
WRK_RATE=$TARGET wrk -t1 -c$PACED_CONNECTIONS -d"${DURATION}s" --latency -s "$LUA" "$URL" > /tmp/wrk-80.txt
echo "at 80 % (target $TARGET/s): $(rate_of /tmp/wrk-80.txt) accepted/s (p50 $(latency_of /tmp/wrk-80.txt 50%), p99 $(latency_of /tmp/wrk-80.txt 99%))"

ACCEPTED=$(( $(accepted_of /tmp/wrk-saturation.txt) + $(accepted_of /tmp/wrk-80.txt) ))
step "Waiting for every accepted request's run to complete"
echo "its runs finished $(drain) s after the load"
read -r total failed < <(psql "$PG/$DB" -tAF' ' -c "SELECT count(*), count(*) FILTER (WHERE status = 'failed') FROM executions")
echo "runs: $total for $ACCEPTED requests answered 2xx, all finished, $failed failed"
# wrk does not count answers that arrive after its deadline: a few more
# runs than counted 2xx are expected, fewer would be a lost request.
[ "$total" -ge "$ACCEPTED" ] || fail "$((ACCEPTED - total)) accepted requests have no run"
[ "$failed" -eq 0 ] || fail "$failed runs failed"
awk -v f="$FLOOR" -v r="$SATURATION" 'BEGIN { printf "ratio to the floor: %.2f\n", r / f }'
