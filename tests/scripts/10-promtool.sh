#!/usr/bin/env bash
# Checks the release binary's exposition with `promtool check metrics`, on
# this machine's real /proc and /sys and on the fixture tree, and that
# --help and --version work. Needs target/release/hostwatch (scripts/test
# builds it) and promtool (Debian's prometheus package, which
# scripts/install-test-deps installs). Every step is bounded in time, and the
# agent is stopped however the script ends.
set -euo pipefail
cd "$(dirname "$0")/../.."

work=$(mktemp -d)
# shellcheck source=tests/scripts/lib/agent.sh
source tests/scripts/lib/agent.sh

cleanup() {
    kill_all_agents
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The lint findings that node_exporter's own metric names trigger (it keeps the
# kernel's field names of /proc/meminfo and /proc/net/{netstat,snmp,snmp6}
# and the ZFS kstat names such as `max_completion_us`, and reports entropy in
# bits); hostwatch keeps those names, so these lines are expected. Anything
# else fails.
unexpected_findings() {
    grep -Ev \
        -e "^node_(memory|netstat)_[A-Za-z0-9_]+ metric names should be written in 'snake_case' not 'camelCase'$" \
        -e '^node_entropy_(available|pool_size)_bits use base unit "bytes" instead of "bits"$' \
        -e '^node_zfs_[a-z0-9_]+ metric names should not contain abbreviated units$' \
        "$1" || true
}

# Scrapes the running agent and runs promtool on the text format.
check_metrics() {
    local what=$1
    scrape agent >"$work/metrics.txt"
    grep -q '^node_scrape_collector_success{collector="loadavg"} 1$' "$work/metrics.txt" ||
        fail "$what: loadavg did not succeed"
    local status=0
    timeout 60 promtool check metrics <"$work/metrics.txt" >"$work/promtool.out" 2>&1 || status=$?
    local unexpected
    unexpected=$(unexpected_findings "$work/promtool.out")
    # promtool exits 3 when it only found lint problems.
    if [ -n "$unexpected" ] || { [ "$status" -ne 0 ] && [ "$status" -ne 3 ]; }; then
        echo "$unexpected" >&2
        fail "$what: promtool check metrics exited $status"
    fi
    local samples
    samples=$(grep -cv '^#' "$work/metrics.txt")
    echo "ok: $what: $samples samples pass promtool check metrics"
}

require_binary
command -v promtool >/dev/null || fail "promtool missing: run scripts/install-test-deps"

for flag in --help --version; do
    timeout 10 "$binary" "$flag" >/dev/null || fail "$binary $flag exited non-zero"
done
echo "ok: --help and --version exit 0"

start_agent agent --path.procfs=/proc --path.sysfs=/sys --path.rootfs=/
check_metrics "this machine"
stop_agent agent

start_agent agent --path.procfs=tests/fixtures/proc --path.sysfs=tests/fixtures/sys \
    --path.rootfs=tests/fixtures/root --path.udev.data=tests/fixtures/udev
check_metrics "fixture tree"
stop_agent agent
