# shellcheck shell=bash
# Helpers for the integration scripts, sourced (not run) from the crate root
# after `work` names the script's temporary directory: fail, start the release
# binary on a free loopback port, scrape it, stop it. Several agents may run
# at once, each under a name; every wait is bounded.

: "${work:?set work to a temporary directory before sourcing agent.sh}"

binary=target/release/hostwatch
declare -A agent_pids=()
declare -A agent_ports=()

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

require_binary() {
    [ -x "$binary" ] || fail "$binary missing: run cargo build --release (scripts/test does)"
}

# start_agent NAME ARGS...: starts the agent with ARGS, logging to
# $work/NAME.log, and waits (bounded) for its listen line and readiness.
# The caller's environment is passed on, so `VAR=value start_agent ...` works.
start_agent() {
    local name=$1
    shift
    local log="$work/$name.log"
    # Empty the log first: the child truncates it only once it runs, and the
    # loop below must not read a previous agent's listen line meanwhile.
    : >"$log"
    "$binary" --web.listen-address=127.0.0.1:0 "$@" 2>"$log" &
    agent_pids[$name]=$!
    local port=""
    for _ in $(seq 100); do
        port=$(sed -n 's/.* listen=127\.0\.0\.1:\([0-9]*\).*/\1/p' "$log" | head -n 1)
        [ -n "$port" ] && break
        kill -0 "${agent_pids[$name]}" 2>/dev/null || fail "agent $name exited at start-up: $(cat "$log")"
        sleep 0.1
    done
    [ -n "$port" ] || fail "agent $name logged no listen address within 10 s: $(cat "$log")"
    agent_ports[$name]=$port
    # AGENT_SCHEME=https for an agent serving TLS (its certificate unchecked).
    curl --silent --fail --insecure --max-time 5 --retry 20 --retry-delay 0 --retry-max-time 15 --retry-connrefused \
        "${AGENT_SCHEME:-http}://127.0.0.1:$port/-/ready" >/dev/null || fail "agent $name not ready"
}

# scrape NAME: the agent's /metrics in the text format, on stdout.
scrape() {
    curl --silent --show-error --fail --max-time 30 \
        "http://127.0.0.1:${agent_ports[$1]}/metrics" || fail "scraping agent $1 failed"
}

# terminate PID: stops a child process if it runs: SIGTERM, then SIGKILL
# after 5 s.
terminate() {
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

# wait_until PID LOG COMMAND...: polls COMMAND for up to 10 s, failing with
# LOG's content should the process PID exit first.
wait_until() {
    local pid=$1 log=$2
    shift 2
    for _ in $(seq 100); do
        "$@" && return 0
        kill -0 "$pid" 2>/dev/null || fail "process $pid exited: $(cat "$log")"
        sleep 0.1
    done
    fail "not within 10 s: $*"
}

# kill_agent NAME: stops the agent if it runs.
kill_agent() {
    terminate "${agent_pids[$1]:-}"
    unset "agent_pids[$1]"
}

# stop_agent NAME: stops the agent with SIGTERM and checks it exits 0 within 5 s.
stop_agent() {
    local pid=${agent_pids[$1]}
    kill -TERM "$pid"
    for _ in $(seq 50); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -0 "$pid" 2>/dev/null && fail "agent $1 still running 5 s after SIGTERM"
    local status=0
    wait "$pid" || status=$?
    unset "agent_pids[$1]"
    [ "$status" -eq 0 ] || fail "agent $1 exited with $status after SIGTERM"
}

# kill_all_agents: for cleanup traps.
kill_all_agents() {
    local name
    for name in "${!agent_pids[@]}"; do
        kill_agent "$name"
    done
}

# check_live_families NAME SCRAPE_FILE: the families of the collector NAME
# in SCRAPE_FILE (a scrape with that collector alone and its optional
# families on) have the names, types, labels and help of
# tests/golden/live/NAME.prom, the scrape docs/metrics.md lists for it.
# UPDATE_GOLDEN=1 saves the scrape there instead.
check_live_families() {
    local name=$1 scrape_file=$2 golden="tests/golden/live/$1.prom"
    python3 tests/scripts/lib/families.py collector <"$scrape_file" >"$work/$name.live.prom"
    if [ "${UPDATE_GOLDEN:-}" = 1 ]; then
        mkdir -p "$(dirname "$golden")"
        cp "$work/$name.live.prom" "$golden"
        echo "wrote $golden"
        return
    fi
    [ -f "$golden" ] || fail "$golden missing: run this script with UPDATE_GOLDEN=1"
    diff -u <(python3 tests/scripts/lib/families.py shapes <"$golden") \
        <(python3 tests/scripts/lib/families.py shapes <"$work/$name.live.prom") >&2 ||
        fail "$name: the families differ from $golden (- saved, + scraped); after an intended change, rerun with UPDATE_GOLDEN=1, then UPDATE_DOCS=1 cargo test --test docs"
    echo "ok: $name: the families docs/metrics.md lists"
}
