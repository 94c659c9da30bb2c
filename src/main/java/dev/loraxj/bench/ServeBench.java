package dev.loraxj.bench;

import dev.loraxj.model.ModelConfig;
import dev.loraxj.model.RandomLlama;
import dev.loraxj.model.Tokenizer;

import java.io.IOException;
import java.io.PrintStream;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.function.Function;

/**
 * The serving benchmark: real HTTP clients against loraxj servers started from the packaged jar,
 * two at a time, with bursts alternating between them so each figure is a ratio measured side by
 * side in one run.
 * <ol>
 *   <li>concurrency: KV on demand against the old rule (reserve a request's prompt and all its new tokens at admission),
 *       same KV pool, requests without max_new_tokens that the client ends after {@code tokens} tokens;</li>
 *   <li>prefix: clients sharing a system prompt over a few adapters, TTFT with prefix caching against a
 *       server without it;</li>
 *   <li>preemption: a KV pool at 50% of the burst's working set against 100%;</li>
 *   <li>scaling: throughput and TTFT p50 against the number of distinct adapters, and the base model,
 *       written as CSV and PNG;</li>
 *   <li>load (only when asked for): {@link ServeLoad}, tokens/s, TTFT p50/p90 and latency p50 of N clients on the
 *       OpenAI wire, for each adapter mix of {@code --adapters} (0: the base model), against the packaged server or,
 *       with {@code --url}, another server such as llama-server.</li>
 * </ol>
 * <pre>
 * java --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -jar target/quarkus-app/quarkus-run.jar bench serve \
 *     [--shape 110m|tiny] [--clients 256] [--tokens 16] [--prompt-tokens 16] [--max-total 2048] [--adapters 1,8,32,128,256]
 *     [--rank 8] [--prefix-clients 64] [--system-tokens 512] [--prefix-adapters 8] [--prefix-new-tokens 8] [--rounds 1]
 *     [--threads N] [--figures concurrency,prefix,preemption,scaling] [--out DIR] [--dir DIR] [--jar JAR]
 *     [--tokenizer DIR] [--timeout SECONDS] [--url http://127.0.0.1:8080 (load only)]
 * </pre>
 */
public final class ServeBench {

    static final List<String> FIGURES = List.of("concurrency", "preemption", "scaling", "prefix");
    /** Every figure, in run order; {@code load} runs only when asked for. */
    static final List<String> ALL_FIGURES = List.of("concurrency", "preemption", "scaling", "prefix", "load");
    private static final String USAGE = "usage: bench serve [--shape 110m|tiny] [--clients N] [--tokens N] [--prompt-tokens N]"
            + " [--max-total N] [--adapters 1,8,32,128,256] [--rank N] [--prefix-clients N] [--system-tokens N]"
            + " [--prefix-adapters N] [--prefix-new-tokens N] [--rounds N] [--threads N]"
            + " [--figures concurrency,prefix,preemption,scaling,load] [--out DIR] [--dir DIR] [--jar JAR] [--tokenizer DIR] [--timeout S]"
            + " [--url URL]";

