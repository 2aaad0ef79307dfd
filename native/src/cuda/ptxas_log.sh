#!/usr/bin/env bash
# CMake's compiler launcher for the CUDA objects: runs the nvcc command unchanged and keeps its
# diagnostics (the ptxas -v report: registers, spills, shared memory per kernel and architecture)
# in <object>.ptxas.txt, which check_ptxas_budget.py compares with ptxas_budget.txt.
set -uo pipefail
out=""
prev=""
for a in "$@"; do
  if [ "$prev" = "-o" ]; then out=$a; fi
  prev=$a
done
if [ -z "$out" ]; then exec "$@"; fi
"$@" 2> >(tee "$out.ptxas.txt" >&2)
status=$?
wait
exit $status
