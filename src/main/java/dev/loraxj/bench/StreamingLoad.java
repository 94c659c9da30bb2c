package dev.loraxj.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * One burst of concurrent clients against a server: each client sends one request to
 * {@code POST /generate_stream} (or, on the OpenAI wire, a streamed {@code POST /v1/completions},
 * which llama-server speaks too) at the same moment, on its own virtual thread and its own HTTP/1.1
 * connection, and reads the server-sent events. Meanwhile the server's running-sequence gauge is
 * sampled. Bounded: every client gives up at the round's deadline, and reads at most a fixed number
 * of events.
 */
final class StreamingLoad {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final long SAMPLE_MILLIS = 1000; // a /metrics scrape costs ~20 ms of the server's CPU

    /** What a burst runs against: a loraxj server this bench started, or any other server by its URL. */
    interface Server {
        URI base();

        HttpClient http();

        /** A loraxj metric; fails on a server without them. */
        double metric(String name);

        /** Returns once the server runs nothing (a no-op where it cannot tell). */
        void awaitIdle(Duration timeout);

        String logTail();
    }

    /** A server this bench did not start, such as llama-server, reached by its base URL over the OpenAI wire. */
    record ExternalServer(URI base, HttpClient http) implements Server {
        static {
            ServerProcess.quietTls(); // its HTTP client logs every trusted certificate at DEBUG otherwise
        }

        ExternalServer(URI base) {
            this(base, HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(10)).build());
        }

        @Override
        public double metric(String name) {
            throw new IllegalStateException(base + " is not a loraxj server: no " + name);
        }

        @Override
        public void awaitIdle(Duration timeout) {
            // every stream has ended; such a server frees its slots as it sends the last event
        }

