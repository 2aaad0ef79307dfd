#!/usr/bin/env bash
# Every test: the JUnit suites (run by the Maven build), the native ctest suite (with the CUDA
# kernels on the CPU emulator in fiber mode, and on the GPU when there is one), and the emulator
# under the sanitizers.
set -euo pipefail
cd "$(dirname "$0")/.."
bash ci/setup.sh
mvn -B package "$@"
bash ci/check-package.sh
ctest --test-dir bindings/target/cmake --output-on-failure
# The CUDA kernels on the CPU emulator under ThreadSanitizer and AddressSanitizer + UBSan.
bash ci/test-cuda-emu.sh
