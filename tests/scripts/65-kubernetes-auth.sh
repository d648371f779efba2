#!/usr/bin/env bash
# --web.auth.kubernetes against a stand-in API server (lib/fake_kube_api.py)
# that speaks the v1 TokenReview and SubjectAccessReview API over HTTPS,
# checks every body against the Kubernetes OpenAPI schema and requires the
# agent's own token: probes open, no token, forged token, authenticated but
# forbidden, allowed, cache hits, audiences, a burst of forged tokens, the
# agent's token rotated on disk, a hung API server, bad flags.
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=tests/scripts/lib/deps.sh
source tests/scripts/lib/deps.sh
ensure_apt curl openssl
ensure_python_tools

work=$(mktemp -d /tmp/hostwatch-kubeauth-test.XXXXXX)
# shellcheck source=tests/scripts/lib/agent.sh
source tests/scripts/lib/agent.sh
cleanup() {
    kill_all_agents
    terminate "$kube_api_pid"
    rm -rf "$work"
}
trap cleanup EXIT
require_binary

# shellcheck source=tests/scripts/lib/kube_api.sh
source tests/scripts/lib/kube_api.sh
users='"users": {
  "prometheus-token": {"username": "system:serviceaccount:monitoring:prometheus-k8s", "groups": ["system:serviceaccounts", "system:authenticated"]},
  "second-prometheus-token": {"username": "system:serviceaccount:monitoring:prometheus-2"},
  "intruder-token": {"username": "system:serviceaccount:default:intruder"},
  "hostwatch-audience-token": {"username": "system:serviceaccount:monitoring:prometheus-k8s", "audiences": ["hostwatch"]}},
 "allowed": {"system:serviceaccount:monitoring:prometheus-k8s": ["/metrics"],
             "system:serviceaccount:monitoring:prometheus-2": ["/metrics"]}'
start_kube_api "{\"agent_tokens\": [\"agent-token-1\"], $users, \"hang\": false}"

export AGENT_SCHEME=https
start_agent auth --web.auth.kubernetes --web.auth.kubernetes.kubeconfig="$kube_api_kubeconfig"
url="https://127.0.0.1:${agent_ports[auth]}"

# status [CURL ARGS...] PATH: the HTTP status of a GET of PATH.
status() {
    local path=${*: -1}
    curl --silent --insecure --max-time 10 --output /dev/null --write-out '%{http_code}' "${@:1:$#-1}" "$url$path" || true
}
bearer() { echo "Authorization: Bearer $1"; }
# reviews KIND [TOKEN]: how many reviews of KIND the stand-in answered (for TOKEN).
reviews() {
    "$VENV/bin/python" - "$kube_api_dir/reviews.jsonl" "$@" <<'PY'
import json, sys
path, kind, token = sys.argv[1], sys.argv[2], (sys.argv[3] if len(sys.argv) > 3 else None)
n = 0
for line in open(path):
    entry = json.loads(line)
    if entry["kind"] == kind and (token is None or entry["request"]["spec"].get("token") == token):
        n += 1
print(n)
PY
}
expect() {
    local want=$1 got=$2 what=$3
    [ "$got" = "$want" ] || fail "$what: got $got, want $want"
    echo "ok: $what: $got"
}

echo "-- TLS with a generated certificate, its fingerprint logged"
logged=$(sed -n 's/.*generated_certificate_sha256=\([0-9A-F:]*\).*/\1/p' "$work/auth.log" | head -1)
served=$(openssl s_client -connect "127.0.0.1:${agent_ports[auth]}" </dev/null 2>/dev/null |
    openssl x509 -noout -fingerprint -sha256 | sed 's/.*=//')
[ -n "$logged" ] && [ "$logged" = "$served" ] || fail "logged fingerprint $logged, served $served"
echo "ok: served certificate sha256 $served"
plain=$(curl --silent --max-time 5 --output /dev/null --write-out '%{http_code}' "http://127.0.0.1:${agent_ports[auth]}/metrics" || true)
[ "$plain" != 200 ] || fail "plain HTTP answered 200"
echo "ok: no plain HTTP"

