#!/usr/bin/env bash
# Sets up everything, builds in release mode and runs the whole mesh on this machine
# from deploy/weft.yaml (or the config given as $1) until Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
swift build -c release --product weft
exec .build/release/weft up --config "${1:-deploy/weft.yaml}"
