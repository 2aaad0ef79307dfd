#!/usr/bin/env bash
# On a machine with an NVIDIA GPU and driver: the whole suite of ci/test.sh, where these now run on
# the device instead of skipping:
#   - ctest cuda_gpu.* (label gpu): every CUDA kernel against its CPU reference, the same tests the
#     emulator runs (dk_cuda_tests: GEMM FP32/TF32/BF16, conv, attention with grouped-query heads /
#     key lengths / both causal alignments, softmax, xent, norms, pooling, activations, n-d ops,
#     embedding, dropout, every optimizer, memory);
#   - ctest cuda_backend_abi and cuda_backend_ops_match_ref: the cuda backend through libdeepkern's
#     C ABI on device memory (dk_cuda_*, matmul, attention, conv2d against the reference backend,
#     the declined features named);
#   - JUnit CudaTensorTest, CudaParityTest (every Backend hook, forward and backward, on Device.cuda
#     against native) and CudaTrainingTest (an MLP trained on the device, matching native);
# then the GPU benchmarks: our kernels (dk_cuda_bench: GEMM FP32/TF32/BF16 at 4096^3, flash
# attention 8x16x4096x128), the cuda backend from Java (CudaMatmulBench) and the cuBLAS baseline
# (CublasMatmulBench, built with the cuda-baselines profile). Fails if no GPU is visible, so a GPU
# job cannot pass by skipping.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v nvidia-smi >/dev/null || ! nvidia-smi -L >/dev/null 2>&1; then
  echo "ci/test-gpu.sh: no NVIDIA GPU or driver here (nvidia-smi -L failed); run ci/test.sh instead" >&2
  exit 1
fi
nvidia-smi -L
bash ci/test.sh -Pcuda-baselines "$@"
# Every GPU case must have run: a skip here means the GPU was not usable.
log=$(mktemp)
ctest --test-dir bindings/target/cmake -L gpu --output-on-failure | tee "$log"
if grep -q "Skipped\|Not Run" "$log"; then
  echo "ci/test-gpu.sh: GPU tests were skipped although a GPU is present" >&2
  exit 1
fi
bindings/target/cmake/dk_cuda_bench
bash ci/bench.sh CudaMatmulBench CublasMatmulBench
