package dev.loraxj.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.loraxj.adapter.RandomLora;
import dev.loraxj.model.DType;
import dev.loraxj.model.ModelConfig;
import dev.loraxj.model.RandomLlama;
import dev.loraxj.model.Tokenizer;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * Routing across replicas on loopback: {@code replicas} servers from the packaged jar, each with an
 * adapter budget of {@code budgetAdapters} adapters, replay one trace of requests over
 * {@code adapters} random adapters (Zipf popularity) twice, on fresh replicas each time: routed round
 * robin, then by the endpoint picker's LoRA-affinity rule ({@link LoraAffinity}) fed by the replicas'
 * own /metrics, scraped every {@code scrapeMillis} as the picker's data layer does (its default is
 * 50 ms). Reports adapter loads, evictions, TTFT p50/p99 and throughput for each rule.
 * <pre>
 * java --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -jar target/quarkus-app/quarkus-run.jar bench route \
 *     [--replicas 3] [--requests 2000] [--adapters 200] [--zipf 1.0] [--budget-adapters 8] [--clients 24] [--tokens 8]
 *     [--prompt-tokens 16] [--rank 8] [--shape 110m|tiny] [--threads 1] [--scrape-ms 250] [--seed 1] [--dir DIR] [--jar JAR]
 *     [--tokenizer DIR] [--timeout SECONDS]
 * </pre>
 */
public final class RouteBench {

    static final List<String> RULES = List.of("round-robin", "lora-affinity");
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String USAGE = "usage: bench route [--replicas N] [--requests N] [--adapters N] [--zipf S] [--budget-adapters N]"
            + " [--clients N] [--tokens N] [--prompt-tokens N] [--rank N] [--shape 110m|tiny] [--threads N] [--scrape-ms N]"
            + " [--seed N] [--dir DIR] [--jar JAR] [--tokenizer DIR] [--timeout S]";

    /**
     * @param budgetAdapters adapters each replica's loraxj.adapters.memory-budget holds
     * @param clients        requests in flight at once (closed loop: a client sends its next request when one ends)
     * @param threads        compute threads per replica
     */
    public record Options(int replicas, int requests, int adapters, double zipf, int budgetAdapters, int clients, int tokens,
                          int promptTokens, int rank, String shape, int threads, int scrapeMillis, long seed, Path dir, Path jar,
                          Path tokenizer, Duration timeout) {

        public static Options parse(String... args) {
            Map<String, String> v = new LinkedHashMap<>();
            for (int i = 0; i < args.length; i += 2) {
                if (args[i].equals("--help") || args[i].equals("-h")) {
                    throw new IllegalArgumentException(USAGE);
                }
                if (i + 1 >= args.length) {
                    throw new IllegalArgumentException("missing value after " + args[i] + "\n" + USAGE);
                }
                if (!USAGE.contains("[" + args[i] + " ")) {
                    throw new IllegalArgumentException("unknown option " + args[i] + "\n" + USAGE);
                }
                v.put(args[i], args[i + 1]);
            }
            double zipf;
            try {
                zipf = Double.parseDouble(v.getOrDefault("--zipf", "1.0"));
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("--zipf needs a number, got '" + v.get("--zipf") + "'");
            }
            if (!(zipf >= 0) || Double.isInfinite(zipf)) {
                throw new IllegalArgumentException("--zipf must be a finite number >= 0 (0: uniform)");
            }
            String shape = v.getOrDefault("--shape", "110m");
            try {
                RandomLlama.shape(shape);
            } catch (RuntimeException e) {
                throw new IllegalArgumentException(e.getMessage(), e);
            }
            Path dir = Path.of(v.getOrDefault("--dir", Path.of(System.getProperty("java.io.tmpdir"), "loraxj-bench").toString()));
            Options o = new Options(positive(v, "--replicas", 3), positive(v, "--requests", 2000), positive(v, "--adapters", 200), zipf,
                    positive(v, "--budget-adapters", 8), positive(v, "--clients", 24), positive(v, "--tokens", 8),
                    positive(v, "--prompt-tokens", 16), positive(v, "--rank", 8), shape, positive(v, "--threads", 1),
                    positive(v, "--scrape-ms", 250), positive(v, "--seed", 1), dir,
                    Path.of(v.getOrDefault("--jar", Path.of("target", "quarkus-app", "quarkus-run.jar").toString())),
                    Path.of(v.getOrDefault("--tokenizer", Path.of("..", "shared", "models", "stories260K").toString())),
                    Duration.ofSeconds(positive(v, "--timeout", 1800)));
            if (o.budgetAdapters() >= o.adapters()) {
                throw new IllegalArgumentException("--budget-adapters (" + o.budgetAdapters() + ") must be below --adapters ("
                        + o.adapters() + "), or no replica ever evicts");
            }
            return o;
        }

        private static int positive(Map<String, String> v, String option, int dflt) {
            String s = v.get(option);
            if (s == null) {
                return dflt;
            }
            try {
                int n = Integer.parseInt(s);
                if (n > 0) {
                    return n;
                }
            } catch (NumberFormatException e) {
                // reported below
            }
            throw new IllegalArgumentException(option + " needs a positive integer, got '" + s + "'");
        }
    }

