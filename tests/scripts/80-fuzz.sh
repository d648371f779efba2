#!/usr/bin/env bash
# Runs every fuzz target of fuzz/ (one per parser) briefly with libFuzzer:
# a panic in any parser fails the test and leaves the crashing input under
# fuzz/artifacts/<target>/. Installs cargo-fuzz (crates.io) when missing.
#
# cargo-fuzz wants a nightly toolchain for its -Z flags; the machine's one
# stable toolchain accepts them with RUSTC_BOOTSTRAP=1. No sanitizer is
# needed (the parsers are safe Rust: the finding is a panic), and debug
# assertions are on so that arithmetic overflow panics as in a debug build.
#
# FUZZ_SECONDS sets the time per target (default 2); the corpus grows in
# fuzz/corpus/ (ignored by git) from run to run.
set -euo pipefail
cd "$(dirname "$0")/../../fuzz"

FUZZ_SECONDS=${FUZZ_SECONDS:-2}
# Larger inputs than any parser's line; whole files are exercised by the
# garbage-files test.
MAX_LEN=4096

fail() {
    echo "FAIL: fuzz: $*" >&2
    exit 1
}

if ! cargo fuzz --version >/dev/null 2>&1; then
    CARGO_BUILD_JOBS=${CARGO_BUILD_JOBS:-2} cargo install --locked cargo-fuzz >/dev/null
fi

export RUSTC_BOOTSTRAP=1
cargo fuzz build --sanitizer none --debug-assertions

targets=$(cargo fuzz list)
[ -n "$targets" ] || fail "no fuzz targets"
work=$(mktemp -d /tmp/hostwatch-fuzz.XXXXXX)
trap 'rm -rf "$work"' EXIT

total=0
for target in $targets; do
    mkdir -p "corpus/$target" "artifacts/$target"
    log=$work/$target.log
    # -timeout: an input taking seconds is a hang, reported like a crash.
    if ! timeout $((FUZZ_SECONDS + 60)) cargo fuzz run --sanitizer none --debug-assertions \
        "$target" "corpus/$target" -- \
        -max_total_time="$FUZZ_SECONDS" -max_len="$MAX_LEN" -timeout=10 \
        -artifact_prefix="artifacts/$target/" -print_final_stats=1 >"$log" 2>&1; then
        tail -n 40 "$log" >&2
        fail "$target crashed; input under fuzz/artifacts/$target/"
    fi
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    total=$((total + ${runs:-0}))
    echo "fuzz: $target: ${runs:-?} executions, no crash"
done
echo "fuzz: $(wc -w <<<"$targets") targets, $total executions in all, no crash"
