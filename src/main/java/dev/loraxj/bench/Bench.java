package dev.loraxj.bench;

import dev.loraxj.backend.cpu.CpuBackend;
import dev.loraxj.backend.cpu.CpuVectors;
import dev.loraxj.backend.cpu.Parallel;
import dev.loraxj.model.Checkpoint;
import dev.loraxj.model.DType;
import dev.loraxj.model.ModelConfig;
import dev.loraxj.model.RandomLlama;
import dev.loraxj.model.SafeTensors;

import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.function.ToDoubleFunction;

/**
 * The CPU backend's benchmark. In one process it measures memory bandwidth (the baseline), batch-1
 * decode as a fraction of the read roofline, batched decode throughput as a ratio to batch 1, and
 * prefill throughput. Within a round, bandwidth passes, batch-1 and batched decode slices alternate
 * ({@link InterleavedDecode}, the same timing as {@code bench lora}), and the figures are medians
 * over rounds, because bandwidth on a shared host drifts by tens of percent from minute to minute.
 * Decode is timed at llama-batched-bench's positions: a 32-token prompt, then 64 tokens.
 * <pre>
 * java --add-modules jdk.incubator.vector -jar target/quarkus-app/quarkus-run.jar bench \
 *     [--shape 110m|tiny] [--dtype f32|bf16|int8|int4|f32,bf16,int8,int4] [--threads N] [--prompt 32] [--tokens 64]
 *     [--batch-steps 64] [--batches 8,32] [--prefill 128,512] [--rounds 3] [--dir DIR] [--bw-mb 512] [--warmup 16]
 * </pre>
 */
public final class Bench {

    private static final String USAGE = "usage: bench [--shape 110m|tiny] [--dtype f32|bf16|int8|int4|f32,bf16,int8,int4] [--threads N]"
            + " [--prompt N] [--tokens N] [--batch-steps N] [--batches 8,32] [--prefill 128,512|none] [--rounds N] [--dir DIR]"
            + " [--bw-mb MB] [--warmup N]";

    /**
     * What to run. {@code dir} null means a folder under java.io.tmpdir. Decode starts after a
     * {@code prompt}-token prefill: batch 1 times {@code tokens} steps, each batch {@code batchSteps}.
     * {@code prefill}: prompt lengths whose single-sequence prefill is timed (empty: none).
     */
    public record Options(String shape, List<DType> dtypes, int threads, int prompt, int tokens, int batchSteps, int[] batches,
                          int[] prefill, int rounds, Path dir, long bandwidthBytes, int warmup) {

        public static Options parse(String... args) {
            String shape = "110m";
            List<DType> dtypes = List.of(DType.F32);
            int threads = Runtime.getRuntime().availableProcessors();
            int prompt = InterleavedDecode.Schedule.PROMPT;
            int tokens = InterleavedDecode.Schedule.STEPS;
            int batchSteps = InterleavedDecode.Schedule.STEPS;
            int[] batches = {8, 32};
            int[] prefill = {128, 512};
            int rounds = 3;
            Path dir = null;
            long bw = 512L << 20;
            int warmup = InterleavedDecode.Schedule.WARMUP;
            for (int i = 0; i < args.length; i += 2) {
                String a = args[i];
                if (a.equals("--help") || a.equals("-h")) {
                    throw new IllegalArgumentException(USAGE);
                }
                if (i + 1 >= args.length) {
                    throw new IllegalArgumentException("missing value after " + a + "\n" + USAGE);
                }
                String v = args[i + 1];
                switch (a) {
                    case "--shape" -> shape = v;
                    case "--dtype" -> {
                        List<DType> list = new ArrayList<>();
                        for (String d : v.split(",")) {
                            list.add(DType.parse(d.trim()));
                        }
                        dtypes = List.copyOf(list);
                    }
                    case "--threads" -> threads = positive(a, v);
                    case "--prompt" -> prompt = positive(a, v);
                    case "--tokens" -> tokens = positive(a, v);
                    case "--batch-steps" -> batchSteps = positive(a, v);
                    case "--batches" -> batches = Arrays.stream(v.split(",")).mapToInt(s -> positive(a, s.trim())).toArray();
                    case "--prefill" -> prefill = v.equals("none") ? new int[0]
                            : Arrays.stream(v.split(",")).mapToInt(s -> positive(a, s.trim())).toArray();
                    case "--rounds" -> rounds = positive(a, v);
                    case "--dir" -> dir = Path.of(v);
                    case "--bw-mb" -> bw = (long) positive(a, v) << 20;
                    case "--warmup" -> warmup = positive(a, v);
                    default -> throw new IllegalArgumentException("unknown option " + a + "\n" + USAGE);
                }
            }
            try {
                RandomLlama.shape(shape);
            } catch (RuntimeException e) {
                throw new IllegalArgumentException(e.getMessage(), e);
            }
            return new Options(shape, dtypes, threads, prompt, tokens, batchSteps, batches, prefill, rounds, dir, bw, warmup);
        }

        private static int positive(String option, String value) {
            try {
                int n = Integer.parseInt(value);
                if (n > 0) {
                    return n;
                }
            } catch (NumberFormatException e) {
                // Reported below.
            }
            throw new IllegalArgumentException(option + " needs a positive integer, got '" + value + "'");
        }
    }

