package dev.loraxj.hardening;

import com.fasterxml.jackson.databind.JsonNode;
import dev.loraxj.SharedAssets;
import dev.loraxj.api.TestClient;
import dev.loraxj.hardening.HostileCorpus.Case;
import dev.loraxj.hardening.HostileCorpus.Route;
import dev.loraxj.hardening.HostileCorpus.Shape;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import org.eclipse.microprofile.config.ConfigProvider;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import static org.junit.jupiter.api.Assertions.assertAll;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A generated corpus of hostile requests over every POST route. Each case must be answered within
 * 5 s with its documented status (LoRAX validation 422, OpenAI 400, wrong media type 415, wrong
 * method 405/404, body over the limit 413, broken chunked framing 400) and, from 400 up, a body
 * in the route's error shape. No 5xx is documented for a ready server (503 means not ready), so
 * none is allowed. Afterwards the server must answer a greedy canary exactly as before, with the
 * whole KV cache free again.
 */
@QuarkusTest
@TestProfile(HardeningProfile.class)
class HostileInputTest {

    static final long CASE_TIMEOUT_MS = 5_000;
    static final Duration CORPUS_DEADLINE = Duration.ofSeconds(120);
    static final int CONCURRENCY = 8;
    static final String CANARY = "{\"inputs\":\"Once upon a time, there was a little girl\",\"parameters\":{\"max_new_tokens\":24}}";
    static final String ADAPTER_CANARY = "{\"inputs\":\"Once upon a time, there was a little girl\",\"parameters\":{\"max_new_tokens\":24,\"adapter_id\":\"lora-name-max\"}}";

    /** The bound: no request may hold an event loop longer than this. */
    static final long EVENT_LOOP_BOUND_MS = 100;

