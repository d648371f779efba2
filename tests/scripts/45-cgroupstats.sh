#!/usr/bin/env bash
# The cgroupstats collector on this machine's real cgroup v2 hierarchy:
# creates a cgroup of its own with a child, runs three busy loops in the
# child (more than two cores can serve, so that they wait for CPU), and
# checks the child's CPU seconds and CPU pressure, and the parent's
# descendants. Where the cpu controller can be enabled for the test's
# cgroup, also a CPU quota and its throttling; where the memory controller
# can, an OOM kill under a small memory.max. Needs root and a writable
# cgroup v2 hierarchy (prints SKIP otherwise, and SKIP for each part the
# machine's delegated controllers do not allow). The busy loops, the
# cgroups and the agent are removed however the script ends.
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=tests/scripts/lib/deps.sh
source tests/scripts/lib/deps.sh
work=$(mktemp -d)
# shellcheck source=tests/scripts/lib/agent.sh
source tests/scripts/lib/agent.sh

require_binary
if [ "$(id -u)" != 0 ]; then
    echo "SKIP: cgroupstats test: creating cgroups needs root"
    exit 0
fi
root=""
for candidate in /sys/fs/cgroup /sys/fs/cgroup/unified; do
    if [ -f "$candidate/cgroup.controllers" ]; then
        root=$candidate
        break
    fi
done
if [ -z "$root" ]; then
    echo "SKIP: cgroupstats test: no cgroup v2 hierarchy under /sys/fs/cgroup"
    exit 0
fi
ensure_apt curl

name=hwtest$$
parent="$root/$name"
child="$parent/busy"
busy_pids=()

cleanup() {
    for pid in "${busy_pids[@]}"; do
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    kill_agent cgroupstats 2>/dev/null || true
    for dir in "$child" "$parent/oom" "$parent"; do
        [ -d "$dir" ] && rmdir "$dir" 2>/dev/null || true
    done
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if ! mkdir "$parent" 2>/dev/null; then
    echo "SKIP: cgroupstats test: $root is not writable here"
    exit 0
fi
mkdir "$child"

# Enables controller $1 for the test's cgroups if the hierarchy lets it:
# in the root's (and so the parent's) subtree_control.
enable_controller() {
    grep -qw "$1" "$root/cgroup.controllers" || return 1
    echo "+$1" >"$root/cgroup.subtree_control" 2>/dev/null || return 1
    echo "+$1" >"$parent/cgroup.subtree_control" 2>/dev/null || return 1
}

throttling=no
if enable_controller cpu; then
    echo "20000 100000" >"$child/cpu.max"
    throttling=yes
else
    echo "SKIP: cgroupstats test: throttling: the cpu controller is not available in $root"
fi

# Three busy loops in the child for two seconds.
for _ in 1 2 3; do
    sh -c 'echo $$ >"$1/cgroup.procs" && exec sh -c "while :; do :; done"' sh "$child" &
    busy_pids+=($!)
done
sleep 2
for pid in "${busy_pids[@]}"; do
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
done
busy_pids=()

start_agent cgroupstats --collector.disable-defaults --collector.cgroupstats \
    "--collector.cgroupstats.cgroup-include=$name(/.*)?"
scrape cgroupstats >"$work/metrics.txt"

# The value of the sample whose name and labels are exactly $1.
value_of() {
    awk -v s="$1" '$1 == s { print $2 }' "$work/metrics.txt"
}
labels() {
    echo "{cgroup=\"$1\",container_id=\"\",qos_class=\"\",uid=\"\"}"
}
# at_least VALUE MINIMUM WHAT: fails unless VALUE is a number >= MINIMUM.
at_least() {
    awk -v v="$1" -v m="$2" 'BEGIN { exit !(v != "" && v + 0 >= m + 0) }' ||
        fail "$3: expected at least $2, found '${1}'"
}

grep -qxF 'node_scrape_collector_success{collector="cgroupstats"} 1' "$work/metrics.txt" ||
    fail "cgroupstats failed: $(grep collector= "$work/metrics.txt"; cat "$work/cgroupstats.log")"
cpu_user=$(value_of "node_cgroup_cpu_seconds_total{cgroup=\"$name/busy\",container_id=\"\",mode=\"user\",qos_class=\"\",uid=\"\"}")
cpu_system=$(value_of "node_cgroup_cpu_seconds_total{cgroup=\"$name/busy\",container_id=\"\",mode=\"system\",qos_class=\"\",uid=\"\"}")
at_least "$cpu_user" 0.3 "user CPU seconds of three busy loops for 2 s"
at_least "$cpu_system" 0 "system CPU seconds"
# printf, not print: awk would round to six significant digits.
kernel_user=$(awk '$1 == "user_usec" { printf "%.6f", $2 / 1e6 }' "$child/cpu.stat")
awk -v a="$cpu_user" -v b="$kernel_user" 'BEGIN { d = a - b; exit !(d < 1e-6 && d > -1e-6) }' ||
    fail "user CPU seconds $cpu_user, the kernel's cpu.stat says $kernel_user"
waiting=$(value_of "node_cgroup_pressure_cpu_waiting_seconds_total$(labels "$name/busy")")
if [ "$(nproc)" -lt 3 ]; then
    at_least "$waiting" 0.000001 "CPU pressure of three busy loops on $(nproc) CPUs"
else
    at_least "$waiting" 0 "CPU pressure"
fi
at_least "$(value_of "node_cgroup_descendants$(labels "$name")")" 1 "descendants of $name"
at_least "$(value_of "node_cgroup_cgroups")" 2 "cgroups reported"
echo "cgroupstats: $name/busy used ${cpu_user}s user CPU, waited ${waiting}s for CPU"

if [ "$throttling" = yes ]; then
    periods=$(value_of "node_cgroup_cpu_throttled_periods_total$(labels "$name/busy")")
    at_least "$periods" 1 "throttled periods under a 20% quota"
    quota=$(value_of "node_cgroup_cpu_quota_seconds$(labels "$name/busy")")
    [ "$quota" = 0.02 ] || fail "quota: expected 0.02, found '$quota'"
fi

if enable_controller memory; then
    mkdir "$parent/oom"
    echo 16777216 >"$parent/oom/memory.max"
    echo 0 >"$parent/oom/memory.swap.max" 2>/dev/null || true
    # A process that allocates past the limit is OOM-killed.
    sh -c 'echo $$ >"$1/cgroup.procs" && exec python3 -c "b = bytearray(64 << 20)"' sh "$parent/oom" ||
        true
    scrape cgroupstats >"$work/metrics.txt"
    at_least "$(value_of "node_cgroup_memory_events_total{cgroup=\"$name/oom\",container_id=\"\",event=\"oom_kill\",qos_class=\"\",uid=\"\"}")" 1 \
        "OOM kills under a 16 MiB memory.max"
    [ "$(value_of "node_cgroup_memory_max_bytes$(labels "$name/oom")")" = 1.6777216e+07 ] ||
        fail "memory.max of $name/oom not reported"
else
    echo "SKIP: cgroupstats test: OOM kill: the memory controller is not available in $root"
fi
echo "PASS: cgroupstats on $root"
