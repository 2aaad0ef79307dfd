#!/usr/bin/env bash
# The main job. Until training lands, it shows the library end to end: what it found on this
# machine, and matmul run on every backend with the difference from the java reference.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -f java/target/deepkern.jar ] || bash ci/build.sh
java -jar java/target/deepkern.jar info
echo
java -jar java/target/deepkern.jar compare "$@"
