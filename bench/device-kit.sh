#!/usr/bin/env bash
# Packs everything issue 14's device run needs into target/device-kit/ (at most 60 MiB): a jlinked Java
# runtime (the device has no JDK, Maven or network), the backend-only jars (the app's classes, the test
# classes, JCuda with its driver library alone, Jackson, JBoss Logging, the JUnit launcher; no Quarkus),
# the PTX and check_kernels.py, stories260K's model, adapters and goldens copied from ../shared, and
# run-device.sh. Then it checks the kit here: its size, and that the jlinked java runs DeviceCheck far
# enough to say "no CUDA device" and the CPU backend's contract suite from the kit's own classpath.
#   JAVA_HOME=/usr/lib/jvm/temurin-25-jdk-amd64 bench/device-kit.sh
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
: "${JAVA_HOME:?set JAVA_HOME to a JDK 25}"
shared="${SHARED_DIR:-$root/../shared}"
kit="$root/target/device-kit"
limit=$((60 * 1024 * 1024))

./mvnw -o -q test-compile
[ -f target/classes/dev/loraxj/backend/cuda/ptx/gemm.sm_90.ptx ] || { echo "no PTX in target/classes: nvcc must be on the PATH" >&2; exit 1; }
./mvnw -o -q dependency:build-classpath -Dmdep.outputFile=target/device-kit.classpath -Dmdep.includeScope=test >/dev/null

rm -rf "$kit"
mkdir -p "$kit/lib" "$kit/ptx" "$kit/shared"
# the backend's and the contract suite's jars, by artifact (JCuda's natives are repacked below)
tr ':' '\n' < target/device-kit.classpath | grep -E '/(jcuda-12|jackson-(core|databind|annotations)-2|jboss-logging-3|junit-(jupiter-(api|engine|params)|platform-(commons|engine|launcher))-|opentest4j-|apiguardian-api-|jspecify-)[^/]*\.jar$' \
  | grep -v '/tools/jackson/' | while read -r jar; do cp "$jar" "$kit/lib/"; done
natives="$(tr ':' '\n' < target/device-kit.classpath | grep '/jcuda-natives-.*-linux-x86_64\.jar$')"
tmp="$(mktemp -d)"
(cd "$tmp" && "$JAVA_HOME/bin/jar" xf "$natives" lib/libJCudaDriver-12.6.0-linux-x86_64.so \
  && "$JAVA_HOME/bin/jar" cf "$kit/lib/jcuda-natives-driver-linux-x86_64.jar" lib)
rm -rf "$tmp"
# the packages below the service layer only (api, service, engine and bench bring Quarkus and the desktop)
"$JAVA_HOME/bin/jar" cf "$kit/lib/loraxj.jar" -C target/classes dev/loraxj/backend -C target/classes dev/loraxj/model \
  -C target/classes dev/loraxj/adapter -C target/classes dev/loraxj/config
"$JAVA_HOME/bin/jar" cf "$kit/lib/loraxj-tests.jar" -C target/test-classes dev/loraxj/backend -C target/test-classes dev/loraxj/model \
  -C target/test-classes dev/loraxj/SharedAssets.class
cp target/classes/dev/loraxj/backend/cuda/ptx/*.ptx "$kit/ptx/"
cp src/test/cuda/check_kernels.py "$kit/"
for d in models/stories260K adapters/stories260K golden/stories260K; do
  [ -d "$shared/$d" ] || { echo "shared assets missing: $shared/$d" >&2; exit 1; }
  mkdir -p "$kit/shared/$(dirname "$d")"
  cp -r "$shared/$d" "$kit/shared/$d"
done

# the runtime: the modules jdeps finds in the kit's jars, less those only code the kit never runs reaches (java.desktop:
# chat templates' java.beans; java.net.http: the Hub and Predibase clients; java.sql: Jackson's optional date types;
# jdk.jfr: JUnit's optional JFR listener), which keeps the runtime near 45 MiB. The self-check below runs the CPU
# contract suite on this runtime, so a module missed here fails the build of the kit, not the device run.
found="$("$JAVA_HOME/bin/jdeps" -q --multi-release 25 --ignore-missing-deps --print-module-deps \
  --class-path "$kit/lib/*" "$kit"/lib/*.jar)"
modules="$(echo "$found,java.logging" | tr ',' '\n' | grep -vxE 'java\.desktop|java\.net\.http|java\.sql|jdk\.jfr' | sort -u | paste -sd, -)"
"$JAVA_HOME/bin/jlink" --add-modules "$modules" --strip-debug --no-header-files --no-man-pages \
  --compress zip-9 --output "$kit/runtime" 2>&1 | grep -v 'incubator modules' || true
rm -f "$kit/runtime/lib/src.zip"

cp bench/run-device.sh "$kit/run-device.sh"
chmod +x "$kit/run-device.sh"
size=$(du -sb "$kit" | cut -f1)
echo "[kit] $kit: $((size / 1024 / 1024)) MiB (limit 60), modules $modules (jdeps found $found)"
[ "$size" -le "$limit" ] || { echo "[kit] over 60 MiB" >&2; exit 1; }

# the self-check: no device here, so DeviceCheck must say so and exit 3; the CPU contract proves the classpath whole
set +e
"$kit/runtime/bin/java" --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -cp "$kit/lib/*" \
  dev.loraxj.backend.cuda.DeviceCheck > "$kit.selfcheck" 2>&1
rc=$?
set -e
cat "$kit.selfcheck"
if [ "$rc" -eq 3 ] && grep -q '^no CUDA device: ' "$kit.selfcheck"; then
  echo "[kit] the jlinked runtime runs DeviceCheck: no CUDA device here, as expected"
elif [ "$rc" -eq 0 ]; then
  echo "[kit] a CUDA device answered here; DeviceCheck ran on it"
else
  echo "[kit] DeviceCheck failed (status $rc)" >&2; exit 1
fi
"$kit/runtime/bin/java" --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -Dshared.dir="$kit/shared" \
  -cp "$kit/lib/*" dev.loraxj.backend.cuda.KitContractRunner dev.loraxj.backend.cpu.CpuBackendContractTest 2>&1 | grep -v 'incubator modules'
echo "[kit] ready: carry target/device-kit and run: bash target/device-kit/run-device.sh"
