#!/usr/bin/env bash
# Generated-request test of the JSON API: schemathesis (PyPI) reads the served OpenAPI document
# and sends generated requests to a running demo server (simulated panels only), as the admin and
# as a reseller. It fails on any 5xx and on any response that breaks the documented schema.
# A config change waits (bounded, 20 s) for its panel, which is rate-limited to 3 operations a
# second, so under this burst a response may take that long: the client waits 40 s.
# Panel create/update/test/choices are left out: their generated base URLs would make the server
# contact arbitrary hosts; Rust tests cover them against the simulator.
set -euo pipefail
cd "$(dirname "$0")/.."

BIN="${BIN:-${CARGO_TARGET_DIR:-target}/debug/vpnmarket}"
EXAMPLES="${FUZZ_EXAMPLES:-25}"
command -v schemathesis >/dev/null || python3 -m pip install -q schemathesis
[ -x "$BIN" ] || cargo build -q -p vpnmarket

port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
dir="$(mktemp -d)"
log="$dir/server.log"
VPNMARKET_LISTEN="127.0.0.1:$port" VPNMARKET_LOG=warn "$BIN" demo --dir "$dir/data" >"$dir/out.txt" 2>"$log" &
server=$!
trap 'kill $server 2>/dev/null || true; wait $server 2>/dev/null || true' EXIT
base="http://127.0.0.1:$port"
for _ in $(seq 1 120); do
    curl -fsS "$base/healthz" >/dev/null 2>&1 && break
    sleep 0.5
done
curl -fsS "$base/healthz" >/dev/null

token() {
    curl -fsS -X POST "$base/api/v1/auth/token" -H 'content-type: application/json' \
        -d "{\"username\":\"$1\",\"password\":\"demo-pass\"}" | python3 -c 'import sys, json; print(json.load(sys.stdin)["token"])'
}

total=0
for user in admin traffic-xui; do
    echo "== schemathesis as $user"
    out="$dir/schemathesis-$user.txt"
    set +e
    schemathesis run "$base/api/v1/openapi.json" \
        -H "Authorization: Bearer $(token "$user")" \
        --checks not_a_server_error,response_schema_conformance \
        --max-examples "$EXAMPLES" \
        --request-timeout 40 \
        --exclude-operation-id create_panel --exclude-operation-id update_panel \
        --exclude-operation-id test_panel --exclude-operation-id panel_choices \
        --seed 42 >"$out" 2>&1
    rc=$?
    set -e
    tail -n 25 "$out"
    if [ $rc -ne 0 ]; then
        echo "schemathesis found problems as $user (full report: $out)"
        grep -B2 -A12 "FAILURES\|ERRORS" "$out" | head -n 80 || true
        exit 1
    fi
    n="$(grep -Eo '[0-9]+ generated' "$out" | tail -n 1 | grep -Eo '[0-9]+' || echo 0)"
    total=$((total + n))
done
if grep -q ' 5[0-9][0-9] \|status=5' "$log"; then
    echo "the server logged a 5xx during the run:"
    grep ' 5[0-9][0-9] \|status=5' "$log" | head
    exit 1
fi
echo "generated requests: $total (no 5xx, no schema violation)"
[ "$total" -ge 1000 ] || { echo "fewer than 1000 generated requests"; exit 1; }
