#!/usr/bin/env bash
# --web.systemd-socket under systemd's own socket activation tool,
# systemd-socket-activate (Debian's systemd package): it listens on a
# loopback port and starts the release binary on the first connection,
# passing the socket as systemd does (LISTEN_FDS, LISTEN_PID). The agent
# must serve on that socket, in plain HTTP and with TLS from the web
# configuration, and refuse to start without a passed socket. Every step is
# bounded in time and every process is stopped however the script ends.
set -euo pipefail
cd "$(dirname "$0")/../.."

work=$(mktemp -d)
# shellcheck source=tests/scripts/lib/agent.sh
source tests/scripts/lib/agent.sh
# shellcheck source=tests/scripts/lib/deps.sh
source tests/scripts/lib/deps.sh

activated_pid=""
cleanup() {
    terminate "$activated_pid"
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

require_binary
ensure_apt systemd openssl curl
command -v systemd-socket-activate >/dev/null || fail "systemd-socket-activate missing"

fixture=(--path.procfs=tests/fixtures/proc --path.sysfs=tests/fixtures/sys
    --path.rootfs=tests/fixtures/root --path.udev.data=tests/fixtures/udev)

# activate NAME ARGS...: systemd-socket-activate on a free loopback port,
# running the agent with --web.systemd-socket and ARGS; sets `port`. The
# tool execs the agent in its own process, so its pid is the agent's.
activate() {
    local name=$1
    shift
    port=$(free_port)
    systemd-socket-activate --listen="127.0.0.1:$port" \
        "$binary" --web.systemd-socket "${fixture[@]}" "$@" 2>"$work/$name.log" &
    activated_pid=$!
    wait_until "$activated_pid" "$work/$name.log" grep -q "Listening on 127.0.0.1:$port" "$work/$name.log"
}

# The first connection starts the agent, which accepts it from the socket's
# backlog: the request is answered by the agent, not refused.
activate plain
curl --silent --show-error --fail --max-time 30 "http://127.0.0.1:$port/metrics" >"$work/plain.prom" ||
    fail "no scrape through the passed socket: $(cat "$work/plain.log")"
grep -q '^node_scrape_collector_success{collector="loadavg"} 1$' "$work/plain.prom" ||
    fail "loadavg did not succeed through the passed socket"
grep -q 'msg="Listening on systemd activated listeners instead of port listeners."' "$work/plain.log" ||
    fail "no socket activation line: $(cat "$work/plain.log")"
grep -q "msg=\"Listening on\" address=127.0.0.1:$port" "$work/plain.log" ||
    fail "the passed socket's address is not logged: $(cat "$work/plain.log")"
grep -Eq '(address|listen)=[^ ]*:9100( |,|$)' "$work/plain.log" &&
    fail "--web.listen-address's default was bound as well: $(cat "$work/plain.log")"
terminate "$activated_pid"
activated_pid=""
echo "ok: scraped through a socket passed by systemd-socket-activate"

# TLS from the web configuration, on the passed socket.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
    -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
    -keyout "$work/key.pem" -out "$work/cert.pem" 2>/dev/null
cat >"$work/web.yml" <<EOF
tls_server_config:
  cert_file: $work/cert.pem
  key_file: $work/key.pem
EOF
# The starting connection is made with TLS: the agent reads the web
# configuration before it accepts.
activate tls --web.config.file="$work/web.yml"
curl --silent --show-error --fail --max-time 30 --cacert "$work/cert.pem" \
    "https://127.0.0.1:$port/metrics" >"$work/tls.prom" ||
    fail "no TLS scrape through the passed socket: $(cat "$work/tls.log")"
grep -q '^node_scrape_collector_success{collector="loadavg"} 1$' "$work/tls.prom" ||
    fail "loadavg did not succeed over TLS"
grep -q "msg=\"TLS is enabled.\" http2=[a-z]* address=127.0.0.1:$port" "$work/tls.log" ||
    fail "TLS is not logged as enabled: $(cat "$work/tls.log")"
curl --silent --max-time 10 "http://127.0.0.1:$port/metrics" >/dev/null 2>&1 &&
    fail "plain HTTP was answered on a TLS socket"
terminate "$activated_pid"
activated_pid=""
echo "ok: TLS through a socket passed by systemd-socket-activate"

# No socket passed: a clear error and exit status 1, nothing bound.
status=0
timeout 10 "$binary" --web.systemd-socket "${fixture[@]}" 2>"$work/none.log" || status=$?
[ "$status" -eq 1 ] || fail "--web.systemd-socket without a socket exited $status: $(cat "$work/none.log")"
grep -q 'no socket activation file descriptors found' "$work/none.log" ||
    fail "no clear error without a socket: $(cat "$work/none.log")"
echo "ok: --web.systemd-socket without a passed socket stops with exit status 1"
