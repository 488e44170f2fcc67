#!/usr/bin/env bash
# Sets up everything and runs every test: unit tests and integration tests that start
# real gateway and worker processes on loopback.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
# The integration tests run the built `weft` binary, so build everything first.
swift build --build-tests
swift test --skip-build "$@"
