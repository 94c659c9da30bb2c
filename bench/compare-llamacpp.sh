#!/usr/bin/env bash
# loraxj against llama.cpp on the same random Llama, side by side on this machine, in turns.
#
#   bench/compare-llamacpp.sh LLAMA_BUILD_DIR [--shape 110m|tiny] [--dtypes f32,bf16[,int8,int4]] [--clients 32] [--tokens 64]
#                             [--prompt-tokens 16] [--threads N] [--rounds 3] [--dir /tmp/loraxj-bench] [--jar JAR] [--http 1|0]
#
# LLAMA_BUILD_DIR holds bin/llama-bench, bin/llama-batched-bench and bin/llama-server (cmake --build BUILD
# --target llama-bench llama-batched-bench llama-server, and llama-quantize for int8/int4 against Q8_0/Q4_0); its parent is the llama.cpp checkout whose gguf-py/
# converts the model (or set GGUF_PY). Nothing of llama.cpp is built or kept here. Run from the repository root
# after ./mvnw package -DskipTests. Every benchmark runs under flock /tmp/loraxj-bench.lock (other agents
# benchmark on these machines too) and under a 175 s timeout.
#
# Figures (llama.cpp's KV cache in f32, as loraxj's, except in llama-bench, which has no f32 KV; prefill from
# an empty cache barely reads it):
#   prefill 128:   loraxj `bench` pp128 against llama-bench -p 128
#   decode b1/8/32: loraxj `bench` (32-token prompt, 64 steps) against llama-batched-bench -npp 32 -ntg 64 -npl 1,8,32 (S_TG)
#   HTTP (--http 0 skips it): `bench serve --figures load` (N clients streaming /v1/completions, max_tokens --tokens, greedy, EOS
#                  ignored) against llama-server -np N, with the same client (--url); tokens/s and TTFT p50, f32 model (its GGUF with byte pieces as text)
set -euo pipefail

usage() { sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
[[ $# -ge 1 && $1 != -h && $1 != --help ]] || usage
BUILD=$(cd "$1" && pwd); shift
SHAPE=110m DTYPES=f32,bf16 CLIENTS=32 TOKENS=64 PROMPT=16 THREADS=$(nproc) ROUNDS=3 DIR=/tmp/loraxj-bench HTTP=1
JAR=target/quarkus-app/quarkus-run.jar
while [[ $# -gt 0 ]]; do
  [[ $# -ge 2 ]] || { echo "missing value after $1" >&2; usage; }
  case $1 in
    --shape) SHAPE=$2 ;; --dtypes) DTYPES=$2 ;; --clients) CLIENTS=$2 ;; --tokens) TOKENS=$2 ;;
    --prompt-tokens) PROMPT=$2 ;; --threads) THREADS=$2 ;; --rounds) ROUNDS=$2 ;; --dir) DIR=$2 ;; --jar) JAR=$2 ;; --http) HTTP=$2 ;;
    *) echo "unknown option $1" >&2; usage ;;
  esac
  shift 2
done
for b in llama-bench llama-batched-bench $([[ $HTTP == 0 ]] || echo llama-server); do
  [[ -x $BUILD/bin/$b ]] || { echo "no $BUILD/bin/$b: build it with cmake --build $BUILD --target $b" >&2; exit 2; }