    /** One rule's run. Times in seconds; loads and evictions summed over the replicas, from their loraxj_* counters. */
    public record RuleResult(String rule, int requests, long loads, long evictions, double ttftP50, double ttftP99,
                             double tokensPerSecond, double requestsPerSecond, int[] perReplica, List<String> errors) {
    }

    public record Report(Options options, List<RuleResult> rules) {
    }

    /** One request's outcome; times from the run's start. */
    private record Outcome(int replica, long sentNanos, long firstNanos, long endNanos, int tokens, String error) {
    }

    private RouteBench() {
    }

    public static void main(String[] args) {
        Bench.runOrExit(args, Options::parse, o -> run(o, System.out));
    }

    public static Report run(Options o, PrintStream out) {
        long started = System.nanoTime();
        Path model = ServeSetup.servedModel(o.dir(), o.shape(), o.tokenizer(), out);
        ModelConfig cfg = ModelConfig.load(model);
        Path root = o.dir().resolve(o.shape() + "-route-r" + o.rank() + "-qkvo-f32");
        long bytesEach = writeAdapters(root, cfg, o, out);
        Path logs = o.dir().resolve("route");
        int[] trace = trace(o.requests(), o.adapters(), o.zipf(), o.seed());
        List<String> prompts;
        try (Tokenizer tok = Tokenizer.load(model)) {
            Files.createDirectories(logs);
            Prompts p = new Prompts(tok);
            prompts = new ArrayList<>(o.requests());
            for (int i = 0; i < o.requests(); i++) {
                prompts.add(p.client(i, o.seed(), o.promptTokens()));
            }
        } catch (IOException e) {
            throw new IllegalStateException("cannot write to " + logs + ": " + e.getMessage(), e);
        }
        out.printf(Locale.ROOT, "loraxj route bench: %d replicas of random %s (f32), each %d threads and an adapter budget of %d adapters"
                        + " (%d bytes each); %d requests over %d adapters (Zipf s=%.2f, %d distinct in the trace), %d clients in flight,"
                        + " %d tokens each; the picker's view scraped every %d ms%n", o.replicas(), o.shape(), o.threads(), o.budgetAdapters(),
                bytesEach, o.requests(), o.adapters(), o.zipf(), Arrays.stream(trace).distinct().count(), o.clients(), o.tokens(),
                o.scrapeMillis());
        List<RuleResult> results = new ArrayList<>();
        for (String rule : RULES) {
            results.add(runRule(rule, o, model, root, bytesEach, trace, prompts, logs, out));
        }
        RuleResult rr = results.get(0);
        RuleResult aff = results.get(1);
        out.printf(Locale.ROOT, "%nsummary (lora-affinity / round-robin, measured in this run): adapter loads %.2f, evictions %.2f,"
                        + " TTFT p50 %.2f, p99 %.2f, throughput %.2f%n", ratio(aff.loads(), rr.loads()), ratio(aff.evictions(), rr.evictions()),
                aff.ttftP50() / rr.ttftP50(), aff.ttftP99() / rr.ttftP99(), aff.tokensPerSecond() / rr.tokensPerSecond());
        out.printf(Locale.ROOT, "bench route finished in %.0f s; server logs in %s%n", (System.nanoTime() - started) / 1e9,
                logs.toAbsolutePath());
        return new Report(o, results);
    }

