#!/usr/bin/env bash
# The container image, built and run for real: lints the Dockerfile, checks
# that building the image without the binary fails naming the command to run,
# builds the static binary and the image with podman in one step as users do
# (scripts/build-image), checks that the binary is static and that its scrape
# code is laid out together, then runs the image with the
# DaemonSet's hardening (read-only, no capabilities, uid 65534, host network)
# and checks that it serves metrics, that its start-up self-check is quiet
# when deployed right and warns when deployed wrong, and that `podman stop`
# ends it by SIGTERM long before the kill timeout.
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=tests/scripts/lib/deps.sh
source tests/scripts/lib/deps.sh

IMAGE=localhost/hostwatch:test
STOP_TIMEOUT=10
# Exiting on SIGTERM takes the agent well under a second; podman would send
# SIGKILL at STOP_TIMEOUT. Anything near that means the signal was ignored.
STOP_BOUND_MS=5000

ensure_apt podman runc libc6-dev
ensure_python_tools

# This sandbox's podman: vfs storage (no overlay mounts), runc, cgroupfs and
# file events (no systemd); state kept under target/ between runs.
state="$PWD/target/podman"
mkdir -p "$state"
PODMAN=(podman --root "$state/root" --runroot "$state/run" --storage-driver vfs
    --runtime runc --cgroup-manager cgroupfs --events-backend file)
containers=()
host_root=""
bare=""
cleanup() {
    [ -z "$bare" ] || rm -rf "$bare"
    for name in "${containers[@]}"; do
        "${PODMAN[@]}" rm -f -t 0 "$name" >/dev/null 2>&1 || true
    done
    if [ -n "$host_root" ]; then
        umount "$host_root" 2>/dev/null || true
        rmdir "$host_root" 2>/dev/null || true
    fi
}
trap cleanup EXIT

echo "-- hadolint Dockerfile"
"$VENV/bin/hadolint" Dockerfile

echo "-- podman build without the binary names the command to run"
# The Dockerfile and its ignore file alone: the build context of a clean
# clone, as far as the image is concerned.
bare=$(mktemp -d /tmp/hostwatch-test-context.XXXXXX)
cp Dockerfile .dockerignore "$bare/"
if output=$(timeout 120 "${PODMAN[@]}" build --layers=false -t localhost/hostwatch:bare "$bare" 2>&1); then
    echo "the image built without target/image/hostwatch" >&2
    exit 1
fi
grep -q 'Run scripts/build-image' <<<"$output" || {
    echo "a build without the binary does not say what to run:" >&2
    echo "$output" >&2
    exit 1
}
echo "fails, saying: $(grep -o 'target/image/hostwatch missing?[^"]*' <<<"$output" | head -n 1)"

echo "-- scripts/build-image: the static binary, then the image"
CONTAINER_ENGINE="${PODMAN[*]}" CARGO_BUILD_JOBS=${CARGO_BUILD_JOBS:-2} timeout 1800 \
    scripts/build-image "$IMAGE" --quiet --layers=false >/dev/null
# Static and not position-independent: an executable (not a shared object)
# with no program interpreter and no dynamic section.
headers=$(readelf -hlW target/image/hostwatch)
if ! grep -q 'Type: *EXEC' <<<"$headers" || grep -qE '^ *(INTERP|DYNAMIC) ' <<<"$headers"; then
    echo "target/image/hostwatch is not a static non-PIE executable:" >&2
    grep -E 'Type:|INTERP|DYNAMIC' <<<"$headers" >&2
    exit 1
fi
python3 tests/scripts/lib/check_text_order.py \
    target/x86_64-unknown-linux-gnu/dist/hostwatch scripts/text-order.txt

# Earlier builds' images, untagged by this one, would pile up in vfs storage.
"${PODMAN[@]}" image prune -f >/dev/null
size=$("${PODMAN[@]}" image inspect --format '{{.Size}}' "$IMAGE")
echo "image size: $size bytes ($(( size / 1024 )) KiB)"
config=$("${PODMAN[@]}" image inspect --format '{{.Config.User}}|{{json .Config.Entrypoint}}|{{json .Config.ExposedPorts}}|{{index .Config.Labels "org.opencontainers.image.title"}}' "$IMAGE")
case "$config" in
    '65534:65534|["/bin/hostwatch"]|{"9100/tcp":{}}|hostwatch') ;;
    *) echo "unexpected image config: $config" >&2; exit 1 ;;
esac

# run NAME [podman run options...] -- [agent flags...]: starts the image as the
# DaemonSet runs it, with the agent on a port of 127.0.0.1 the kernel picks.
run() {
    local name=$1; shift
    local opts=()
    while [ "$1" != "--" ]; do opts+=("$1"); shift; done
    shift
    containers+=("$name")
    "${PODMAN[@]}" run -d --name "$name" --read-only --cap-drop ALL --user 65534:65534 \
        --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 "${opts[@]}" \
        "$IMAGE" --web.listen-address=127.0.0.1:0 "$@" >/dev/null
}