done
GGUF_PY=${GGUF_PY:-$(dirname "$BUILD")/gguf-py}
[[ -d $GGUF_PY/gguf ]] || { echo "no gguf-py at $GGUF_PY (set GGUF_PY to llama.cpp's gguf-py folder)" >&2; exit 2; }
[[ -f $JAR ]] || { echo "no $JAR: run ./mvnw package -DskipTests first, or pass --jar" >&2; exit 2; }
HERE=$(cd "$(dirname "$0")" && pwd)
JAVA=${JAVA:-${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}/bin/java}
RUN=("$JAVA" --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -Xmx8g -jar "$JAR")
LOCK=/tmp/loraxj-bench.lock
OUT=$DIR/compare-$SHAPE
mkdir -p "$OUT"
locked() { flock "$LOCK" timeout 175 "$@"; }
# the value of KEY=... on the line of $1 (a file) that starts with $2 and has all of $3...
field() { local f=$1 start=$2 key=$3; shift 3
  awk -v s="$start" -v k="$key" -v want="$*" '
    index($0, s) { ok = 1; n = split(want, w, " "); for (i = 1; i <= n; i++) if (index($0, w[i]) == 0) ok = 0
                   if (ok) for (i = 1; i <= NF; i++) if (index($i, k "=") == 1) { print substr($i, length(k) + 2); exit } }' "$f"; }
ratio() { python3 -c "import sys; a,b=float(sys.argv[1] or 'nan'),float(sys.argv[2] or 'nan'); print(f'{a/b:.2f}' if b==b and b>0 and a==a else 'n/a')" "$1" "$2"; }

echo "loraxj vs llama.cpp ($(git -C "$(dirname "$BUILD")" rev-parse --short HEAD 2>/dev/null || echo "$BUILD")), shape $SHAPE, $THREADS threads;"
echo "each figure measured in turns under $LOCK on a shared machine: read the ratios, not the absolute figures"
declare -A R
# int8 and int4: loraxj quantizes the F32 model at load (loraxj.quantize); llama.cpp's llama-quantize --pure makes Q8_0 and
# Q4_0 of the F32 GGUF (every linear and the output head in that type, as loraxj.quantize-head=true does)
quant() { case $1 in int8) echo Q8_0 ;; int4) echo Q4_0 ;; esac; }
for dt in ${DTYPES//,/ }; do
  DT=${dt^^}
  case $dt in int8) DT=I8 ;; int4) DT=I4 ;; esac
  echo; echo "== $DT: loraxj bench (prefill 128, decode after a 32-token prompt, 64 steps)"
  locked "${RUN[@]}" bench --shape "$SHAPE" --dtype "$dt" --threads "$THREADS" --batches 8,32 --prefill 128 \
      --rounds "$ROUNDS" --dir "$DIR" 2>&1 | grep -v '^WARNING' | tee "$OUT/loraxj-$dt.txt"
  q=$(quant "$dt")
  from=${q:+f32}
  from=${from:-$dt}
  gguf=$OUT/$SHAPE-$from.gguf
  src=$DIR/$SHAPE-$from/model.safetensors
  if [[ ! -f $gguf || $src -nt $gguf ]]; then
    PYTHONPATH=$GGUF_PY python3 "$HERE/safetensors_to_gguf.py" "$DIR/$SHAPE-$from" "$gguf"
  fi
  if [[ -n $q ]]; then
    [[ -x $BUILD/bin/llama-quantize ]] || { echo "no $BUILD/bin/llama-quantize: build it with cmake --build $BUILD --target llama-quantize" >&2; exit 2; }
    qg=$OUT/$SHAPE-$q.gguf
    if [[ ! -f $qg || $gguf -nt $qg ]]; then
      locked "$BUILD/bin/llama-quantize" --pure "$gguf" "$qg" "$q" > "$OUT/llama-quantize-$q.log" 2>&1 || { tail -5 "$OUT/llama-quantize-$q.log"; exit 1; }
    fi
    gguf=$qg
    echo "== $DT against llama.cpp $q"
  fi
  echo "== $DT: llama-bench -p 128"
  locked "$BUILD/bin/llama-bench" -m "$gguf" -p 128 -n 0 -t "$THREADS" -r "$ROUNDS" -o json \
      > "$OUT/llama-bench-$dt.json" 2> "$OUT/llama-bench-$dt.log" || { tail -5 "$OUT/llama-bench-$dt.log"; exit 1; }
  R[$DT.l.pp128]=$(python3 -c "import json,sys; print('%.2f' % next(r['avg_ts'] for r in json.load(open(sys.argv[1])) if r['n_prompt']==128 and r['n_gen']==0))" "$OUT/llama-bench-$dt.json")
  echo "  pp128 ${R[$DT.l.pp128]} tok/s"
  echo "== $DT: llama-batched-bench -npp 32 -ntg 64 -npl 1,8,32"
  locked "$BUILD/bin/llama-batched-bench" -m "$gguf" -c 4096 -b 2048 -ub 512 -npp 32 -ntg 64 -npl 1,8,32 -t "$THREADS" \
      -ctk f32 -ctv f32 --output-format jsonl > "$OUT/llama-batched-$dt.jsonl" 2> "$OUT/llama-batched-$dt.log" \
      || { tail -5 "$OUT/llama-batched-$dt.log"; exit 1; }
  for b in 1 8 32; do
    R[$DT.l.b$b]=$(python3 -c "import json,sys; print('%.2f' % next(r['speed_tg'] for r in map(json.loads, filter(str.strip, open(sys.argv[1]))) if r.get('pl')==int(sys.argv[2])))" "$OUT/llama-batched-$dt.jsonl" "$b")
    R[$DT.j.b$b]=$(field "$OUT/loraxj-$dt.txt" "bench dtype=$DT" "b${b}_tokens_per_s")
  done
  R[$DT.j.pp128]=$(field "$OUT/loraxj-$dt.txt" "bench dtype=$DT" pp128_tokens_per_s)
  echo "  S_TG b1 ${R[$DT.l.b1]}, b8 ${R[$DT.l.b8]}, b32 ${R[$DT.l.b32]} tok/s"
