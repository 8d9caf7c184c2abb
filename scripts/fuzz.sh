#!/usr/bin/env bash
# Runs the cargo-fuzz targets in fuzz/ one after another (never in parallel:
# they would share the machine's two cores), each for SECONDS (default 600).
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]     # default: every target
#
# Not run by CI. Needs only the stable toolchain: cargo-fuzz passes a few
# nightly-only flags, which RUSTC_BOOTSTRAP=1 allows, and `-s none` skips the
# sanitizer (the project forbids `unsafe`; what is hunted here are panics,
# arithmetic overflow (`-a` keeps overflow checks and debug assertions on),
# runaway memory and hangs). Each target fuzzes from its committed seeds in
# fuzz/corpus/<target>/ (read only) plus a working corpus in
# fuzz/target/corpus/<target>/ (kept between runs, not committed). A crash is
# saved under fuzz/artifacts/<target>/ and stops the run; reproduce it with
#   RUSTC_BOOTSTRAP=1 cargo fuzz run -s none -a <target> fuzz/artifacts/<target>/crash-...
# (from fuzz/). Full logs go to fuzz/target/logs/<target>.log.
set -euo pipefail

SECONDS_PER_TARGET=${1:-600}
shift || true
ROOT=$(cd "$(dirname "$0")/.." && pwd)
FUZZ="$ROOT/fuzz"
TARGETS=("$@")
if [ ${#TARGETS[@]} -eq 0 ]; then
    TARGETS=(config quantity prometheus_response arm_response)
fi

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "installing cargo-fuzz (crates.io)"
    cargo install cargo-fuzz --locked
fi
export RUSTC_BOOTSTRAP=1
FLAGS=(-s none -a)

cd "$FUZZ"
mkdir -p target/logs
echo "cargo-fuzz: $(cargo fuzz --version); $(rustc --version)"
echo "building ${TARGETS[*]}"
for t in "${TARGETS[@]}"; do
    cargo fuzz build "${FLAGS[@]}" "$t"
done

status=0
summary=()
for t in "${TARGETS[@]}"; do
    mkdir -p "target/corpus/$t"
    log="target/logs/$t.log"
    extra=()
    [ -f "dicts/$t.dict" ] && extra+=("-dict=dicts/$t.dict")
    echo "=== $t: ${SECONDS_PER_TARGET}s, log $FUZZ/$log"
    started=$(date +%s)
    set +e
    cargo fuzz run "${FLAGS[@]}" "$t" "target/corpus/$t" "corpus/$t" -- \
        -max_total_time="$SECONDS_PER_TARGET" -rss_limit_mb=2048 -timeout=10 \
        -max_len=16384 -print_final_stats=1 "${extra[@]}" >"$log" 2>&1
    rc=$?
    set -e
    took=$(( $(date +%s) - started ))
    last=$(grep -E '^#[0-9]+' "$log" | tail -n 1 || true)
    execs=$(grep -E '^stat::number_of_executed_units' "$log" | awk '{print $2}' || true)
    rate=$(grep -E '^stat::average_exec_per_sec' "$log" | awk '{print $2}' || true)
    if [ "$rc" -eq 0 ]; then
        result="ok, no crash"
    else
        result="FAILED (exit $rc): $(grep -E 'panicked at|ERROR: libFuzzer|SUMMARY' "$log" | head -n 2 | tr '\n' ' ')"
        status=1
    fi
    echo "    ${took}s, ${execs:-?} executions, ${rate:-?} exec/s, last: ${last:-?}"
    echo "    result: $result"
    summary+=("$t: ${took}s, ${execs:-?} execs, ${rate:-?} exec/s — $result")
done

echo "=== summary"
printf '%s\n' "${summary[@]}"
exit $status
