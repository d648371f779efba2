#!/usr/bin/env bash
# The Kubernetes manifests: renders the kustomize base and every overlay, and
# for each checks the wiring a node agent needs (lib/manifests.py), validates
# it strictly against the Kubernetes schemas of the oldest and newest versions
# supported, the ServiceMonitor against the prometheus-operator CRD schema,
# and runs checkov. Then starts the agent with the DaemonSet's own flags
# (Kubernetes access control against a stand-in API server) and scrapes it
# with the plain Prometheus job from deploy/prometheus/ and its token,
# checking the labels its relabelling gives.
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=tests/scripts/lib/deps.sh
source tests/scripts/lib/deps.sh

# The oldest Kubernetes the manifests support, and the newest that
# kubernetes-validate bundles schemas for.
K8S_VERSIONS=(1.30.0 1.37.0)

ensure_apt prometheus curl openssl
ensure_python_tools
ensure_kubectl
ensure_npm_tools

work=$(mktemp -d /tmp/hostwatch-k8s-test.XXXXXX)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$work"
}
trap cleanup EXIT

manifests() { "$VENV/bin/python" tests/scripts/lib/manifests.py "$@"; }

# validate DIR: schema-validates DIR/core.yaml and DIR/custom-resources.json.
validate() {
    local dir=$1 log
    for version in "${K8S_VERSIONS[@]}"; do
        log=$(timeout 120 "$VENV/bin/kubernetes-validate" --strict --quiet -k "$version" "$dir/core.yaml" 2>&1) || {
            echo "$log" >&2
            return 1
        }
        if grep -q "Couldn't find schema" <<<"$log"; then
            echo "$log" >&2
            return 1
        fi
    done
    timeout 60 node tests/scripts/lib/validate-custom-resources.mjs "$VENV/npm" "$dir/custom-resources.json" >/dev/null
}

run_checkov() {
    timeout 300 "$VENV/bin/checkov" --framework kubernetes --skip-download --compact --quiet -d "$1"
}

