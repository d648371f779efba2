#!/usr/bin/env bash
# The release binary on a mid-size synthetic host (scripts/synthetic-host:
# 64 CPUs, 52 interfaces, 40 reported mounts, 20 disks) with its default
# collectors: every one of them reports success, and the series that scale
# with the host come in exact numbers, one per CPU, interface, mount or disk
# (or per CPU and mode), with values taken from the tree's own files.
set -euo pipefail
cd "$(dirname "$0")/../.."

CPUS=64
VETHS=50
MOUNTS=40
DISKS=20
INTERFACES=$((VETHS + 2))
# Modes of node_cpu_seconds_total, and governors each CPU of the tree offers.
MODES="idle iowait irq nice softirq steal system user"
GOVERNORS=6
# The tree's CPUs are two threads per core, on one package.
CORES=$((CPUS / 2))

work=$(mktemp -d /tmp/hostwatch-synthetic.XXXXXX)
# shellcheck source=tests/scripts/lib/agent.sh
source tests/scripts/lib/agent.sh

cleanup() {
    kill_all_agents
    rm -rf "$work"
}
trap cleanup EXIT

require_binary
tree=$work/tree
scripts/synthetic-host --cpus "$CPUS" --veths "$VETHS" --mounts "$MOUNTS" --disks "$DISKS" "$tree"

start_agent synthetic --path.procfs="$tree/proc" --path.sysfs="$tree/sys" \
    --path.rootfs="$tree/root" --path.udev.data="$tree/udev" \
    --web.disable-exporter-metrics --collector.cpu.info
scrape synthetic >"$work/metrics.txt"
kill_agent synthetic
metrics=$work/metrics.txt

# count NAME: how many series of metric NAME the scrape holds.
count() {
    grep -c "^$1{" "$metrics" || true
}

expect_count() {
    local found
    found=$(count "$1")
    [ "$found" -eq "$2" ] || fail "$1: $found series, expected $2"
}

# label_values NAME LABEL: the values of LABEL over NAME's series, sorted,
# one per line.
label_values() {
    grep "^$1{" "$metrics" | sed -n "s/.*[{,]$2=\"\\([^\"]*\\)\".*/\\1/p" | sort
}

# expect_per_device DEVICES METRIC...: each METRIC has one series per
# device of DEVICES (sorted, one per line), and no other.
expect_per_device() {
    local devices=$1 metric
    shift
    for metric in "$@"; do
        expect_count "$metric" "$(wc -l <<<"$devices")"
        [ "$(label_values "$metric" device)" = "$devices" ] || fail "$metric: not one series per device"
    done
}

# expect_value SERIES VALUE: the sample of SERIES (name and labels exactly)
# equals VALUE as a number.
expect_value() {
    local got
    got=$(awk -v s="$1" '$1 == s { print $2 }' "$metrics")
    [ -n "$got" ] || fail "no sample $1"
    awk -v a="$got" -v b="$2" 'BEGIN { d = a - b; m = 1e-12 * (b < 0 ? -b : b) + 1e-9; exit !(d < m && -d < m) }' ||
        fail "$1 is $got, expected $2"
}

# Every default collector, and only those, reports success 1.
binary_help=$("$binary" --help | tr -s ' \n' ' ')
defaults=$(grep -o -- '--\[no-\]collector\.[a-z0-9_]* Enable the [a-z0-9_]* collector (default: enabled)' <<<"$binary_help" |
    awk '{ print $4 }' | sort)
[ -n "$defaults" ] || fail "no default collector found in --help"
reported=$(sed -n 's/^node_scrape_collector_success{collector="\([a-z0-9_]*\)"} 1$/\1/p' "$metrics" | sort)
if [ "$reported" != "$defaults" ]; then
    grep '^node_scrape_collector_success' "$metrics" | grep -v ' 1$' >&2 || true
    fail "collectors reporting success 1 differ from the default collectors: $(diff <(echo "$defaults") <(echo "$reported") | grep '^[<>]' | tr '\n' ' ')"
fi

