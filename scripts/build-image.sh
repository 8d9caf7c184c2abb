#!/usr/bin/env bash
# Builds the controller image without a Docker daemon and proves it starts.
#
#   scripts/build-image.sh      # -> $CARGO_TARGET_DIR/image/oci (OCI layout, tag `spillway`)
#
# The root Dockerfile is the recipe for a machine with a container engine
# and registry access (rust and distroless base images, a musl build). Here
# neither exists: only crates.io, PyPI, Debian and npm are reachable, so no
# base image can be pulled and rustup cannot add the musl target. This
# script builds the same image contents from what is here:
#   * the `spillway` binary linked statically against glibc
#     (`-C target-feature=+crt-static`; glibc >= 2.34 resolves names without
#     loading NSS modules), checked to have no program interpreter;
#   * /etc/passwd and /etc/group with `nonroot` (65532), Debian's CA bundle,
#     an empty /tmp: nothing else (no shell, no libc, no package manager);
#   * an OCI image assembled with umoci (Debian package), user 65532:65532,
#     entrypoint /spillway, cmd `run`, port 9464.
# Then it unpacks the image afresh, checks its file list and config, and runs
# the binary from the image's root filesystem (chroot as 65532:65532, with
# the device nodes a runtime provides): `--help` (without the `demo` and
# `simulate` subcommands: the image is built without those features, as
# the Dockerfile builds it), and `/healthz` of `spillway run` on a
# configuration file, with a kubeconfig whose API server does not answer
# (the controller serves its probes and keeps retrying the API).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v umoci >/dev/null 2>&1; then
  echo "==> installing umoci (apt-get)"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends umoci ca-certificates >/dev/null
fi
[ "$(id -u)" -eq 0 ] || { echo "error: unpacking and chroot need root" >&2; exit 1; }

TRIPLE=x86_64-unknown-linux-gnu
TARGET_DIR="${CARGO_TARGET_DIR:-target}"
echo "==> static release build of spillway ($TRIPLE, crt-static)"
# An explicit --target keeps build scripts and proc macros dynamic (host)
# and the flags out of the host artifacts the other builds share.
CARGO_PROFILE_RELEASE_DEBUG=false CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_RUSTFLAGS="-C target-feature=+crt-static" \
  cargo build --release --locked -p spillway --bin spillway --no-default-features --target "$TRIPLE"
BIN="$TARGET_DIR/$TRIPLE/release/spillway"
if readelf -lW "$BIN" | grep -q "program interpreter" || readelf -dW "$BIN" | grep -q NEEDED; then
  echo "error: $BIN is dynamically linked" >&2
  exit 1
fi

OUT="$TARGET_DIR/image"
rm -rf "$OUT"
mkdir -p "$OUT"
IMG="$OUT/oci:spillway"
umoci init --layout "$OUT/oci"
umoci new --image "$IMG"
umoci unpack --image "$IMG" "$OUT/bundle" >/dev/null
R="$OUT/bundle/rootfs"
install -m 0755 "$BIN" "$R/spillway"
strip --strip-debug "$R/spillway"
mkdir -p "$R/etc/ssl/certs" "$R/tmp"
chmod 1777 "$R/tmp"
printf 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' >"$R/etc/passwd"
printf 'root:x:0:\nnonroot:x:65532:\n' >"$R/etc/group"
cp /etc/ssl/certs/ca-certificates.crt "$R/etc/ssl/certs/ca-certificates.crt"
umoci repack --image "$IMG" "$OUT/bundle"
umoci config --image "$IMG" --config.user 65532:65532 --config.entrypoint /spillway --config.cmd run \
  --config.exposedports 9464/tcp --config.workingdir / \
  --config.label org.opencontainers.image.title=spillway
rm -rf "$OUT/bundle"

echo "==> checking the image"
umoci unpack --image "$IMG" "$OUT/check" >/dev/null
R="$OUT/check/rootfs"
files=$(cd "$R" && find . -mindepth 1 | sort | tr '\n' ' ')
want="./etc ./etc/group ./etc/passwd ./etc/ssl ./etc/ssl/certs ./etc/ssl/certs/ca-certificates.crt ./spillway ./tmp "
if [ "$files" != "$want" ]; then
  echo "error: the image holds: $files; expected: $want" >&2
  exit 1
fi
python3 - "$OUT/check/config.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
p = c["process"]
assert p["user"]["uid"] == 65532 and p["user"]["gid"] == 65532, p["user"]
assert p["args"] == ["/spillway", "run"], p["args"]
print("config: user 65532:65532, args", p["args"])
PY
# An OCI runtime gives every container /dev/null, zero, random and urandom
# (runtime spec, "Default Devices"); the unpacked copy gets the same, the
# image itself stays without /dev.
mkdir -p "$R/dev"
for d in null:3 zero:5 random:8 urandom:9; do
  mknod -m 666 "$R/dev/${d%%:*}" c 1 "${d##*:}"
done
help=$(chroot --userspec=65532:65532 "$R" /spillway --help)
grep -q "Usage: spillway" <<<"$help" || { echo "error: --help said: $help" >&2; exit 1; }
echo "--help: ok"
if grep -Eq '^  (demo|simulate) ' <<<"$help"; then
  echo "error: the image's binary has the demo/simulate subcommands: $help" >&2
  exit 1
fi
echo "no demo, no simulate: ok"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mkdir -p "$R/work"
cat >"$R/work/config.yaml" <<'YAML'
cluster: { id: image }
azure:
  subscriptionId: 00000000-0000-0000-0000-000000000000
  resourceGroup: burst-rg
  location: westeurope
  auth: { method: clientSecret, tenantId: t, clientId: c, secretFile: /work/secret }
policies: []
YAML
printf 'secret' >"$R/work/secret"
cat >"$R/work/kubeconfig" <<'KC'
apiVersion: v1
kind: Config
clusters: [{ name: none, cluster: { server: "https://127.0.0.1:9" } }]
users: [{ name: none, user: { token: none } }]
contexts: [{ name: none, context: { cluster: none, user: none } }]
current-context: none
KC
chmod -R a+rX "$R/work"
KUBECONFIG=/work/kubeconfig timeout 60 chroot --userspec=65532:65532 "$R" /spillway run \
  --config /work/config.yaml --no-leader-election --listen "127.0.0.1:$port" >"$OUT/run.log" 2>&1 &
pid=$!
ok=0
for _ in $(seq 1 100); do
  if [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/healthz")" = "200" ]; then ok=1; break; fi
  sleep 0.2
done
kill "$pid" 2>/dev/null || true
wait "$pid" 2>/dev/null || true
if [ "$ok" -ne 1 ]; then
  echo "error: /healthz of the image's binary did not answer 200" >&2
  tail -20 "$OUT/run.log" >&2
  exit 1
fi
echo "/healthz of spillway run: 200"
rm -rf "$OUT/check"
size=$(du -sb "$OUT/oci" | cut -f1)
echo "image: $IMG ($((size / 1024 / 1024)) MiB), manifest $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["manifests"][0]["digest"])' "$OUT/oci/index.json")"
