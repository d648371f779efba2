#!/usr/bin/env bash
# The ethtool collector against a real driver: creates a network namespace
# holding a veth pair, runs the release binary inside it (the SIOCETHTOOL
# ioctl answers for the agent's own namespace, and `ip netns exec` gives it
# that namespace's /sys) and checks node_ethtool_info, the veth statistics
# and link settings, the filter flags, and, where the ethtool tool is
# installed, that the statistics equal `ethtool -S`. Needs root (prints SKIP
# otherwise); every step is bounded in time, and the namespace and the agent
# are removed however the script ends.
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=tests/scripts/lib/deps.sh
source tests/scripts/lib/deps.sh
work=$(mktemp -d)
# shellcheck source=tests/scripts/lib/agent.sh
source tests/scripts/lib/agent.sh
# shellcheck source=tests/scripts/lib/netns.sh
source tests/scripts/lib/netns.sh

require_binary
if [ "$(id -u)" != 0 ]; then
    echo "SKIP: ethtool test: creating network namespaces needs root"
    exit 0
fi
ensure_apt iproute2 ethtool curl

ns=hwethtool$$
# Interface names stay within IFNAMSIZ (15 characters).
left=hwe$$a
right=hwe$$b
make_namespace "$ns"
in_ns ip link add "$left" type veth peer name "$right"
in_ns ip link set "$left" up
in_ns ip link set "$right" up

start_in_ns --collector.ethtool
scrape_in_ns
terminate "$agent_pid"
agent_pid=""

expect_line 'node_scrape_collector_success{collector="ethtool"} 1'
check_live_families ethtool "$work/metrics.txt"
for dev in "$left" "$right"; do
    grep -q "^node_ethtool_info{bus_info=\"\",device=\"$dev\",driver=\"veth\",expansion_rom_version=\"\",firmware_version=\"\",version=\"[^\"]*\"} 1$" \
        "$work/metrics.txt" || fail "no node_ethtool_info for $dev with driver veth"
    # veth reports a fixed 10 Gb/s full-duplex link without autonegotiation.
    expect_line "node_network_autonegotiate{device=\"$dev\"} 0"
    expect_line "node_network_autonegotiate_supported{device=\"$dev\"} 0"
done
# The loopback has no ethtool driver information or statistics.
grep -q 'device="lo"' "$work/metrics.txt" && fail "lo reported"
expect_line '# TYPE node_ethtool_peer_ifindex untyped'
expect_line '# HELP node_ethtool_peer_ifindex Network interface peer_ifindex'
right_index=$(in_ns cat "/sys/class/net/$right/ifindex")
left_index=$(in_ns cat "/sys/class/net/$left/ifindex")
[ "$(value_of "node_ethtool_peer_ifindex{device=\"$left\"}")" = "$right_index" ] ||
    fail "peer_ifindex of $left is not $right_index"
[ "$(value_of "node_ethtool_peer_ifindex{device=\"$right\"}")" = "$left_index" ] ||
    fail "peer_ifindex of $right is not $left_index"
grep -q "^node_ethtool_received_queue_0_xdp_packets{device=\"$left\"} [0-9]" "$work/metrics.txt" ||
    fail "no per-queue veth statistic (rx_queue_0_xdp_packets)"

# Every statistic `ethtool -S` prints, under its node_exporter name. veth's
# names are [a-z0-9_] and its counters stay still while nothing is sent.
if command -v ethtool >/dev/null 2>&1; then
    in_ns ethtool -S "$left" >"$work/ethtool-S.txt"
    count=0
    while read -r name value; do
        metric=$(echo "${name%:}" | tr '[:upper:]' '[:lower:]' |
            sed -E 's/(^|_)rx(_|$)/\1received\2/g; s/(^|_)tx(_|$)/\1transmitted\2/g')
        [ "$(value_of "node_ethtool_$metric{device=\"$left\"}")" = "$value" ] ||
            fail "node_ethtool_$metric{device=\"$left\"} is not $value (ethtool -S: $name $value)"
        count=$((count + 1))
    done < <(grep -E '^ +[A-Za-z0-9_]+: [0-9]+$' "$work/ethtool-S.txt")
    [ "$count" -gt 0 ] || fail "ethtool -S printed no statistics"
    reported=$(grep -c "^node_ethtool_[a-z0-9_]*{device=\"$left\"}" "$work/metrics.txt")
    [ "$reported" -eq "$count" ] || fail "$reported statistics reported, ethtool -S prints $count"
    driver_version=$(in_ns ethtool -i "$left" | sed -n 's/^version: //p')
    expect_line "node_ethtool_info{bus_info=\"\",device=\"$left\",driver=\"veth\",expansion_rom_version=\"\",firmware_version=\"\",version=\"$driver_version\"} 1"
fi

# The filters: devices by name, statistics by sanitised name.
start_in_ns --collector.ethtool "--collector.ethtool.device-exclude=^$right\$" \
    '--collector.ethtool.metrics-include=^peer_'
scrape_in_ns
expect_line 'node_scrape_collector_success{collector="ethtool"} 1'
grep -q "device=\"$right\"" "$work/metrics.txt" && fail "$right reported despite device-exclude"
expect_line "node_ethtool_peer_ifindex{device=\"$left\"} $right_index"
grep '^node_ethtool_' "$work/metrics.txt" | grep -v -e '^node_ethtool_peer_ifindex{' -e '^node_ethtool_info{' &&
    fail "statistics outside metrics-include reported"
grep -q "^node_ethtool_info{.*device=\"$left\"" "$work/metrics.txt" || fail "info filtered by metrics-include"

echo "ok: ethtool collector on a veth pair in namespace $ns"