    private static RuleResult runRule(String rule, Options o, Path model, Path root, long bytesEach, int[] trace, List<String> prompts,
                                      Path logs, PrintStream out) {
        List<ServerProcess> replicas = startReplicas(rule, o, model, root, bytesEach, logs);
        try {
            for (ServerProcess r : replicas) {
                warm(r, o);
            }
            long loads0 = sum(replicas, "loraxj_adapter_loads_total");
            long evictions0 = sum(replicas, "loraxj_adapter_evictions_total");
            AtomicReferenceArray<EppMetrics> view = new AtomicReferenceArray<>(replicas.size());
            AtomicBoolean done = new AtomicBoolean();
            Thread scraper = null;
            if (rule.equals("lora-affinity")) {
                scrape(replicas, view); // a first view before the first pick
                for (int k = 0; k < replicas.size(); k++) {
                    if (view.get(k) == null) {
                        throw new IllegalStateException("replica " + k + "'s /metrics has no vLLM gauges the picker reads");
                    }
                }
                scraper = Thread.ofPlatform().daemon().name("loraxj-bench-scrape").start(() -> {
                    while (!done.get()) {
                        sleep(o.scrapeMillis());
                        scrape(replicas, view);
                    }
                });
            }
            Outcome[] outcomes = new Outcome[trace.length];
            AtomicInteger next = new AtomicInteger();
            SplittableRandom ties = new SplittableRandom(o.seed());
            long t0 = System.nanoTime();
            try (ExecutorService clients = Executors.newVirtualThreadPerTaskExecutor()) {
                List<Future<?>> fs = new ArrayList<>();
                for (int c = 0; c < o.clients(); c++) {
                    fs.add(clients.submit(() -> {
                        int i;
                        while ((i = next.getAndIncrement()) < trace.length) {
                            String adapter = "a" + trace[i];
                            int replica;
                            if (rule.equals("round-robin")) {
                                replica = i % replicas.size();
                            } else {
                                List<EppMetrics> now = new ArrayList<>();
                                for (int k = 0; k < replicas.size(); k++) {
                                    now.add(view.get(k));
                                }
                                synchronized (ties) {
                                    replica = LoraAffinity.pick(now, adapter, ties);
                                }
                            }
                            outcomes[i] = send(replicas.get(replica), replica, adapter, prompts.get(i), o, t0);
                        }
                        return null;
                    }));
                }
                for (Future<?> f : fs) {
                    f.get();
                }
            } catch (Exception e) {
                throw new IllegalStateException("the " + rule + " clients failed: " + e.getMessage(), e);
            } finally {
                done.set(true);
            }
            long wall = System.nanoTime() - t0;
            if (scraper != null) {
                scraper.interrupt();
            }
            RuleResult r = result(rule, outcomes, wall, replicas.size(), sum(replicas, "loraxj_adapter_loads_total") - loads0,
                    sum(replicas, "loraxj_adapter_evictions_total") - evictions0);
            out.printf(Locale.ROOT, "  %-13s adapter loads %5d, evictions %5d, TTFT p50 %7.1f ms, p99 %7.1f ms, %7.1f tokens/s,"
                            + " %6.2f requests/s, requests per replica %s%s%n", rule, r.loads(), r.evictions(), r.ttftP50() * 1e3,
                    r.ttftP99() * 1e3, r.tokensPerSecond(), r.requestsPerSecond(), Arrays.toString(r.perReplica()),
                    r.errors().isEmpty() ? "" : ", errors: " + r.errors());
            return r;
        } finally {
            replicas.forEach(ServerProcess::close);
        }
    }