    /** One round: the bandwidth measured in its slices, batch-1 decode, each batch size, and each prefill length. */
    public record Round(MemoryBandwidth.Result bandwidth, DecodeThroughput.Result batch1, List<DecodeThroughput.Result> batched,
                        List<Prefill> prefill) {
    }

    /** One prefill of {@code tokens} tokens as a single sequence in one forward step. */
    public record Prefill(int tokens, long nanos) {
        public double tokensPerSecond() {
            return tokens / (nanos / 1e9);
        }
    }

    /** The figures of one dtype; each accessor is the median over rounds. */
    public record ModelReport(DType dtype, long weightBytesPerToken, List<Round> rounds) {

        /** Bytes of weights streamed per second at batch 1. */
        public double weightGBs(Round r) {
            return weightBytesPerToken / (r.batch1().nanos() / (double) r.batch1().steps());
        }

        public double batch1TokensPerSecond() {
            return median(r -> r.batch1().tokensPerSecond());
        }

        public double copyGBs() {
            return median(r -> r.bandwidth().copyGBs());
        }

        public double readGBs() {
            return median(r -> r.bandwidth().readGBs());
        }

        public double rooflineOfRead() {
            return median(r -> weightGBs(r) / r.bandwidth().readGBs());
        }

        public double batchedTokensPerSecond(int i) {
            return median(r -> r.batched().get(i).tokensPerSecond());
        }

        public double prefillTokensPerSecond(int i) {
            return median(r -> r.prefill().get(i).tokensPerSecond());
        }

        /** Throughput at batched index i over batch-1 throughput, per round, then the median. */
        public double batchedRatio(int i) {
            return median(r -> r.batched().get(i).tokensPerSecond() / r.batch1().tokensPerSecond());
        }

        private double median(ToDoubleFunction<Round> f) {
            double[] v = rounds.stream().mapToDouble(f).sorted().toArray();
            return v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
        }
    }

    public record Report(Options options, List<ModelReport> models) {
    }

    private Bench() {
    }

