#!/usr/bin/env bash
# Load and soak on this machine's real /proc and /sys, default collectors,
# the release binary on loopback:
# - load: wrk with 64 concurrent connections for LOAD_SECONDS against
#   --web.max-requests=40: every request is answered 200 or 503 (the
#   max-requests refusal), wrk reports no socket error, and the peak RSS
#   (VmHWM) stays under MAX_RSS_KIB;
# - soak: SOAK_SCRAPES more scrapes on 4 connections, after a warm-up: RSS,
#   threads and file descriptors of the agent afterwards are at most what
#   they were before plus a small slack.
# Prints the figures. Installs wrk (Debian) when missing.
set -euo pipefail
cd "$(dirname "$0")/../.."

LOAD_SECONDS=20
LOAD_CONNECTIONS=64
MAX_REQUESTS=40
MAX_RSS_KIB=$((256 * 1024))
WARMUP_SCRAPES=1000
SOAK_SCRAPES=10000
SOAK_CONNECTIONS=4
# Upper bound of the soak's duration; wrk stops earlier once done.
SOAK_MAX_SECONDS=180
# Slack over the soak: RSS may move by allocator noise, not by scrape count.
RSS_SLACK_KIB=$((8 * 1024))
THREAD_SLACK=2
FD_SLACK=2

work=$(mktemp -d /tmp/hostwatch-load.XXXXXX)
# shellcheck source=tests/scripts/lib/agent.sh
source tests/scripts/lib/agent.sh

require_binary
if ! command -v wrk >/dev/null 2>&1; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends wrk >/dev/null
fi

cleanup() {
    kill_all_agents
    rm -rf "$work"
}
trap cleanup EXIT

# Counts responses by status over all of wrk's threads. With STOP_AFTER set,
# each thread stops once it has answered its share and leaves a file in
# DONE_DIR, so that the script can end wrk early (wrk itself always runs
# for its whole duration).
cat >"$work/count.lua" <<'EOF'
local threads = {}
local stop_after = tonumber(os.getenv("STOP_AFTER") or "0")
local thread_count = tonumber(os.getenv("THREADS") or "1")

