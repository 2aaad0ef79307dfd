#!/usr/bin/env bash
# JMH with short settings; writes bench/results/<name>.json and prints a Markdown table.
#   ci/bench.sh                          MatmulBench at 256 and 1024 plus the FMA peak
#   ci/bench.sh MatmulBench -p shape=2048x2048x2048 -p threads=1
# Extra arguments go to JMH (a benchmark regex and -p name=value overrides).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -f bench/target/benchmarks.jar ] || bash ci/build.sh
mkdir -p bench/results
out=bench/results/${BENCH_NAME:-bench-$(date +%Y%m%d-%H%M%S)}.json
args=("$@")
[ ${#args[@]} -gt 0 ] || args=(MatmulBench PeakBench)
java -jar bench/target/benchmarks.jar "${args[@]}" -wi 2 -w 1 -i 5 -r 1 -f 1 -rf json -rff "$out"
echo
echo "results: $out"
java -cp bench/target/benchmarks.jar org.deepkern.bench.BenchReport "$out"
