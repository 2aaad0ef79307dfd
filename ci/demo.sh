#!/usr/bin/env bash
# The main job: trains the default CNN on Fashion-MNIST and prints the test accuracy, the
# per-class metrics (precision, recall, F1, false-positive and false-negative rates, confusion
# matrix) and the training throughput. Installs the Debian package dataset-fashion-mnist when
# the data is missing and it can (root + apt-get); otherwise says what to do.
#
#   ci/demo.sh                          10 epochs of the CNN on onednn with 2 threads (a few minutes on
#                                       2 quiet cores), model and curves in build/demo/
#   EPOCHS=2 ci/demo.sh                 a shorter run
#   BACKEND=native ci/demo.sh           deepkern's own kernels (within 3-4% of onednn on this CNN:
#                                       2944-3002 against 3024-3114 samples/s per training step)
#   ci/demo.sh --model resnet           extra arguments go to `deepkern train`
set -euo pipefail
cd "$(dirname "$0")/.."

data=${DEEPKERN_DATA:-/usr/share/datasets/fashion-mnist}
have_data() { [ -f "$data/train-images-idx3-ubyte.gz" ] || [ -f "$data/train-images-idx3-ubyte" ]; }
if ! have_data; then
  if [ "$data" = /usr/share/datasets/fashion-mnist ] && [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
    echo "demo: Fashion-MNIST not found; installing the Debian package dataset-fashion-mnist"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -qq dataset-fashion-mnist >/dev/null 2>&1 \
      || { apt-get update -qq && apt-get install -y -qq dataset-fashion-mnist; } \
      || true
  fi
  if ! have_data; then
    cat >&2 <<MSG
demo: Fashion-MNIST is not in $data and could not be installed here.
  On Debian or Ubuntu (as root):  apt-get install dataset-fashion-mnist
  Elsewhere: download train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz,
  t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz from
  https://github.com/zalandoresearch/fashion-mnist into a folder and run
  DEEPKERN_DATA=<that folder> ci/demo.sh
MSG
    exit 1
  fi
fi

[ -f java/target/deepkern.jar ] || bash ci/build.sh
# Spinning OpenMP workers fight the JVM and other processes for 2 cores; passive waiting is
# 1.5-2x faster on a shared machine (see /work/shared/BUILD-NOTES.md).
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
mkdir -p build/demo
java -jar java/target/deepkern.jar info
echo
java -jar java/target/deepkern.jar train --dataset fashion-mnist --data "$data" --model cnn \
  --epochs "${EPOCHS:-10}" --batch 64 --backend "${BACKEND:-onednn}" --threads "${THREADS:-2}" \
  --out build/demo/model.safetensors --curves build/demo/curves "$@"
