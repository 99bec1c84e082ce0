#!/usr/bin/env bash
# The whole test suite: installs what it needs, builds, runs the Swift tests, then the
# integration tests that start the real executables against real clients.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

./scripts/install-test-deps.sh
swift build --build-tests
swift test --skip-build
VIGIL_BIN_DIR="$(swift build --show-bin-path)" python3 -m pytest -v Tests/IntegrationTests
