package dev.loraxj.bench;

import dev.loraxj.adapter.LoraWeights;
import dev.loraxj.adapter.RandomLora;
import dev.loraxj.backend.AdapterSlot;
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
 * adapter from local disk (fetch, parse, check, convert, lay out). With several adapter dtypes, each
 * gets its own set of adapters (the same random weights, rounded) and its own column in the same run.
 * The adapters' extra time per step is set against the read bandwidth measured in each round, since
 * streaming their weights is what it costs. Decode is timed by {@link InterleavedDecode}, as in
 * {@code bench}: the same positions (a 32-token prompt, then 64 steps), warm-up and bandwidth passes
 * between slices, so the base column here and {@code bench}'s batch of the same size agree.
 * <pre>
 * java --add-modules jdk.incubator.vector -jar target/quarkus-app/quarkus-run.jar bench lora \
 *     [--shape 110m|tiny] [--dtype f32|bf16] [--adapter-dtype f32|bf16|f32,bf16] [--rank 16] [--adapters 32]
 *     [--prompt 32] [--steps 64] [--warmup 16] [--rounds 3] [--threads N] [--dir DIR] [--bw-mb 512]
 * </pre>
 */
public final class LoraBench {

    private static final String USAGE = "usage: bench lora [--shape 110m|tiny] [--dtype f32|bf16] [--adapter-dtype f32|bf16|f32,bf16]"
            + " [--rank 16] [--adapters 32] [--prompt 32] [--steps 64] [--warmup 16] [--rounds 3] [--threads N] [--dir DIR] [--bw-mb 512]";

    public record Options(String shape, DType dtype, List<DType> adapterDtypes, int rank, int adapters, int prompt, int steps,
                          int warmup, int rounds, int threads, Path dir, long bandwidthBytes) {

        static Options parse(String... args) {
            String shape = "110m";
            DType dtype = DType.F32;
            List<DType> adapterDtypes = List.of(DType.F32);
            int rank = 16, adapters = 32, rounds = 3;
            int prompt = InterleavedDecode.Schedule.PROMPT, steps = InterleavedDecode.Schedule.STEPS;
            int warmup = InterleavedDecode.Schedule.WARMUP;
            int threads = Runtime.getRuntime().availableProcessors();
            Path dir = Path.of(System.getProperty("java.io.tmpdir"), "loraxj-bench");
            long bw = 512L << 20; // bench's size: the same bandwidth passes between slices
            for (int i = 0; i + 1 < args.length; i += 2) {
                String v = args[i + 1];
                switch (args[i]) {
                    case "--shape" -> shape = v;
                    case "--dtype" -> dtype = DType.parse(v);
                    case "--adapter-dtype" -> {
                        List<DType> list = new ArrayList<>();
                        for (String d : v.split(",")) {
                            DType t = DType.parse(d.trim());
                            if (t == DType.I8 || t == DType.I4) {
                                throw new IllegalArgumentException("LoRA weights are kept in f32 or bf16, not " + t.torchName() + "\n" + USAGE);
                            }
                            list.add(t);
                        }
                        adapterDtypes = List.copyOf(list);
                    }
                    case "--rank" -> rank = Integer.parseInt(v);
                    case "--adapters" -> adapters = Integer.parseInt(v);
                    case "--prompt" -> prompt = Integer.parseInt(v);
                    case "--steps" -> steps = Integer.parseInt(v);
                    case "--warmup" -> warmup = Integer.parseInt(v);
                    case "--rounds" -> rounds = Integer.parseInt(v);
                    case "--threads" -> threads = Integer.parseInt(v);
                    case "--dir" -> dir = Path.of(v);
                    case "--bw-mb" -> bw = (long) Integer.parseInt(v) << 20;
                    default -> throw new IllegalArgumentException("unknown option " + args[i] + "\n" + USAGE);
                }
            }
            if (args.length % 2 != 0) {
                throw new IllegalArgumentException("missing value after " + args[args.length - 1]);
            }
            return new Options(shape, dtype, adapterDtypes, rank, adapters, prompt, steps, warmup, rounds, threads, dir, bw);
        }
    }

