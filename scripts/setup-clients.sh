#!/usr/bin/env bash
# Sets up what the C and Python clients need, if missing: gcc and make, protobuf-c, a
# virtual environment in .build-python/venv with the Python client installed from
# clients/python (pyzmq, protobuf, numpy from PyPI), and tritonclient and KServe for the
# HTTP tests. Then builds the C client.
set -euo pipefail
source "$(dirname "$0")/lib/apt-install-missing.sh"
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

packages=(gcc make pkg-config libzmq3-dev libprotobuf-c-dev)
# A Python from elsewhere (e.g. pyenv) brings its own venv module; Debian's needs this.
python3 -c "import venv, ensurepip" 2>/dev/null || packages+=(python3-venv)
apt_install_missing setup-clients "${packages[@]}"

venv="$root/.build-python/venv"
if [ ! -x "$venv/bin/python" ]; then
  echo "setup-clients: creating $venv"
  python3 -m venv "$venv"
fi
# Installs the client as a user would (checking that it is pip-installable) with numpy.
"$venv/bin/pip" install --quiet --disable-pip-version-check "$root/clients/python[numpy]"
# The type checker the test command runs over the package (`mypy --strict`).
"$venv/bin/python" -c "import mypy" 2>/dev/null || "$venv/bin/pip" install --quiet --disable-pip-version-check mypy types-protobuf
# The Kubernetes manifests are checked against the API schemas (`kubernetes-validate --strict`).
[ -x "$venv/bin/kubernetes-validate" ] || "$venv/bin/pip" install --quiet --disable-pip-version-check kubernetes-validate
# The Open Inference Protocol's own clients, which the HTTP tests call Weft with.
"$venv/bin/python" -c "import tritonclient.http, kserve" 2>/dev/null \
  || "$venv/bin/pip" install --quiet --disable-pip-version-check "tritonclient[http]" kserve
echo "setup-clients: Python client installed in $venv"

make --no-print-directory -s -C "$root/clients/c" all check
echo "setup-clients: C client built in clients/c/build and checked (warnings as errors)"