variants=(deploy/kubernetes deploy/kubernetes/overlays/*/)
for dir in "${variants[@]}"; do
    dir=${dir%/}
    echo "-- $dir"
    out="$work/${dir//\//_}"
    mkdir -p "$out/checkov"
    timeout 60 kubectl kustomize "$dir" > "$out/checkov/rendered.yaml"
    manifests split "$out/checkov/rendered.yaml" "$out"
    manifests check "$out/checkov/rendered.yaml"
    validate "$out"
    run_checkov "$out/checkov" >/dev/null || { run_checkov "$out/checkov" >&2; exit 1; }
    echo "rendered, valid for Kubernetes ${K8S_VERSIONS[*]}, checkov clean"
done

# The validators must be able to fail: each gets a broken copy of the base.
echo "-- the validators reject broken manifests"
base="$work/deploy_kubernetes"
broken="$work/broken"
mkdir -p "$broken/checkov"
sed 's/^      hostNetwork: true$/      hostNetwrok: true/' "$base/core.yaml" > "$broken/core.yaml"
cp "$base/custom-resources.json" "$broken/custom-resources.json"
if validate "$broken" 2>/dev/null; then echo "an unknown DaemonSet field passed" >&2; exit 1; fi
sed 's/"action": "replace"/"action": "rewrite"/' "$base/custom-resources.json" > "$broken/custom-resources.json"
cp "$base/core.yaml" "$broken/core.yaml"
if validate "$broken" 2>/dev/null; then echo "a ServiceMonitor with a bad action passed" >&2; exit 1; fi
sed 's/"for": "\([0-9]*\)m"/"for": "\1 minutes"/' "$base/custom-resources.json" > "$broken/custom-resources.json"
cmp -s "$base/custom-resources.json" "$broken/custom-resources.json" && { echo "no alert 'for' to break" >&2; exit 1; }
if validate "$broken" 2>/dev/null; then echo "a PrometheusRule with a bad duration passed" >&2; exit 1; fi
grep -v 'checkov.io/skip' "$base/checkov/rendered.yaml" > "$broken/checkov/rendered.yaml"
if run_checkov "$broken/checkov" >/dev/null 2>&1; then echo "checkov passed hostPID without its skip" >&2; exit 1; fi

# wait_for_port LOG PATTERN: the port that a process logging to LOG reports
# in its first line matching PATTERN (a sed expression capturing the port).
wait_for_port() {
    local port=""
    for _ in $(seq 100); do
        port=$(sed -n "$2" "$1" | head -1)
        [ -n "$port" ] && { echo "$port"; return 0; }
        sleep 0.1
    done
    echo "no port logged in $1:" >&2
    cat "$1" >&2
    return 1
}

echo "-- the agent starts with the DaemonSet's flags"
CARGO_BUILD_JOBS=${CARGO_BUILD_JOBS:-2} timeout 1200 cargo build --release --locked 2>/dev/null
# The DaemonSet's arguments with its host mounts mapped back to this
# machine's paths (/host/proc -> /proc, ...); the port one of loopback.
mapfile -t agent_args < <(manifests host-args "$base/checkov/rendered.yaml")
[ "${#agent_args[@]}" -gt 0 ] || { echo "no arguments in the rendered DaemonSet" >&2; exit 1; }
printf '%s\n' "${agent_args[@]}" | grep -qx -- --web.auth.kubernetes ||
    { echo "the base DaemonSet does not enable --web.auth.kubernetes" >&2; exit 1; }
# The pod would find the API server in its environment and its token
# mounted; here a stand-in API server (lib/kube_api.sh) and its kubeconfig
# take their place, and a token it allows plays Prometheus's.
# shellcheck source=tests/scripts/lib/agent.sh
source tests/scripts/lib/agent.sh
# shellcheck source=tests/scripts/lib/kube_api.sh
source tests/scripts/lib/kube_api.sh
start_kube_api
pids+=("$kube_api_pid")
# Created first: the agent creates its log only once it runs.
: >"$work/agent.log"
target/release/hostwatch "${agent_args[@]}" --web.auth.kubernetes.kubeconfig="$kube_api_kubeconfig" \
    --web.listen-address=127.0.0.1:0 2> "$work/agent.log" &
pids+=($!)
port=$(wait_for_port "$work/agent.log" 's/.*msg="Starting hostwatch".* listen=127\.0\.0\.1:\([0-9]*\).*/\1/p')
code=$(curl -sS --insecure --max-time 10 --output /dev/null --write-out '%{http_code}' \
    --retry 20 --retry-delay 0 --retry-connrefused "https://127.0.0.1:$port/metrics")
[ "$code" = 401 ] || { echo "/metrics without a token: $code, not 401" >&2; exit 1; }
# Read the whole body before matching: `grep -q` stopping early would break
# curl's pipe.
metrics=$(curl -fsS --insecure --max-time 10 -H "Authorization: Bearer $(cat "$kube_api_scraper_token")" \
    "https://127.0.0.1:$port/metrics")
grep -q '^node_load1 ' <<<"$metrics"

echo "-- the workloads overlay's agent runs the cgroupstats collector"
# Its arguments are the base's and --collector.cgroupstats: the collector
# must report (succeeding where the host has a cgroup v2 hierarchy).
mapfile -t workloads_args < <(manifests host-args "$work/deploy_kubernetes_overlays_workloads/checkov/rendered.yaml")
[[ " ${workloads_args[*]} " == *" --collector.cgroupstats "* ]] ||
    { echo "the workloads overlay does not pass --collector.cgroupstats" >&2; exit 1; }
: >"$work/workloads-agent.log"
target/release/hostwatch "${workloads_args[@]}" --web.auth.kubernetes.kubeconfig="$kube_api_kubeconfig" \
    --web.listen-address=127.0.0.1:0 2> "$work/workloads-agent.log" &
pids+=($!)
workloads_port=$(wait_for_port "$work/workloads-agent.log" 's/.*msg="Starting hostwatch".* listen=127\.0\.0\.1:\([0-9]*\).*/\1/p')
metrics=$(curl -fsS --insecure --max-time 10 --retry 20 --retry-delay 0 --retry-connrefused \
    -H "Authorization: Bearer $(cat "$kube_api_scraper_token")" "https://127.0.0.1:$workloads_port/metrics")
grep -q '^node_scrape_collector_success{collector="cgroupstats"} ' <<<"$metrics" ||
    { echo "cgroupstats does not report with the workloads overlay's arguments" >&2; exit 1; }

echo "-- the plain Prometheus job relabels as the ServiceMonitor does, over https with the token"
manifests static-job deploy/prometheus/scrape-job.yaml "$work/prometheus.yml" "127.0.0.1:$port" \
    "$kube_api_scraper_token"
promtool check config "$work/prometheus.yml" >/dev/null
prometheus_port=$(free_port)
prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/tsdb" \
    --web.listen-address="127.0.0.1:$prometheus_port" 2> "$work/prometheus.log" &
pids+=($!)
targets=""
for _ in $(seq 60); do
    targets=$(curl -fsS --max-time 2 "http://127.0.0.1:$prometheus_port/api/v1/targets" 2>/dev/null || true)
    grep -q '"health":"up"' <<<"$targets" && break
    sleep 0.5
done
"$VENV/bin/python" - "$targets" <<'PY'
import json, sys
data = json.loads(sys.argv[1] or "{}").get("data", {})
active, dropped = data.get("activeTargets", []), data.get("droppedTargets", [])
want = {"instance": "node-a", "job": "hostwatch", "namespace": "hostwatch", "service": "hostwatch",
        "pod": "hostwatch-x7k2p", "container": "hostwatch", "endpoint": "metrics"}
if len(active) != 1 or active[0]["labels"] != want or active[0]["health"] != "up" or len(dropped) != 1:
    sys.exit(f"unexpected targets: active {active}, dropped {len(dropped)}; wanted labels {want}")
PY
echo "kubernetes tests passed"
