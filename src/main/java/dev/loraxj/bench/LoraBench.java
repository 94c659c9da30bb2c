package dev.loraxj.bench;

import dev.loraxj.adapter.LoraWeights;
import dev.loraxj.adapter.RandomLora;
import dev.loraxj.backend.LoraAdapter;
import dev.loraxj.backend.cpu.CpuBackend;
import dev.loraxj.backend.cpu.Parallel;
import dev.loraxj.model.Checkpoint;
import dev.loraxj.model.DType;
import dev.loraxj.model.ModelConfig;

import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * Multi-LoRA throughput: {@code n} sequences decoding together, each with its own adapter, against
 * {@code n} sequences on the base model, in alternating slices of one run; and the load time of an
 * adapter from local disk (fetch, parse, check, convert, lay out).
 * <pre>
 * java --add-modules jdk.incubator.vector -jar target/quarkus-app/quarkus-run.jar bench lora \
 *     [--shape 110m|tiny] [--dtype f32|bf16] [--rank 16] [--adapters 32] [--steps 16] [--rounds 3] [--threads N] [--dir DIR]
 * </pre>
 */
public final class LoraBench {

    private static final int PROMPT = 8;
    private static final int BLOCK = 16;
    private static final int SLICES = 4;

    public record Options(String shape, DType dtype, int rank, int adapters, int steps, int rounds, int threads, Path dir) {

        static Options parse(String... args) {
            String shape = "110m";
            DType dtype = DType.F32;
            int rank = 16, adapters = 32, steps = 16, rounds = 3;
            int threads = Runtime.getRuntime().availableProcessors();
            Path dir = Path.of(System.getProperty("java.io.tmpdir"), "loraxj-bench");
            for (int i = 0; i + 1 < args.length; i += 2) {
                String v = args[i + 1];
                switch (args[i]) {
                    case "--shape" -> shape = v;
                    case "--dtype" -> dtype = DType.parse(v);
                    case "--rank" -> rank = Integer.parseInt(v);
                    case "--adapters" -> adapters = Integer.parseInt(v);
                    case "--steps" -> steps = Integer.parseInt(v);
                    case "--rounds" -> rounds = Integer.parseInt(v);
                    case "--threads" -> threads = Integer.parseInt(v);
                    case "--dir" -> dir = Path.of(v);
                    default -> throw new IllegalArgumentException("unknown option " + args[i]
                            + "\nusage: bench lora [--shape 110m|tiny] [--dtype f32|bf16] [--rank 16] [--adapters 32]"
                            + " [--steps 16] [--rounds 3] [--threads N] [--dir DIR]");
                }
            }
            if (args.length % 2 != 0) {
                throw new IllegalArgumentException("missing value after " + args[args.length - 1]);
            }
            return new Options(shape, dtype, rank, adapters, steps, rounds, threads, dir);
        }
    }

    /** The figures: base and multi-adapter decode throughput (medians) and adapter load times. */
    public record Report(double baseTokensPerSecond, double loraTokensPerSecond, double medianLoadMillis, long adapterBytes) {
        public double ratio() {
            return loraTokensPerSecond / baseTokensPerSecond;
        }
    }

    public static void main(String[] args) {
        Options o;
        try {
            o = Options.parse(args);
        } catch (RuntimeException e) {
            System.err.println(e.getMessage());
            System.exit(2);
            return;
        }
        run(o, System.out);
    }

    public static Report run(Options o, PrintStream out) {
        Path modelDir = o.dir().resolve(o.shape() + "-" + o.dtype().name().toLowerCase(Locale.ROOT));
        Bench.ensureModel(modelDir, o.shape(), o.dtype(), out);
        ModelConfig cfg = ModelConfig.load(modelDir);
        Path adapterDir = o.dir().resolve(o.shape() + "-lora-r" + o.rank());
        out.printf(Locale.ROOT, "loraxj lora bench: shape %s %s, %d adapters of rank %d on all seven linears, %d threads%n",
                o.shape(), o.dtype(), o.adapters(), o.rank(), o.threads());
        for (int i = 0; i < o.adapters(); i++) {
            Path d = adapterDir.resolve("a" + i);
            if (!Files.exists(d.resolve("adapter_model.safetensors"))) {
                RandomLora.write(d, cfg, o.rank(), 2.0 * o.rank(), false, RandomLora.ALL_MODULES, DType.F32, 7000 + i, 0.02);
            }
        }
        // Load each adapter once, as a request for a new adapter does (files in the page cache).
        LoraAdapter[] adapters = new LoraAdapter[o.adapters()];
        double[] loadMillis = new double[o.adapters()];
        long bytes = 0;
        for (int i = 0; i < o.adapters(); i++) {
            long t0 = System.nanoTime();
            LoraWeights w = (LoraWeights) LoraWeights.plan(adapterDir.resolve("a" + i), cfg).materialize();
            loadMillis[i] = (System.nanoTime() - t0) / 1e6;
            adapters[i] = w;
            bytes = w.bytes();
        }
        double[] sortedLoads = loadMillis.clone();
        Arrays.sort(sortedLoads);
        out.printf(Locale.ROOT, "adapter load (local disk, page cache warm): first %.1f ms, median %.1f ms, max %.1f ms; %.1f MB each in F32%n",
                loadMillis[0], sortedLoads[sortedLoads.length / 2], sortedLoads[sortedLoads.length - 1], bytes / 1e6);
        int n = o.adapters();
        int len = PROMPT + o.steps() + 4;
        try (Parallel pool = new Parallel(o.threads()); Checkpoint ckpt = Checkpoint.open(modelDir);
             CpuBackend backend = CpuBackend.load(ckpt, cfg, pool)) {
            int perRun = DecodeThroughput.blocksNeeded(n, len, BLOCK);
            backend.allocateKvCache(2 * perRun, BLOCK);
            new DecodeThroughput(backend, n, PROMPT, len, BLOCK, 0).steps(4);
            new DecodeThroughput(backend, n, PROMPT, len, BLOCK, perRun, adapters).steps(4);
            out.printf(Locale.ROOT, "  %-6s %14s %14s %8s%n", "round", "base tok/s", "lora tok/s", "ratio");
            List<Double> base = new ArrayList<>();
            List<Double> lora = new ArrayList<>();
            for (int round = 0; round < o.rounds(); round++) {
                DecodeThroughput b = new DecodeThroughput(backend, n, PROMPT, len, BLOCK, 0);
                DecodeThroughput l = new DecodeThroughput(backend, n, PROMPT, len, BLOCK, perRun, adapters);
                for (int slice = 0; slice < SLICES; slice++) {
                    int steps = o.steps() * (slice + 1) / SLICES - o.steps() * slice / SLICES;
                    if (slice % 2 == 0) {
                        b.steps(steps);
                        l.steps(steps);
                    } else {
                        l.steps(steps);
                        b.steps(steps);
                    }
                }
                double bt = b.result().tokensPerSecond();
                double lt = l.result().tokensPerSecond();
                base.add(bt);
                lora.add(lt);
                out.printf(Locale.ROOT, "  %-6d %14.1f %14.1f %8.3f%n", round + 1, bt, lt, lt / bt);
            }
            Report r = new Report(median(base), median(lora), sortedLoads[sortedLoads.length / 2], bytes);
            out.printf(Locale.ROOT, "  %-6s %14.1f %14.1f %8.3f%n", "median", r.baseTokensPerSecond(), r.loraTokensPerSecond(), r.ratio());
            return r;
        }
    }

    private static double median(List<Double> xs) {
        List<Double> s = new ArrayList<>(xs);
        s.sort(null);
        return s.get(s.size() / 2);
    }
}
