package dev.loraxj.hardening;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.loraxj.api.TestClient;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Three rounds of 200 concurrent streams over /generate_stream, /v1/completions and
 * /v1/chat/completions, 30% of them dropped after a few events. Every other stream must end
 * properly, the KV cache must be all free after each round, and threads and memory must stay flat
 * from round 2 on (round 1 warms the server up).
 */
@QuarkusTest
@TestProfile(HardeningProfile.class)
class DisconnectStormTest {

    static final int STREAMS = 200;
    static final int ROUNDS = 3;
    static final int MAX_NEW_TOKENS = 48;
    // Round 1 warms the server up (JIT, adapter loads, pools growing); from round 2 on the figures
    // must stay flat. Worker pools grow on demand and idle threads retire on their own schedule:
    // +10 absorbs that churn, while a thread kept per dropped stream (60 a round) shows at once.
    static final int THREAD_TOLERANCE = 10;
    // RSS (after a GC, so G1 can give back what it does not need) also counts this test's own client
    // and the heap settling at its working size: +25% absorbs that, a per-stream leak grows past it.
    static final double RSS_TOLERANCE = 0.25;
    static final String[] ADAPTERS = {null, "lora-name-max", "lora-name-sue", "lora-synth-1", "lora-synth-2"};

    @TestHTTPResource("/")
    URI base;
    TestClient client;

    @BeforeEach
    void ready() throws Exception {
        client = new TestClient(base);
        client.awaitReady();
        client.awaitMetric("loraxj_kv_cache_free_blocks", client.metric("loraxj_kv_cache_blocks"));
    }

    record Round(int completed, int dropped, int planned, double cancelled, long p50, long p99, double freeBlocks, int threads, long rssKb,
                 List<String> failures) {
    }

    @Test
    void droppedStreamsLeaveNothingBehindAndTheOthersEndProperly() throws Exception {
        double total = client.metric("loraxj_kv_cache_blocks");
        List<Round> rounds = new ArrayList<>();
        List<String> failures = new ArrayList<>();
        for (int round = 1; round <= ROUNDS; round++) {
            Round r = storm(round);
            rounds.add(r);
            System.out.printf(Locale.ROOT, "STORM round %d: completed %d, dropped %d of %d planned (sequences cancelled %.0f), p50 %d ms, p99 %d ms, KV free %.0f/%.0f, threads %d, RSS %d MB, %d failures%n",
                    round, r.completed, r.dropped, r.planned, r.cancelled, r.p50, r.p99, r.freeBlocks, total, r.threads, r.rssKb / 1024, r.failures.size());
            r.failures.stream().limit(5).forEach(f -> System.out.println("STORM   " + f));
            if (r.completed != STREAMS - r.planned) {
                failures.add("round " + round + ": " + r.completed + " of " + (STREAMS - r.planned) + " kept streams ended properly; e.g. "
                        + r.failures.subList(0, Math.min(3, r.failures.size())));
            }
            if (r.freeBlocks != total) {
                failures.add("round " + round + ": KV free blocks stayed at " + r.freeBlocks + " of " + total);
            }
        }
        Round warm = rounds.get(1);
        for (int i = 2; i < rounds.size(); i++) {
            Round r = rounds.get(i);
            if (r.threads > warm.threads + THREAD_TOLERANCE) {
                failures.add("round " + (i + 1) + ": " + r.threads + " threads, round 2 left " + warm.threads + " (tolerance +" + THREAD_TOLERANCE + ")");
            }
            if (r.rssKb > warm.rssKb * (1 + RSS_TOLERANCE)) {
                failures.add("round " + (i + 1) + ": RSS " + r.rssKb / 1024 + " MB, round 2 left " + warm.rssKb / 1024 + " MB (tolerance +25%)");
            }
        }
        assertEquals(List.of(), failures);
    }

