#!/usr/bin/env bash
# The full build: native libraries (CMake, driven by Maven), the bindings and their
# linux-x86_64 jar, java/target/deepkern.jar and bench/target/benchmarks.jar. No tests.
set -euo pipefail
cd "$(dirname "$0")/.."
bash ci/setup.sh
mvn -B -q package -DskipTests "$@"
echo "build: java/target/deepkern.jar, bench/target/benchmarks.jar, bindings/target/*-linux-x86_64.jar"