    @TestHTTPResource("/")
    URI base;
    TestClient client;
    @jakarta.inject.Inject
    io.vertx.core.Vertx vertx;
    final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(5)).build();

    @BeforeEach
    void ready() throws Exception {
        client = new TestClient(base);
        client.awaitReady();
        client.awaitMetric("loraxj_kv_cache_free_blocks", client.metric("loraxj_kv_cache_blocks"));
    }

    record Outcome(Case c, int status, String contentType, String body, long millis) {
    }

    @Test
    void everyHostileRequestGetsItsDocumentedAnswerAndTheServerKeepsServing() throws Exception {
        String canaryBefore = client.post("/generate", CANARY).json().path("generated_text").asText(null);
        String adapterCanaryBefore = client.post("/generate", ADAPTER_CANARY).json().path("generated_text").asText(null);
        assertTrue(canaryBefore != null && adapterCanaryBefore != null, "the canaries answer before the corpus");

        long maxBody = maxBodyBytes();
        List<Case> corpus = HostileCorpus.build(base.getPort(), maxBody);
        assertTrue(corpus.size() >= 1000, "corpus has " + corpus.size() + " cases");
        long started = System.nanoTime();
        List<Outcome> outcomes;
        long eventLoopLateMillis;
        long eventLoopCpuMillis;
        // two probes per event loop (Vert.x hands new contexts to its loops in turn)
        try (EventLoopProbe probe = new EventLoopProbe(vertx, 2 * 2 * Runtime.getRuntime().availableProcessors())) {
            outcomes = run(corpus);
            eventLoopLateMillis = probe.worstMillis();
            eventLoopCpuMillis = probe.worstCpuMillis();
            System.out.printf(Locale.ROOT, "HOSTILE event loops: %d probe intervals had a GC and were left out; most CPU between ticks %d ms%n",
                    probe.intervalsWithGc(), probe.worstCpuMillis());
        }
        long corpusMillis = (System.nanoTime() - started) / 1_000_000;
        System.out.printf(Locale.ROOT, "HOSTILE event loops: longest stall %d ms during the corpus%n", eventLoopLateMillis);

        Map<String, List<String>> failures = new TreeMap<>();
        Map<String, Integer> histogram = new TreeMap<>();
        Map<String, Map<String, Integer>> byFamily = new TreeMap<>();
        for (Outcome o : outcomes) {
            String status = label(o.status);
            histogram.merge(status, 1, Integer::sum);
            byFamily.computeIfAbsent(o.c.family(), k -> new TreeMap<>()).merge(status, 1, Integer::sum);
            for (String problem : problems(o)) {
                failures.computeIfAbsent(o.c.family() + " " + o.c.route().path + (o.c.route() == Route.COMPAT_SSE ? "(stream)" : "")
                        + ": " + problem, k -> new ArrayList<>()).add(o.c.detail() + " -> " + excerpt(o.body));
            }
        }
        System.out.printf(Locale.ROOT, "HOSTILE corpus: %d cases in %d ms (max body %d bytes), status histogram %s%n",
                outcomes.size(), corpusMillis, maxBody, histogram);
        byFamily.forEach((family, h) -> System.out.println("HOSTILE   " + family + ": " + h));
        outcomes.stream().filter(o -> o.status > 0).max(java.util.Comparator.comparingLong(Outcome::millis))
                .ifPresent(o -> System.out.println("HOSTILE   slowest answered case: " + o.millis + " ms, " + o.c.name()));
        int failing = failures.values().stream().mapToInt(List::size).sum();
        StringBuilder report = new StringBuilder(failing + " of " + outcomes.size() + " cases got a wrong answer:\n");
        failures.forEach((group, examples) -> report.append("  ").append(examples.size()).append("x ").append(group)
                .append("\n      e.g. ").append(String.join("\n           ", examples.subList(0, Math.min(2, examples.size())))).append('\n'));
        if (failing > 0) {
            System.out.println("HOSTILE " + report);
        }

        List<Executable> checks = new ArrayList<>();
        checks.add(() -> assertEquals(0, failing, report::toString));
        // the bound is on work a request puts on a loop (CPU time between two ticks holds every task in
        // between, so no single task took more); wall-clock stalls also hold safepoints and the lock waits
        // of a loaded two-core machine, so they get a looser bound that still catches a loop blocked on I/O
        checks.add(() -> assertTrue(eventLoopCpuMillis < EVENT_LOOP_BOUND_MS,
                "an event loop ran " + eventLoopCpuMillis + " ms of tasks between two probe ticks (bound " + EVENT_LOOP_BOUND_MS + " ms)"));
        checks.add(() -> assertTrue(eventLoopLateMillis < 10 * EVENT_LOOP_BOUND_MS,
                "an event loop stalled " + eventLoopLateMillis + " ms during the corpus"));
        checks.add(() -> assertEquals(canaryBefore, client.post("/generate", CANARY).json().path("generated_text").asText(null),
                "the greedy canary gives the same text after the corpus"));
        checks.add(() -> assertEquals(adapterCanaryBefore, client.post("/generate", ADAPTER_CANARY).json().path("generated_text").asText(null),
                "the lora-name-max canary gives the same text after the corpus"));
        checks.add(() -> client.awaitMetric("loraxj_kv_cache_free_blocks", client.metric("loraxj_kv_cache_blocks")));
        assertAll(checks);
    }

    /** An adapter id that names a real file outside the roots must not tell the client more than a missing one. */
    @Test
    void aPathOutsideTheAdapterRootsIsRefusedExactlyLikeAMissingAdapter() {
        List<Executable> checks = new ArrayList<>();
        for (Route r : List.of(Route.GENERATE, Route.GENERATE_STREAM, Route.COMPAT, Route.COMPLETIONS, Route.CHAT)) {
            String field = r.shape == Shape.OPENAI ? "model" : "parameters.adapter_id";
            TestClient.Reply outside = client.post(r.path, HostileCorpus.set(HostileCorpus.base(r), field,
                    com.fasterxml.jackson.databind.node.TextNode.valueOf("/etc/passwd")).toString());
            TestClient.Reply missing = client.post(r.path, HostileCorpus.set(HostileCorpus.base(r), field,
                    com.fasterxml.jackson.databind.node.TextNode.valueOf("no-such-adapter-xyz")).toString());
            checks.add(() -> assertEquals(missing.status(), outside.status(), r.path + ": status for /etc/passwd vs a missing adapter ("
                    + outside.body() + " vs " + missing.body() + ")"));
            checks.add(() -> assertEquals(missing.body().replace("no-such-adapter-xyz", "<id>"), outside.body().replace("/etc/passwd", "<id>"),
                    r.path + ": error body for /etc/passwd vs a missing adapter, apart from the id"));
        }
        assertAll(checks);
    }

    // ---- running the corpus -------------------------------------------------------------------

    private List<Outcome> run(List<Case> corpus) throws InterruptedException {
        long deadline = System.nanoTime() + CORPUS_DEADLINE.toNanos();
        ExecutorService pool = Executors.newFixedThreadPool(CONCURRENCY);
        try {
            List<Future<Outcome>> futures = new ArrayList<>();
            for (Case c : corpus) {
                futures.add(pool.submit(() -> System.nanoTime() > deadline
                        ? new Outcome(c, NOT_RUN, null, "", 0) : send(c)));
            }
            List<Outcome> out = new ArrayList<>();
            for (int i = 0; i < futures.size(); i++) {
                try {
                    out.add(futures.get(i).get(Math.max(1, deadline - System.nanoTime()) + TimeUnit.SECONDS.toNanos(10), TimeUnit.NANOSECONDS));
                } catch (Exception e) {
                    out.add(new Outcome(corpus.get(i), NOT_RUN, null, String.valueOf(e), 0));
                }
            }
            return out;
        } finally {
            pool.shutdownNow();
            pool.awaitTermination(10, TimeUnit.SECONDS);
        }
    }

    static final int NOT_RUN = -3;

    private Outcome send(Case c) {
        long t0 = System.nanoTime();
        if (c.raw() != null) {
            RawHttp.Response r = RawHttp.exchange(base.getPort(), c.raw(), c.extraBytes(), CASE_TIMEOUT_MS);
            return new Outcome(c, r.status(), r.header("content-type"), r.body(), (System.nanoTime() - t0) / 1_000_000);
        }
        HttpRequest.BodyPublisher body = c.body() == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofByteArray(c.body());
        HttpRequest request = HttpRequest.newBuilder(base.resolve(c.route().path))
                .timeout(Duration.ofMillis(CASE_TIMEOUT_MS))
                .header("Content-Type", c.contentType())
                .method(c.method(), body).build();
        CompletableFuture<HttpResponse<String>> f = http.sendAsync(request, HttpResponse.BodyHandlers.ofString());
        try {
            HttpResponse<String> r = f.get(CASE_TIMEOUT_MS, TimeUnit.MILLISECONDS);
            return new Outcome(c, r.statusCode(), r.headers().firstValue("content-type").orElse(null), r.body(),
                    (System.nanoTime() - t0) / 1_000_000);
        } catch (TimeoutException e) {
            f.cancel(true);
            return new Outcome(c, RawHttp.TIMED_OUT, null, "", CASE_TIMEOUT_MS);
        } catch (java.util.concurrent.ExecutionException e) {
            boolean timeout = e.getCause() instanceof java.net.http.HttpTimeoutException;
            return new Outcome(c, timeout ? RawHttp.TIMED_OUT : RawHttp.CLOSED, null, String.valueOf(e.getCause()),
                    (System.nanoTime() - t0) / 1_000_000);
        } catch (InterruptedException e) {
            f.cancel(true);
            Thread.currentThread().interrupt();
            return new Outcome(c, NOT_RUN, null, "interrupted", 0);
        }
    }

    // ---- checks -------------------------------------------------------------------------------

    private List<String> problems(Outcome o) {
        List<String> p = new ArrayList<>();
        Set<Integer> expected = o.c.expect().statuses(o.c.route());
        if (o.status == NOT_RUN) {
            p.add("not run before the corpus deadline");
            return p;
        }
        if (o.status == RawHttp.TIMED_OUT) {
            p.add("no answer within " + CASE_TIMEOUT_MS + " ms (expected " + new TreeSet<>(expected) + ")");
            return p;
        }
        if (o.status == RawHttp.CLOSED) {
            p.add("connection closed without an answer (expected " + new TreeSet<>(expected) + ")");
            return p;
        }
        if (!expected.contains(o.status)) {
            p.add("status " + o.status + (o.status >= 500 ? " (5xx)" : "") + ", expected " + new TreeSet<>(expected));
        }
        if (o.status >= 400 && !errorShape(o.c.route().shape, o.body)) {
            p.add(o.status + " body not in the " + o.c.route().shape + " error shape");
        }
        if (o.status == 200) {
            String bad = successShape(o);
            if (bad != null) {
                p.add("200 but " + bad);
            }
        }
        if ((o.c.hostileAdapter() || o.status >= 400) && leaksServerPath(o.body)) {
            p.add("body shows a server path");
        }
        return p;
    }

    static boolean errorShape(Shape shape, String body) {
        JsonNode j;
        try {
            j = TestClient.JSON.readTree(body);
        } catch (IOException e) {
            return false;
        }
        if (j == null || !j.isObject()) {
            return false;
        }
        if (shape == Shape.LORAX) {
            return j.path("error").isTextual() && j.path("error_type").isTextual();
        }
        JsonNode e = j.path("error");
        return e.isObject() && e.path("message").isTextual() && e.path("type").isTextual();
    }

    /** null when a 200 body is a complete answer of the route's kind. */
    static String successShape(Outcome o) {
        try {
            boolean sse = o.contentType != null && o.contentType.startsWith("text/event-stream");
            Route r = o.c.route();
            if (sse) {
                if (r.shape == Shape.OPENAI) {
                    if (!o.body.strip().endsWith("data: [DONE]")) {
                        return "the stream does not end with [DONE]";
                    }
                    return o.body.contains("\"error\"") ? "the stream carries an error event" : null;
                }
                List<JsonNode> events = TestClient.sseEvents(o.body);
                if (events.isEmpty() || events.getLast().path("generated_text").isNull() || events.getLast().has("error")) {
                    return "the stream ends without its final event";
                }
                return null;
            }
            JsonNode j = TestClient.JSON.readTree(o.body);
            return switch (r) {
                case GENERATE, GENERATE_STREAM -> j.path("generated_text").isTextual() ? null : "no generated_text";
                case COMPAT, COMPAT_SSE -> j.isArray() && j.path(0).path("generated_text").isTextual() ? null : "no [generated_text]";
                case TOKENIZE -> j.isArray() ? null : "not a token array";
                case COMPLETIONS, CHAT -> j.path("choices").isArray() && !j.path("choices").isEmpty() ? null : "no choices";
            };
        } catch (Exception e) {
            return "an unreadable body (" + e.getMessage() + ")";
        }
    }

    /** The server's own directories; error text and hostile-id answers must not show them. */
    static final List<String> SERVER_PATHS = serverPaths();

    private static List<String> serverPaths() {
        List<String> out = new ArrayList<>();
        Path root = HardeningProfile.adapterRoot();
        out.add(root.toString());
        try {
            out.add(root.toRealPath().toString());
        } catch (IOException e) {
            // the absolute form is enough
        }
        out.add(SharedAssets.root().toString());
        out.add(Path.of("").toAbsolutePath().toString());
        return out;
    }

    static boolean leaksServerPath(String body) {
        return body != null && SERVER_PATHS.stream().anyMatch(body::contains);
    }

    static String label(int status) {
        return switch (status) {
            case RawHttp.TIMED_OUT -> "timeout";
            case RawHttp.CLOSED -> "closed";
            case NOT_RUN -> "not-run";
            default -> String.valueOf(status);
        };
    }

    static String excerpt(String body) {
        if (body == null) {
            return "";
        }
        String b = body.replace("\n", "\\n");
        return b.length() > 160 ? b.substring(0, 160) + "..." : b;
    }

    /** quarkus.http.limits.max-body-size as configured (10M today; it may be lowered). */
    static long maxBodyBytes() {
        String v = ConfigProvider.getConfig().getOptionalValue("quarkus.http.limits.max-body-size", String.class).orElse("10M").trim();
        char unit = Character.toUpperCase(v.charAt(v.length() - 1));
        long mult = switch (unit) {
            case 'K' -> 1L << 10;
            case 'M' -> 1L << 20;
            case 'G' -> 1L << 30;
            default -> 1;
        };
        return Long.parseLong(Character.isDigit(unit) ? v : v.substring(0, v.length() - 1).trim()) * mult;
    }
}
