#!/usr/bin/env bash
# The systemd and logind collectors against a stand-in systemd and logind
# (tests/scripts/lib/fake_systemd.py) on a private dbus-daemon. systemd: every series and
# value over the system bus found
# through DBUS_SYSTEM_BUS_ADDRESS, through the host root's
# run/dbus/system_bus_socket, and through systemd's private socket; live
# updates between scrapes; reconnection after the bus restarts; a wedged
# systemd failing the collector within Prometheus's 1 s scrape timeout,
# scrape after scrape, with the agent's threads flat; recovery after it;
# and one clear error when the socket is missing.
# logind: the session counts over the host root's socket, live updates,
# reconnection, and the same clear error without a socket.
# Installs dbus-daemon, python3-dbus and python3-gi if needed. Every wait is
# bounded, and everything started is stopped however the script ends.
set -euo pipefail
cd "$(dirname "$0")/../.."

scripts/install-test-deps dbus-daemon python3-dbus python3-gi

work=$(mktemp -d)
# shellcheck source=tests/scripts/lib/agent.sh
source tests/scripts/lib/agent.sh

# The agents find the bus through this only where a step sets it.
unset DBUS_SYSTEM_BUS_ADDRESS
# Debian's python3, which has the python3-dbus and python3-gi modules.
python=/usr/bin/python3
root="$work/root"
socket="$root/run/dbus/system_bus_socket"
private="$root/run/systemd/private"
bus_pid=""
fake_pid=""

stop_systemd() {
    # The fake may have been stopped to wedge it.
    [ -z "$fake_pid" ] || kill -CONT "$fake_pid" 2>/dev/null || true
    terminate "$fake_pid"
    fake_pid=""
    terminate "$bus_pid"
    bus_pid=""
}