# CPUs: one series per CPU (and mode), CPUs 0 to 63.
expect_count node_cpu_seconds_total $((CPUS * 8))
for mode in $MODES; do
    [ "$(grep -c "^node_cpu_seconds_total{cpu=\"[0-9]*\",mode=\"$mode\"}" "$metrics")" -eq "$CPUS" ] ||
        fail "node_cpu_seconds_total: not $CPUS series of mode $mode"
done
[ "$(label_values node_cpu_seconds_total mode | uniq | tr '\n' ' ')" = "$MODES " ] ||
    fail "node_cpu_seconds_total modes: $(label_values node_cpu_seconds_total mode | uniq | tr '\n' ' ')"
[ "$(label_values node_cpu_online cpu | sort -n | tr '\n' ' ')" = "$(seq -s ' ' 0 $((CPUS - 1))) " ] ||
    fail "node_cpu_online does not list CPUs 0 to $((CPUS - 1))"
expect_count node_cpu_guest_seconds_total $((CPUS * 2))
expect_count node_cpu_online "$CPUS"
expect_count node_cpu_info "$CPUS"
expect_count node_cpu_frequency_hertz "$CPUS"
expect_count node_cpu_scaling_frequency_hertz "$CPUS"
expect_count node_cpu_scaling_governor $((CPUS * GOVERNORS))
expect_count node_cpu_core_throttles_total "$CORES"
expect_count node_cpu_package_throttles_total 1
expect_count node_schedstat_running_seconds_total "$CPUS"
expect_count node_softnet_processed_total "$CPUS"
last=$((CPUS - 1))
idle_ticks=$(awk -v c="cpu$last" '$1 == c { print $5 }' "$tree/proc/stat")
expect_value "node_cpu_seconds_total{cpu=\"$last\",mode=\"idle\"}" "$(awk -v t="$idle_ticks" 'BEGIN { printf "%.2f", t / 100 }')"
expect_value "node_cpu_scaling_frequency_hertz{cpu=\"$last\"}" \
    "$(($(cat "$tree/sys/devices/system/cpu/cpu$last/cpufreq/scaling_cur_freq") * 1000))"

# Interfaces: lo, eth0 and the veths, in netdev and netclass alike.
interfaces=$(find "$tree/sys/class/net" -mindepth 1 -maxdepth 1 -type l -printf '%f\n' | sort)
[ "$(wc -l <<<"$interfaces")" -eq "$INTERFACES" ] || fail "the tree has not $INTERFACES interfaces"
expect_per_device "$interfaces" node_network_receive_bytes_total node_network_transmit_packets_total \
    node_network_up node_network_info node_network_mtu_bytes
# lo has no speed.
expect_count node_network_speed_bytes $((INTERFACES - 1))
veth=$(grep -m 1 '^veth' <<<"$interfaces")
expect_value "node_network_receive_bytes_total{device=\"$veth\"}" \
    "$(awk -v d="$veth:" '$1 == d { print $2 }' "$tree/proc/1/net/dev")"
expect_value "node_network_iface_id{device=\"$veth\"}" "$(cat "$tree/sys/class/net/$veth/ifindex")"

# Mounts: one series per reported mount, each statted without error.
for metric in node_filesystem_size_bytes node_filesystem_avail_bytes node_filesystem_device_error \
    node_filesystem_readonly node_filesystem_mount_info; do
    expect_count "$metric" "$MOUNTS"
done
[ "$(grep -c '^node_filesystem_device_error{.*} 0$' "$metrics")" -eq "$MOUNTS" ] ||
    fail "a mount of the tree reports a device error"
grep -q '^node_filesystem_size_bytes{device="/dev/vda1",device_error="",fstype="ext4",mountpoint="/"}' "$metrics" ||
    fail "no root filesystem"
grep -q 'mountpoint="/proc"\|mountpoint="/sys"\|mountpoint="/dev' "$metrics" &&
    fail "a mount the default filters drop is reported"

# Disks: vda to vdt, without vda's partitions.
disks=$(awk '$3 !~ /[0-9]$/ { print $3 }' "$tree/proc/diskstats" | sort)
[ "$(wc -l <<<"$disks")" -eq "$DISKS" ] || fail "the tree has not $DISKS disks"
expect_per_device "$disks" node_disk_reads_completed_total node_disk_written_bytes_total \
    node_disk_io_now node_disk_flush_requests_total node_disk_info
# Every disk but vda (partitioned) holds a filesystem.
expect_count node_disk_filesystem_info $((DISKS - 1))
disk=$(tail -n 1 <<<"$disks")
expect_value "node_disk_reads_completed_total{device=\"$disk\"}" \
    "$(awk -v d="$disk" '$3 == d { print $4 }' "$tree/proc/diskstats")"
grep -q "^node_disk_info{device=\"$disk\",.*path=\"pci-0000:00:" "$metrics" ||
    fail "node_disk_info of $disk lacks its udev path"

echo "ok: synthetic host of $CPUS CPUs, $INTERFACES interfaces, $MOUNTS mounts and $DISKS disks reported in full"
