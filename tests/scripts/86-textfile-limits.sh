#!/usr/bin/env bash
# Large textfiles against the release binary with the default collectors:
# - the largest file accepted (just under 4 MiB and 50,000 samples) is read
#   within a 10 s scrape deadline in both formats, and the agent's peak RSS
#   stays under MAX_PEAK_KIB, well within the DaemonSet's 128 MiB limit;
# - 49,000 families in one file are read within the deadline too (a check
#   per family that scanned the whole file made this take minutes);
# - once the file is gone, RSS comes back to within RSS_SLACK_KIB of what it
#   was before it came;
# - files beyond the limits are left out, the error metric set, and logged.
# Prints the figures.
set -euo pipefail
cd "$(dirname "$0")/../.."

MAX_PEAK_KIB=$((100 * 1024))
RSS_SLACK_KIB=$((12 * 1024))
TIMEOUT_HEADER="X-Prometheus-Scrape-Timeout-Seconds: 10"

work=$(mktemp -d /tmp/hostwatch-textfile.XXXXXX)
# shellcheck source=tests/scripts/lib/agent.sh
source tests/scripts/lib/agent.sh
require_binary

cleanup() {
    kill_all_agents
    rm -rf "$work"
}
trap cleanup EXIT

dir="$work/textfiles"
mkdir -p "$dir"

status_field() {
    awk -v f="$1:" '$1 == f { print $2 }' "/proc/${agent_pids[big]}/status"
}

# scrape_checked WHAT [CURL ARGS...]: a scrape within the deadline header,
# whose textfile collector succeeded; the body in $work/scrape.txt.
scrape_checked() {
    local what=$1
    shift
    curl --silent --show-error --fail --max-time 30 --compressed -H "$TIMEOUT_HEADER" "$@" \
        "http://127.0.0.1:${agent_ports[big]}/metrics" >"$work/scrape.txt" ||
        fail "$what: scrape failed"
    grep -q '^node_scrape_collector_success{collector="textfile"} 1' "$work/scrape.txt" ||
        fail "$what: the textfile collector did not finish within the deadline"
}

start_agent big --collector.textfile.directory="$dir" --web.enable-openmetrics
for _ in $(seq 20); do scrape_checked warm-up; done
rss_before=$(status_field VmRSS)

# Labelled series, some 80 bytes a line: 49,000 of them just under 4 MiB.
python3 - "$dir/labels.prom" <<'EOF'
import sys
with open(sys.argv[1], "w") as f:
    f.write("# HELP job_seconds Seconds a job ran.\n# TYPE job_seconds gauge\n")
    for i in range(49000):
        f.write(f'job_seconds{{job="job-{i}",instance="h-{i % 100}.example:9100",team="p-{i % 7}"}} {i * 1.5}\n')
EOF
for format in text openmetrics; do
    accept=()
    [ "$format" = openmetrics ] && accept=(-H 'Accept: application/openmetrics-text;version=1.0.0')
    for _ in 1 2 3; do scrape_checked "a 4 MiB textfile ($format)" "${accept[@]}"; done
done
series=$(grep -c '^job_seconds{' "$work/scrape.txt")
[ "$series" -eq 49000 ] || fail "$series series of the 4 MiB textfile, expected 49000"
peak=$(status_field VmHWM)
[ "$peak" -le "$MAX_PEAK_KIB" ] || fail "peak RSS ${peak} KiB over ${MAX_PEAK_KIB} KiB with a 4 MiB textfile"
echo "ok: a $(stat -c %s "$dir/labels.prom")-byte textfile of 49000 series read in both formats; peak RSS ${peak} KiB"

# 49,000 families of one series each.
rm "$dir/labels.prom"
python3 -c '
import sys
with open(sys.argv[1], "w") as f:
    for i in range(49000):
        f.write(f"family_{i} {i}\n")
' "$dir/families.prom"
scrape_checked "49000 families"
families=$(grep -c '^family_' "$work/scrape.txt")
[ "$families" -eq 49000 ] || fail "$families families read, expected 49000"
echo "ok: 49000 families in one file read within the deadline"

# Gone: the memory comes back.
rm "$dir/families.prom"
for _ in 1 2 3; do scrape_checked "after the files are gone"; done
rss_after=$(status_field VmRSS)
[ "$rss_after" -le $((rss_before + RSS_SLACK_KIB)) ] ||
    fail "RSS ${rss_after} KiB after the big textfiles are gone, ${rss_before} KiB before them"
echo "ok: RSS ${rss_before} KiB before the big textfiles, ${rss_after} KiB once they are gone"

# Beyond the limits: left out, the error metric set, the reason logged.
truncate -s $((4 * 1024 * 1024 + 1)) "$dir/huge.prom"
python3 -c '
import sys
with open(sys.argv[1], "w") as f:
    for i in range(60000):
        f.write(f"many_{i} 1\n")
' "$dir/many.prom"
printf 'small 1\n' >"$dir/small.prom"
scrape_checked "files beyond the limits"
grep -qx 'node_textfile_scrape_error 1' "$work/scrape.txt" || fail "the error metric is not set"
grep -qx 'small 1' "$work/scrape.txt" || fail "a small file next to them was not read"
grep -q '^many_' "$work/scrape.txt" && fail "a file of 60000 samples was read"
grep -q 'huge.prom: larger than 4 MiB, not read' "$work/big.log" || fail "the size limit was not logged"
grep -q 'many.prom: 60000 samples, more than the .* read from textfiles in one scrape' "$work/big.log" ||
    fail "the sample limit was not logged"
echo "ok: files beyond 4 MiB or 50000 samples are left out, with the error metric set and the reason logged"