    /** Replicas started side by side (their model loads overlap), each with the same adapter budget. */
    private static List<ServerProcess> startReplicas(String rule, Options o, Path model, Path root, long bytesEach, Path logs) {
        // room for budgetAdapters adapters and half of one more, so the count is what the budget holds
        long budget = o.budgetAdapters() * bytesEach + bytesEach / 2;
        Map<String, String> p = new LinkedHashMap<>();
        p.put("loraxj.model-id", model.toAbsolutePath().toString());
        p.put("loraxj.threads", String.valueOf(o.threads()));
        p.put("loraxj.adapters.local-roots", root.toAbsolutePath().toString());
        p.put("loraxj.adapters.memory-budget", String.valueOf(budget));
        p.put("loraxj.max-concurrent-requests", String.valueOf(o.clients() + 16));
        p.put("loraxj.max-total-tokens", String.valueOf(Math.max(128, o.promptTokens() + o.tokens() + 16)));
        p.put("loraxj.prefix-caching", "false"); // every prompt is unique; the rule compared is LoRA affinity alone
        List<String> jvm = List.of("-Xmx" + (((512L << 20) + budget) >> 20) + "m");
        List<Future<ServerProcess>> starting = new ArrayList<>();
        try (ExecutorService ex = Executors.newVirtualThreadPerTaskExecutor()) {
            for (int k = 0; k < o.replicas(); k++) {
                String name = rule + "-" + k;
                starting.add(ex.submit(() -> ServerProcess.start(name, o.jar(), jvm, p, logs, Duration.ofSeconds(300))));
            }
            List<ServerProcess> out = new ArrayList<>();
            RuntimeException failure = null;
            for (Future<ServerProcess> f : starting) {
                try {
                    out.add(f.get());
                } catch (Exception e) {
                    failure = new IllegalStateException("a replica did not start: " + e.getMessage(), e);
                }
            }
            if (failure != null) {
                out.forEach(ServerProcess::close);
                throw failure;
            }
            return out;
        }
    }

    /** One base-model request, so the JIT has seen prefill and decode before anything is timed (no adapter is loaded). */
    private static void warm(ServerProcess r, Options o) {
        Outcome w = send(r, 0, "", "Once upon a time", o, System.nanoTime());
        if (w.error() != null) {
            throw new IllegalStateException("warm-up failed: " + w.error());
        }
    }

    private static void scrape(List<ServerProcess> replicas, AtomicReferenceArray<EppMetrics> view) {
        for (int k = 0; k < replicas.size(); k++) {
            try {
                view.set(k, EppMetrics.extract(PrometheusText.parse(replicas.get(k).metricsText())));
            } catch (RuntimeException e) {
                // as the picker does, keep the last view of a replica that did not answer
            }
        }
    }

    /** One streamed completion; the first token is the first chunk with a choice, the count is the last chunk's usage. */
    private static Outcome send(ServerProcess r, int replica, String adapter, String prompt, Options o, long t0) {
        ObjectNode body = JSON.createObjectNode().put("model", adapter).put("prompt", prompt).put("max_tokens", o.tokens())
                .put("temperature", 0).put("stream", true).put("ignore_eos_token", true);
        body.putObject("stream_options").put("include_usage", true); // the token count, whatever text the tokens decode to
        long sent = System.nanoTime() - t0;
        long first = -1;
        int tokens = 0;
        try {
            HttpResponse<InputStream> resp = r.http.send(HttpRequest.newBuilder(r.base.resolve("/v1/completions"))
                    .timeout(o.timeout()).header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString(body.toString())).build(), HttpResponse.BodyHandlers.ofInputStream());
            try (BufferedReader in = new BufferedReader(new InputStreamReader(resp.body(), StandardCharsets.UTF_8))) {
                if (resp.statusCode() != 200) {
                    return new Outcome(replica, sent, -1, System.nanoTime() - t0, 0, resp.statusCode() + " " + in.readLine());
                }
                String line;
                while ((line = in.readLine()) != null) {
                    if (!line.startsWith("data:") || line.contains("[DONE]")) {
                        continue;
                    }
                    JsonNode chunk = JSON.readTree(line.substring(5).trim());
                    if (chunk.has("error")) {
                        return new Outcome(replica, sent, first, System.nanoTime() - t0, tokens, chunk.path("error").path("message").asText());
                    }
                    if (!chunk.path("choices").isEmpty() && first < 0) {
                        first = System.nanoTime() - t0; // the first token's chunk (its text may be empty: a partial UTF-8 character)
                    }
                    if (chunk.path("usage").has("completion_tokens")) {
                        tokens = chunk.path("usage").path("completion_tokens").asInt();
                    }
                }
            }
            return new Outcome(replica, sent, first, System.nanoTime() - t0, tokens, first < 0 ? "no token" : null);
        } catch (IOException e) {
            return new Outcome(replica, sent, -1, System.nanoTime() - t0, 0, e.getClass().getSimpleName() + ": " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new Outcome(replica, sent, -1, System.nanoTime() - t0, 0, "interrupted");
        }
    }

