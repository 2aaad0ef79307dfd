#!/usr/bin/env bash
# On a machine with an NVIDIA GPU and driver: the whole test suite (as ci/test.sh), where the
# cuda_gpu.* ctest cases and the CUDA JUnit tests now run on the device instead of skipping,
# then the CUDA benchmarks with the cuBLAS baselines. Fails if no GPU is visible, so that a GPU
# job cannot pass by skipping everything.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v nvidia-smi >/dev/null || ! nvidia-smi -L >/dev/null 2>&1; then
  echo "ci/test-gpu.sh: no NVIDIA GPU or driver here (nvidia-smi -L failed); use ci/test.sh" >&2
  exit 1
fi
nvidia-smi -L
bash ci/test.sh "$@"
# Every GPU case must have run, none skipped.
skipped=$(ctest --test-dir bindings/target/cmake -L gpu -N | grep -c "Test" || true)
ctest --test-dir bindings/target/cmake -L gpu --output-on-failure 2>&1 | tee /tmp/dk-gpu-ctest.log
if grep -q "Not Run\|Skipped" /tmp/dk-gpu-ctest.log; then
  echo "ci/test-gpu.sh: some GPU tests were skipped although a GPU is present" >&2
  exit 1
fi
echo "GPU tests: $skipped cases ran on the device"
if [ -x ci/bench.sh ]; then
  DK_BENCH_BACKENDS=cuda,cublas bash ci/bench.sh || { echo "ci/test-gpu.sh: benchmarks failed" >&2; exit 1; }
fi
