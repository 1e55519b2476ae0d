#!/usr/bin/env bash
# Start-up time and idle memory of `vpnmarket` with N configs (default 1,000,000) in a SQLite
# database (issue 18). A first start creates the schema, a panel and a reseller through the API;
# the configs go straight into the table (python3's sqlite3); then the server starts RUNS times
# (default 3): the time until /healthz answers, the "started in" figure it prints, and its
# resident memory after IDLE seconds (default 30) with the periodic jobs off (VPNMARKET_JOBS=manual).
# BIN (default target/release/vpnmarket, else target/debug), CONFIGS, RUNS, IDLE.
set -euo pipefail
cd "$(dirname "$0")/.."
target="${CARGO_TARGET_DIR:-target}"
BIN="${BIN:-$([ -x "$target/release/vpnmarket" ] && echo "$target/release/vpnmarket" || echo "$target/debug/vpnmarket")}"
CONFIGS="${CONFIGS:-1000000}"
RUNS="${RUNS:-3}"
IDLE="${IDLE:-30}"

port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
dir="$(mktemp -d)"
base="http://127.0.0.1:$port"
export VPNMARKET_DATA_DIR="$dir/data" VPNMARKET_LISTEN="127.0.0.1:$port" VPNMARKET_JOBS=manual \
    VPNMARKET_LOG=warn VPNMARKET_ADMIN_USERNAME=admin VPNMARKET_ADMIN_PASSWORD=bench-admin-pass
server=
trap '[ -n "$server" ] && kill $server 2>/dev/null; wait 2>/dev/null || true' EXIT
start() {
    "$BIN" serve >"$dir/out.txt" 2>"$dir/server.log" &
    server=$!
}
wait_healthy() {
    for _ in $(seq 1 3000); do
        curl -fsS "$base/healthz" >/dev/null 2>&1 && return 0
        sleep 0.01
    done
    echo "no answer from $base/healthz" >&2
    exit 1
}
stop() {
    kill "$server"
    wait "$server" || true
    server=
}

start
wait_healthy
json() { python3 -c "import sys, json; print(json.load(sys.stdin)$1)"; }
admin="$(curl -fsS -X POST "$base/api/v1/auth/token" -H 'content-type: application/json' \
    -d '{"username":"admin","password":"bench-admin-pass"}' | json '["token"]')"
post() { curl -fsS -X POST "$base/api/v1/$1" -H "Authorization: Bearer $admin" -H 'content-type: application/json' -d "$2"; }
panel="$(post panels '{"name":"sim","kind":"marzban","base_url":"http://127.0.0.1:9","username":"admin","password":"admin-pass","settings":{}}' | json '["id"]')"
reseller="$(post resellers "{\"username\":\"shop\",\"password\":\"bench-shop-pass\",\"kind\":\"traffic\",\"panel_id\":$panel,\"traffic_quota_bytes\":1099511627776000,\"window_days\":365}" | json '["id"]')"
stop

t="$(date +%s.%N)"
python3 - "$dir/data/vpnmarket.db" "$reseller" "$panel" "$CONFIGS" <<'EOF'
import sqlite3, sys, time
path, reseller, panel, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
db = sqlite3.connect(path)
now = int(time.time())
db.executemany(
    "INSERT INTO configs (reseller_id, panel_id, username, traffic_limit_bytes, status, remote_confirmed, created_at, updated_at) VALUES (?, ?, ?, ?, 'active', 1, ?, ?)",
    ((reseller, panel, f"shop_{i}", 10 << 30, now, now) for i in range(n)),
)
db.commit()
print(f"configs in the database: {db.execute('SELECT COUNT(*) FROM configs').fetchone()[0]}")
EOF
python3 -c "print(f'inserted in {$(date +%s.%N)-$t:.1f} s; database file {__import__(\"os\").path.getsize(\"$dir/data/vpnmarket.db\") / 2**20:.0f} MiB')"
echo "binary: $BIN"

for r in $(seq 1 "$RUNS"); do
    load="$(cut -d' ' -f1-3 /proc/loadavg)"
    t0="$(date +%s.%N)"
    start
    wait_healthy
    t1="$(date +%s.%N)"
    rss0="$(awk '/VmRSS/ {print $2}' "/proc/$server/status")"
    sleep "$IDLE"
    rss="$(awk '/VmRSS/ {print $2}' "/proc/$server/status")"
    hwm="$(awk '/VmHWM/ {print $2}' "/proc/$server/status")"
    started="$(grep -o 'started in [^)]*' "$dir/out.txt" || echo 'started in ?')"
    python3 -c "print(f'run $r: /healthz answered {$t1-$t0:.3f} s after exec ($started); RSS at first answer $((rss0 / 1024)) MiB, after ${IDLE} s idle $((rss / 1024)) MiB (peak $((hwm / 1024)) MiB); load average before: $load')"
    stop
done