    private static RuleResult result(String rule, Outcome[] outcomes, long wallNanos, int replicas, long loads, long evictions) {
        int[] perReplica = new int[replicas];
        List<Double> ttft = new ArrayList<>();
        List<String> errors = new ArrayList<>();
        long tokens = 0;
        int ok = 0;
        for (Outcome x : outcomes) {
            perReplica[x.replica()]++;
            if (x.error() != null) {
                if (!errors.contains(x.error()) && errors.size() < 5) {
                    errors.add(x.error());
                }
                continue;
            }
            ok++;
            tokens += x.tokens();
            ttft.add((x.firstNanos() - x.sentNanos()) / 1e9);
        }
        double[] t = ttft.stream().mapToDouble(Double::doubleValue).toArray();
        return new RuleResult(rule, ok, loads, evictions, quantile(t, 0.5), quantile(t, 0.99), tokens / (wallNanos / 1e9),
                ok / (wallNanos / 1e9), perReplica, errors);
    }

    /**
     * The adapter of each request: ranks drawn from a Zipf law with exponent {@code s} over
     * {@code adapters} (rank k with weight 1/k^s), mapped to adapter ids by a seeded shuffle.
     */
    static int[] trace(int requests, int adapters, double s, long seed) {
        double[] cdf = new double[adapters];
        double total = 0;
        for (int k = 0; k < adapters; k++) {
            total += 1.0 / Math.pow(k + 1, s);
            cdf[k] = total;
        }
        SplittableRandom random = new SplittableRandom(seed);
        int[] ids = new int[adapters];
        for (int k = 0; k < adapters; k++) {
            ids[k] = k;
        }
        for (int k = adapters - 1; k > 0; k--) {
            int j = random.nextInt(k + 1);
            int tmp = ids[k];
            ids[k] = ids[j];
            ids[j] = tmp;
        }
        int[] out = new int[requests];
        for (int i = 0; i < requests; i++) {
            double u = random.nextDouble() * total;
            int k = Arrays.binarySearch(cdf, u);
            out[i] = ids[Math.min(adapters - 1, k >= 0 ? k : -k - 1)];
        }
        return out;
    }

    /** Random adapters a0..a{n-1}, written once; returns the bytes the CPU backend holds for one (its F32 tensors). */
    private static long writeAdapters(Path root, ModelConfig cfg, Options o, PrintStream out) {
        List<String> modules = List.of("q_proj", "k_proj", "v_proj", "o_proj");
        int written = 0;
        for (int i = 0; i < o.adapters(); i++) {
            Path dir = root.resolve("a" + i);
            if (!Files.isRegularFile(dir.resolve("adapter_model.safetensors"))) {
                RandomLora.write(dir, cfg, o.rank(), 2.0 * o.rank(), false, modules, DType.F32, 7000 + i, 0.02);
                written++;
            }
        }
        if (written > 0) {
            out.printf(Locale.ROOT, "wrote %d random rank-%d adapters to %s%n", written, o.rank(), root);
        }
        return tensorBytes(root.resolve("a0").resolve("adapter_model.safetensors"));
    }

    /** A safetensors file's tensor bytes: its size less the 8-byte header length and the header. */
    static long tensorBytes(Path file) {
        try (FileChannel ch = FileChannel.open(file)) {
            ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            ch.read(len, 0);
            return ch.size() - 8 - len.getLong(0);
        } catch (IOException e) {
            throw new IllegalStateException("cannot read " + file + ": " + e.getMessage(), e);
        }
    }

    private static long sum(List<ServerProcess> replicas, String counter) {
        long n = 0;
        for (ServerProcess r : replicas) {
            n += (long) r.metric(counter);
        }
        return n;
    }

    static double quantile(double[] v, double q) {
        if (v.length == 0) {
            return Double.NaN;
        }
        double[] s = v.clone();
        Arrays.sort(s);
        return s[Math.min(s.length - 1, Math.max(0, (int) Math.ceil(q * s.length) - 1))];
    }

    private static double ratio(long a, long b) {
        return b == 0 ? (a == 0 ? 1 : Double.POSITIVE_INFINITY) : (double) a / b;
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
