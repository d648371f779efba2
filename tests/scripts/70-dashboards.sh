#!/usr/bin/env bash
# Checks the Grafana dashboards and the Prometheus rules:
#  1. rules: promtool check rules, the runbook/test-coverage check, and
#     promtool test rules on the shipped test files; the PrometheusRule and
#     the dashboards are up to date with their sources;
#  2. each dashboard type-checks against @grafana/schema (tsc --strict);
#  3. the proof: Debian's prometheus scrapes the release hostwatch on this
#     machine every second with our rules loaded, and every dashboard query
#     and rule expression runs through its HTTP API (tests/scripts/lib/prove_dashboards.py).
#     The agent runs with exactly the arguments of the DaemonSet that
#     `kubectl kustomize deploy/kubernetes` renders, its host paths mapped
#     to this machine's, its Kubernetes access control served by a stand-in
#     API server and Prometheus scraping with a token it allows: every panel must have data from it, except panels of
#     hardware this machine lacks (the proof's ABSENT list says which and
#     why) and those of the dashboards' optional rows (Workloads, Optional
#     collectors), which a second agent with the collectors they name also
#     on must fill.
# Servers listen on 127.0.0.1 only; every step is bounded in time and both
# servers are stopped however the script ends.
set -euo pipefail
cd "$(dirname "$0")/../.."

rules=deploy/prometheus/rules
checks=tests/dashboards
work=$(mktemp -d)
prom_pid=""
exporter_pid=""

# shellcheck source=tests/scripts/lib/deps.sh
source tests/scripts/lib/deps.sh
# shellcheck source=tests/scripts/lib/agent.sh
source tests/scripts/lib/agent.sh
# shellcheck source=tests/scripts/lib/kube_api.sh
source tests/scripts/lib/kube_api.sh

cleanup() {
    terminate "$prom_pid"
    kill_all_agents
    terminate "$kube_api_pid"
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
for tool in promtool prometheus prometheus-node-exporter npm node curl openssl; do
    command -v "$tool" >/dev/null || fail "$tool missing: run scripts/install-test-deps"
done
require_binary
ensure_kubectl
ensure_python_tools

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

echo "-- proof: every query against Prometheus scraping hostwatch as deployed"
timeout 60 kubectl kustomize deploy/kubernetes >"$work/rendered.yaml"
# The container's arguments, its hostPath mounts (/host/proc, /host/sys,
# /host/root) mapped back to this machine's paths; the listen address is
# start_agent's, on loopback.
mapfile -t daemonset_args < <("$python" tests/scripts/lib/manifests.py host-args "$work/rendered.yaml")
[ "${#daemonset_args[@]}" -gt 0 ] || fail "no arguments in the rendered DaemonSet"
echo "the DaemonSet's arguments, as run here:"
printf '  %s\n' "${daemonset_args[@]}"
# The DaemonSet turns on --web.auth.kubernetes: the agents review tokens
# with a stand-in API server (its kubeconfig in place of the pod's
# environment) and Prometheus scrapes over https with a token it allows, as
# the shipped ServiceMonitor and scrape job do.
start_kube_api
daemonset_args+=(--web.auth.kubernetes.kubeconfig="$kube_api_kubeconfig")
export AGENT_SCHEME=https
start_agent hostwatch "${daemonset_args[@]}"
# The collectors of the dashboards' optional rows (off in the DaemonSet), on
# top of the same arguments. systemd is asked for even without a system bus:
# it then reports failure, and the proof's ABSENT list explains its panels.
# cgroupstats reads this machine's cgroup v2 hierarchy; the panels about
# Kubernetes (kubepods, kubelet) are explained by ABSENT here too.
optional_flags=(--collector.interrupts --collector.systemd --collector.cgroupstats)
start_agent hostwatch-optional "${daemonset_args[@]}" "${optional_flags[@]}"

# node_exporter's metric names on this machine, with the same collectors:
# the proof excuses a metric of a collector hostwatch lacks only if
# node_exporter has it, so a misspelt name is never excused.
collector_flags=()
for arg in "${daemonset_args[@]}" "${optional_flags[@]}"; do
    # cgroupstats is hostwatch's own: node_exporter would refuse its flag.
    [ "$arg" = --collector.cgroupstats ] && continue
    if [[ "$arg" =~ ^--(no-)?collector\.[a-z_]+$ ]]; then collector_flags+=("$arg"); fi
done
exporter_port=$(free_port)
prometheus-node-exporter --web.listen-address="127.0.0.1:$exporter_port" "${collector_flags[@]}" \
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
  - $PWD/$rules/hostwatch-workloads.yaml
scrape_configs:
  - job_name: hostwatch
    scheme: https
    tls_config: {insecure_skip_verify: true}
    authorization: {credentials_file: $kube_api_scraper_token}
    static_configs:
      - targets: ["127.0.0.1:${agent_ports[hostwatch]}"]
  - job_name: hostwatch-optional
    scheme: https
    tls_config: {insecure_skip_verify: true}
    authorization: {credentials_file: $kube_api_scraper_token}
    static_configs:
      - targets: ["127.0.0.1:${agent_ports[hostwatch-optional]}"]
CONFIG
prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/data" \
    --web.listen-address="127.0.0.1:$prom_port" --enable-feature=extra-scrape-metrics \
    --log.level=warn 2>"$work/prometheus.log" &
prom_pid=$!
curl --silent --fail --max-time 5 --retry 30 --retry-delay 1 --retry-connrefused \
    "http://127.0.0.1:$prom_port/-/ready" >/dev/null ||
    fail "prometheus not ready: $(tail -n 20 "$work/prometheus.log")"

timeout 300 python3 tests/scripts/lib/prove_dashboards.py --prometheus "http://127.0.0.1:$prom_port" \
    --job hostwatch --instance "127.0.0.1:${agent_ports[hostwatch]}" \
    --optional-job hostwatch-optional --optional-instance "127.0.0.1:${agent_ports[hostwatch-optional]}" \
    --reference "$work/reference.txt" \
    --procfs /proc --sysfs /sys --rootfs / dashboards/*.json ||
    fail "the proof failed (summary above)"