# wait_for_log NAME PATTERN: waits up to 10 s for a log line matching PATTERN.
wait_for_log() {
    for _ in $(seq 100); do
        "${PODMAN[@]}" logs "$1" 2>&1 | grep -q -- "$2" && return 0
        sleep 0.1
    done
    echo "$1 never logged $2; its log:" >&2
    "${PODMAN[@]}" logs "$1" >&2 || true
    return 1
}

echo "-- run as deployed: host pid namespace, host network, host roots mounted"
# HostToContainer makes the container's root a slave of the host's, which
# needs the host's to be shared, as systemd makes it; this sandbox's is
# private, so a shared bind of it stands in for it.
host_root=$(mktemp -d /tmp/hostwatch-test-root.XXXXXX)
mount --bind / "$host_root"
mount --make-shared "$host_root"
good=hostwatch-test-$$-good
run "$good" --network host --pid host \
    -v /proc:/host/proc:ro -v /sys:/host/sys:ro -v "$host_root":/host/root:ro,rslave -- \
    --path.procfs=/host/proc --path.sysfs=/host/sys --path.rootfs=/host/root \
    --path.udev.data=/host/root/run/udev/data
wait_for_log "$good" 'msg="Starting hostwatch"'
port=$("${PODMAN[@]}" logs "$good" 2>&1 | sed -n 's/.*msg="Starting hostwatch".* listen=127\.0\.0\.1:\([0-9]*\).*/\1/p' | head -1)
[ -n "$port" ] || { echo "no listen port in the log" >&2; exit 1; }
for path in /-/healthy /-/ready; do
    curl -fsS --max-time 5 "http://127.0.0.1:$port$path" >/dev/null
done
metrics=$(curl -fsS --max-time 10 "http://127.0.0.1:$port/metrics")
for series in '^node_load1 ' '^node_scrape_collector_success{collector="loadavg"} 1$' '^hostwatch_build_info{'; do
    grep -q "$series" <<<"$metrics" || { echo "/metrics lacks $series" >&2; exit 1; }
done
echo "scraped $(grep -vc '^#' <<<"$metrics") samples from the container"
# A host without udev (this sandbox has no /run/udev/data) makes the diskstats
# collector warn, as node_exporter does; that is about the host, not the
# deployment.
expected_warnings='^$'
[ -d /run/udev/data ] || expected_warnings='udev data directory not found'
if "${PODMAN[@]}" logs "$good" 2>&1 | grep 'level=WARN' | grep -Ev "$expected_warnings"; then
    echo "the self-check warned about a correct deployment" >&2
    exit 1
fi

echo "-- podman stop -t $STOP_TIMEOUT"
start=$(date +%s%N)
"${PODMAN[@]}" stop -t "$STOP_TIMEOUT" "$good" >/dev/null
elapsed_ms=$(( ($(date +%s%N) - start) / 1000000 ))
code=$("${PODMAN[@]}" inspect --format '{{.State.ExitCode}}' "$good")
echo "stopped in ${elapsed_ms} ms with exit code $code"
[ "$code" = 0 ] || { echo "exit code $code: not a clean exit on SIGTERM" >&2; exit 1; }
[ "$elapsed_ms" -lt "$STOP_BOUND_MS" ] || { echo "stop took ${elapsed_ms} ms: SIGTERM ignored?" >&2; exit 1; }
"${PODMAN[@]}" logs "$good" 2>&1 | grep -q 'signal=SIGTERM' || { echo "no SIGTERM shutdown logged" >&2; exit 1; }

# expect_warnings NAME WARNING...: waits for NAME to start (or fail) and
# checks that its self-check logged each WARNING.
expect_warnings() {
    local name=$1; shift
    wait_for_log "$name" 'msg="Starting hostwatch"\|level=ERROR'
    local log
    log=$("${PODMAN[@]}" logs "$name" 2>&1)
    for warning in "$@"; do
        grep -qF -- "$warning" <<<"$log" || { echo "$name: the self-check did not warn: $warning; log:" >&2; echo "$log" >&2; exit 1; }
    done
}

echo "-- run deployed wrong: the container's own procfs, a private root mount"
bad=hostwatch-test-$$-own-procfs
run "$bad" --network host -v "$host_root":/host/root:ro,rprivate -- --path.rootfs=/host/root
expect_warnings "$bad" "--path.procfs is this container's own procfs" "--path.rootfs is a private mount"

echo "-- run deployed wrong: the pod's own network namespace"
bad=hostwatch-test-$$-own-network
run "$bad" --network none -v /proc:/host/proc:ro -- --path.procfs=/host/proc
expect_warnings "$bad" "network namespace is not the host's"
echo "container tests passed"
