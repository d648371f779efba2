#!/usr/bin/env bash
# The qdisc collector against the kernel: creates a network namespace holding
# a veth pair whose one end has a tbf root qdisc, sends packets through it,
# runs the release binary inside the namespace (rtnetlink answers for the
# agent's own namespace) and checks node_exporter's node_qdisc_* families
# for that device and kind with packets and bytes counted, the filter flags,
# and that the values equal `tc -s qdisc`'s. Needs root (prints SKIP
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
    echo "SKIP: qdisc test: creating network namespaces needs root"
    exit 0
fi
ensure_apt iproute2 curl python3

ns=hwqdisc$$
# Interface names stay within IFNAMSIZ (15 characters).
left=hwq$$a
right=hwq$$b
make_namespace "$ns"
# No IPv6 on the new devices: their neighbour discovery would keep sending
# through the qdisc while the counts are compared.
in_ns sysctl -qw net.ipv6.conf.default.disable_ipv6=1
in_ns ip link add "$left" type veth peer name "$right"
in_ns ip link set "$left" up
in_ns ip link set "$right" up
in_ns tc qdisc add dev "$left" root tbf rate 100mbit burst 64kb latency 50ms
in_ns ip addr add 192.0.2.1/24 dev "$left"
# A neighbour that never answers: datagrams to it leave through the qdisc.
in_ns ip neigh add 192.0.2.2 lladdr 02:00:00:00:00:02 dev "$left"
in_ns python3 -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for _ in range(100):
    s.sendto(b"x" * 100, ("192.0.2.2", 9))
'

# The counts of the tbf as tc shows them.
tc_sent() {
    in_ns tc -s qdisc show dev "$left" | sed -n 's/^ *Sent \([0-9]*\) bytes \([0-9]*\) pkt.*/\1 \2/p' | head -n 1
}

start_in_ns --collector.qdisc
read -r bytes_before packets_before < <(tc_sent)
scrape_in_ns
read -r bytes_after packets_after < <(tc_sent)
terminate "$agent_pid"
agent_pid=""

expect_line 'node_scrape_collector_success{collector="qdisc"} 1'
check_live_families qdisc "$work/metrics.txt"
tbf="{device=\"$left\",kind=\"tbf\"}"
packets=$(value_of "node_qdisc_packets_total$tbf")
bytes=$(value_of "node_qdisc_bytes_total$tbf")
[ -n "$packets" ] || fail "no node_qdisc_packets_total for $left's tbf"
[ "$packets" -ge 100 ] || fail "$left's tbf sent $packets packets, expected at least 100"
[ "$bytes" -ge $((100 * 142)) ] || fail "$left's tbf sent $bytes bytes, expected at least 14200"
for family in drops_total requeues_total overlimits_total current_queue_length backlog; do
    [ -n "$(value_of "node_qdisc_$family$tbf")" ] || fail "no node_qdisc_$family for $left's tbf"
done
# The peer and the loopback keep the kernel's default for virtual devices.
expect_line "node_qdisc_packets_total{device=\"$right\",kind=\"noqueue\"} 0"
grep -q '^node_qdisc_packets_total{device="lo",kind="noqueue"} ' "$work/metrics.txt" ||
    fail "no node_qdisc_packets_total for lo"
# tc's counts from just before and just after the scrape bracket the agent's.
[ "$bytes_before" -le "$bytes" ] && [ "$bytes" -le "$bytes_after" ] ||
    fail "bytes $bytes, tc says $bytes_before before and $bytes_after after"
[ "$packets_before" -le "$packets" ] && [ "$packets" -le "$packets_after" ] ||
    fail "packets $packets, tc says $packets_before before and $packets_after after"

# The filters, and node_exporter's deprecated spelling of them.
start_in_ns --collector.qdisc "--collector.qdisc.device-exclude=^(lo|$right)\$"
scrape_in_ns
terminate "$agent_pid"
agent_pid=""
grep -q "device=\"$right\"" "$work/metrics.txt" && fail "$right reported despite device-exclude"
grep -q 'device="lo"' "$work/metrics.txt" && fail "lo reported despite device-exclude"
grep -q "^node_qdisc_packets_total$tbf [0-9]" "$work/metrics.txt" || fail "$left's tbf missing after device-exclude"

start_in_ns --collector.qdisc "--collector.qdisk.device-include=^$right\$"
scrape_in_ns
grep -q "device=\"$left\"" "$work/metrics.txt" && fail "$left reported outside qdisk.device-include"
expect_line "node_qdisc_packets_total{device=\"$right\",kind=\"noqueue\"} 0"
grep -q 'DEPRECATED' "$work/agent.log" || fail "no deprecation warning for --collector.qdisk.device-include"

echo "ok: qdisc collector on a veth pair with a tbf qdisc in namespace $ns"
