#!/usr/bin/env bash
# The CUDA kernels on the CPU emulator under the sanitizers, in their own CMake trees (the fiber
# mode without sanitizers runs in the main tree's ctest):
#   build/emu-tsan: thread mode (one OS thread per CUDA thread) under ThreadSanitizer, plus a
#                   check that a kernel missing its __syncthreads is reported as a data race;
#   build/emu-asan: fiber and thread modes under AddressSanitizer + UndefinedBehaviorSanitizer.
# Only the emulator tests are built there (DK_EMU_ONLY): no nvcc, no oneDNN, no Java.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)
for san in thread address; do
  dir=build/emu-${san/thread/tsan}
  dir=${dir/address/asan}
  cmake -S . -B "$dir" -DDK_EMU_ONLY=ON -DDK_SANITIZE=$san -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build "$dir" --parallel "$jobs"
  ctest --test-dir "$dir" --output-on-failure --parallel "$jobs"
done