cleanup() {
    kill_all_agents
    stop_systemd
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A bus daemon on $socket, and the fake systemd on it (and on $private).
start_systemd() {
    mkdir -p "$(dirname "$socket")" "$(dirname "$private")"
    rm -f "$socket" "$private" "$work/fake.ready"
    cat >"$work/bus.conf" <<EOF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=$socket</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_destination="*"/>
    <allow receive_sender="*"/>
  </policy>
</busconfig>
EOF
    dbus-daemon --config-file="$work/bus.conf" --nofork --nopidfile 2>"$work/bus.log" &
    bus_pid=$!
    wait_until "$bus_pid" "$work/bus.log" test -S "$socket"
    "$python" tests/scripts/lib/fake_systemd.py --bus "unix:path=$socket" --private "$private" \
        --ready "$work/fake.ready" 2>"$work/fake.log" &
    fake_pid=$!
    wait_until "$fake_pid" "$work/fake.log" test -s "$work/fake.ready"
}

# check_series NAME WHAT EXPECTED_FILE: the agent's node_systemd_* samples
# are exactly those of EXPECTED_FILE, and the collector succeeded.
check_series() {
    local name=$1 what=$2 expected=$3
    scrape "$name" >"$work/$name.metrics"
    grep -qx 'node_scrape_collector_success{collector="systemd"} 1' "$work/$name.metrics" ||
        fail "$what: systemd collector failed: $(tail -n 5 "$work/$name.log")"
    grep '^node_systemd_' "$work/$name.metrics" | sort >"$work/$name.actual"
    sort "$expected" | diff -u - "$work/$name.actual" >&2 ||
        fail "$what: node_systemd_* series differ from $expected (- expected, + actual)"
    echo "ok: $what: $(wc -l <"$work/$name.actual") node_systemd_* samples as expected"
}

# The fake's units with the restart, start-time and task metrics enabled and
# the default unit filter: mounts, slices, scopes, devices and automounts
# are left out of the per-unit series, not-found units too; the summary
# counts every unit; "infinity" task values and properties an older systemd
# lacks give no series.
cat >"$work/full.txt" <<'EOF'
node_systemd_service_restart_total{name="broken.service"} 5
node_systemd_service_restart_total{name="cron.service"} 0
node_systemd_service_restart_total{name="reload.service"} 0
node_systemd_service_restart_total{name="ssh.service"} 2
node_systemd_socket_accepted_connections_total{name="dbus.socket"} 42
node_systemd_socket_accepted_connections_total{name="old.socket"} 7
node_systemd_socket_current_connections{name="dbus.socket"} 3
node_systemd_socket_current_connections{name="old.socket"} 0
node_systemd_socket_refused_connections_total{name="dbus.socket"} 1
node_systemd_system_running 0
node_systemd_timer_last_trigger_seconds{name="apt-daily.timer"} 1.7000002e+09
node_systemd_unit_start_time_seconds{name="apt-daily.timer"} 1.600000001e+09
node_systemd_unit_start_time_seconds{name="broken.service"} 0
node_systemd_unit_start_time_seconds{name="cron.service"} 1.7000001e+09
node_systemd_unit_start_time_seconds{name="dbus.socket"} 1.6e+09
node_systemd_unit_start_time_seconds{name="multi-user.target"} 1.600000002e+09
node_systemd_unit_start_time_seconds{name="old.service"} 1.7000003e+09
node_systemd_unit_start_time_seconds{name="old.socket"} 1.60000000025e+09
node_systemd_unit_start_time_seconds{name="reload.service"} 0
node_systemd_unit_start_time_seconds{name="ssh.service"} 1.7000000005e+09
node_systemd_unit_tasks_current{name="cron.service"} 1
node_systemd_unit_tasks_current{name="reload.service"} 2
node_systemd_unit_tasks_current{name="ssh.service"} 3
node_systemd_unit_tasks_max{name="broken.service"} 100
node_systemd_unit_tasks_max{name="reload.service"} 50
node_systemd_unit_tasks_max{name="ssh.service"} 4915
node_systemd_units{state="activating"} 0
node_systemd_units{state="active"} 12
node_systemd_units{state="deactivating"} 0
node_systemd_units{state="failed"} 1
node_systemd_units{state="inactive"} 1
node_systemd_units{state="reloading"} 1
node_systemd_version{version="252.22-1~deb12u1"} 252.22
node_systemd_virtualization_info{virtualization_type="kvm"} 1
EOF
# One series per unit and state, 1 for the unit's current state.
unit_states() {
    local unit type active state
    while read -r unit type active; do
        for state in active activating deactivating inactive failed; do
            [ "$state" = "$active" ] && value=1 || value=0
            echo "node_systemd_unit_state{name=\"$unit\",state=\"$state\",type=\"$type\"} $value"
        done
    done
}
unit_states >>"$work/full.txt" <<'EOF'
apt-daily.timer  - active
broken.service oneshot failed
cron.service simple active
dbus.socket  - active
multi-user.target - active
old.service forking active
old.socket - active
reload.service notify-reload reloading
ssh.service notify active
EOF
sed -i 's/type="-"/type=""/' "$work/full.txt"

help_lines() {
    grep -E '^# (HELP|TYPE) node_systemd_' "$1" | sort
}
cat >"$work/help.txt" <<'EOF'
# HELP node_systemd_service_restart_total Service unit count of Restart triggers
# HELP node_systemd_socket_accepted_connections_total Total number of accepted socket connections
# HELP node_systemd_socket_current_connections Current number of socket connections
# HELP node_systemd_socket_refused_connections_total Total number of refused socket connections
# HELP node_systemd_system_running Whether the system is operational (see 'systemctl is-system-running')
# HELP node_systemd_timer_last_trigger_seconds Seconds since epoch of last trigger.
# HELP node_systemd_unit_start_time_seconds Start time of the unit since unix epoch in seconds.
# HELP node_systemd_unit_state Systemd unit
# HELP node_systemd_unit_tasks_current Current number of tasks per Systemd unit
# HELP node_systemd_unit_tasks_max Maximum number of tasks per Systemd unit
# HELP node_systemd_units Summary of systemd unit states
# HELP node_systemd_version Detected systemd version
# HELP node_systemd_virtualization_info Detected virtualization technology
# TYPE node_systemd_service_restart_total counter
# TYPE node_systemd_socket_accepted_connections_total counter
# TYPE node_systemd_socket_current_connections gauge
# TYPE node_systemd_socket_refused_connections_total gauge
# TYPE node_systemd_system_running gauge
# TYPE node_systemd_timer_last_trigger_seconds gauge
# TYPE node_systemd_unit_start_time_seconds gauge
# TYPE node_systemd_unit_state gauge
# TYPE node_systemd_unit_tasks_current gauge
# TYPE node_systemd_unit_tasks_max gauge
# TYPE node_systemd_units gauge
# TYPE node_systemd_version gauge
# TYPE node_systemd_virtualization_info gauge
EOF

require_binary
command -v dbus-daemon >/dev/null || fail "dbus-daemon missing"
start_systemd

all_metrics=(--collector.systemd.enable-restarts-metrics --collector.systemd.enable-start-time-metrics
    --collector.systemd.enable-task-metrics)

# 1. The bus named by DBUS_SYSTEM_BUS_ADDRESS, every optional family.
DBUS_SYSTEM_BUS_ADDRESS="unix:path=$socket" start_agent env \
    --collector.disable-defaults --collector.systemd "${all_metrics[@]}" --scrape.timeout=20s
check_series env "DBUS_SYSTEM_BUS_ADDRESS" "$work/full.txt"
check_live_families systemd "$work/env.metrics"
help_lines "$work/env.metrics" | diff -u "$work/help.txt" - >&2 ||
    fail "HELP/TYPE lines differ (- expected, + actual)"
echo "ok: HELP and TYPE lines match node_exporter's"

# 2. Values are read live over the kept connection: cron.service fails.
kill -USR1 "$fake_pid"
sed -e 's/^\(node_systemd_unit_state{name="cron.service",state="active".*\) 1$/\1 0/' \
    -e 's/^\(node_systemd_unit_state{name="cron.service",state="failed".*\) 0$/\1 1/' \
    -e 's/^\(node_systemd_service_restart_total{name="cron.service"}\) 0$/\1 1/' \
    -e 's/^\(node_systemd_unit_start_time_seconds{name="cron.service"}\) .*/\1 0/' \
    -e 's/^\(node_systemd_units{state="active"}\) 12$/\1 11/' \
    -e 's/^\(node_systemd_units{state="failed"}\) 1$/\1 2/' \
    "$work/full.txt" >"$work/cron-failed.txt"
cmp -s "$work/full.txt" "$work/cron-failed.txt" && fail "the expected change was not made"
check_series env "after cron.service failed" "$work/cron-failed.txt"

# 3. The bus and systemd restart: the first scrape after reconnects.
stop_systemd
start_systemd
check_series env "after the bus restarted" "$work/full.txt"

# 4. A wedged systemd: every call is bounded, so the collector fails on its
# own well within the scrape deadline (20 s, more than the two 5 s call
# timeouts of a try and its retry) instead of hanging, and it recovers once
# systemd answers again.
kill -STOP "$fake_pid"
scrape env >"$work/wedged.metrics"
grep -qx 'node_scrape_collector_success{collector="systemd"} 0' "$work/wedged.metrics" ||
    fail "a stopped systemd was reported as success"
grep 'level=WARN' "$work/env.log" | grep 'collector=systemd' | grep -q 'timed out' ||
    fail "no D-Bus timeout logged while systemd was stopped: $(tail -n 5 "$work/env.log")"
grep -q 'past the scrape deadline' "$work/env.log" &&
    fail "the collector hung until the scrape deadline: $(tail -n 5 "$work/env.log")"
# Under Prometheus's 1 s timeout every scrape answers within it, the
# collector failed, and no thread is left behind by the reads cut short.
agent_threads() { awk '/^Threads:/ {print $2}' "/proc/${agent_pids[env]}/status"; }
scrape_in_1s() {
    curl --silent --show-error --fail --max-time 5 -H 'X-Prometheus-Scrape-Timeout-Seconds: 1' \
        -o "$work/wedged-1s.metrics" -w '%{time_total}' \
        "http://127.0.0.1:${agent_ports[env]}/metrics" || fail "scraping the agent failed"
}
scrape_in_1s >/dev/null
threads_wedged=$(agent_threads)
slowest=0
for i in $(seq 10); do
    took=$(scrape_in_1s)
    awk -v t="$took" 'BEGIN { exit !(t < 1) }' ||
        fail "scrape $i with a wedged systemd took ${took}s, over Prometheus's 1 s timeout"
    grep -qx 'node_scrape_collector_success{collector="systemd"} 0' "$work/wedged-1s.metrics" ||
        fail "scrape $i: a stopped systemd was not reported failed"
    awk -v a="$slowest" -v b="$took" 'BEGIN { exit !(a < b) }' && slowest=$took
done
threads_after=$(agent_threads)
[ "$threads_after" -le "$threads_wedged" ] ||
    fail "threads grew from $threads_wedged to $threads_after over 10 scrapes of a wedged systemd"
grep -q 'past the scrape deadline' "$work/env.log" &&
    fail "the collector ran past the 1 s scrape deadline: $(tail -n 5 "$work/env.log")"
echo "ok: with a wedged systemd, 10 scrapes under a 1 s timeout took at most ${slowest}s; threads ${threads_wedged} -> ${threads_after}"
kill -CONT "$fake_pid"
check_series env "after systemd answered again" "$work/full.txt"
echo "ok: a wedged systemd times out and the collector recovers"
stop_agent env

# 5. No DBUS_SYSTEM_BUS_ADDRESS: the socket under --path.rootfs; the unit
# filter flags; optional families off by default.
grep -v -e 'name="cron.service"' -e 'name="ssh.service"' -e 'name="multi-user.target"' \
    -e 'name="dbus.socket"' -e 'name="old.socket"' -e '^node_systemd_unit_start_time_seconds' \
    -e '^node_systemd_unit_tasks_' -e '^node_systemd_service_restart_total' \
    "$work/full.txt" >"$work/filtered.txt"
start_agent rootfs --path.rootfs="$root" --collector.disable-defaults --collector.systemd \
    '--collector.systemd.unit-include=.+\.(service|timer|target)' \
    '--collector.systemd.unit-exclude=(cron|ssh)\.service|multi-user\.target'
check_series rootfs "--path.rootfs with unit filters" "$work/filtered.txt"
stop_agent rootfs

# 6. --collector.systemd.private: systemd's own socket under --path.rootfs.
start_agent private --path.rootfs="$root" --collector.disable-defaults --collector.systemd \
    --collector.systemd.private "${all_metrics[@]}"
check_series private "--collector.systemd.private" "$work/full.txt"
stop_agent private

# check_missing_socket COLLECTOR: without a socket under --path.rootfs the
# collector fails, with one warning naming the socket and what to mount,
# however many scrapes: the start-up summary of failing collectors, or the
# collector's own should a scrape come first.
check_missing_socket() {
    local collector=$1 name="$1-missing"
    start_agent "$name" --path.rootfs="$work/empty" --collector.disable-defaults "--collector.$collector"
    for _ in 1 2 3; do
        scrape "$name" >"$work/$name.metrics"
        grep -qx "node_scrape_collector_success{collector=\"$collector\"} 0" "$work/$name.metrics" ||
            fail "$collector: a missing socket was reported as success"
    done
    local warnings
    warnings=$(grep 'level=WARN' "$work/$name.log" |
        grep -c -e "collector=$collector" -e "$collector: cannot connect" || true)
    [ "$warnings" -eq 1 ] || fail "$collector: expected one warning, got $warnings: $(cat "$work/$name.log")"
    grep 'level=WARN' "$work/$name.log" | grep -F "$work/empty/run/dbus/system_bus_socket" |
        grep -q "mount the host's /run/dbus/system_bus_socket" ||
        fail "$collector: the warning names neither the socket nor the mount: $(cat "$work/$name.log")"
    stop_agent "$name"
    echo "ok: $collector: a missing socket is one clear warning"
}

# 7. No socket: one clear warning.
check_missing_socket systemd

# logind_sessions SSH_SESSIONS: the node_logind_sessions samples expected of
# the fake's sessions with SSH_SESSIONS remote tty sessions: every seat
# (seat0 and the empty one) x remote x known type x known class, zero but
# for the fake's sessions; unknown types and classes count as "other", and
# the session on an unlisted seat and the one without an object not at all.
logind_sessions() {
    local ssh=$1 remote type class seat value
    for remote in true false; do
        for type in other unspecified tty x11 wayland mir web; do
            for class in other user greeter lock-screen background; do
                for seat in seat0 ""; do
                    case "$seat/$remote/$type/$class" in
                    seat0/false/wayland/user | seat0/false/x11/greeter) value=1 ;;
                    /false/unspecified/other | /false/other/background) value=1 ;;
                    /true/tty/user) value=$ssh ;;
                    *) value=0 ;;
                    esac
                    echo "node_logind_sessions{class=\"$class\",remote=\"$remote\",seat=\"$seat\",type=\"$type\"} $value"
                done
            done
        done
    done
}

