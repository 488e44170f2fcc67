#!/usr/bin/env bash
# Sets up everything and runs every test: unit tests, model tests against reference
# fixtures, and integration tests that start real gateway and worker processes on
# loopback and drive them from the Swift, C and Python clients. Tests run on the optimised build, the one that ships (its numerics are the
# ones checked); -enable-testing keeps @testable imports working.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
./scripts/setup-clients.sh
# The Python client type-checks under mypy --strict (its settings are in pyproject.toml).
(cd clients/python && ../../.build-python/venv/bin/python -m mypy --strict)
# The integration tests run the built `weft` binary, so build everything first.
swift build -c release --build-tests -Xswiftc -enable-testing
swift test -c release --skip-build -Xswiftc -enable-testing "$@"