echo "-- probes open, everything else needs a token"
expect 200 "$(status /-/healthy)" "/-/healthy without a token"
expect 200 "$(status /-/ready)" "/-/ready without a token"
expect 401 "$(status /metrics)" "/metrics without a token"
expect 401 "$(status /)" "landing page without a token"
challenge=$(curl --silent --insecure --max-time 10 --dump-header - --output /dev/null "$url/metrics" | tr -d '\r' | sed -n 's/^[Ww][Ww][Ww]-[Aa]uthenticate: //p')
expect Bearer "$challenge" "WWW-Authenticate"
expect 401 "$(status -H "Authorization: Basic YTpi" /metrics)" "basic credentials"
expect 401 "$(status -H "$(bearer forged-token)" /metrics)" "forged token"
expect 403 "$(status -H "$(bearer intruder-token)" /metrics)" "authenticated, not allowed"
expect 403 "$(status -H "$(bearer prometheus-token)" /)" "allowed /metrics only, asking for /"
expect 200 "$(status -H "$(bearer prometheus-token)" /metrics)" "allowed token"
body=$(curl --silent --insecure --fail --max-time 10 -H "$(bearer prometheus-token)" "$url/metrics")
grep -q '^node_load1 ' <<<"$body" || fail "the allowed scrape has no node_load1"

echo "-- cache: ten more scrapes, no more reviews"
for _ in $(seq 10); do
    [ "$(status -H "$(bearer prometheus-token)" /metrics)" = 200 ] || fail "a cached scrape was refused"
done
expect 1 "$(reviews TokenReview prometheus-token)" "TokenReviews of the allowed token after 12 scrapes of /metrics and one of /"
expect 3 "$(reviews SubjectAccessReview)" "SubjectAccessReviews: intruder /metrics, prometheus-k8s / and /metrics"
for _ in $(seq 5); do status -H "$(bearer forged-token)" /metrics >/dev/null; done
expect 1 "$(reviews TokenReview forged-token)" "TokenReviews of the forged token after 6 attempts"

echo "-- a burst of 300 forged tokens, 16 at a time"
before=$(reviews TokenReview)
start=$(date +%s.%N)
seq 300 | xargs -P 16 -I{} curl --silent --insecure --max-time 10 --output /dev/null --write-out '%{http_code}\n' \
    -H "Authorization: Bearer burst-{}" "$url/metrics" >"$work/burst.codes"
elapsed=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.2f", e - s }')
after=$(reviews TokenReview)
sort "$work/burst.codes" | uniq -c | sed 's/^/   /'
grep -qvE '^(401|503)$' "$work/burst.codes" && fail "the burst got answers other than 401 and 503"
# The bucket: 20 at once, then 10 a second.
budget=$(awk -v e="$elapsed" 'BEGIN { printf "%d", 20 + 10 * e + 2 }')
[ $((after - before)) -le "$budget" ] || fail "$((after - before)) reviews in ${elapsed}s, budget $budget"
echo "ok: $((after - before)) reviews for 300 forged tokens in ${elapsed}s (budget $budget)"
expect 200 "$(status -H "$(bearer prometheus-token)" /metrics)" "the cached token during the burst's aftermath"

echo "-- audiences"
start_agent audience --web.auth.kubernetes --web.auth.kubernetes.kubeconfig="$kube_api_kubeconfig" \
    --web.auth.kubernetes.audiences=hostwatch
url_main=$url
url="https://127.0.0.1:${agent_ports[audience]}"
sleep 2 # the review bucket refills
expect 200 "$(status -H "$(bearer hostwatch-audience-token)" /metrics)" "token for audience hostwatch"
expect 401 "$(status -H "$(bearer prometheus-token)" /metrics)" "token for the API server's audience only"
kill_agent audience
url=$url_main

echo "-- the agent's token rotated on disk"
printf 'agent-token-2\n' >"$kube_api_dir/agent-token.new" && mv "$kube_api_dir/agent-token.new" "$kube_api_dir/agent-token"
set_kube_api_state "{\"agent_tokens\": [\"agent-token-2\"], $users, \"hang\": false}"
expect 200 "$(status -H "$(bearer second-prometheus-token)" /metrics)" "a new token reviewed with the rotated agent token"
expect 0 "$(reviews unauthorized 2>/dev/null || echo 0)" "calls refused by the stand-in for a stale agent token"

echo "-- a hung API server"
set_kube_api_state "{\"agent_tokens\": [\"agent-token-2\"], $users, \"hang\": true}"
start=$(date +%s.%N)
code=$(status -H "$(bearer never-seen-token)" /metrics)
elapsed=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.2f", e - s }')
expect 503 "$code" "a new token while the API server hangs"
awk -v e="$elapsed" 'BEGIN { exit !(e < 5) }' || fail "refused after ${elapsed}s"
echo "ok: refused after ${elapsed}s"
expect 200 "$(status /-/healthy)" "/-/healthy while the API server hangs"
expect 200 "$(status -H "$(bearer prometheus-token)" /metrics)" "a cached token while the API server hangs"

