package dev.loraxj.hardening;

import dev.loraxj.api.TestClient;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import jakarta.inject.Inject;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

import static org.junit.jupiter.api.Assertions.assertAll;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Clients that open long streams and never read (a tiny receive window, nothing read) must not
 * slow the engine for others: a short request beside them stays within 2x (+50 ms, medians) of
 * its idle latency, or of its latency beside the same streams read by clients that keep up where
 * their generation itself makes that slower.
 */
@QuarkusTest
@TestProfile(HardeningProfile.class)
class SlowReaderTest {

    static final int SLOW_STREAMS = 16;
    static final int CANARY_RUNS = 9;
    static final String CANARY = "{\"inputs\":\"Once upon a time\",\"parameters\":{\"max_new_tokens\":8}}";
    // On 2 shared cores one scheduling hiccup costs tens of ms: +50 ms absorbs that; a stalled engine
    // or event loop costs seconds (a canary with no answer in 5 s counts as 5 s).
    static final long FLOOR_MS = 50;
    static final long CANARY_TIMEOUT_MS = 5_000;

    @TestHTTPResource("/")
    URI base;
    @Inject
    MeterRegistry registry;
    TestClient client;

    @BeforeEach
    void ready() throws Exception {
        client = new TestClient(base);
        client.awaitReady();
        client.awaitMetric("loraxj_kv_cache_free_blocks", client.metric("loraxj_kv_cache_blocks"));
    }

    @Test
    void streamsNobodyReadsDoNotSlowOtherRequests() throws Exception {
        for (int i = 0; i < 5; i++) {
            canaryMillis(); // warm-up, then one discarded phase so the batched paths are compiled too
        }
        beside(true);
        client.awaitMetric("loraxj_kv_cache_free_blocks", client.metric("loraxj_kv_cache_blocks"));
        long idle = medianCanary();
        Phase read = beside(true);
        client.awaitMetric("loraxj_kv_cache_free_blocks", client.metric("loraxj_kv_cache_blocks"));
        Phase unread = beside(false);
        // within 2x of idle, or of the read baseline where the streams' own work makes that slower
        long limit = 2 * Math.max(idle, read.canary) + FLOOR_MS;
        System.out.printf(Locale.ROOT, "SLOW canary median: idle %d ms, beside %d streams that are read %d ms, beside %d unread streams %d ms"
                        + " (limit %d ms); sequences running before/after: read %.0f/%.0f, unread %.0f/%.0f%n",
                idle, SLOW_STREAMS, read.canary, SLOW_STREAMS, unread.canary, limit, read.runningBefore, read.runningAfter,
                unread.runningBefore, unread.runningAfter);
        assertAll(
                () -> assertTrue(read.runningBefore >= SLOW_STREAMS, "the read streams were running: " + read.runningBefore),
                () -> assertTrue(unread.runningBefore >= SLOW_STREAMS, "the unread streams were running: " + unread.runningBefore),
                () -> assertTrue(unread.canary <= limit, "canary median " + unread.canary + " ms beside unread streams, "
                        + read.canary + " ms beside read ones, " + idle + " ms idle"),
                () -> client.awaitMetric("loraxj_kv_cache_free_blocks", client.metric("loraxj_kv_cache_blocks")));
    }

    record Phase(long canary, double runningBefore, double runningAfter) {
    }

    /**
     * The canary's median latency while {@link #SLOW_STREAMS} long streams run beside it, read by
     * their clients or never read (a 1 KB receive buffer, not one byte taken). The read ones cost
     * the engine the same work, so they are the baseline; idle would also count that work.
     */
    private Phase beside(boolean reading) throws Exception {
        Gauge batchSize = registry.find("loraxj_batch_size").gauge();
        List<SseStream> streams = new ArrayList<>();
        try (ExecutorService readers = Executors.newVirtualThreadPerTaskExecutor()) {
            try {
                for (int i = 0; i < SLOW_STREAMS; i++) {
                    String body = i % 2 == 0
                            ? "{\"inputs\":\"Once upon a time, slow " + i + "\",\"parameters\":{\"max_new_tokens\":480,\"ignore_eos_token\":true}}"
                            // 20 logprobs a token: ~1 KB an event, far beyond what the socket buffers hold
                            : "{\"prompt\":\"Once upon a time, slow " + i + "\",\"max_tokens\":480,\"ignore_eos_token\":true,\"stream\":true,\"logprobs\":20}";
                    SseStream s = SseStream.open(base.getPort(), i % 2 == 0 ? "/generate_stream" : "/v1/completions", body, reading ? 0 : 1024);
                    streams.add(s);
                    if (reading) {
                        readers.submit(() -> drain(s));
                    }
                }
                long until = System.nanoTime() + 10_000_000_000L;
                while (batchSize.value() < SLOW_STREAMS && System.nanoTime() < until) {
                    Thread.sleep(5);
                }
                double before = batchSize.value();
                long canary = medianCanary();
                return new Phase(canary, before, batchSize.value());
            } finally {
                streams.forEach(SseStream::close);
            }
        }
    }

    private static Void drain(SseStream s) throws Exception {
        long deadline = System.nanoTime() + 60_000_000_000L;
        if (s.head(deadline) == 200) {
            while (s.nextData(deadline) != null) {
                // a client that keeps up
            }
        }
        return null;
    }

    private long medianCanary() {
        long[] ms = new long[CANARY_RUNS];
        for (int i = 0; i < CANARY_RUNS; i++) {
            ms[i] = canaryMillis();
        }
        Arrays.sort(ms);
        return ms[CANARY_RUNS / 2];
    }

    /** One canary's latency; a canary that gets no answer within 5 s counts as 5 s. */
    private long canaryMillis() {
        long t0 = System.nanoTime();
        RawHttp.Response r = RawHttp.exchange(base.getPort(), RawHttp.request("POST", "/generate", base.getPort(), "application/json",
                CANARY.getBytes(java.nio.charset.StandardCharsets.UTF_8)), CANARY_TIMEOUT_MS);
        long ms = (System.nanoTime() - t0) / 1_000_000;
        if (r.status() == RawHttp.TIMED_OUT) {
            return CANARY_TIMEOUT_MS;
        }
        assertEquals(200, r.status(), r.body());
        return ms;
    }
}
