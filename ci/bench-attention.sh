#!/usr/bin/env bash
# AttentionBench with the two backends of each configuration measured back to back: one JMH run
# per (threads, shape, causal, pass), so on a noisy machine each ratio native / onednn comes from
# one run of minutes apart at most, not from the two ends of a 10-minute sweep. Then one table.
#   ci/bench-attention.sh                  threads=1, every shape, causal and pass
#   THREADS="1 2" ci/bench-attention.sh
set -euo pipefail
cd "$(dirname "$0")/.."
[ -f bench/target/benchmarks.jar ] || bash ci/build.sh
out=bench/results/${BENCH_NAME:-attention-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$out"
for threads in ${THREADS:-1}; do
  for shape in 1x8x128x64 1x8x512x64 1x8x2048x64; do
    for causal in false true; do
      for pass in fwd bwd; do
        java -jar bench/target/benchmarks.jar AttentionBench -p threads=$threads -p shape=$shape \
          -p causal=$causal -p pass=$pass -wi 3 -w 1 -i 5 -r 1 -f 1 -rf json \
          -rff "$out/t$threads-$shape-$causal-$pass.json" > "$out/t$threads-$shape-$causal-$pass.log"
      done
    done
  done
done
echo "results: $out"
java -cp bench/target/benchmarks.jar org.deepkern.bench.BenchReport "$out"/*.json