    /**
     * The figures of one adapter dtype (medians over rounds): multi-adapter decode throughput, its ratio
     * to the base, the time a step spends on top of the base step, the adapter bytes that time streams
     * per second, and the adapters' load time and size in memory.
     */
    public record AdapterRun(DType dtype, double tokensPerSecond, double ratio, double extraMillisPerStep, double streamedGBs,
                             double medianLoadMillis, long adapterBytes) {
    }

    /** The base model's decode throughput and the read bandwidth (medians), one {@link AdapterRun} per adapter dtype in option order. */
    public record Report(double baseTokensPerSecond, double readGBs, List<AdapterRun> runs) {
    }

    public static void main(String[] args) {
        Bench.runOrExit(args, Options::parse, o -> run(o, System.out));
    }

    public static Report run(Options o, PrintStream out) {
        Path modelDir = o.dir().resolve(o.shape() + "-" + o.dtype().name().toLowerCase(Locale.ROOT));
        Bench.ensureModel(modelDir, o.shape(), o.dtype(), out);
        ModelConfig cfg = ModelConfig.load(modelDir);
        List<DType> dtypes = o.adapterDtypes();
        int kinds = dtypes.size();
        out.printf(Locale.ROOT, "loraxj lora bench: shape %s %s, %d adapters of rank %d on all seven linears, adapters in %s, %d threads%n",
                o.shape(), o.dtype(), o.adapters(), o.rank(), dtypes, o.threads());
        int n = o.adapters();
        try (Parallel pool = new Parallel(o.threads()); Checkpoint ckpt = Checkpoint.open(modelDir);
             CpuBackend backend = CpuBackend.load(ckpt, cfg, pool);
             MemoryBandwidth bandwidth = new MemoryBandwidth(pool, o.bandwidthBytes())) {
            AdapterSlot[][] adapters = new AdapterSlot[kinds][];
            double[] loadMedian = new double[kinds];
            long[] bytes = new long[kinds];
            for (int k = 0; k < kinds; k++) {
                DType d = dtypes.get(k);
                Path adapterDir = o.dir().resolve(o.shape() + "-lora-r" + o.rank() + "-" + d.name().toLowerCase(Locale.ROOT));
                for (int i = 0; i < o.adapters(); i++) {
                    Path dir = adapterDir.resolve("a" + i);
                    if (!Files.exists(dir.resolve("adapter_model.safetensors"))) {
                        RandomLora.write(dir, cfg, o.rank(), 2.0 * o.rank(), false, RandomLora.ALL_MODULES, d, 7000 + i, 0.02);
                    }
                }
                // Load each adapter once, as a request for a new adapter does (files in the page cache).
                adapters[k] = new AdapterSlot[o.adapters()];
                double[] loadMillis = new double[o.adapters()];
                for (int i = 0; i < o.adapters(); i++) {
                    long t0 = System.nanoTime();
                    AdapterSlot slot = backend.register(LoraWeights.read(adapterDir.resolve("a" + i), cfg).updates());
                    loadMillis[i] = (System.nanoTime() - t0) / 1e6;
                    adapters[k][i] = slot;
                    bytes[k] = slot.footprint().device();
                }
                double[] sorted = loadMillis.clone();
                Arrays.sort(sorted);
                loadMedian[k] = sorted[sorted.length / 2];
                out.printf(Locale.ROOT, "adapter load, %s files (local disk, page cache warm): first %.1f ms, median %.1f ms, max %.1f ms; %.1f MB each in memory%n",
                        d, loadMillis[0], loadMedian[k], sorted[sorted.length - 1], bytes[k] / 1e6);
            }
            List<InterleavedDecode.Column> columns = new ArrayList<>(); // 0: the base model, last: batch 1
            columns.add(InterleavedDecode.Column.base(n, o.steps()));
            for (int k = 0; k < kinds; k++) {
                columns.add(new InterleavedDecode.Column(n, adapters[k], o.steps()));
            }
            // bench's batch-1 column too, so the base column has bench's neighbours: with only batch-32 runs around it, it
            // read well above bench's and the server's figure for the same batch (the kernels are shared across batch shapes)
            columns.add(InterleavedDecode.Column.base(1, o.steps()));
            InterleavedDecode decode = new InterleavedDecode(backend, columns,
                    new InterleavedDecode.Schedule(o.prompt(), o.warmup(), InterleavedDecode.Schedule.SLICES), 0);
            bandwidth.warmUp();
            out.printf(Locale.ROOT, "decode of %d sequences after a %d-token prompt, %d steps a round%n", n, o.prompt(), o.steps());
            StringBuilder header = new StringBuilder(String.format(Locale.ROOT, "  %-6s %12s", "round", "base tok/s"));
            for (DType d : dtypes) {
                header.append(String.format(Locale.ROOT, " %12s %7s", d.name().toLowerCase(Locale.ROOT) + " tok/s", "ratio"));
            }
            out.println(header);
            List<Double> base = new ArrayList<>();
            List<Double> read = new ArrayList<>();
            List<List<Double>> lora = new ArrayList<>();
            List<List<Double>> ratios = new ArrayList<>();
            List<List<Double>> extra = new ArrayList<>();
            for (int k = 0; k < kinds; k++) {
                lora.add(new ArrayList<>());
                ratios.add(new ArrayList<>());
                extra.add(new ArrayList<>());
            }
            for (int round = 0; round < o.rounds(); round++) {
                // The adapters' cost is memory traffic: the read bandwidth it is bound by, measured in this round's slices.
                List<MemoryBandwidth.Pass> passes = new ArrayList<>();
                List<DecodeThroughput.Result> runs = decode.round(() -> passes.add(bandwidth.pass()));
                read.add(bandwidth.aggregate(passes).readGBs());
                double bt = runs.get(0).tokensPerSecond();
                base.add(bt);
                StringBuilder line = new StringBuilder(String.format(Locale.ROOT, "  %-6d %12.1f", round + 1, bt));
                for (int k = 0; k < kinds; k++) {
                    double lt = runs.get(1 + k).tokensPerSecond();
                    lora.get(k).add(lt);
                    ratios.get(k).add(lt / bt);
                    extra.get(k).add(1e3 * n / lt - 1e3 * n / bt);
                    line.append(String.format(Locale.ROOT, " %12.1f %7.3f", lt, lt / bt));
                }
                out.println(line);
            }
            List<AdapterRun> results = new ArrayList<>();
            StringBuilder line = new StringBuilder(String.format(Locale.ROOT, "  %-6s %12.1f", "median", median(base)));
            for (int k = 0; k < kinds; k++) {
                double ms = median(extra.get(k));
                AdapterRun r = new AdapterRun(dtypes.get(k), median(lora.get(k)), median(ratios.get(k)), ms,
                        n * bytes[k] / (ms * 1e6), loadMedian[k], bytes[k]);
                results.add(r);
                line.append(String.format(Locale.ROOT, " %12.1f %7.3f", r.tokensPerSecond(), r.ratio()));
            }
            out.println(line);
            double readGBs = median(read);
            for (AdapterRun r : results) {
                out.printf(Locale.ROOT, "  %s adapters: +%.1f ms per step, streaming %.0f MB of adapter weights at %.1f GB/s, %.2f of the read bandwidth (%.1f GB/s)%n",
                        r.dtype().name().toLowerCase(Locale.ROOT), r.extraMillisPerStep(), n * r.adapterBytes() / 1e6, r.streamedGBs(),
                        r.streamedGBs() / readGBs, readGBs);
            }
            return new Report(median(base), readGBs, List.copyOf(results));
        }
    }

    private static double median(List<Double> xs) {
        List<Double> s = new ArrayList<>(xs);
        s.sort(null);
        return s.get(s.size() / 2);
    }
}
