#!/usr/bin/env bash
# Checks the release binary's exposition with `promtool check metrics`, on
# this machine's real /proc and /sys and on the fixture tree, and that
# --help and --version work. Needs target/release/hostwatch (scripts/test
# builds it) and promtool (Debian's prometheus package, which
# scripts/install-test-deps installs). Every step is bounded in time, and the
# agent is stopped however the script ends.
set -euo pipefail
cd "$(dirname "$0")/../.."

binary=target/release/hostwatch
work=$(mktemp -d)
agent_pid=""
port=""

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

# Stops the agent if it runs: SIGTERM, then SIGKILL after 5 s.
kill_agent() {
    [ -n "$agent_pid" ] || return 0
    kill -TERM "$agent_pid" 2>/dev/null || true
    for _ in $(seq 50); do
        kill -0 "$agent_pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$agent_pid" 2>/dev/null || true
    wait "$agent_pid" 2>/dev/null || true
    agent_pid=""
}

cleanup() {
    kill_agent
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

# Starts the agent on a free loopback port with the given flags and waits
# (bounded) for its listen line and readiness.
start_agent() {
    "$binary" --web.listen-address=127.0.0.1:0 "$@" 2>"$work/agent.log" &
    agent_pid=$!
    port=""
    for _ in $(seq 100); do
        port=$(sed -n 's/.* listen=127\.0\.0\.1:\([0-9]*\).*/\1/p' "$work/agent.log" | head -n 1)
        [ -n "$port" ] && break
        kill -0 "$agent_pid" 2>/dev/null || fail "agent exited at start-up: $(cat "$work/agent.log")"
        sleep 0.1
    done
    [ -n "$port" ] || fail "no listen address logged within 10 s: $(cat "$work/agent.log")"
    curl --silent --fail --max-time 5 --retry 20 --retry-delay 0 --retry-connrefused \
        "http://127.0.0.1:$port/-/ready" >/dev/null || fail "agent not ready"
}

# Stops the agent with SIGTERM and checks it exits 0 within 5 s.
stop_agent() {
    kill -TERM "$agent_pid"
    for _ in $(seq 50); do
        kill -0 "$agent_pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -0 "$agent_pid" 2>/dev/null && fail "agent still running 5 s after SIGTERM"
    local status=0
    wait "$agent_pid" || status=$?
    agent_pid=""
    [ "$status" -eq 0 ] || fail "agent exited with $status after SIGTERM"
}

# Scrapes the running agent and runs promtool on the text format.
check_metrics() {
    local what=$1
    curl --silent --show-error --fail --max-time 30 \
        "http://127.0.0.1:$port/metrics" >"$work/metrics.txt" || fail "$what: scrape failed"
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

[ -x "$binary" ] || fail "$binary missing: run cargo build --release (scripts/test does)"
command -v promtool >/dev/null || fail "promtool missing: run scripts/install-test-deps"

for flag in --help --version; do
    timeout 10 "$binary" "$flag" >/dev/null || fail "$binary $flag exited non-zero"
done
echo "ok: --help and --version exit 0"

start_agent --path.procfs=/proc --path.sysfs=/sys --path.rootfs=/
check_metrics "this machine"
stop_agent

start_agent --path.procfs=tests/fixtures/proc --path.sysfs=tests/fixtures/sys \
    --path.rootfs=tests/fixtures/root --path.udev.data=tests/fixtures/udev
check_metrics "fixture tree"
stop_agent