    /**
     * @param clients       concurrent clients of the concurrency, preemption and scaling figures
     * @param tokens        tokens each of those clients receives (the full size: 256)
     * @param maxTotal      the servers' max-total-tokens: what the old rule reserves for a request without max_new_tokens
     * @param adapterCounts distinct adapters of the scaling figure
     * @param figures       which figures to run, in {@link #ALL_FIGURES} order
     * @param url           null: the load figure starts the packaged server; else the server it runs against
     */
    public record Options(String shape, int clients, int tokens, int promptTokens, int maxTotal, int[] adapterCounts, int rank,
                          int prefixClients, int systemTokens, int prefixAdapters, int prefixNewTokens, int rounds, int threads,
                          Set<String> figures, Path out, Path dir, Path jar, Path tokenizer, Duration timeout, URI url) {

        public static Options parse(String... args) {
            String shape = "110m";
            int clients = 256, tokens = 16, promptTokens = 16, maxTotal = 2048, rank = 8;
            int[] adapters = {1, 8, 32, 128, 256};
            int prefixClients = 64, systemTokens = 512, prefixAdapters = 8, prefixNew = 8, rounds = 1;
            int threads = Runtime.getRuntime().availableProcessors();
            Set<String> figures = new LinkedHashSet<>(FIGURES);
            Path dir = Path.of(System.getProperty("java.io.tmpdir"), "loraxj-bench");
            Path out = null;
            Path jar = runningJar();
            Path tokenizer = Path.of("..", "shared", "models", "stories260K");
            int timeout = 900;
            URI url = null;
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
                    case "--clients" -> clients = positive(a, v);
                    case "--tokens" -> tokens = positive(a, v);
                    case "--prompt-tokens" -> promptTokens = positive(a, v);
                    case "--max-total" -> maxTotal = positive(a, v);
                    case "--adapters" -> adapters = Arrays.stream(v.split(",")).mapToInt(s -> nonNegative(a, s.trim())).sorted().distinct().toArray();
                    case "--rank" -> rank = positive(a, v);
                    case "--prefix-clients" -> prefixClients = positive(a, v);
                    case "--system-tokens" -> systemTokens = positive(a, v);
                    case "--prefix-adapters" -> prefixAdapters = positive(a, v);
                    case "--prefix-new-tokens" -> prefixNew = positive(a, v);
                    case "--rounds" -> rounds = positive(a, v);
                    case "--threads" -> threads = positive(a, v);
                    case "--figures" -> {
                        Set<String> want = new LinkedHashSet<>();
                        for (String f : v.split(",")) {
                            if (!ALL_FIGURES.contains(f.trim())) {
                                throw new IllegalArgumentException("unknown figure '" + f + "' (use " + String.join(",", ALL_FIGURES) + ")");
                            }
                            want.add(f.trim());
                        }
                        figures = new LinkedHashSet<>(ALL_FIGURES.stream().filter(want::contains).toList());
                    }
                    case "--out" -> out = Path.of(v);
                    case "--dir" -> dir = Path.of(v);
                    case "--jar" -> jar = Path.of(v);
                    case "--tokenizer" -> tokenizer = Path.of(v);
                    case "--timeout" -> timeout = positive(a, v);
                    case "--url" -> {
                        try {
                            url = URI.create(v);
                        } catch (IllegalArgumentException e) {
                            throw new IllegalArgumentException("--url needs a URL such as http://127.0.0.1:8080, got '" + v + "'", e);
                        }
                        if (!"http".equals(url.getScheme()) || url.getHost() == null) {
                            throw new IllegalArgumentException("--url needs an http URL such as http://127.0.0.1:8080, got '" + v + "'");
                        }
                    }
                    default -> throw new IllegalArgumentException("unknown option " + a + "\n" + USAGE);
                }
            }
            try {
                RandomLlama.shape(shape);
            } catch (RuntimeException e) {
                throw new IllegalArgumentException(e.getMessage(), e);
            }
            if (promptTokens + tokens >= maxTotal) {
                throw new IllegalArgumentException("--max-total (" + maxTotal + ") must exceed --prompt-tokens + --tokens ("
                        + (promptTokens + tokens) + ")");
            }
            if (figures.contains("scaling") && Arrays.stream(adapters).noneMatch(n -> n > 0)) {
                throw new IllegalArgumentException("the scaling figure needs an adapter count above 0 in --adapters");
            }
            if (url != null && !figures.equals(Set.of("load"))) {
                throw new IllegalArgumentException("--url runs the load figure only: add --figures load");
            }
            return new Options(shape, clients, tokens, promptTokens, maxTotal, adapters, rank, prefixClients, systemTokens,
                    prefixAdapters, prefixNew, rounds, threads, Set.copyOf(figures), out != null ? out : dir.resolve("serve"),
                    dir, jar, tokenizer, Duration.ofSeconds(timeout), url);
        }

        /** The quarkus-run.jar this process runs from, else the one a build leaves under target/. */
        private static Path runningJar() {
            String cp = System.getProperty("java.class.path", "");
            if (cp.endsWith("quarkus-run.jar") && !cp.contains(java.io.File.pathSeparator) && Files.isRegularFile(Path.of(cp))) {
                return Path.of(cp);
            }
            return Path.of("target", "quarkus-app", "quarkus-run.jar");
        }

        private static int positive(String option, String value) {
            try {
                int n = Integer.parseInt(value);
                if (n > 0) {
                    return n;
                }
            } catch (NumberFormatException e) {
                // reported below
            }
            throw new IllegalArgumentException(option + " needs a positive integer, got '" + value + "'");
        }

        private static int nonNegative(String option, String value) {
            return value.equals("0") ? 0 : positive(option, value);
        }

        /** The adapter counts above 0 (a scaling point; the base model is always measured beside them). */
        int[] adapterPoints() {
            return Arrays.stream(adapterCounts).filter(n -> n > 0).toArray();
        }
    }

    /** Figure 1, medians over rounds; peaks are the engines' own loraxj_batch_size_max. */
    public record Concurrency(int worstCasePeak, int onDemandPeak, double worstCaseTokensPerSecond, double onDemandTokensPerSecond,
                              double peakRatio, double throughputRatio, long onDemandPreemptions) {
    }

    /** Figure 2: TTFT in seconds, medians over rounds; cold: the burst's salt is new, warm: the same burst again. */
    public record Prefix(double uncachedP50, double uncachedP99, double coldP50, double coldP99, double warmP50, double warmP99,
                         double coldP50Ratio, double warmP50Ratio, long hitTokens) {
    }

    /** Figure 3, medians over rounds. */
    public record Preemption(double fullTokensPerSecond, double halfTokensPerSecond, double ratio, long halfPreemptions) {
    }

    /** Figure 4, medians over rounds, and the CSV and PNG written. */
    public record Scaling(ScalingChart.Point base, List<ScalingChart.Point> points, List<Path> files) {
    }

    /** Null for a figure that was not asked for. */
    public record Report(Concurrency concurrency, Prefix prefix, Preemption preemption, Scaling scaling, List<ServeLoad.Point> load) {
    }

    private ServeBench() {
    }

    public static void main(String[] args) {
        Bench.runOrExit(args, Options::parse, o -> run(o, System.out));
    }

    public static Report run(Options o, PrintStream out) {
        long started = System.nanoTime();
        Path model = ServeSetup.servedModel(o.dir(), o.shape(), o.tokenizer(), out);
        ModelConfig cfg = ModelConfig.load(model);
        try (Tokenizer tok = Tokenizer.load(model)) {
            Files.createDirectories(o.out());
            ServeSetup s = new ServeSetup(o, model, cfg, new Prompts(tok), o.out(), out);
            header(s);
            Concurrency c = null;
            Preemption p = null;
            Scaling sc = null;
            Prefix px = null;
            if (o.figures().contains("concurrency") || o.figures().contains("preemption") || o.figures().contains("scaling")) {
                ServeSetup.Adapters adapters = o.figures().contains("scaling")
                        ? s.adapters(o.adapterPoints()[o.adapterPoints().length - 1]) : ServeSetup.Adapters.NONE;
                List<String> prompts = s.clientPrompts();
                int workingSet = s.workingSet(prompts, o.tokens() + 1); // +1: a stopped client's cancel lands a step later
                int pool = Math.max(workingSet, o.maxTotal()); // a server's pool holds at least one max-total-tokens request
                try (ServerProcess full = s.server("on-demand-100", pool, o.maxTotal(), o.clients(), true, false, adapters)) {
                    s.warm(full, adapters);
                    if (o.figures().contains("concurrency")) {
                        c = concurrency(s, full, pool, workingSet, prompts);
                    }
                    if (o.figures().contains("preemption")) {
                        p = preemption(s, full, pool, workingSet, prompts);
                    }
                    if (o.figures().contains("scaling")) {
                        sc = scaling(s, full, prompts, adapters);
                    }
                }
            }
            if (o.figures().contains("prefix")) {
                px = prefix(s);
            }
            List<ServeLoad.Point> load = o.figures().contains("load") ? load(s) : null;
            Report report = new Report(c, px, p, sc, load);
            summary(report, out);
            out.printf(Locale.ROOT, "bench serve finished in %.0f s; server logs and the scaling CSV/PNG are in %s%n",
                    (System.nanoTime() - started) / 1e9, o.out().toAbsolutePath());
            return report;
        } catch (IOException e) {
            throw new IllegalStateException("cannot write to " + o.out() + ": " + e.getMessage(), e);
        }
    }

    private static List<ServeLoad.Point> load(ServeSetup s) {
        Options o = s.o;
        int most = o.adapterCounts()[o.adapterCounts().length - 1];
        if (o.url() != null) {
            // the other server is asked for adapters a0..a{n-1} by name; it must serve them itself
            return ServeLoad.run(s, new StreamingLoad.ExternalServer(o.url()), new ServeSetup.Adapters(null, most, 0));
        }
        ServeSetup.Adapters adapters = most > 0 ? s.adapters(most) : ServeSetup.Adapters.NONE;
        List<String> prompts = s.clientPrompts();
        int maxTotal = Math.max(o.maxTotal(), prompts.stream().mapToInt(s.prompts::length).max().orElse(0) + o.tokens() + 1);
        int pool = Math.max(s.workingSet(prompts, o.tokens() + 1), maxTotal);
        try (ServerProcess server = s.server("load", pool, maxTotal, o.clients(), true, false, adapters)) {
            s.warm(server, adapters);
            return ServeLoad.run(s, server, adapters);
        }
    }

    /** The ratio lines again, in the order. */
    private static void summary(Report r, PrintStream out) {
        out.printf(Locale.ROOT, "%nsummary (each a ratio of two servers measured in this run):%n");
        if (r.concurrency() != null) {
            out.printf(Locale.ROOT, "  1. on-demand / worst-case peak running: %.2f; throughput: %.2f%n", r.concurrency().peakRatio(),
                    r.concurrency().throughputRatio());
        }
        if (r.prefix() != null) {
            out.printf(Locale.ROOT, "  2. cached / uncached TTFT p50: %.2f cold, %.2f warm (target <= 0.20)%n", r.prefix().coldP50Ratio(),
                    r.prefix().warmP50Ratio());
        }
        if (r.preemption() != null) {
            out.printf(Locale.ROOT, "  3. 50%% / 100%% pool throughput: %.2f%n", r.preemption().ratio());
        }
        if (r.load() != null) {
            for (ServeLoad.Point p : r.load()) {
                out.printf(Locale.ROOT, "  load, %s: %.1f tok/s, TTFT p50 %.3f s, p90 %.3f s, latency p50 %.3f s (%d clients x %d tokens)%n",
                        p.adapters() == 0 ? "base" : p.adapters() + " adapters", p.tokensPerSecond(), p.ttftP50(), p.ttftP90(),
                        p.latencyP50(), p.clients(), p.tokens());
            }
        }
        if (r.scaling() != null) {
            ScalingChart.Point last = r.scaling().points().getLast();
            out.printf(Locale.ROOT, "  4. %d adapters / base throughput: %.2f; TTFT p50: %.2f (all points in %s)%n", last.adapters(),
                    last.tokensPerSecond() / r.scaling().base().tokensPerSecond(),
                    last.ttftP50Seconds() / r.scaling().base().ttftP50Seconds(), r.scaling().files().getFirst().getFileName());
        }
    }

    private static void header(ServeSetup s) {
        Options o = s.o;
        s.out.printf(Locale.ROOT, "loraxj serve bench: random %s model (f32, %d layers, hidden %d, vocab %d), %d server threads,"
                        + " real HTTP (SSE streams over HTTP/1.1, one connection per client, 127.0.0.1)%n",
                o.shape(), s.cfg.numLayers(), s.cfg.hiddenSize(), s.cfg.vocabSize(), o.threads());
        s.out.printf(Locale.ROOT, "  parameters: %d clients x %d tokens (issue: 256 x 256), prompts of ~%d tokens, max-total-tokens %d,"
                        + " adapters %s of rank %d on q,k,v,o; prefix: %d clients (issue: 64), %d-token system prompt, %d adapters, %d new tokens;"
                        + " %d round(s), bursts alternate between the two servers of a figure%n",
                o.clients(), o.tokens(), o.promptTokens(), o.maxTotal(), Arrays.toString(o.adapterCounts()), o.rank(),
                o.prefixClients(), o.systemTokens(), o.prefixAdapters(), o.prefixNewTokens(), o.rounds());
        s.out.println("  greedy decoding of random weights, so EOS is rare: a client stops at EOS, at its token count, or when the server ends it");
    }

    // ---- figure 1 -------------------------------------------------------------------------------

    private static Concurrency concurrency(ServeSetup s, ServerProcess onDemand, int pool, int workingSet, List<String> prompts) {
        Options o = s.o;
        s.out.printf(Locale.ROOT, "%n1. concurrency: %d clients send no max_new_tokens and each stops reading after %d tokens"
                        + " (standing in for EOS; closing the stream cancels the sequence); same KV pool of %d tokens (%.0f%% of the"
                        + " working set); the old rule reserves max-total-tokens (%d) per request%n",
                o.clients(), o.tokens(), pool, 100.0 * pool / workingSet, o.maxTotal());
        try (ServerProcess worst = s.server("worst-case-100", pool, o.maxTotal(), o.clients(), true, true, ServeSetup.Adapters.NONE)) {
            s.warm(worst, ServeSetup.Adapters.NONE);
            s.out.printf(Locale.ROOT, "  %-5s %-10s %8s %8s %9s %9s %9s %7s %8s%n", "round", "admission", "peak run", "mean run",
                    "tok/s", "TTFT p50", "TTFT p99", "wall s", "preempt");
            List<double[]> rows = new ArrayList<>();
            for (int r = 0; r < o.rounds(); r++) {
                double[] row = new double[2];
                long before = (long) onDemand.metric("loraxj_preemptions_total");
                ServerProcess[] order = r % 2 == 0 ? new ServerProcess[] {worst, onDemand} : new ServerProcess[] {onDemand, worst};
                for (ServerProcess server : order) {
                    List<StreamingLoad.Request> reqs = ServeSetup.requests(prompts, i -> null, null, o.tokens(), null);
                    StreamingLoad.Round round = StreamingLoad.run(server, reqs, o.timeout());
                    boolean wc = server == worst;
                    row[wc ? 0 : 1] = round.tokensPerSecond();
                    printRound(s, r + 1, wc ? "worst-case" : "on-demand", server, round);
                }
                rows.add(row);
                s.out.printf(Locale.ROOT, "  %-5d on-demand preemptions this round: %d%n", r + 1,
                        (long) onDemand.metric("loraxj_preemptions_total") - before);
            }
            int wcPeak = (int) worst.metric("loraxj_batch_size_max");
            int odPeak = (int) onDemand.metric("loraxj_batch_size_max");
            double wcT = median(rows, 0), odT = median(rows, 1);
            double tRatio = median(rows.stream().map(x -> new double[] {x[1] / x[0]}).toList(), 0);
            long pre = (long) onDemand.metric("loraxj_preemptions_total");
            s.out.printf(Locale.ROOT, "  peak running sequences (loraxj_batch_size_max): worst-case %d, on-demand %d;"
                            + " sequences ended by the clients' stop (loraxj_sequences_cancelled_total): %.0f and %.0f%n", wcPeak, odPeak,
                    worst.metric("loraxj_sequences_cancelled_total"), onDemand.metric("loraxj_sequences_cancelled_total"));
            s.out.printf(Locale.ROOT, "  on-demand / worst-case peak running: %.2f%n", odPeak / (double) wcPeak);
            s.out.printf(Locale.ROOT, "  on-demand / worst-case throughput: %.2f (%.1f / %.1f tok/s, medians)%n", tRatio, odT, wcT);
            return new Concurrency(wcPeak, odPeak, wcT, odT, odPeak / (double) wcPeak, tRatio, pre);
        }
    }

    // ---- figure 3 -------------------------------------------------------------------------------

    private static Preemption preemption(ServeSetup s, ServerProcess full, int pool, int workingSet, List<String> prompts) {
        Options o = s.o;
        int half = Math.max(workingSet / 2 / ServeSetup.BLOCK * ServeSetup.BLOCK, ServeSetup.BLOCK);
        int halfMaxTotal = Math.min(o.maxTotal(), half); // a server's pool holds at least one max-total-tokens request
        if (halfMaxTotal <= o.promptTokens() + o.tokens() + 8) {
            throw new IllegalArgumentException("the 50% pool (" + half + " tokens) cannot hold one request of --prompt-tokens + --tokens;"
                    + " raise --clients or --tokens");
        }
        s.out.printf(Locale.ROOT, "%n3. preemption cost: the requests of 1 (%d clients stop after %d tokens), KV on demand; pool of %d tokens"
                + " (%.0f%% of the working set) against %d (%.0f%%)%n", o.clients(), o.tokens(), half, 100.0 * half / workingSet, pool,
                100.0 * pool / workingSet);
        try (ServerProcess halfServer = s.server("on-demand-50", half, halfMaxTotal, o.clients(), true, false, ServeSetup.Adapters.NONE)) {
            s.warm(halfServer, ServeSetup.Adapters.NONE);
            s.out.printf(Locale.ROOT, "  %-5s %-10s %8s %8s %9s %9s %9s %7s %8s%n", "round", "KV pool", "peak run", "mean run",
                    "tok/s", "TTFT p50", "TTFT p99", "wall s", "preempt");
            List<double[]> rows = new ArrayList<>();
            for (int r = 0; r < o.rounds(); r++) {
                double[] row = new double[2];
                ServerProcess[] order = r % 2 == 0 ? new ServerProcess[] {halfServer, full} : new ServerProcess[] {full, halfServer};
                for (ServerProcess server : order) {
                    List<StreamingLoad.Request> reqs = ServeSetup.requests(prompts, i -> null, null, o.tokens(), null);
                    StreamingLoad.Round round = StreamingLoad.run(server, reqs, o.timeout());
                    row[server == halfServer ? 0 : 1] = round.tokensPerSecond();
                    printRound(s, r + 1, server == halfServer ? "50%" : "100%", server, round);
                }
                rows.add(row);
            }
            double ratio = median(rows.stream().map(x -> new double[] {x[0] / x[1]}).toList(), 0);
            long pre = (long) halfServer.metric("loraxj_preemptions_total");
            s.out.printf(Locale.ROOT, "  preemptions (loraxj_preemptions_total): 50%% pool %d, 100%% pool %d%n", pre,
                    (long) full.metric("loraxj_preemptions_total"));
            s.out.printf(Locale.ROOT, "  50%% / 100%% pool throughput: %.2f (%.1f / %.1f tok/s, medians)%n", ratio, median(rows, 0), median(rows, 1));
            return new Preemption(median(rows, 1), median(rows, 0), ratio, pre);
        }
    }

    // ---- figure 4 -------------------------------------------------------------------------------

    private static Scaling scaling(ServeSetup s, ServerProcess server, List<String> prompts, ServeSetup.Adapters adapters) {
        Options o = s.o;
        int[] counts = o.adapterPoints();
        s.out.printf(Locale.ROOT, "%n4. scaling with adapters: %d clients with max_new_tokens %d; client i uses adapter i mod n;"
                + " points in rotating order each round; the base model (no adapter) measured in the same rounds%n", o.clients(), o.tokens());
        if (counts[counts.length - 1] > o.clients()) {
            s.out.printf(Locale.ROOT, "  (only %d clients: a point above that many adapters uses %d of them)%n", o.clients(), o.clients());
        }
        s.out.printf(Locale.ROOT, "  %-5s %-10s %8s %8s %9s %9s %9s %7s %8s%n", "round", "adapters", "peak run", "mean run",
                "tok/s", "TTFT p50", "TTFT p99", "wall s", "preempt");
        int points = counts.length + 1; // index 0: the base model
        List<List<double[]>> results = new ArrayList<>();
        for (int k = 0; k < points; k++) {
            results.add(new ArrayList<>());
        }
        for (int r = 0; r < o.rounds(); r++) {
            for (int j = 0; j < points; j++) {
                int k = (j + r) % points;
                int n = k == 0 ? 0 : counts[k - 1];
                Function<Integer, String> adapter = n == 0 ? i -> null : i -> adapters.id(i % n);
                StreamingLoad.Round round = StreamingLoad.run(server, ServeSetup.requests(prompts, adapter, o.tokens(), 0, null), o.timeout());
                results.get(k).add(new double[] {round.tokensPerSecond(), round.ttftSeconds(0.5), round.ttftSeconds(0.99)});
                printRound(s, r + 1, n == 0 ? "base" : String.valueOf(n), server, round);
            }
        }
        ScalingChart.Point base = point(0, results.get(0));
        List<ScalingChart.Point> pts = new ArrayList<>();
        s.out.printf(Locale.ROOT, "  %-10s %9s %9s %9s %11s%n", "adapters", "tok/s", "TTFT p50", "TTFT p99", "tok/s / base");
        s.out.printf(Locale.ROOT, "  %-10s %9.1f %8.2fs %8.2fs %11.2f%n", "base", base.tokensPerSecond(), base.ttftP50Seconds(),
                base.ttftP99Seconds(), 1.0);
        for (int k = 1; k < points; k++) {
            ScalingChart.Point p = point(counts[k - 1], results.get(k));
            pts.add(p);
            s.out.printf(Locale.ROOT, "  %-10d %9.1f %8.2fs %8.2fs %11.2f%n", p.adapters(), p.tokensPerSecond(), p.ttftP50Seconds(),
                    p.ttftP99Seconds(), p.tokensPerSecond() / base.tokensPerSecond());
        }
        ScalingChart.Point last = pts.getLast();
        s.out.printf(Locale.ROOT, "  %d adapters / base throughput: %.2f; TTFT p50: %.2f%n", last.adapters(),
                last.tokensPerSecond() / base.tokensPerSecond(), last.ttftP50Seconds() / base.ttftP50Seconds());
        List<Path> files = ScalingChart.write(o.out(), "adapter-scaling",
                String.format(Locale.ROOT, "%s, %d clients x %d tokens, rank %d", o.shape(), o.clients(), o.tokens(), o.rank()), base, pts);
        s.out.println("  wrote " + files.get(0) + " and " + files.get(1));
        return new Scaling(base, List.copyOf(pts), files);
    }

    private static ScalingChart.Point point(int adapters, List<double[]> rounds) {
        return new ScalingChart.Point(adapters, median(rounds, 0), median(rounds, 1), median(rounds, 2));
    }

    // ---- figure 2 -------------------------------------------------------------------------------

    private static Prefix prefix(ServeSetup s) {
        Options o = s.o;
        ServeSetup.Adapters adapters = s.adapters(o.prefixAdapters());
        String system = s.prompts.build("System: you are a kind storyteller.", 42, o.systemTokens());
        int systemLen = s.prompts.length(system);
        List<String> prompts = new ArrayList<>();
        for (int i = 0; i < o.prefixClients(); i++) {
            prompts.add(system + "\nUser " + i + ": tell me about the " + i + " red birds");
        }
        int longest = prompts.stream().mapToInt(s.prompts::length).max().orElse(0);
        int maxTotal = Math.max(o.maxTotal(), longest + o.prefixNewTokens() + 1);
        int pool = Math.max(s.workingSet(prompts, o.prefixNewTokens()), maxTotal);
        s.out.printf(Locale.ROOT, "%n2. prefix caching: %d clients, a %d-token system prompt then their own question (prompts up to %d"
                        + " tokens), client i on adapter i mod %d, max_new_tokens %d; KV pool %d tokens; TTFT measured by the client%n"
                        + "  cold: the burst's cache_salt is new, so the first requests of each adapter compute the prefix;"
                        + " warm: the same burst again, the prefix cached%n",
                o.prefixClients(), systemLen, longest, o.prefixAdapters(), o.prefixNewTokens(), pool);
        try (ServerProcess cached = s.server("prefix-cached", pool, maxTotal, o.prefixClients(), true, false, adapters);
             ServerProcess uncached = s.server("prefix-uncached", pool, maxTotal, o.prefixClients(), false, false, adapters)) {
            s.warmLongPrompts(cached, adapters, 2);
            s.warmLongPrompts(uncached, adapters, 1);
            s.out.printf(Locale.ROOT, "  %-5s %-9s %9s %9s %9s %7s %10s%n", "round", "server", "TTFT p50", "TTFT p99", "tok/s", "wall s", "hit tokens");
            List<double[]> rows = new ArrayList<>();
            for (int r = 0; r < o.rounds(); r++) {
                String salt = "round-" + r;
                Function<Integer, String> adapter = i -> adapters.id(i % o.prefixAdapters());
                double[] row = new double[6];
                for (int step = 0; step < 2; step++) {
                    if ((step == 0) == (r % 2 == 0)) {
                        StreamingLoad.Round u = StreamingLoad.run(uncached, ServeSetup.requests(prompts, adapter, o.prefixNewTokens(), 0, salt), o.timeout());
                        row[0] = u.ttftSeconds(0.5);
                        row[1] = u.ttftSeconds(0.99);
                        printPrefix(s, r + 1, "uncached", u, uncached);
                    } else {
                        for (int pass = 0; pass < 2; pass++) {
                            StreamingLoad.Round c = StreamingLoad.run(cached, ServeSetup.requests(prompts, adapter, o.prefixNewTokens(), 0, salt), o.timeout());
                            row[2 + 2 * pass] = c.ttftSeconds(0.5);
                            row[3 + 2 * pass] = c.ttftSeconds(0.99);
                            printPrefix(s, r + 1, pass == 0 ? "cold" : "warm", c, cached);
                        }
                    }
                }
                rows.add(row);
            }
            double coldRatio = median(rows.stream().map(x -> new double[] {x[2] / x[0]}).toList(), 0);
            double warmRatio = median(rows.stream().map(x -> new double[] {x[4] / x[0]}).toList(), 0);
            double coldP99 = median(rows.stream().map(x -> new double[] {x[3] / x[1]}).toList(), 0);
            double warmP99 = median(rows.stream().map(x -> new double[] {x[5] / x[1]}).toList(), 0);
            long hits = (long) cached.metric("loraxj_prefix_cache_hit_tokens_total");
            s.out.printf(Locale.ROOT, "  cached / uncached TTFT p50: %.2f cold, %.2f warm (target <= 0.20: %s cold, %s warm)%n",
                    coldRatio, warmRatio, coldRatio <= 0.2 ? "met" : "not met", warmRatio <= 0.2 ? "met" : "not met");
            s.out.printf(Locale.ROOT, "  cached / uncached TTFT p99: %.2f cold, %.2f warm%n", coldP99, warmP99);
            return new Prefix(median(rows, 0), median(rows, 1), median(rows, 2), median(rows, 3), median(rows, 4), median(rows, 5),
                    coldRatio, warmRatio, hits);
        }
    }

    private static void printPrefix(ServeSetup s, int round, String label, StreamingLoad.Round r, ServerProcess server) {
        s.out.printf(Locale.ROOT, "  %-5d %-9s %8.2fs %8.2fs %9.1f %7.1f %10.0f%n", round, label, r.ttftSeconds(0.5), r.ttftSeconds(0.99),
                r.tokensPerSecond(), r.wallNanos() / 1e9, server.metric("loraxj_prefix_cache_hit_tokens_total"));
    }

    private static void printRound(ServeSetup s, int round, String label, ServerProcess server, StreamingLoad.Round r) {
        s.out.printf(Locale.ROOT, "  %-5d %-10s %8d %8.1f %9.1f %8.2fs %8.2fs %7.1f %8.0f%n", round, label, r.sampledPeakRunning(),
                r.meanRunning(), r.tokensPerSecond(), r.ttftSeconds(0.5), r.ttftSeconds(0.99), r.wallNanos() / 1e9,
                server.metric("loraxj_preemptions_total"));
    }

    /** The median of one column over rows (rounds). */
    static double median(List<double[]> rows, int column) {
        double[] v = rows.stream().mapToDouble(x -> x[column]).sorted().toArray();
        return v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
    }
}
