#!/usr/bin/env bash
# Training throughput of the default CNN, deepkern (native and onednn backends) and PyTorch (CPU,
# Debian's python3-torch), interleaved in one run: one training step (forward, backward, Adam) at
# batch 64 on random 28x28 images, median ms per step.
#   bench/compare_pytorch.sh [threads] [batch] [steps]
set -euo pipefail
cd "$(dirname "$0")/.."
threads=${1:-2}
batch=${2:-64}
steps=${3:-20}
jar=${JAR:-java/target/deepkern.jar}
[ -f "$jar" ] || bash ci/build.sh
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
py=/usr/bin/python3
"$py" -c "import torch" 2>/dev/null || { echo "PyTorch missing: apt-get install python3-torch" >&2; exit 1; }
for round in 1 2; do
  echo "== round $round"
  java -jar "$jar" bench --model cnn --batch "$batch" --threads "$threads" --steps "$steps" --backends native,onednn
  "$py" bench/pytorch_fashion_cnn.py --threads "$threads" --batch "$batch" --steps "$steps"
done
