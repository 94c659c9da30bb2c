#!/usr/bin/env bash
# Issue 14's device run, from the kit that bench/device-kit.sh packs (copied into it as run-device.sh):
# the kernels against float64 references (CuPy), the backend contract suite on CUDA through the jlinked
# runtime, then DeviceCheck's figures on a random Llama-3.2-1B-shaped model. About 5 minutes at most.
# Everything is written under $OUT (else the kit's out/); summary.txt holds the lines for the issue note.
set -uo pipefail
kit="$(cd "$(dirname "$0")" && pwd)"
export OUT="${OUT:-$kit/out}"
chmod u+x "$kit"/runtime/bin/* "$kit"/runtime/lib/jspawnhelper 2>/dev/null || true # in case a copy dropped the modes
mkdir -p "$OUT"
java=("$kit/runtime/bin/java" --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -Xmx6g -cp "$kit/lib/*")
status=0

echo "== kernels (check_kernels.py)"
timeout 60 python3 "$kit/check_kernels.py" "$kit/ptx" > "$OUT/kernels.txt" 2>&1 || status=1
cat "$OUT/kernels.txt"

echo "== backend contract on CUDA (stories260K goldens, mixed batches, slot churn)"
timeout 100 "${java[@]}" -Dshared.dir="$kit/shared" dev.loraxj.backend.cuda.KitContractRunner \
  dev.loraxj.backend.cuda.CudaBackendContractTest > "$OUT/contract.txt" 2>&1 || status=1
grep -v 'incubator modules' "$OUT/contract.txt"

echo "== figures (random Llama-3.2-1B shape on the device)"
rm -f "$OUT/device-bench.txt"
timeout 130 "${java[@]}" dev.loraxj.backend.cuda.DeviceCheck > "$OUT/bench.txt" 2>&1 || status=1
grep -v 'incubator modules' "$OUT/bench.txt"

{
  echo "kernels: $(tail -1 "$OUT/kernels.txt")"
  grep -E '^info ' "$OUT/kernels.txt" || true
  grep -E '^contract ' "$OUT/contract.txt" || echo "contract: did not finish (see contract.txt)"
  grep -E '^FAILED ' "$OUT/contract.txt" | cut -c1-400 || true
  cat "$OUT/device-bench.txt" 2>/dev/null || echo "figures: did not finish (see bench.txt)"
} > "$OUT/summary.txt"
echo "== summary (for the issue note)"
cat "$OUT/summary.txt"
exit $status