    public static void main(String[] args) {
        if (args.length > 0 && args[0].equals("medusa")) {
            try {
                MedusaBench.main(Arrays.copyOfRange(args, 1, args.length));
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
            return;
        }
        if (args.length > 0 && args[0].equals("serve")) {
            ServeBench.main(Arrays.copyOfRange(args, 1, args.length));
            return;
        }
        if (args.length > 0 && args[0].equals("tracing")) {
            TracingBench.main(Arrays.copyOfRange(args, 1, args.length));
            return;
        }
        if (args.length > 0 && args[0].equals("grammar")) {
            GrammarBench.main(Arrays.copyOfRange(args, 1, args.length));
            return;
        }
        if (args.length > 0 && args[0].equals("route")) {
            RouteBench.main(Arrays.copyOfRange(args, 1, args.length));
            return;
        }
        if (args.length > 0 && args[0].equals("lora")) {
            LoraBench.main(Arrays.copyOfRange(args, 1, args.length));
            return;
        }
        runOrExit(args, Options::parse, o -> run(o, System.out));
    }

    /** A bench's main: its options parsed from {@code args}, then {@code run}; bad options print why and exit with 2. */
    static <O> void runOrExit(String[] args, java.util.function.Function<String[], O> parse, java.util.function.Consumer<O> run) {
        O options;
        try {
            options = parse.apply(args);
        } catch (RuntimeException e) {
            System.err.println(e.getMessage());
            System.exit(2);
            return;
        }
        run.accept(options);
    }

    public static Report run(Options o, PrintStream out) {
        out.printf(Locale.ROOT, "loraxj bench: shape %s, threads %d, %d-lane vectors, %d rounds%n", o.shape(), o.threads(),
                CpuVectors.species().length(), o.rounds());
        try (Parallel pool = new Parallel(o.threads()); MemoryBandwidth bw = new MemoryBandwidth(pool, o.bandwidthBytes())) {
            bw.warmUp();
            out.printf(Locale.ROOT, "memory baseline: STREAM copy (read + write bytes) and read-only sum over 2 x %d MB%n",
                    bw.bufferBytes() >> 20);
            double fmaPeak = FmaPeak.measure(pool);
            out.printf(Locale.ROOT, "compute baseline: %.1f GFLOP/s of %d-lane FMAs (%d threads, 12 independent chains each)%n",
                    fmaPeak, CpuVectors.species().length(), o.threads());
            List<ModelReport> reports = new ArrayList<>();
            for (DType dtype : o.dtypes()) {
                reports.add(runModel(o, dtype, pool, bw, out));
                FmaPeak.printShare(reports.getLast(), o.batches(), fmaPeak, out);
            }
            return new Report(o, reports);
        }
    }

    private static ModelReport runModel(Options o, DType dtype, Parallel pool, MemoryBandwidth bw, PrintStream out) {
        // int8 and int4 are quantized at load, as the server does with loraxj.quantize, from the F32 model
        boolean quantized = dtype == DType.I8 || dtype == DType.I4;
        DType file = quantized ? DType.F32 : dtype;
        Path dir = (o.dir() != null ? o.dir() : Path.of(System.getProperty("java.io.tmpdir"), "loraxj-bench"))
                .resolve(o.shape() + "-" + file.name().toLowerCase(Locale.ROOT));
        ensureModel(dir, o.shape(), file, out);
        ModelConfig cfg = ModelConfig.load(dir);
        try (Checkpoint ckpt = Checkpoint.open(dir);
             CpuBackend backend = CpuBackend.load(ckpt, cfg, pool, quantized ? dtype : null)) {
            List<InterleavedDecode.Column> columns = new ArrayList<>();
            columns.add(InterleavedDecode.Column.base(1, o.tokens()));
            for (int b : o.batches()) {
                columns.add(InterleavedDecode.Column.base(b, o.batchSteps()));
            }
            int prefillBlocks = Arrays.stream(o.prefill()).map(InterleavedDecode::prefillBlocks).max().orElse(0);
            InterleavedDecode decode = new InterleavedDecode(backend, columns,
                    new InterleavedDecode.Schedule(o.prompt(), o.warmup(), InterleavedDecode.Schedule.SLICES), prefillBlocks);
            for (int n : o.prefill()) {
                decode.prefillNanos(n); // the JIT sees each prefill shape before it is timed
            }
            bw.warmUp(); // loading and JIT warm-up leave the first bandwidth pass slow
            ModelReport report = new ModelReport(dtype, backend.weightBytesPerToken(), new ArrayList<>());
            out.printf(Locale.ROOT, "%n%s, %.1f MB of weights streamed per decode step; decode after a %d-token prompt: b1 %d steps,"
                    + " batches %d steps%n", dtype, report.weightBytesPerToken() / 1e6, o.prompt(), o.tokens(), o.batchSteps());
            StringBuilder head = new StringBuilder(String.format(Locale.ROOT, "  %-6s %7s %7s %9s %9s %6s",
                    "round", "copy", "read", "b1 tok/s", "b1 GB/s", "%read"));
            for (int b : o.batches()) {
                head.append(String.format(Locale.ROOT, " %10s %7s", "b" + b + " tok/s", "b" + b + "/b1"));
            }
            for (int n : o.prefill()) {
                head.append(String.format(Locale.ROOT, " %9s", "pp" + n + "/s"));
            }
            out.println(head);
            for (int round = 0; round < o.rounds(); round++) {
                List<MemoryBandwidth.Pass> passes = new ArrayList<>();
                List<DecodeThroughput.Result> runs = decode.round(() -> passes.add(bw.pass()));
                List<Prefill> prefill = new ArrayList<>();
                for (int n : o.prefill()) {
                    prefill.add(new Prefill(n, decode.prefillNanos(n)));
                }
                Round r = new Round(bw.aggregate(passes), runs.getFirst(), List.copyOf(runs.subList(1, runs.size())), List.copyOf(prefill));
                report.rounds().add(r);
                printRound(String.valueOf(round + 1), report, r, out);
            }
            printMedian(report, o, out);
            return report;
        }
    }

    private static void printRound(String label, ModelReport rep, Round r, PrintStream out) {
        double gbs = rep.weightGBs(r);
        StringBuilder line = new StringBuilder(String.format(Locale.ROOT, "  %-6s %7.1f %7.1f %9.1f %9.1f %5.0f%%",
                label, r.bandwidth().copyGBs(), r.bandwidth().readGBs(), r.batch1().tokensPerSecond(), gbs,
                100 * gbs / r.bandwidth().readGBs()));
        for (DecodeThroughput.Result b : r.batched()) {
            line.append(String.format(Locale.ROOT, " %10.1f %7.2f", b.tokensPerSecond(), b.tokensPerSecond() / r.batch1().tokensPerSecond()));
        }
        for (Prefill p : r.prefill()) {
            line.append(String.format(Locale.ROOT, " %9.1f", p.tokensPerSecond()));
        }
        out.println(line);
    }

    private static void printMedian(ModelReport rep, Options o, PrintStream out) {
        StringBuilder line = new StringBuilder(String.format(Locale.ROOT, "  %-6s %7.1f %7.1f %9.1f %9s %5.0f%%",
                "median", rep.copyGBs(), rep.readGBs(), rep.batch1TokensPerSecond(), "", 100 * rep.rooflineOfRead()));
        for (int i = 0; i < o.batches().length; i++) {
            line.append(String.format(Locale.ROOT, " %10.1f %7.2f", rep.batchedTokensPerSecond(i), rep.batchedRatio(i)));
        }
        for (int i = 0; i < o.prefill().length; i++) {
            line.append(String.format(Locale.ROOT, " %9.1f", rep.prefillTokensPerSecond(i)));
        }
        out.println(line);
        out.println("  (GB/s = 1e9 bytes/s; copy counts bytes read + written, read is a read-only sum; %read = batch-1 weight"
                + " stream over that round's read bandwidth, the roofline of a read-only stream; bN/b1 = throughput ratio"
                + " within a round; ppN/s = prefill tokens/s of one N-token prompt)");
        // the same figures in a fixed key=value form, for scripts (bench/compare-llamacpp.sh)
        StringBuilder kv = new StringBuilder(String.format(Locale.ROOT, "  bench dtype=%s read_gbs=%.2f b1_tokens_per_s=%.2f",
                rep.dtype().name(), rep.readGBs(), rep.batch1TokensPerSecond()));
        for (int i = 0; i < o.batches().length; i++) {
            kv.append(String.format(Locale.ROOT, " b%d_tokens_per_s=%.2f", o.batches()[i], rep.batchedTokensPerSecond(i)));
        }
        for (int i = 0; i < o.prefill().length; i++) {
            kv.append(String.format(Locale.ROOT, " pp%d_tokens_per_s=%.2f", o.prefill()[i], rep.prefillTokensPerSecond(i)));
        }
        out.println(kv);
    }

    /** Writes the random model unless the folder already holds one made for this shape, dtype and seed. */
    static void ensureModel(Path dir, String shape, DType dtype, PrintStream out) {
        long seed = 1;
        String want = RandomLlama.fingerprint(shape, dtype, seed);
        Path file = dir.resolve("model.safetensors");
        if (Files.isRegularFile(file) && Files.isRegularFile(dir.resolve("config.json"))) {
            try (SafeTensors st = SafeTensors.open(file)) {
                if (want.equals(st.metadata().get(RandomLlama.METADATA_KEY))) {
                    return;
                }
            } catch (RuntimeException e) {
                out.println("rewriting unreadable model in " + dir + ": " + e.getMessage());
            }
        }
        out.printf(Locale.ROOT, "writing random %s %s model to %s%n", shape, dtype, dir);
        RandomLlama.write(dir, shape, dtype, seed);
    }
}