function setup(thread)
    table.insert(threads, thread)
    thread:set("id", #threads)
end

function init(args)
    statuses = {}
    answered = 0
end

function response(status, headers, body)
    statuses[status] = (statuses[status] or 0) + 1
    answered = answered + 1
    if stop_after > 0 and answered == math.ceil(stop_after / thread_count) then
        io.open(os.getenv("DONE_DIR") .. "/" .. id, "w"):close()
        wrk.thread:stop()
    end
end

function done(summary, latency, requests)
    local total = {}
    for _, thread in ipairs(threads) do
        for status, n in pairs(thread:get("statuses")) do
            total[status] = (total[status] or 0) + n
        end
    end
    for status, n in pairs(total) do
        io.write(string.format("status %d %d\n", status, n))
    end
end
EOF

# Runs wrk with $1 connections for at most $2 seconds, ending it once $3
# answers came (0: runs the whole time); output to $4.
run_wrk() {
    local done_dir=$work/done wrk_pid
    rm -rf "$done_dir"
    mkdir "$done_dir"
    DONE_DIR=$done_dir THREADS=2 STOP_AFTER=$3 \
        wrk -t 2 -c "$1" -d "${2}s" --timeout 30s -s "$work/count.lua" \
        "http://127.0.0.1:$port/metrics" >"$4" 2>&1 &
    wrk_pid=$!
    if [ "$3" -gt 0 ]; then
        # wrk prints its summary on SIGINT as at the end of its duration.
        for _ in $(seq $(($2 * 10))); do
            [ "$(find "$done_dir" -type f | wc -l)" -ge 2 ] && break
            kill -0 "$wrk_pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -INT "$wrk_pid" 2>/dev/null || true
    fi
    wait "$wrk_pid" || fail "wrk failed: $(cat "$4")"
}

# Checks wrk's output $1: no socket errors, only 200 and 503; prints the
# number of answers.
check_wrk() {
    if grep -q "Socket errors" "$1"; then
        fail "socket errors: $(cat "$1")"
    fi
    awk '$1 == "status" && $2 != 200 && $2 != 503 { bad = 1 } END { exit bad }' "$1" ||
        fail "statuses other than 200 and 503: $(cat "$1")"
    awk '$1 == "status" { n += $3 } END { print n + 0 }' "$1"
}

status_field() { awk -v f="$1:" '$1 == f { print $2 }' "/proc/$agent_pid/status"; }
fds() { find "/proc/$agent_pid/fd" -mindepth 1 -maxdepth 1 | wc -l; }
# Waits (bounded) for the descriptors of closed client connections to go.
fds_settle() {
    for _ in $(seq 50); do
        [ "$(fds)" -le "$1" ] && return 0
        sleep 0.1
    done
    return 1
}

start_agent load --web.max-requests="$MAX_REQUESTS"
agent_pid=${agent_pids[load]}
port=${agent_ports[load]}

# Load.
run_wrk "$LOAD_CONNECTIONS" "$LOAD_SECONDS" 0 "$work/load.txt"
load_answers=$(check_wrk "$work/load.txt")
ok=$(awk '$1 == "status" && $2 == 200 { print $3 }' "$work/load.txt")
refused=$(awk '$1 == "status" && $2 == 503 { print $3 }' "$work/load.txt")
[ "${ok:-0}" -gt 0 ] || fail "no scrape answered 200 under load: $(cat "$work/load.txt")"
peak_rss=$(status_field VmHWM | tr -d ' ')
[ "$peak_rss" -le "$MAX_RSS_KIB" ] || fail "peak RSS ${peak_rss} KiB over ${MAX_RSS_KIB} KiB under load"
grep -qi "panic" "$work/load.log" && fail "the agent panicked: $(cat "$work/load.log")"
echo "load: $LOAD_CONNECTIONS connections, ${LOAD_SECONDS}s: $load_answers answers, ${ok:-0} x 200, ${refused:-0} x 503, no socket errors; peak RSS ${peak_rss} KiB"

# Soak.
run_wrk "$SOAK_CONNECTIONS" "$SOAK_MAX_SECONDS" "$WARMUP_SCRAPES" "$work/warmup.txt"
check_wrk "$work/warmup.txt" >/dev/null
# The server closes wrk's connections a moment after wrk exits.
sleep 1
rss_before=$(status_field VmRSS)
threads_before=$(status_field Threads)
fds_before=$(fds)
run_wrk "$SOAK_CONNECTIONS" "$SOAK_MAX_SECONDS" "$SOAK_SCRAPES" "$work/soak.txt"
soak_answers=$(check_wrk "$work/soak.txt")
[ "$soak_answers" -ge "$SOAK_SCRAPES" ] ||
    fail "only $soak_answers of $SOAK_SCRAPES soak scrapes answered in ${SOAK_MAX_SECONDS}s"
soak_ok=$(awk '$1 == "status" && $2 == 200 { print $3 }' "$work/soak.txt")
[ "${soak_ok:-0}" = "$soak_answers" ] || fail "soak scrapes not all 200: $(cat "$work/soak.txt")"
fds_settle "$fds_before" || true
rss_after=$(status_field VmRSS)
threads_after=$(status_field Threads)
fds_after=$(fds)
echo "soak: $soak_answers scrapes on $SOAK_CONNECTIONS connections: RSS ${rss_before} -> ${rss_after} KiB, threads ${threads_before} -> ${threads_after}, fds ${fds_before} -> ${fds_after}"
[ "$rss_after" -le $((rss_before + RSS_SLACK_KIB)) ] || fail "RSS grew from ${rss_before} to ${rss_after} KiB over the soak"
[ "$threads_after" -le $((threads_before + THREAD_SLACK)) ] || fail "threads grew from $threads_before to $threads_after over the soak"
[ "$fds_after" -le $((fds_before + FD_SLACK)) ] || fail "fds grew from $fds_before to $fds_after over the soak"
grep -qi "panic" "$work/load.log" && fail "the agent panicked: $(cat "$work/load.log")"
kill -0 "$agent_pid" 2>/dev/null || fail "the agent died"
echo "load and soak: ok"