# check_logind NAME WHAT EXPECTED_FILE: as check_series, for node_logind_*.
check_logind() {
    local name=$1 what=$2 expected=$3
    scrape "$name" >"$work/$name.metrics"
    grep -qx 'node_scrape_collector_success{collector="logind"} 1' "$work/$name.metrics" ||
        fail "$what: logind collector failed: $(tail -n 5 "$work/$name.log")"
    grep '^node_logind_' "$work/$name.metrics" | sort >"$work/$name.actual"
    sort "$expected" | diff -u - "$work/$name.actual" >&2 ||
        fail "$what: node_logind_* series differ from $expected (- expected, + actual)"
    echo "ok: logind: $what: $(wc -l <"$work/$name.actual") samples as expected"
}
logind_sessions 2 >"$work/logind.txt"
logind_sessions 3 >"$work/logind-ssh.txt"

# 8. logind over the host root's bus socket: counts, HELP and TYPE, a new
# session seen live, and reconnection after the bus restarts.
start_agent logind --path.rootfs="$root" --collector.disable-defaults --collector.logind
check_logind logind "--path.rootfs" "$work/logind.txt"
check_live_families logind "$work/logind.metrics"
grep -qx '# HELP node_logind_sessions Number of sessions registered in logind.' "$work/logind.metrics" ||
    fail "logind: HELP differs from node_exporter's"
grep -qx '# TYPE node_logind_sessions gauge' "$work/logind.metrics" ||
    fail "logind: TYPE differs from node_exporter's"
kill -USR2 "$fake_pid"
check_logind logind "after an SSH login" "$work/logind-ssh.txt"
stop_systemd
start_systemd
check_logind logind "after the bus restarted" "$work/logind.txt"
stop_agent logind

# 9. logind without a socket: one warning naming it and what to mount.
check_missing_socket logind
