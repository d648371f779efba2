# Shared by the scripts of tests/scripts/ (sourced): failing with a message,
# starting the agent on a free loopback port, stopping processes. The agent
# functions expect `binary` (the agent) and `work` (a scratch directory), and
# set `agent_pid` and `port`.

# Stops the script with a message.
fail() {
    echo "FAIL: $*" >&2
    exit 1
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

# Stops a process of the script if it runs: SIGTERM, then SIGKILL after 5 s.
stop_process() {
    local pid=$1
    [ -n "$pid" ] || return 0
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 50); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

# Stops the agent if it runs.
kill_agent() {
    stop_process "$agent_pid"
    agent_pid=""
}
