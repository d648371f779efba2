# A network namespace of the test's own with the agent run inside it, for
# the collectors that ask the kernel about the agent's own namespace
# (ioctls, netlink). Source after lib/agent.sh, with $work set; then call
# `make_namespace NAME`. The namespace and the agent are removed however the
# script ends, and every step is bounded in time.

ns=""
agent_pid=""
port=""

cleanup_namespace() {
    terminate "$agent_pid"
    [ -z "$ns" ] || ip netns del "$ns" 2>/dev/null || true
    rm -rf "$work"
}

# Creates the namespace NAME with its loopback up.
make_namespace() {
    ns=$1
    trap cleanup_namespace EXIT
    trap 'exit 130' INT TERM
    ip netns add "$ns" || fail "cannot create a network namespace"
    in_ns ip link set lo up
}

in_ns() {
    timeout 30 ip netns exec "$ns" "$@"
}

# Starts the agent inside the namespace on a free loopback port with the
# given flags, and waits (bounded) until it logs where it listens.
start_in_ns() {
    # Emptied first, so a previous run's listen line is not read.
    : >"$work/agent.log"
    ip netns exec "$ns" "$binary" --web.listen-address=127.0.0.1:0 \
        --collector.disable-defaults "$@" 2>"$work/agent.log" &
    agent_pid=$!
    port=""
    for _ in $(seq 100); do
        port=$(sed -n 's/.* listen=127\.0\.0\.1:\([0-9]*\).*/\1/p' "$work/agent.log" | head -n 1)
        [ -n "$port" ] && break
        kill -0 "$agent_pid" 2>/dev/null || fail "agent exited at start-up: $(cat "$work/agent.log")"
        sleep 0.1
    done
    [ -n "$port" ] || fail "no listen address logged within 10 s: $(cat "$work/agent.log")"
}

# Scrapes the agent from inside the namespace into $work/metrics.txt.
scrape_in_ns() {
    in_ns curl --silent --show-error --fail --max-time 10 --retry 20 --retry-delay 0 \
        --retry-connrefused "http://127.0.0.1:$port/metrics" >"$work/metrics.txt" ||
        fail "scrape failed: $(cat "$work/agent.log")"
}

# The value of the sample whose name and labels are exactly $1.
value_of() {
    awk -v s="$1" '$1 == s { print $2 }' "$work/metrics.txt"
}

expect_line() {
    grep -qxF "$1" "$work/metrics.txt" || fail "missing line: $1"
}
