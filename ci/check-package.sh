#!/usr/bin/env bash
# Checks the per-platform jar after a build: it holds libdeepkern, the JNI library and (when nvcc
# was found) libdeepkern_cuda, and no shipped .so carries a path of the build machine (no
# RUNPATH/RPATH other than $ORIGIN, no build-tree path in its strings).
set -euo pipefail
cd "$(dirname "$0")/.."
jar=$(ls bindings/target/deepkern-bindings-*-linux-x86_64.jar)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
unzip -q "$jar" -d "$tmp"
libdir=$tmp/org/deepkern/bindings/linux-x86_64
fail=0
expected=(libdeepkern.so libjniDeepKern.so)
command -v nvcc >/dev/null && expected+=(libdeepkern_cuda.so)
for lib in "${expected[@]}"; do
  [ -f "$libdir/$lib" ] || { echo "check-package: $jar lacks $lib"; fail=1; }
done
for so in "$libdir"/*.so; do
  paths=$(readelf -d "$so" | sed -n 's/.*(\(RUNPATH\|RPATH\)).*\[\(.*\)\]/\2/p')
  for p in ${paths//:/ }; do
    case "$p" in
      '$ORIGIN'|'$ORIGIN/') ;;
      *) echo "check-package: $(basename "$so") has run path '$p'"; fail=1 ;;
    esac
  done
  if strings "$so" | grep -qF "$PWD"; then
    echo "check-package: $(basename "$so") contains the build path $PWD"; fail=1
  fi
done
[ $fail -eq 0 ] && echo "check-package: $(basename "$jar") OK: $(cd "$libdir" && ls *.so | tr '\n' ' ')"
exit $fail
