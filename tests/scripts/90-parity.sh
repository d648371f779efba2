#!/usr/bin/env bash
# Side by side with node_exporter: starts Debian's prometheus-node-exporter
# and the release hostwatch on loopback, both on this machine's real /proc,
# /sys and /, with the same collectors enabled (every collector hostwatch
# has that node_exporter knows), and runs tests/scripts/lib/parity.py on them: every
# series node_exporter emits for a collector both run must be in hostwatch
# with the same labels, steady gauges must agree and counters must be
# bracketed. A collector hostwatch gains is covered without change here.
# Every wait is bounded, and both agents are stopped however the script ends.
set -euo pipefail
cd "$(dirname "$0")/../.."

work=$(mktemp -d)
# shellcheck source=tests/scripts/lib/agent.sh
source tests/scripts/lib/agent.sh

node_exporter=/usr/bin/prometheus-node-exporter
ne_pid=""

cleanup() {
    kill_all_agents
    terminate "$ne_pid"
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

require_binary
[ -x "$node_exporter" ] || fail "$node_exporter missing: run scripts/install-test-deps"

# The collectors each agent has, from its --help: "Enable the NAME collector".
collectors_of() {
    "$1" --help 2>&1 | grep -o 'Enable the [a-z0-9_]* collector' | awk '{ print $3 }' | sort -u
}
collectors_of "$binary" >"$work/hostwatch.collectors"
collectors_of "$node_exporter" >"$work/node_exporter.collectors"
[ -s "$work/hostwatch.collectors" ] || fail "no collector found in hostwatch --help"
[ -s "$work/node_exporter.collectors" ] || fail "no collector found in node_exporter --help"
mapfile -t common < <(comm -12 "$work/hostwatch.collectors" "$work/node_exporter.collectors")
[ "${#common[@]}" -gt 0 ] || fail "hostwatch and node_exporter share no collector"
enable=("${common[@]/#/--collector.}")

roots=(--path.procfs=/proc --path.sysfs=/sys --path.rootfs=/)
start_agent hostwatch "${roots[@]}" --web.disable-exporter-metrics \
    --collector.disable-defaults "${enable[@]}"

# node_exporter 1.5.0 logs its configured address, not a bound port: choose
# a free port first, and try again should another process take it meanwhile.
free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
ne_port=""
for _ in 1 2 3; do
    port=$(free_port)
    "$node_exporter" --web.listen-address="127.0.0.1:$port" "${roots[@]}" \
        --web.disable-exporter-metrics --collector.disable-defaults "${enable[@]}" \
        2>"$work/node_exporter.log" &
    ne_pid=$!
    if curl --silent --fail --max-time 5 --retry 20 --retry-delay 0 --retry-max-time 15 --retry-connrefused \
        "http://127.0.0.1:$port/" >/dev/null && kill -0 "$ne_pid" 2>/dev/null; then
        ne_port=$port
        break
    fi
    terminate "$ne_pid"
    ne_pid=""
done
[ -n "$ne_port" ] || fail "node_exporter did not start: $(tail -n 5 "$work/node_exporter.log")"

timeout 300 python3 tests/scripts/lib/parity.py "http://127.0.0.1:${agent_ports[hostwatch]}" \
    "http://127.0.0.1:$ne_port" || fail "hostwatch differs from node_exporter (see above)"
echo "ok: hostwatch matches node_exporter on every collector both run"
