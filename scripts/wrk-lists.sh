#!/usr/bin/env bash
# Throughput of the list routes (issue 18): starts `vpnmarket` on a fresh database with one simulated
# Marzban panel, creates a traffic reseller and N configs through the API (timed: the panel's rate
# limit decides it), then runs wrk on loopback against the reseller's configs page (session cookie),
# `GET /api/v1/configs` (bearer token) and /healthz, RUNS times each, printing the load average
# before every run and the median. Figures go to docs/performance.md.
#   scripts/wrk-lists.sh                                     # SQLite in a temporary directory
#   DB=postgres://postgres@127.0.0.1/vpnmarket_bench scripts/wrk-lists.sh   # that database, recreated
# BIN (default target/release/vpnmarket, else target/debug), SIM (panel-sim binary), CONFIGS (50),
# RUNS (3), WRK_ARGS ("-t2 -c16 -d10s").
set -euo pipefail
cd "$(dirname "$0")/.."
target="${CARGO_TARGET_DIR:-target}"
BIN="${BIN:-$([ -x "$target/release/vpnmarket" ] && echo "$target/release/vpnmarket" || echo "$target/debug/vpnmarket")}"
SIM="${SIM:-$([ -x "$target/release/panel-sim" ] && echo "$target/release/panel-sim" || echo "$target/debug/panel-sim")}"
CONFIGS="${CONFIGS:-50}"
RUNS="${RUNS:-3}"
WRK_ARGS="${WRK_ARGS:--t2 -c16 -d10s}"
DB="${DB:-}"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
port="$(free_port)"
sim_port="$(free_port)"
dir="$(mktemp -d)"
if [ -n "$DB" ]; then
    name="${DB##*/}"
    PGOPTIONS=--client-min-messages=warning psql "${DB%/*}/postgres" -qc "DROP DATABASE IF EXISTS $name" -c "CREATE DATABASE $name" >/dev/null
    export VPNMARKET_DATABASE_URL="$DB"
fi
"$SIM" --kind marzban --listen "127.0.0.1:$sim_port" >"$dir/sim.txt" 2>&1 &
sim=$!
VPNMARKET_DATA_DIR="$dir/data" VPNMARKET_LISTEN="127.0.0.1:$port" VPNMARKET_JOBS=manual VPNMARKET_LOG=warn \
    VPNMARKET_ADMIN_USERNAME=admin VPNMARKET_ADMIN_PASSWORD=bench-admin-pass \
    "$BIN" serve >"$dir/out.txt" 2>"$dir/server.log" &
server=$!
trap 'kill $server $sim 2>/dev/null || true; wait $server $sim 2>/dev/null || true' EXIT
base="http://127.0.0.1:$port"
for _ in $(seq 1 120); do
    curl -fsS "$base/healthz" >/dev/null 2>&1 && break
    sleep 0.25
done

json() { python3 -c "import sys, json; print(json.load(sys.stdin)$1)"; }
token() {
    curl -fsS -X POST "$base/api/v1/auth/token" -H 'content-type: application/json' \
        -d "{\"username\":\"$1\",\"password\":\"$2\"}" | json '["token"]'
}
admin="$(token admin bench-admin-pass)"
post() { curl -fsS -X POST "$base/api/v1/$2" -H "Authorization: Bearer $1" -H 'content-type: application/json' -d "$3"; }
panel="$(post "$admin" panels "{\"name\":\"sim\",\"kind\":\"marzban\",\"base_url\":\"http://127.0.0.1:$sim_port\",\"username\":\"admin\",\"password\":\"admin-pass\",\"settings\":{}}" | json '["id"]')"
post "$admin" resellers "{\"username\":\"shop\",\"password\":\"bench-shop-pass\",\"kind\":\"traffic\",\"panel_id\":$panel,\"traffic_quota_bytes\":1099511627776000,\"window_days\":365}" >/dev/null
shop="$(token shop bench-shop-pass)"
t0="$(date +%s.%N)"
for i in $(seq 1 "$CONFIGS"); do
    post "$shop" configs '{"traffic_limit_bytes":10737418240,"expires_in_days":30}' >/dev/null
done
t1="$(date +%s.%N)"
listed="$(curl -fsS "$base/api/v1/configs?per_page=$CONFIGS" -H "Authorization: Bearer $shop" | python3 -c 'import sys, json; d=json.load(sys.stdin); print(len(d["items"]) if isinstance(d, dict) else len(d))')"
echo "database: ${DB:-sqlite ($dir/data)}; binary: $BIN"
python3 -c "print(f'created $CONFIGS configs one after another through the API in {$t1-$t0:.1f} s; the API lists $listed')"

# The reseller's session: the sign-in form with its CSRF token.
jar="$dir/cookies"
csrf="$(curl -fsS -c "$jar" "$base/login" | grep -o 'name="_csrf" value="[^"]*"' | sed 's/.*value="//;s/"$//')"
curl -fsS -b "$jar" -c "$jar" -o /dev/null -X POST "$base/login" \
    --data-urlencode "_csrf=$csrf" --data-urlencode next=/ --data-urlencode username=shop --data-urlencode password=bench-shop-pass
cookie="$(awk '!/^#/ || /^#HttpOnly_/ {sub(/^#HttpOnly_/, ""); if (NF >= 7) printf "%s=%s; ", $6, $7}' "$jar")"
rows="$(curl -fsS -H "Cookie: $cookie" "$base/configs?per_page=$CONFIGS" | grep -c '<tr' || true)"
echo "configs page: $rows table rows"

bench() { # label, path, header
    local rates=() p99s=()
    for r in $(seq 1 "$RUNS"); do
        local load out
        load="$(cut -d' ' -f1-3 /proc/loadavg)"
        # shellcheck disable=SC2086
        out="$(wrk $WRK_ARGS --latency -H "$3" "$base$2")"
        if grep -q 'Non-2xx' <<<"$out"; then
            echo "$out"
            echo "non-2xx answers on $2" >&2
            exit 1
        fi
        local rate p99
        rate="$(awk '/Requests\/sec/ {print $2}' <<<"$out")"
        p99="$(awk '$1 == "99%" {print $2}' <<<"$out")"
        echo "  $1 run $r: $rate req/s, p99 $p99 (load average before: $load)"
        rates+=("$rate")
        p99s+=("$p99")
    done
    python3 - "$1" "${rates[@]}" "--" "${p99s[@]}" <<'EOF'
import sys, statistics
label, rest = sys.argv[1], sys.argv[2:]
cut = rest.index("--")
def ms(v):
    for unit, f in (("ms", 1.0), ("us", 0.001), ("s", 1000.0)):
        if v.endswith(unit):
            return float(v[: -len(unit)]) * f
    return float(v)
rates = [float(x) for x in rest[:cut]]
p99 = [ms(x) for x in rest[cut + 1:]]
print(f"MEDIAN {label}: {statistics.median(rates):.0f} req/s, p99 {statistics.median(p99):.2f} ms")
EOF
}
bench "configs page /configs?per_page=$CONFIGS" "/configs?per_page=$CONFIGS" "Cookie: $cookie"
bench "API GET /api/v1/configs?per_page=$CONFIGS" "/api/v1/configs?per_page=$CONFIGS" "Authorization: Bearer $shop"
bench "/healthz" "/healthz" "X-Bench: 1"
echo "server RSS after the runs: $(awk '/VmRSS/ {print $2, $3}' "/proc/$server/status")"
if grep -q ' 5[0-9][0-9] \|status=5\|ERROR' "$dir/server.log"; then
    echo "the server logged errors:" >&2
    tail -n 20 "$dir/server.log" >&2
fi
