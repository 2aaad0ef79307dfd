#!/usr/bin/env bash
# Installs what the build needs and a fresh machine may lack: a JDK (17+), Maven, g++, CMake.
# Idempotent; installs with apt-get only what is missing. Maven fetches the rest (JavaCPP, the
# oneDNN jar, JMH, JUnit) from Maven Central during the build.
set -euo pipefail

missing=()
command -v javac >/dev/null || missing+=(openjdk-17-jdk-headless)
command -v mvn >/dev/null || missing+=(maven)
command -v g++ >/dev/null || missing+=(g++)
command -v cmake >/dev/null || missing+=(cmake)
command -v make >/dev/null || missing+=(make)

if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: not root; install these yourself: ${missing[*]}" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}"
fi
# Fashion-MNIST for the main job (ci/demo.sh) and the JUnit test that trains on a real subset.
[ -f /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ] || missing_data=dataset-fashion-mnist
if [ -n "${missing_data:-}" ]; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
    echo "setup: installing dataset-fashion-mnist"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dataset-fashion-mnist >/dev/null 2>&1 \
      || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dataset-fashion-mnist; } \
      || echo "setup: could not install dataset-fashion-mnist; the Fashion-MNIST test will be skipped"
  else
    echo "setup: Fashion-MNIST missing (apt-get install dataset-fashion-mnist); the Fashion-MNIST test will be skipped"
  fi
fi
if ! command -v nvcc >/dev/null; then
  echo "setup: nvcc not found; libdeepkern_cuda will not be built and the cuda backend will say so"
fi
