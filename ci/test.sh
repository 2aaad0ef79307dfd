#!/usr/bin/env bash
# Every test: the JUnit suites (run by the Maven build) and the native ctest suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash ci/setup.sh
mvn -B package "$@"
bash ci/check-package.sh
ctest --test-dir bindings/target/cmake --output-on-failure