echo "-- with --web.config.file: its TLS and client certificates first, then the token"
set_kube_api_state "{\"agent_tokens\": [\"agent-token-2\"], $users, \"hang\": false}"
openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj /CN=prometheus \
    -keyout "$work/client.key" -out "$work/client.csr" 2>/dev/null
openssl x509 -req -in "$work/client.csr" -CA "$kube_api_dir/ca.crt" -CAkey "$kube_api_dir/ca.key" \
    -CAcreateserial -days 1 -extfile <(printf 'extendedKeyUsage=clientAuth\nbasicConstraints=CA:FALSE\n') \
    -out "$work/client.crt" 2>/dev/null
cat >"$work/web-config.yml" <<WEB
tls_server_config:
  cert_file: $kube_api_dir/api.crt
  key_file: $kube_api_dir/api.key
  client_ca_file: $kube_api_dir/ca.crt
  client_auth_type: RequireAndVerifyClientCert
WEB
# Started by hand: start_agent's readiness check has no client certificate.
"$binary" --web.auth.kubernetes --web.auth.kubernetes.kubeconfig="$kube_api_kubeconfig" \
    --web.config.file="$work/web-config.yml" --web.listen-address=127.0.0.1:0 2>"$work/webconfig.log" &
agent_pids[webconfig]=$!
wait_until "${agent_pids[webconfig]}" "$work/webconfig.log" grep -q ' listen=127' "$work/webconfig.log"
url_main=$url
url="https://127.0.0.1:$(sed -n 's/.* listen=127\.0\.0\.1:\([0-9]*\).*/\1/p' "$work/webconfig.log" | head -1)"
grep -q 'generated_certificate_sha256=' "$work/webconfig.log" &&
    fail "a certificate was generated although the web configuration has TLS: $(grep generated "$work/webconfig.log")"
client=(--cacert "$kube_api_dir/ca.crt" --cert "$work/client.crt" --key "$work/client.key")
expect 000 "$(status --cacert "$kube_api_dir/ca.crt" -H "$(bearer prometheus-token)" /metrics)" "no client certificate (handshake refused)"
expect 401 "$(status "${client[@]}" /metrics)" "a client certificate, no token"
expect 403 "$(status "${client[@]}" -H "$(bearer intruder-token)" /metrics)" "a client certificate, a forbidden token"
expect 200 "$(status "${client[@]}" -H "$(bearer prometheus-token)" /metrics)" "a client certificate and an allowed token, the configured certificate verified"
kill_agent webconfig
cat >"$work/web-config-basic.yml" <<WEB
basic_auth_users:
  prometheus: '\$2y\$10\$$(printf 'a%.0s' $(seq 53))'
WEB
if "$binary" --web.auth.kubernetes --web.auth.kubernetes.kubeconfig="$kube_api_kubeconfig" \
    --web.config.file="$work/web-config-basic.yml" --web.listen-address=127.0.0.1:0 2>"$work/basic.log"; then
    fail "started with basic auth and Kubernetes access control"
fi
grep -q 'basic_auth_users in --web.config.file both use' "$work/basic.log" || fail "not refused for the combination: $(cat "$work/basic.log")"
echo "ok: basic_auth_users with --web.auth.kubernetes refused"
url=$url_main

echo "-- every body the stand-in saw or sent matches the Kubernetes schema"
"$VENV/bin/python" - "$kube_api_dir/reviews.jsonl" <<'PY'
import json, sys
entries = [json.loads(line) for line in open(sys.argv[1])]
bad = [e for e in entries if e.get("schema_errors")]
if bad:
    sys.exit(f"schema errors: {bad[:3]}")
kinds = sorted({e["kind"] for e in entries})
print(f"ok: {len(entries)} requests ({', '.join(kinds)}), no schema error")
PY
stop_agent auth

echo "-- bad flags"
for args in "--web.auth.kubernetes.kubeconfig=$kube_api_kubeconfig" \
    "--web.auth.kubernetes --web.auth.kubernetes.kubeconfig=$work/missing" \
    "--web.auth.kubernetes --web.auth.kubernetes.kubeconfig=$kube_api_dir/ca.crt" \
    "--web.auth.kubernetes"; do
    # shellcheck disable=SC2086
    if env -u KUBERNETES_SERVICE_HOST "$binary" $args --web.listen-address=127.0.0.1:0 2>"$work/bad.log"; then
        fail "$args: started"
    fi
    grep -q 'web.auth.kubernetes' "$work/bad.log" || fail "$args: the message names no flag: $(cat "$work/bad.log")"
    grep -qi panic "$work/bad.log" && fail "$args: panicked"
    echo "ok: refused $args: $(grep -o 'msg=.*' "$work/bad.log" | head -1 | cut -c1-140)"
done
echo "kubernetes access control tests passed"
