#!/usr/bin/env bash
# Configures and builds the native libraries and tests with CMake. Called by the bindings module's
# Maven build (generate-sources); usable by hand:
#   native/build.sh BUILD_DIR OUTPUT_DIR DNNL_ROOT [VERSION]
# BUILD_DIR: the CMake build tree (ctest runs there); OUTPUT_DIR: where libdeepkern.so and
# libdeepkern_cuda.so go; DNNL_ROOT: the unpacked linux-x86_64 folder of the org.bytedeco:dnnl jar;
# VERSION: what dk_version() reports (the Maven project version).
set -euo pipefail
if [ $# -lt 3 ] || [ $# -gt 4 ]; then
  echo "usage: $0 BUILD_DIR OUTPUT_DIR DNNL_ROOT [VERSION]" >&2
  exit 2
fi
build_dir=$1 output_dir=$2 dnnl_root=$3 version=${4:-}
src=$(cd "$(dirname "$0")/.." && pwd)
command -v cmake >/dev/null || { echo "cmake is missing: run ci/setup.sh (or apt-get install cmake)" >&2; exit 1; }
mkdir -p "$output_dir"
cmake -S "$src" -B "$build_dir" -DCMAKE_BUILD_TYPE=Release -DDK_DNNL_ROOT="$dnnl_root" -DDK_OUTPUT_DIR="$output_dir" \
  ${version:+-DDK_VERSION_STRING="$version"}
cmake --build "$build_dir" --parallel "$(nproc)"
