#!/usr/bin/env bash
# The GEMM benchmarks of issue 3 with ci/bench.sh's JMH settings, one JMH run per (shape, threads)
# so that native, onednn and the packed-B native of a shape run back to back: on a shared machine
# the load changes within minutes and a ratio is only meaningful between runs close in time.
# Writes bench/results/${BENCH_NAME:-matmul-<time>}.json (all runs merged) and prints the table.
#   flock /tmp/dk-bench.lock bash ci/bench-matmul.sh
# JAR=<copy of benchmarks.jar> lets the worktree be rebuilt while it runs.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -n "${JAR:-}" ] || { [ -f bench/target/benchmarks.jar ] || bash ci/build.sh; JAR=bench/target/benchmarks.jar; }
mkdir -p bench/results
out=bench/results/${BENCH_NAME:-matmul-$(date +%Y%m%d-%H%M%S)}.json
parts=$(mktemp -d)
jmh=(-wi 2 -w 1 -i 5 -r 1 -f 1 -rf json)
java -jar "$JAR" PeakBench "${jmh[@]}" -rff "$parts/00-peak.json"
i=1
for shape in 256x256x256 512x512x512 1024x1024x1024 2048x2048x2048 64x64x64 1x4096x4096 8x4096x4096 32x4096x4096; do
  for t in 1 2; do
    re='\.MatmulBench'
    case $shape in *x4096x4096) re='MatmulBench' ;; esac # PackedMatmulBench too
    java -jar "$JAR" "$re" -p backend=native,onednn -p shape=$shape -p threads=$t "${jmh[@]}" -rff "$parts/$(printf %02d $i).json"
    i=$((i + 1))
  done
done
java -jar "$JAR" PeakBench "${jmh[@]}" -rff "$parts/99-peak.json"
python3 -c "
import glob, json, sys
runs = []
for f in sorted(glob.glob(sys.argv[1] + '/*.json')): runs += json.load(open(f))
json.dump(runs, open(sys.argv[2], 'w'), indent=1)" "$parts" "$out"
rm -rf "$parts"
echo
echo "results: $out"
java -cp "$JAR" org.deepkern.bench.BenchReport "$out"
