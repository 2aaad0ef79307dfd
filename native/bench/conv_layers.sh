#!/usr/bin/env bash
# dk_conv_bench over ConvBench's layer set (ci/bench-conv.sh: ResNet-50 fwd, bwd_data,
# bwd_weights; MobileNet-v2 depthwise fwd) at N=1 / 1 thread and N=8 / 2 threads, against
# oneDNN's convolution primitive called directly. Run under the benchmark lock:
#   flock /tmp/dk-bench.lock bash native/bench/conv_layers.sh [build dir] [reps]
set -euo pipefail
cd "$(dirname "$0")/../.."
bin=${1:-build}/dk_conv_bench
reps=${2:-7}
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
RESNET="3x224x224:64x7x7:s2:p3
64x56x56:64x3x3:s1:p1 128x28x28:128x3x3:s1:p1 256x14x14:256x3x3:s1:p1 512x7x7:512x3x3:s1:p1
64x56x56:64x1x1:s1:p0 64x56x56:256x1x1:s1:p0 256x56x56:64x1x1:s1:p0
128x28x28:512x1x1:s1:p0 512x28x28:128x1x1:s1:p0 256x14x14:1024x1x1:s1:p0 1024x14x14:256x1x1:s1:p0
512x7x7:2048x1x1:s1:p0 2048x7x7:512x1x1:s1:p0"
DEPTHWISE="32x112x112:32x3x3:s1:p1:g32 96x112x112:96x3x3:s2:p1:g96 144x56x56:144x3x3:s1:p1:g144
192x28x28:192x3x3:s1:p1:g192 384x14x14:384x3x3:s1:p1:g384 576x14x14:576x3x3:s2:p1:g576 960x7x7:960x3x3:s1:p1:g960"
echo "start $(date -u '+%H:%M:%S UTC'); $(uptime)"
for config in 1:1 8:2; do
  n=${config%%:*} t=${config##*:}
  for pass in fwd bwd_data bwd_weights; do
    "$bin" --threads "$t" --reps "$reps" --pass "$pass" $(for l in $RESNET; do echo "${n}x$l"; done) | grep -v '^#  '
  done
  "$bin" --threads "$t" --reps "$reps" --pass fwd $(for l in $DEPTHWISE; do echo "${n}x$l"; done) | grep -v '^#  '
done
echo "end $(date -u '+%H:%M:%S UTC'); $(uptime)"
