#!/usr/bin/env bash
# A hung mount must not hurt the agent: mounts tests/scripts/lib/hung_fs.py, a FUSE
# filesystem whose statfs never returns, runs the release binary on this
# host's /proc, /sys and / with the default mount timeout (5s), and checks
# that
# - the first scrape, sent with Prometheus's 1s
#   X-Prometheus-Scrape-Timeout-Seconds, answers within it, with the
#   filesystem collector successful: every other mount with its sizes, the
#   hung one with node_filesystem_device_error 1;
# - the next scrape, without the header, does not wait for the statfs still
#   pending from the first, nor for the mount timeout;
# - later scrapes are not slowed and do not stat the mount again;
# - the agent's threads and file descriptors stay flat over 50 scrapes;
# - once the FUSE daemon dies, the stuck stat returns, the mount is statted
#   again and the spare worker thread ends.
#
# Everything runs in private mount and PID namespaces (unshare), so the hung
# mount is never visible to other processes on this machine, and whatever the
# test started dies with the namespace. Prints SKIP and exits 0 where FUSE or
# namespaces are not available.
set -euo pipefail
cd "$(dirname "$0")/../.."

BIN=target/release/hostwatch
TIMEOUT_HEADER=1
LATER_SCRAPES=50

skip() {
    echo "SKIP: hung-mount test: $*"
    exit 0
}
fail() {
    echo "FAIL: hung-mount test: $*" >&2
    exit 1
}

if [ -z "${HUNG_MOUNT_INSIDE_NAMESPACE:-}" ]; then
    [ -x "$BIN" ] || fail "$BIN is not built (scripts/test builds it first)"
    [ "$(id -u)" = 0 ] || skip "mounting FUSE needs root"
    [ -c /dev/fuse ] || skip "no /dev/fuse in this sandbox"
    need=()
    for pkg in fuse3 python3-fusepy; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need+=("$pkg")
    done
    if [ "${#need[@]}" -gt 0 ]; then
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
    fi
    unshare --mount --pid --fork --mount-proc true 2>/dev/null ||
        skip "cannot create mount and PID namespaces (unshare)"
    exec timeout --kill-after=10 180 \
        unshare --mount --pid --fork --kill-child --mount-proc --propagation private \
        env HUNG_MOUNT_INSIDE_NAMESPACE=1 bash "$0"
fi

# From here on: PID 1 of a fresh PID namespace, in a private mount namespace.
WORK=$(mktemp -d /tmp/hostwatch-hung.XXXXXX)
MNT=$WORK/hung
CALLS=$WORK/statfs-calls
mkdir "$MNT"
: >"$CALLS"

cleanup() {
    set +e
    [ -n "${AGENT_PID:-}" ] && kill "$AGENT_PID" 2>/dev/null
    umount -l "$MNT" 2>/dev/null || fusermount -u -z "$MNT" 2>/dev/null
    [ -n "${FUSE_PID:-}" ] && kill -9 "$FUSE_PID" 2>/dev/null
    wait 2>/dev/null
    rm -rf "$WORK"
}
trap cleanup EXIT

/usr/bin/python3 tests/scripts/lib/hung_fs.py "$MNT" "$CALLS" >"$WORK/fuse.log" 2>&1 &
FUSE_PID=$!
for _ in $(seq 100); do
    grep -q " $MNT " /proc/1/mountinfo && break
    kill -0 "$FUSE_PID" 2>/dev/null || { cat "$WORK/fuse.log" >&2; skip "the FUSE filesystem did not start"; }
    sleep 0.1
done
grep -q " $MNT " /proc/1/mountinfo || skip "the FUSE filesystem did not mount within 10s"

# The mount really hangs: statfs(2) on it does not return.
# (Braces with stderr redirected keep bash's "Killed" notice quiet.)
rc=0
{ timeout -s KILL 2 stat -f "$MNT" >/dev/null 2>&1 || rc=$?; } 2>/dev/null
[ "$rc" = 137 ] || fail "statfs on the FUSE mount returned (exit $rc): the test filesystem does not hang"
calls_before=$(wc -l <"$CALLS")

# Created first: the background agent creates its log only once it runs,
# and the loop below may read it before that.
: >"$WORK/agent.log"
"$BIN" --web.listen-address=127.0.0.1:0 \
    --path.procfs=/proc --path.sysfs=/sys --path.rootfs=/ \
    --collector.disable-defaults --collector.filesystem \
    "--collector.filesystem.mount-points-include=^(/|$MNT)\$" \
    >"$WORK/agent.log" 2>&1 &
AGENT_PID=$!
ADDR=
for _ in $(seq 100); do
    ADDR=$(sed -n 's/.*listen=\([0-9.]*:[0-9]*\).*/\1/p' "$WORK/agent.log" | head -n 1)
    [ -n "$ADDR" ] && break
    kill -0 "$AGENT_PID" 2>/dev/null || { cat "$WORK/agent.log" >&2; fail "the agent exited"; }
    sleep 0.1
done
[ -n "$ADDR" ] || fail "the agent did not log its listen address"

