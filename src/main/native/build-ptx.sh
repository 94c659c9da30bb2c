#!/usr/bin/env bash
# Compiles every kernel file here to PTX (sm_90 for the H200, and a portable sm_80) with nvcc, and has
# ptxas report each kernel's registers and spills for sm_90, for the test that holds the hot kernels to
# no spills. Without nvcc the build says so and goes on: the CPU backend serves.
set -euo pipefail
src="$(cd "$(dirname "$0")" && pwd)"
out="$1"       # where the PTX goes (packaged with the classes)
report="$2"    # where ptxas -v writes its reports
if ! command -v nvcc >/dev/null 2>&1; then
  echo "[loraxj] nvcc is not on the PATH: no PTX built, the CUDA backend cannot load; the CPU backend serves"
  exit 0
fi
mkdir -p "$out" "$report"
for cu in "$src"/*.cu; do
  name="$(basename "$cu" .cu)"
  for arch in sm_90 sm_80; do
    ptx="$out/$name.$arch.ptx"
    if [ ! -f "$ptx" ] || [ "$cu" -nt "$ptx" ]; then
      nvcc -ptx -O3 -arch="$arch" -std=c++17 -o "$ptx" "$cu"
    fi
  done
  ptxas -v -arch=sm_90 -o /dev/null "$out/$name.sm_90.ptx" > "$report/$name.sm_90.txt" 2>&1
done
echo "[loraxj] PTX built with $(nvcc --version | tail -1) into $out"
