# shellcheck shell=bash
# A stand-in Kubernetes API server for --web.auth.kubernetes, sourced after
# agent.sh: start_kube_api writes a CA, the server's certificate, its state
# (lib/fake_kube_api.py) and a kubeconfig for the agent, and starts it.
# Afterwards:
#   kube_api_kubeconfig     the kubeconfig to give --web.auth.kubernetes.kubeconfig
#   kube_api_scraper_token  a file holding a token allowed to get /metrics,
#                           as Prometheus's service-account token would be
#   kube_api_pid            the server (stop it with terminate)
# set_kube_api_state JSON replaces the server's state while it runs.

: "${work:?set work to a temporary directory before sourcing kube_api.sh}"

kube_api_dir="$work/kube-api"
kube_api_pid=""
kube_api_kubeconfig="$kube_api_dir/kubeconfig"
kube_api_scraper_token="$kube_api_dir/scraper-token"

set_kube_api_state() {
    printf '%s\n' "$1" >"$kube_api_dir/state.json.tmp"
    mv "$kube_api_dir/state.json.tmp" "$kube_api_dir/state.json"
}

# start_kube_api [STATE]: STATE defaults to one agent token (agent-token-1,
# in $kube_api_dir/agent-token) and the scraper's token allowed /metrics.
start_kube_api() {
    mkdir -p "$kube_api_dir"
    local dir=$kube_api_dir
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
        -subj /CN=test-ca -keyout "$dir/ca.key" -out "$dir/ca.crt" 2>/dev/null
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj /CN=127.0.0.1 \
        -keyout "$dir/api.key" -out "$dir/api.csr" 2>/dev/null
    openssl x509 -req -in "$dir/api.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" -CAcreateserial \
        -days 1 -extfile <(printf 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n') \
        -out "$dir/api.crt" 2>/dev/null
    printf 'agent-token-1\n' >"$dir/agent-token"
    printf 'scraper-token\n' >"$kube_api_scraper_token"
    local default='{"agent_tokens": ["agent-token-1"],
        "users": {"scraper-token": {"username": "system:serviceaccount:monitoring:prometheus"}},
        "allowed": {"system:serviceaccount:monitoring:prometheus": ["/metrics"]}}'
    set_kube_api_state "${1:-$default}"
    : >"$dir/server.log"
    "$VENV/bin/python" tests/scripts/lib/fake_kube_api.py --cert "$dir/api.crt" --key "$dir/api.key" \
        --state "$dir/state.json" --log "$dir/reviews.jsonl" --port-file "$dir/port" 2>"$dir/server.log" &
    kube_api_pid=$!
    wait_until "$kube_api_pid" "$dir/server.log" test -s "$dir/port"
    cat >"$kube_api_kubeconfig" <<KUBECONFIG
apiVersion: v1
kind: Config
current-context: test
clusters:
  - name: test
    cluster:
      server: https://127.0.0.1:$(cat "$dir/port")
      certificate-authority: ca.crt
users:
  - name: hostwatch
    user:
      tokenFile: agent-token
contexts:
  - name: test
    context:
      cluster: test
      user: hostwatch
KUBECONFIG
}