threads() { awk '/^Threads:/ {print $2}' "/proc/$AGENT_PID/status"; }
fds() { find "/proc/$AGENT_PID/fd" -mindepth 1 -maxdepth 1 | wc -l; }
# Prints the scrape's duration in seconds; the body goes to $1.
scrape() {
    curl -sS --max-time 10 -H "X-Prometheus-Scrape-Timeout-Seconds: $TIMEOUT_HEADER" \
        -o "$1" -w '%{time_total}' "http://$ADDR/metrics"
}
# The same without the header: the agent's own --scrape.timeout applies.
scrape_without_header() {
    curl -sS --max-time 10 -o "$1" -w '%{time_total}' "http://$ADDR/metrics"
}
less_than() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a < b) }'; }
# Waits (bounded) until the agent's descriptors are at most $1: a closed
# client connection is released by the server a moment after curl returns.
fds_settle() {
    for _ in $(seq 50); do
        [ "$(fds)" -le "$1" ] && return 0
        sleep 0.05
    done
    return 1
}

STUCK="node_filesystem_device_error{device=\"hungfs\",device_error=\"mountpoint timeout\",fstype=\"fuse\",mountpoint=\"$MNT\"} 1"
threads_start=$(threads)
fds_start=$(fds)

first=$(scrape "$WORK/first.txt")
less_than "$first" "$TIMEOUT_HEADER" || fail "first scrape took ${first}s, over the ${TIMEOUT_HEADER}s budget"
grep -qF "$STUCK" "$WORK/first.txt" || { cat "$WORK/first.txt" >&2; fail "first scrape does not report the hung mount as: $STUCK"; }
grep -q '^node_filesystem_size_bytes{.*mountpoint="/"}' "$WORK/first.txt" || fail "first scrape lacks the size of /"
grep -q 'node_scrape_collector_success{collector="filesystem"} 1' "$WORK/first.txt" || fail "the filesystem collector did not succeed"
if grep -q "^node_filesystem_size_bytes{.*mountpoint=\"$MNT\"}" "$WORK/first.txt"; then
    fail "size reported for the hung mount"
fi

# The next scrape, without the header, starts the spare worker that
# replaces the blocked one; from then on nothing may grow.
second=$(scrape_without_header "$WORK/second.txt")
less_than "$second" 0.9 || fail "the scrape after the first took ${second}s: it waited for the pending statfs"
grep -qF "$STUCK" "$WORK/second.txt" || fail "the second scrape does not report the hung mount"
grep -q 'node_scrape_collector_success{collector="filesystem"} 1' "$WORK/second.txt" ||
    fail "the filesystem collector did not succeed in the second scrape"
threads_steady=$(threads)
fds_settle "$fds_start" || true
fds_steady=$(fds)

slowest=0
for i in $(seq "$LATER_SCRAPES"); do
    took=$(scrape "$WORK/later.txt")
    less_than "$took" 0.9 || fail "scrape $i took ${took}s: slowed by the hung mount"
    grep -qF "$STUCK" "$WORK/later.txt" || fail "scrape $i does not report the hung mount"
    less_than "$slowest" "$took" && slowest=$took
done
threads_after=$(threads)
fds_settle "$fds_steady" || fail "file descriptors grew from $fds_steady to $(fds) over $LATER_SCRAPES scrapes"
fds_after=$(fds)
[ "$threads_after" -le "$threads_steady" ] ||
    fail "threads grew from $threads_steady to $threads_after over $LATER_SCRAPES scrapes"
calls_by_agent=$(($(wc -l <"$CALLS") - calls_before))
[ "$calls_by_agent" = 1 ] || fail "the agent called statfs on the hung mount $calls_by_agent times, expected once"

# Recovery: with the daemon gone the stuck statfs fails (ENOTCONN), the
# mount is statted again and the spare thread ends.
kill -9 "$FUSE_PID"
wait "$FUSE_PID" 2>/dev/null || true
FUSE_PID=
recovered=
for _ in $(seq 50); do
    scrape "$WORK/recovered.txt" >/dev/null
    if grep -q "device_error=\"transport endpoint is not connected\",fstype=\"fuse\",mountpoint=\"$MNT\"} 1" "$WORK/recovered.txt" &&
        [ "$(threads)" -lt "$threads_steady" ]; then
        recovered=yes
        break
    fi
    sleep 0.1
done
[ -n "$recovered" ] || fail "after the FUSE daemon died the mount was not statted again, or the spare thread stayed (threads $(threads))"
threads_recovered=$(threads)
kill -0 "$AGENT_PID" 2>/dev/null || fail "the agent died"

echo "hung mount: first scrape ${first}s (budget ${TIMEOUT_HEADER}s, mount timeout 5s), second without the header ${second}s; slowest of $LATER_SCRAPES later scrapes ${slowest}s"
echo "hung mount: threads ${threads_start} before, ${threads_steady} after the first scrapes, ${threads_after} after $LATER_SCRAPES more, ${threads_recovered} after recovery"
echo "hung mount: fds ${fds_start} before, ${fds_steady} after the first scrapes, ${fds_after} after $LATER_SCRAPES more; statfs calls on the hung mount by the agent: ${calls_by_agent}"
echo "hung mount: ok"
