#!/usr/bin/env bash
# Checks the Grafana dashboards and the Prometheus rules:
#  1. rules: promtool check rules, the runbook/test-coverage check, and
#     promtool test rules on the shipped test files; the PrometheusRule and
#     the dashboards are up to date with their sources;
#  2. each dashboard type-checks against @grafana/schema (tsc --strict);
#  3. the proof: Debian's prometheus scrapes the release hostwatch on this
#     machine every second with our rules loaded, and every dashboard query
#     and rule expression runs through its HTTP API (tests/scripts/lib/prove_dashboards.py).
# Servers listen on 127.0.0.1 only; every step is bounded in time and both
# servers are stopped however the script ends.
set -euo pipefail
cd "$(dirname "$0")/../.."

rules=deploy/prometheus/rules
checks=tests/dashboards
work=$(mktemp -d)
prom_pid=""
exporter_pid=""

# shellcheck source=tests/scripts/lib/agent.sh
source tests/scripts/lib/agent.sh

cleanup() {
    terminate "$prom_pid"
    kill_all_agents
    terminate "$exporter_pid"
    rm -rf "$work" "$checks/generated"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The rule tools need PyYAML: Debian's python3-yaml (scripts/install-test-deps)
# or the first python3 on PATH that has it.
python=python3
"$python" -c 'import yaml' 2>/dev/null || python=/usr/bin/python3
"$python" -c 'import yaml' 2>/dev/null || fail "no python3 with PyYAML: run scripts/install-test-deps"
for tool in promtool prometheus prometheus-node-exporter npm node curl; do
    command -v "$tool" >/dev/null || fail "$tool missing: run scripts/install-test-deps"
done
require_binary

echo "-- rules"
timeout 60 promtool check rules "$rules"/*.yaml
timeout 60 "$python" tests/scripts/lib/check_rules.py "$rules" docs/runbooks.md
# The shipped tests as users run them, annotations and all: from the
# repository root and from their own directory.
timeout 120 promtool test rules "$rules"/tests/*.yaml
(cd "$rules/tests" && timeout 120 promtool test rules ./*.yaml)
timeout 60 "$python" scripts/render-prometheusrule --check
timeout 60 "$python" scripts/render-dashboards --check

echo "-- dashboards against @grafana/schema"
if ! (cd "$checks" && timeout 60 npm ls --depth=0 >/dev/null 2>&1); then
    (cd "$checks" && timeout 300 npm ci --no-audit --no-fund --ignore-scripts) ||
        fail "npm ci in $checks failed"
fi
timeout 60 node "$checks/wrap.mjs" dashboards/*.json
timeout 300 "$checks/node_modules/.bin/tsc" -p "$checks/tsconfig.json" ||
    fail "dashboards do not type-check against @grafana/schema"
echo "ok: dashboards type-check (tsc --noEmit --strict)"

echo "-- proof: every query against Prometheus scraping hostwatch"
# Collectors the dashboards use beyond the defaults; systemd only where a
# system bus exists to ask.
agent_flags=(--collector.processes --collector.interrupts --collector.tcpstat)
if [ -S /run/systemd/private ] || [ -S /run/dbus/system_bus_socket ]; then
    agent_flags+=(--collector.systemd --collector.systemd.enable-restarts-metrics)
fi
start_agent hostwatch --path.procfs=/proc --path.sysfs=/sys --path.rootfs=/ "${agent_flags[@]}"

# A free loopback port: bind port 0, note it, release it.
free_port() {
    "$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# node_exporter's metric names on this machine, with the same collectors:
# the proof excuses a metric of a collector hostwatch lacks only if
# node_exporter has it, so a misspelt name is never excused.
exporter_port=$(free_port)
prometheus-node-exporter --web.listen-address="127.0.0.1:$exporter_port" "${agent_flags[@]}" \
    2>"$work/exporter.log" &
exporter_pid=$!
curl --silent --fail --max-time 30 --retry 30 --retry-delay 1 --retry-connrefused \
    "http://127.0.0.1:$exporter_port/metrics" >"$work/reference.txt" ||
    fail "node_exporter did not answer: $(tail -n 20 "$work/exporter.log")"
terminate "$exporter_pid"
exporter_pid=""

prom_port=$(free_port)
cat >"$work/prometheus.yml" <<CONFIG
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
rule_files:
  - $PWD/$rules/hostwatch-alerts.yaml
  - $PWD/$rules/hostwatch-recording.yaml
scrape_configs:
  - job_name: hostwatch
    static_configs:
      - targets: ["127.0.0.1:${agent_ports[hostwatch]}"]
CONFIG
prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/data" \
    --web.listen-address="127.0.0.1:$prom_port" --enable-feature=extra-scrape-metrics \
    --log.level=warn 2>"$work/prometheus.log" &
prom_pid=$!
curl --silent --fail --max-time 5 --retry 30 --retry-delay 1 --retry-connrefused \
    "http://127.0.0.1:$prom_port/-/ready" >/dev/null ||
    fail "prometheus not ready: $(tail -n 20 "$work/prometheus.log")"

timeout 300 python3 tests/scripts/lib/prove_dashboards.py --prometheus "http://127.0.0.1:$prom_port" \
    --job hostwatch --instance "127.0.0.1:${agent_ports[hostwatch]}" --reference "$work/reference.txt" \
    --procfs /proc --sysfs /sys --rootfs / dashboards/*.json ||
    fail "the proof failed (summary above)"
