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
# One test at a time (about 4 minutes here): the integration tests bound their waits
# and timings, and dozens of meshes at once on 2 cores stretched them past those bounds.
# `./scripts/test.sh --parallel` runs them side by side instead, as a stress run (it has
# found real races: docs/TESTING.md).
parallel=(--no-parallel)
for argument in "$@"; do [ "$argument" = --parallel ] && parallel=(); done
swift test -c release --skip-build -Xswiftc -enable-testing "${parallel[@]}" "$@"