    private Round storm(int round) throws Exception {
        int port = base.getPort();
        double cancelledBefore = client.metric("loraxj_sequences_cancelled_total");
        ConcurrentLinkedQueue<Long> latencies = new ConcurrentLinkedQueue<>();
        ConcurrentLinkedQueue<String> failures = new ConcurrentLinkedQueue<>();
        List<SseStream> open = Collections.synchronizedList(new ArrayList<>());
        CountDownLatch start = new CountDownLatch(1);
        int planned = 0;
        AtomicInteger dropped = new AtomicInteger();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            for (int i = 0; i < STREAMS; i++) {
                int id = i;
                boolean drop = (i * 7) % 10 < 3; // 3 in every 10, spread over the three routes
                planned += drop ? 1 : 0;
                pool.submit(() -> {
                    start.await();
                    stream(port, round, id, drop, deadline, open, latencies, failures, dropped);
                    return null;
                });
            }
            start.countDown();
            pool.shutdown();
            if (!pool.awaitTermination(75, TimeUnit.SECONDS)) {
                failures.add("streams still running after 75 s");
                synchronized (open) {
                    open.forEach(SseStream::close); // unblocks their reads
                }
            }
        }
        double free;
        try {
            client.awaitMetric("loraxj_kv_cache_free_blocks", client.metric("loraxj_kv_cache_blocks"));
        } catch (AssertionError e) {
            failures.add(e.getMessage());
        }
        free = client.metric("loraxj_kv_cache_free_blocks");
        List<Long> sorted = new ArrayList<>(latencies);
        Collections.sort(sorted);
        long p50 = sorted.isEmpty() ? -1 : sorted.get(sorted.size() / 2);
        long p99 = sorted.isEmpty() ? -1 : sorted.get(Math.min(sorted.size() - 1, (int) Math.ceil(sorted.size() * 0.99) - 1));
        return new Round(latencies.size(), dropped.get(), planned, client.metric("loraxj_sequences_cancelled_total") - cancelledBefore, p50, p99, free, settledThreads(), rssKb(), new ArrayList<>(failures));
    }

    /** One stream: read to its end and check the end, or drop it after a few events. */
    private static void stream(int port, int round, int id, boolean drop, long deadline, List<SseStream> open,
                               ConcurrentLinkedQueue<Long> latencies, ConcurrentLinkedQueue<String> failures, AtomicInteger dropped) {
        int route = id % 3;
        String path = route == 0 ? "/generate_stream" : route == 1 ? "/v1/completions" : "/v1/chat/completions";
        long t0 = System.nanoTime();
        try (SseStream s = SseStream.open(port, path, body(route, round, id), 0)) {
            open.add(s);
            int status = s.head(deadline);
            if (status != 200) {
                failures.add(path + " #" + id + ": HTTP " + status + " " + excerpt(s.rest(deadline)));
                return;
            }
            int keep = 1 + id % 4;
            String data;
            String last = null;
            int events = 0;
            while ((data = s.nextData(deadline)) != null) {
                last = data;
                events++;
                if (drop && events >= keep) {
                    dropped.incrementAndGet();
                    return; // closing the socket drops the stream mid-way
                }
                if (data.contains("\"error\"")) {
                    failures.add(path + " #" + id + ": error event " + excerpt(data));
                    return;
                }
            }
            if (drop) {
                failures.add(path + " #" + id + ": ended after " + events + " events, before the client could drop it");
                return;
            }
            String bad = route == 0 ? loraxEnd(last) : "[DONE]".equals(last) ? null : "does not end with [DONE] but " + excerpt(last);
            if (bad != null) {
                failures.add(path + " #" + id + ": " + bad);
                return;
            }
            latencies.add((System.nanoTime() - t0) / 1_000_000);
        } catch (IOException | RuntimeException e) {
            failures.add(path + " #" + id + (drop ? " (to drop)" : "") + ": " + e);
        }
    }

    /** null when a LoRAX stream's last event carries the whole text and the details. */
    private static String loraxEnd(String last) {
        try {
            JsonNode j = last == null ? null : TestClient.JSON.readTree(last);
            if (j == null || !j.path("generated_text").isTextual() || !j.path("details").isObject()) {
                return "last event lacks generated_text/details: " + excerpt(last);
            }
            return null;
        } catch (IOException e) {
            return "last event is not JSON: " + excerpt(last);
        }
    }

    static String body(int route, int round, int id) {
        String adapter = ADAPTERS[id % ADAPTERS.length];
        String prompt = "Once upon a time, story " + round + "-" + id;
        ObjectNode o = TestClient.JSON.createObjectNode();
        if (route == 0) {
            o.put("inputs", prompt);
            ObjectNode p = o.putObject("parameters").put("max_new_tokens", MAX_NEW_TOKENS).put("ignore_eos_token", true).put("details", true);
            if (adapter != null) {
                p.put("adapter_id", adapter);
            }
            return o.toString();
        }
        if (route == 1) {
            o.put("prompt", prompt);
        } else {
            o.putArray("messages").addObject().put("role", "user").put("content", prompt);
        }
        return o.put("model", adapter == null ? "" : adapter).put("max_tokens", MAX_NEW_TOKENS).put("ignore_eos_token", true)
                .put("stream", true).toString();
    }

    /** Live platform threads once the count stops falling (idle workers retire after a round). */
    static int settledThreads() throws InterruptedException {
        var mx = ManagementFactory.getThreadMXBean();
        int last = mx.getThreadCount();
        for (int i = 0; i < 20; i++) { // at most 2 s
            Thread.sleep(100);
            int now = mx.getThreadCount();
            if (now >= last) {
                return now;
            }
            last = now;
        }
        return last;
    }

    static long rssKb() throws IOException {
        System.gc();
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("VmRSS:")) {
                return Long.parseLong(line.replaceAll("\\D", ""));
            }
        }
        throw new IOException("no VmRSS in /proc/self/status");
    }

    static String excerpt(String s) {
        return s == null ? "null" : s.length() > 160 ? s.substring(0, 160) + "..." : s;
    }
}
