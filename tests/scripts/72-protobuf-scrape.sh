#!/usr/bin/env bash
# Debian's Prometheus scrapes the release binary on the fixture tree twice
# over: one server asking for protobuf first (native histograms on, as
# Prometheus does with them or with scrape_protocols preferring
# PrometheusProto), one with its default Accept header (text 0.0.4 from
# hostwatch, as from node_exporter). Both store the same series, with the
# same values wherever the host does not move between scrapes; a capture
# server checks that the first did ask for protobuf.
#
# One difference is Prometheus's own: from protobuf, Prometheus 2 writes the
# le and quantile labels of classic histograms and summaries as floats
# (le="300.0" where the text said le="300"), whatever the exporter;
# Prometheus 3 does so for every format. The comparison reads those labels
# as numbers and reports how many were written differently.
set -euo pipefail
cd "$(dirname "$0")/../.."

work=$(mktemp -d /tmp/hostwatch-protobuf.XXXXXX)
# shellcheck source=tests/scripts/lib/agent.sh
source tests/scripts/lib/agent.sh
declare -A prom_pids=()

cleanup() {
    local name
    for name in "${!prom_pids[@]}"; do terminate "${prom_pids[$name]}"; done
    terminate "${capture_pid:-}"
    kill_all_agents
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

for tool in prometheus curl python3; do
    command -v "$tool" >/dev/null || fail "$tool missing: run scripts/install-test-deps"
done
require_binary

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

start_agent hostwatch --path.procfs=tests/fixtures/proc --path.sysfs=tests/fixtures/sys \
    --path.rootfs=tests/fixtures/root --path.udev.data=tests/fixtures/udev \
    --collector.textfile.directory=tests/fixtures/textfile

# Answers every scrape with an empty text body and records its Accept header.
capture_port=$(free_port)
python3 - "$capture_port" "$work/accept.txt" <<'PY' &
import http.server, sys
port, out = int(sys.argv[1]), sys.argv[2]
class Capture(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        with open(out, "w") as f:
            f.write(self.headers.get("Accept", ""))
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.end_headers()
    def log_message(self, *args):
        pass
http.server.HTTPServer(("127.0.0.1", port), Capture).serve_forever()
PY
capture_pid=$!

# start_prometheus NAME FLAGS...: a Prometheus scraping hostwatch and the
# capture server every second; its port in prom_ports[NAME].
declare -A prom_ports=()
start_prometheus() {
    local name=$1
    shift
    local port
    port=$(free_port)
    mkdir -p "$work/$name"
    cat >"$work/$name/prometheus.yml" <<CONFIG
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: hostwatch
    static_configs:
      - targets: ["127.0.0.1:${agent_ports[hostwatch]}"]
  - job_name: capture
    static_configs:
      - targets: ["127.0.0.1:$capture_port"]
CONFIG
    prometheus --config.file="$work/$name/prometheus.yml" --storage.tsdb.path="$work/$name/data" \
        --web.listen-address="127.0.0.1:$port" --log.level=warn "$@" 2>"$work/$name/prometheus.log" &
    prom_pids[$name]=$!
    prom_ports[$name]=$port
    curl --silent --fail --max-time 5 --retry 30 --retry-delay 1 --retry-connrefused \
        "http://127.0.0.1:$port/-/ready" >/dev/null ||
        fail "prometheus $name not ready: $(tail -n 20 "$work/$name/prometheus.log")"
}

start_prometheus protobuf --enable-feature=native-histograms
for _ in $(seq 100); do [ -s "$work/accept.txt" ] && break; sleep 0.1; done
accept=$(cat "$work/accept.txt" 2>/dev/null || true)
case "$accept" in
application/vnd.google.protobuf\;proto=io.prometheus.client.MetricFamily\;encoding=delimited*) ;;
*) fail "the protobuf Prometheus asked for: ${accept:-nothing}" ;;
esac
: >"$work/accept.txt"
start_prometheus text
for _ in $(seq 100); do [ -s "$work/accept.txt" ] && break; sleep 0.1; done

python3 - "http://127.0.0.1:${prom_ports[protobuf]}" "http://127.0.0.1:${prom_ports[text]}" <<'PY'
import json, math, re, sys, time, urllib.parse, urllib.request

protobuf, text = sys.argv[1], sys.argv[2]
# Values that move between two scrapes a moment apart.
MOVING = re.compile(r"^(process_|scrape_|node_scrape_collector_duration_seconds$|node_time_seconds$"
                    r"|node_timex_|node_filesystem_(size|free|avail|files))")

def query(server, expr):
    url = f"{server}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    with urllib.request.urlopen(url, timeout=10) as r:
        return json.load(r)["data"]["result"]

bounds_as_stored = {protobuf: set(), text: set()}

def stored(server):
    series = {}
    for s in query(server, '{job="hostwatch"}'):
        labels = dict(s["metric"])
        for bound in ("le", "quantile"):
            if bound in labels:
                bounds_as_stored[server].add(labels[bound])
                labels[bound] = float(labels[bound])
        key = tuple(sorted(labels.items()))
        series[key] = float(s["value"][1])
    return series

deadline = time.time() + 60
while True:
    ready = all(query(s, 'up{job="hostwatch"} == 1') for s in (protobuf, text))
    if ready:
        a, b = stored(protobuf), stored(text)
        if len(a) > 500 and set(a) == set(b):
            break
    if time.time() > deadline:
        a, b = stored(protobuf), stored(text)
        only_a = sorted(set(a) - set(b))[:10]
        only_b = sorted(set(b) - set(a))[:10]
        sys.exit(f"FAIL: stored series differ: {len(a)} by protobuf, {len(b)} by text; "
                 f"protobuf only {only_a}; text only {only_b}")
    time.sleep(1)

compared, differing = 0, []
for key, value in a.items():
    name = dict(key)["__name__"]
    if MOVING.match(name):
        continue
    other = b[key]
    compared += 1
    if not (value == other or (math.isnan(value) and math.isnan(other))):
        differing.append((dict(key), value, other))
if differing:
    sys.exit(f"FAIL: {len(differing)} values differ, e.g. {differing[:5]}")
kinds = {n for n in (dict(k)["__name__"] for k in a) if n.endswith(("_bucket", "_sum", "_count"))}
print(f"ok: {len(a)} series stored alike from protobuf and text scrapes; "
      f"{compared} values equal; {len(kinds)} bucket, sum and count names among them; "
      f"le/quantile labels stored from text as {sorted(bounds_as_stored[text] - bounds_as_stored[protobuf])}, "
      f"from protobuf as {sorted(bounds_as_stored[protobuf] - bounds_as_stored[text])}")
PY
