#!/usr/bin/env bash
# ConvBench over the ResNet-50 layer set (fwd, bwd_data, bwd_weights) and the MobileNet-v2
# depthwise 3x3 layers (fwd), at N=1 with 1 thread and N=8 with 2 threads. One JMH run per
# (configuration, layer) holds every backend and pass of that layer, so each ratio native / onednn
# comes from calls seconds apart on this noisy machine. Then one table with the per-layer ratios
# and the geometric means (BenchReport). About 15 minutes; run it under the benchmark lock:
#   flock /tmp/dk-bench.lock bash ci/bench-conv.sh
#   CONFIGS="1:1" LAYERS="56x56:..." ...     (subsets; see below)
# Settings: 2 warm-up and 3 measured iterations of 0.5 s (SampleTime: medians of single calls),
# -f 0 (the trials of a layer share one JVM: the work is native code, and a JVM start per trial
# would double the run time). FORKS=1 forks per trial instead.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -f bench/target/benchmarks.jar ] || bash ci/build.sh
out=bench/results/${BENCH_NAME:-conv-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$out"
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}

# ResNet-50 (v1.5): conv1, the stride-1 3x3 layers of each stage, the 1x1 reductions and
# expansions (and the first block's 64 -> 64 and 64 -> 256), as CxHxW:KxRxS:sS:pP without N.
RESNET=${RESNET:-"3x224x224:64x7x7:s2:p3
64x56x56:64x3x3:s1:p1 128x28x28:128x3x3:s1:p1 256x14x14:256x3x3:s1:p1 512x7x7:512x3x3:s1:p1
64x56x56:64x1x1:s1:p0 64x56x56:256x1x1:s1:p0 256x56x56:64x1x1:s1:p0
128x28x28:512x1x1:s1:p0 512x28x28:128x1x1:s1:p0 256x14x14:1024x1x1:s1:p0 1024x14x14:256x1x1:s1:p0
512x7x7:2048x1x1:s1:p0 2048x7x7:512x1x1:s1:p0"}
# MobileNet-v2 depthwise 3x3 (groups = channels), stride 1 and 2.
DEPTHWISE=${DEPTHWISE:-"32x112x112:32x3x3:s1:p1:g32 96x112x112:96x3x3:s2:p1:g96 144x56x56:144x3x3:s1:p1:g144
192x28x28:192x3x3:s1:p1:g192 384x14x14:384x3x3:s1:p1:g384 576x14x14:576x3x3:s2:p1:g576 960x7x7:960x3x3:s1:p1:g960"}
CONFIGS=${CONFIGS:-"1:1 8:2"}   # N:threads
BACKENDS=${BACKENDS:-native,onednn}

echo "start $(date -u '+%Y-%m-%d %H:%M:%S UTC'); load: $(uptime)" | tee "$out/load.txt"
run() { # config-n threads layer passes
  local n=$1 threads=$2 layer=$3 passes=$4 name
  name=$(echo "n$n-t$threads-$layer" | tr ':' '_')
  java -jar bench/target/benchmarks.jar ConvBench -p backend="$BACKENDS" -p threads="$threads" -p pass="$passes" \
    -p shape="${n}x$layer" -f "${FORKS:-0}" -rf json -rff "$out/$name.json" > "$out/$name.log" 2>&1 \
    || { echo "failed: $layer (see $out/$name.log)"; return 0; }
}
for config in $CONFIGS; do
  n=${config%%:*} threads=${config##*:}
  for layer in $RESNET; do run "$n" "$threads" "$layer" fwd,bwd_data,bwd_weights; done
  for layer in $DEPTHWISE; do run "$n" "$threads" "$layer" fwd; done
done
echo "end   $(date -u '+%Y-%m-%d %H:%M:%S UTC'); load: $(uptime)" | tee -a "$out/load.txt"
echo "results: $out"
java -cp bench/target/benchmarks.jar org.deepkern.bench.BenchReport "$out"/*.json | tee "$out/table.md"