done

if [[ $HTTP != 0 ]]; then
echo; echo "== HTTP: $CLIENTS clients x $TOKENS tokens, f32 model, llama-server then loraxj, the same client"
# byte pieces decoded as text: llama-server fails a stream whose text is not valid UTF-8, and random models draw lone bytes
gguf=$OUT/$SHAPE-f32-http.gguf
src=$DIR/$SHAPE-f32/model.safetensors
if [[ ! -f $gguf || ! -f $src || $src -nt $gguf ]]; then
  PYTHONPATH=$GGUF_PY python3 "$HERE/safetensors_to_gguf.py" --bytes-as-text "$DIR/$SHAPE-f32" "$gguf"
fi
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
SERVE=(bench serve --figures load --shape "$SHAPE" --clients "$CLIENTS" --tokens "$TOKENS" --prompt-tokens "$PROMPT"
       --adapters 0 --rounds "$ROUNDS" --threads "$THREADS" --dir "$DIR" --jar "$JAR" --out "$OUT/serve")
# one lock for the server's whole life; it is stopped by its pid whatever happens to the client
flock "$LOCK" timeout 175 bash -c '
  "$1" -m "$2" -t "$3" -np "$4" -c $(( $4 * ($5 + $6 + 64) )) -ctk f32 -ctv f32 --host 127.0.0.1 --port "$7" --no-webui \
      > "$8/llama-server.log" 2>&1 &
  pid=$!; trap "kill $pid 2>/dev/null; wait $pid 2>/dev/null" EXIT
  for i in $(seq 120); do curl -sf "http://127.0.0.1:$7/health" > /dev/null && break; sleep 0.5; done
  shift 8; "$@" --url "http://127.0.0.1:'"$PORT"'"
' _ "$BUILD/bin/llama-server" "$gguf" "$THREADS" "$CLIENTS" "$PROMPT" "$TOKENS" "$PORT" "$OUT" "${RUN[@]}" "${SERVE[@]}" \
  2>&1 | grep -v '^WARNING' | tee "$OUT/llama-serve.txt"
locked "${RUN[@]}" "${SERVE[@]}" 2>&1 | grep -v '^WARNING' | tee "$OUT/loraxj-serve.txt"
for who in llama loraxj; do
  for k in tokens_per_s ttft_p50_s; do
    R[http.$who.$k]=$(field "$OUT/$who-serve.txt" "load adapters=0" "$k")
  done
done
fi

echo; echo "== loraxj / llama.cpp, shape $SHAPE, $THREADS threads (above 1: loraxj faster, except TTFT: above 1 is slower)"
printf '  %-34s %12s %12s %8s\n' figure loraxj llama.cpp ratio
for dt in ${DTYPES//,/ }; do
  DT=${dt^^}
  case $dt in int8) DT=I8 ;; int4) DT=I4 ;; esac
  printf '  %-34s %12s %12s %8s\n' "prefill 128 tok/s, $DT" "${R[$DT.j.pp128]}" "${R[$DT.l.pp128]}" "$(ratio "${R[$DT.j.pp128]}" "${R[$DT.l.pp128]}")"
  for b in 1 8 32; do
    printf '  %-34s %12s %12s %8s\n' "decode batch $b tok/s, $DT" "${R[$DT.j.b$b]}" "${R[$DT.l.b$b]}" "$(ratio "${R[$DT.j.b$b]}" "${R[$DT.l.b$b]}")"
  done
done
for q in I8 I4; do
  [[ -n ${R[$q.j.b1]:-} && -n ${R[BF16.j.b1]:-} ]] || continue
  for b in 1 32; do
    printf '  %-34s %12s %12s %8s\n' "loraxj $q / BF16, batch $b" "${R[$q.j.b$b]}" "${R[BF16.j.b$b]}" "$(ratio "${R[$q.j.b$b]}" "${R[BF16.j.b$b]}")"
  done
done
[[ $HTTP == 0 ]] || printf '  %-34s %12s %12s %8s\n' "HTTP $CLIENTS clients tok/s, F32" "${R[http.loraxj.tokens_per_s]}" "${R[http.llama.tokens_per_s]}" \
  "$(ratio "${R[http.loraxj.tokens_per_s]}" "${R[http.llama.tokens_per_s]}")"
[[ $HTTP == 0 ]] || printf '  %-34s %12s %12s %8s\n' "HTTP $CLIENTS clients TTFT p50 s, F32" "${R[http.loraxj.ttft_p50_s]}" "${R[http.llama.ttft_p50_s]}" \
  "$(ratio "${R[http.loraxj.ttft_p50_s]}" "${R[http.llama.ttft_p50_s]}")"
echo "  (outputs and logs in $OUT)"
