#!/usr/bin/env bash
# The whole test suite, from a fresh Debian 12 machine: installs what is missing, builds,
# then runs every test (GoogleTest units, black-box API conformance, real clients,
# integrity under failure) through ctest. In CI (CI=true) a test that cannot run its real
# dependency fails instead of skipping.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install-deps.sh --test
tools/build.sh
cd build
ctest --output-on-failure --timeout 900 -j "${TEST_JOBS:-2}" "$@"