        @Override
        public String logTail() {
            return "(" + base + " is not started by the bench; see its own log)";
        }
    }

    /** LoRAX's {@code /generate_stream}, or OpenAI's streamed {@code /v1/completions} (model = the adapter, "" the base). */
    enum Wire { LORAX, OPENAI }

    /**
     * One client's request.
     *
     * @param adapterId    null for the base model
     * @param maxNewTokens null: none sent, so the server allows up to max-total-tokens
     * @param stopAfter    the client closes the stream after this many tokens, as if EOS had come (0: reads to the end)
     * @param cacheSalt    null: the common prefix-cache pool
     */
    record Request(String inputs, String adapterId, Integer maxNewTokens, int stopAfter, String cacheSalt, Wire wire) {
        Request(String inputs, String adapterId, Integer maxNewTokens, int stopAfter, String cacheSalt) {
            this(inputs, adapterId, maxNewTokens, stopAfter, cacheSalt, Wire.LORAX);
        }
    }

    /**
     * What one client saw; times from the burst's start. {@code error} null when it succeeded;
     * {@code promptTokens} as the server counted them (OpenAI usage), -1 where it did not say.
     */
    record ClientResult(long sentNanos, long firstTokenNanos, long endNanos, int tokens, String error, int promptTokens) {
        ClientResult(long sentNanos, long firstTokenNanos, long endNanos, int tokens, String error) {
            this(sentNanos, firstTokenNanos, endNanos, tokens, error, -1);
        }

        long ttftNanos() {
            return firstTokenNanos - sentNanos;
        }

        long latencyNanos() {
            return endNanos - sentNanos;
        }
    }

    /**
     * A burst's outcome: every client's result, the wall time from the start to the last client's
     * end, and the running-sequence gauge sampled every {@value #SAMPLE_MILLIS} ms.
     */
    record Round(List<ClientResult> clients, long wallNanos, double meanRunning, int sampledPeakRunning) {

        int tokens() {
            return clients.stream().mapToInt(ClientResult::tokens).sum();
        }

        /** Generated tokens the clients received per second of wall time (prefill included). */
        double tokensPerSecond() {
            return tokens() / (wallNanos / 1e9);
        }

        /** The q-quantile (nearest rank) of time to first token, in seconds. */
        double ttftSeconds(double q) {
            double[] v = clients.stream().mapToDouble(c -> c.ttftNanos() / 1e9).toArray();
            return quantile(v, q);
        }

        /** The q-quantile (nearest rank) of a client's whole request, send to last event, in seconds. */
        double latencySeconds(double q) {
            return quantile(clients.stream().mapToDouble(c -> c.latencyNanos() / 1e9).toArray(), q);
        }

        /** Mean prompt tokens as the server counted them, NaN where it did not say. */
        double meanPromptTokens() {
            return clients.stream().filter(c -> c.promptTokens() >= 0).mapToInt(ClientResult::promptTokens).average().orElse(Double.NaN);
        }

        List<String> errors() {
            return clients.stream().map(ClientResult::error).filter(e -> e != null).distinct().toList();
        }
    }

    private StreamingLoad() {
    }

    /** Runs every request at once against {@code server}; fails if any client fails or the deadline passes. */
    static Round run(Server server, List<Request> requests, Duration timeout) {
        int n = requests.size();
        AtomicReferenceArray<InputStream> open = new AtomicReferenceArray<>(n);
        CountDownLatch go = new CountDownLatch(1);
        AtomicBoolean done = new AtomicBoolean();
        long deadline = System.nanoTime() + timeout.toNanos();
        try (ExecutorService clients = Executors.newVirtualThreadPerTaskExecutor()) {
            List<Future<ClientResult>> futures = new ArrayList<>(n);
            long[] t0 = new long[1];
            for (int i = 0; i < n; i++) {
                int k = i;
                futures.add(clients.submit(() -> {
                    go.await();
                    return one(server, requests.get(k), t0[0], timeout, open, k);
                }));
            }
            List<Integer> samples = new ArrayList<>();
            Thread sampler = Thread.ofVirtual().name("loraxj-bench-sampler").start(() -> {
                while (!done.get() && System.nanoTime() < deadline) {
                    try {
                        int running = (int) server.metric("loraxj_batch_size");
                        synchronized (samples) {
                            samples.add(running);
                        }
                        Thread.sleep(SAMPLE_MILLIS);
                    } catch (InterruptedException e) {
                        return;
                    } catch (RuntimeException e) {
                        return; // the server went away; the clients report it
                    }
                }
            });
            t0[0] = System.nanoTime();
            go.countDown();
            List<ClientResult> results = new ArrayList<>(n);
            try {
                for (Future<ClientResult> f : futures) {
                    long left = deadline - System.nanoTime();
                    results.add(f.get(Math.max(1, left), TimeUnit.NANOSECONDS));
                }
            } catch (java.util.concurrent.TimeoutException e) {
                throw new IllegalStateException("the burst of " + n + " clients did not finish in " + timeout.toSeconds()
                        + " s (raise --timeout); server log:\n" + server.logTail());
            } catch (java.util.concurrent.ExecutionException e) {
                throw new IllegalStateException("a bench client failed: " + e.getCause(), e.getCause());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted", e);
            } finally {
                done.set(true);
                sampler.interrupt();
                for (int i = 0; i < n; i++) {
                    closeQuietly(open.getAndSet(i, null)); // unblocks any reader still waiting
                }
                clients.shutdownNow();
            }
            long wall = results.stream().mapToLong(ClientResult::endNanos).max().orElse(0);
            List<String> errors = results.stream().map(ClientResult::error).filter(e -> e != null).distinct().toList();
            if (!errors.isEmpty()) {
                throw new IllegalStateException(errors.size() + " kind(s) of client error, first: " + errors.getFirst()
                        + "\nserver log:\n" + server.logTail());
            }
            server.awaitIdle(timeout); // so the next burst, and the metrics read after this one, see none of this burst's sequences
            int[] s;
            synchronized (samples) {
                s = samples.stream().mapToInt(Integer::intValue).toArray();
            }
            return new Round(List.copyOf(results), wall, Arrays.stream(s).average().orElse(0), Arrays.stream(s).max().orElse(0));
        }
    }

    private static ClientResult one(Server server, Request r, long t0, Duration timeout,
                                    AtomicReferenceArray<InputStream> open, int slot) {
        long sent = System.nanoTime() - t0;
        long first = -1;
        int tokens = 0;
        // the stream's own events bound the loop; this guards against a server that never stops
        int maxEvents = (r.maxNewTokens() != null ? r.maxNewTokens() : Math.max(r.stopAfter(), 1)) + 16;
        if (r.wire() == Wire.OPENAI) {
            return OpenAiStream.one(server, r, t0, timeout, open, slot, maxEvents);
        }
        try {
            HttpRequest req = HttpRequest.newBuilder(server.base().resolve("/generate_stream"))
                    .timeout(timeout).header("Content-Type", "application/json").header("Accept", "text/event-stream")
                    .POST(HttpRequest.BodyPublishers.ofString(body(r))).build();
            HttpResponse<InputStream> resp = server.http().send(req, HttpResponse.BodyHandlers.ofInputStream());
            InputStream in = resp.body();
            open.set(slot, in);
            if (resp.statusCode() != 200) {
                String text = new String(in.readNBytes(2000), StandardCharsets.UTF_8);
                return new ClientResult(sent, sent, System.nanoTime() - t0, 0, "HTTP " + resp.statusCode() + ": " + text);
            }
            try (BufferedReader lines = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
                String line;
                int events = 0;
                while (events < maxEvents && (line = lines.readLine()) != null) {
                    if (!line.startsWith("data:")) {
                        continue;
                    }
                    events++;
                    JsonNode e = JSON.readTree(line.substring(5));
                    if (e.has("error")) {
                        return new ClientResult(sent, first < 0 ? sent : first, System.nanoTime() - t0, tokens,
                                "stream error: " + e.path("error").asText());
                    }
                    if (e.has("token")) {
                        tokens++;
                        if (first < 0) {
                            first = System.nanoTime() - t0;
                        }
                    }
                    if (!e.path("generated_text").isNull() && !e.path("generated_text").isMissingNode()) {
                        break; // the server finished the sequence
                    }
                    if (r.stopAfter() > 0 && tokens >= r.stopAfter()) {
                        break; // the client stops here, as at EOS; closing the stream cancels the sequence
                    }
                }
            } finally {
                open.set(slot, null);
            }
            long end = System.nanoTime() - t0;
            return new ClientResult(sent, first < 0 ? end : first, end, tokens, tokens == 0 ? "no token came" : null);
        } catch (IOException | RuntimeException e) {
            return new ClientResult(sent, sent, System.nanoTime() - t0, tokens, e.toString());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new ClientResult(sent, sent, System.nanoTime() - t0, tokens, "interrupted");
        }
    }

    static String body(Request r) {
        ObjectNode root = JSON.createObjectNode();
        root.put("inputs", r.inputs());
        ObjectNode p = root.putObject("parameters");
        if (r.adapterId() != null) {
            p.put("adapter_id", r.adapterId());
        }
        if (r.maxNewTokens() != null) {
            p.put("max_new_tokens", r.maxNewTokens());
        }
        if (r.cacheSalt() != null) {
            p.put("cache_salt", r.cacheSalt());
        }
        return root.toString();
    }

    static void closeQuietly(InputStream in) {
        if (in != null) {
            try {
                in.close();
            } catch (IOException e) {
                // closing to unblock a reader; nothing to report
            }
        }
    }

    /** Nearest-rank quantile of {@code v} (sorted here), q in [0, 1]. */
    static double quantile(double[] v, double q) {
        if (v.length == 0) {
            return Double.NaN;
        }
        double[] s = v.clone();
        Arrays.sort(s);
        int rank = (int) Math.ceil(q * s.length);
        return s[Math.min(s.length - 1, Math.max(0, rank - 1))];
    }
}
