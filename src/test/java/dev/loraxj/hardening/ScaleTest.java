package dev.loraxj.hardening;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.loraxj.api.TestClient;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import jakarta.inject.Inject;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertAll;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * 256 sequences in one engine step: base model and four LoRAs, greedy and seeded sampling, over
 * /generate and /v1/completions with n at the route's maximum. Every answer must equal the same
 * request's answer when it ran alone.
 */
@QuarkusTest
@TestProfile(HardeningProfile.class)
class ScaleTest {

    static final int SEQUENCES = 256;
    static final int SMALL_N = 16;
    static final String[] ADAPTERS = {null, "lora-name-max", "lora-name-sue", "lora-synth-1", "lora-synth-2"};
    static final String[] PROMPTS = {"Once upon a time", "Lily and Ben went to the park", "The little dog", "One day, a girl named"};

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

    record Request(String path, String body) {
    }

    @Test
    void twoHundredFiftySixMixedSequencesInOneStepEachAnswerAsIfAlone() throws Exception {
        int maxN = maxN();
        int bigN = Math.min(maxN, 128);
        Request big = new Request("/v1/completions", completion("", "Once upon a time", bigN, 0.8, 7));
        Request small = new Request("/v1/completions", completion("lora-synth-2", "The little dog", SMALL_N, 0.7, 3));
        // 40 distinct /generate requests (5 adapters x 4 prompts x greedy/seeded), repeated to fill 256 sequences
        List<Request> distinct = new ArrayList<>();
        for (int i = 0; i < ADAPTERS.length * PROMPTS.length * 2; i++) {
            distinct.add(new Request("/generate", generate(ADAPTERS[i % ADAPTERS.length], PROMPTS[(i / ADAPTERS.length) % PROMPTS.length],
                    i % 2 == 1 ? 1000L + i : null)));
        }
        distinct.add(big);
        distinct.add(small);
        List<Request> burst = new ArrayList<>(List.of(big, small));
        for (int i = 0; burst.size() - 2 < SEQUENCES - bigN - SMALL_N; i++) {
            burst.add(distinct.get(i % (distinct.size() - 2)));
        }

        Map<Request, String> alone = new LinkedHashMap<>();
        for (Request r : distinct) {
            TestClient.Reply reply = client.post(r.path, r.body);
            alone.put(r, reply.status() == 200 ? answer(r, reply.json()) : "HTTP " + reply.status() + " " + reply.body());
        }

        AtomicInteger peak = new AtomicInteger();
        AtomicBoolean sampling = new AtomicBoolean(true);
        Gauge batchSize = registry.find("loraxj_batch_size").gauge();
        assertTrue(batchSize != null, "loraxj_batch_size gauge is registered");
        Thread sampler = Thread.ofPlatform().daemon().start(() -> {
            while (sampling.get()) {
                peak.accumulateAndGet((int) batchSize.value(), Math::max);
                java.util.concurrent.locks.LockSupport.parkNanos(200_000);
            }
        });
        List<RawHttp.Response> replies = fire(burst);
        sampling.set(false);
        sampler.join(5_000);

        List<String> wrong = new ArrayList<>();
        int sequences = 0;
        for (int i = 0; i < burst.size(); i++) {
            Request r = burst.get(i);
            RawHttp.Response reply = replies.get(i);
            String got;
            try {
                got = reply.status() == 200 ? answer(r, TestClient.JSON.readTree(reply.body())) : "HTTP " + reply.status() + " " + reply.body();
            } catch (Exception e) {
                got = "unreadable: " + reply.body();
            }
            sequences += r == big ? bigN : r == small ? SMALL_N : 1;
            if (!got.equals(alone.get(r))) {
                wrong.add("#" + i + " " + r.path + " " + r.body + "\n      alone: " + excerpt(alone.get(r)) + "\n      batch: " + excerpt(got));
            }
        }
        Gauge max = registry.find("loraxj_batch_size_max").gauge(); // the engine's own peak, where the build has it
        double maxGauge = max == null ? Double.NaN : max.value();
        System.out.printf("SCALE %d requests, %d sequences (n max %d), peak batch size sampled %d, loraxj_batch_size_max %s, %d answers differ from alone%n",
                burst.size(), sequences, maxN, peak.get(), maxGauge, wrong.size());
        int total = sequences;
        assertAll(
                () -> assertEquals(SEQUENCES, total, "sequences in the burst"),
                () -> assertTrue(alone.values().stream().noneMatch(a -> a.startsWith("HTTP ")), "every request answers alone: " + alone.values().stream()
                        .filter(a -> a.startsWith("HTTP ")).map(ScaleTest::excerpt).distinct().toList()),
                () -> assertEquals(List.of(), wrong, wrong.size() + " of " + burst.size() + " answers in the burst differ from the same request alone"),
                () -> assertTrue(peak.get() >= SEQUENCES, "all " + SEQUENCES + " sequences ran in one step: peak batch size sampled " + peak.get()),
                () -> assertTrue(Double.isNaN(maxGauge) || maxGauge >= SEQUENCES, "loraxj_batch_size_max " + maxGauge),
                () -> client.awaitMetric("loraxj_kv_cache_free_blocks", client.metric("loraxj_kv_cache_blocks")));
    }

    /** The route's own limit on n, from its answer to an n beyond any limit. */
    private int maxN() {
        TestClient.Reply r = client.post("/v1/completions", "{\"prompt\":\"a\",\"max_tokens\":1,\"n\":1000000}");
        assertEquals(400, r.status(), r.body());
        Matcher m = Pattern.compile("(\\d+)\\D*$").matcher(r.json().path("error").path("message").asText());
        assertTrue(m.find(), "the n limit is named: " + r.body());
        return Integer.parseInt(m.group(1));
    }

    /** 64 new tokens: long enough that the first sequences of the burst still run when its last ones are admitted, on 2 cores. */
    static String generate(String adapter, String prompt, Long seed) {
        ObjectNode o = TestClient.JSON.createObjectNode().put("inputs", prompt);
        ObjectNode p = o.putObject("parameters").put("max_new_tokens", 64).put("ignore_eos_token", true).put("details", true);
        if (adapter != null) {
            p.put("adapter_id", adapter);
        }
        if (seed != null) {
            p.put("do_sample", true).put("temperature", 0.9).put("seed", seed);
        }
        return o.toString();
    }

    static String completion(String model, String prompt, int n, double temperature, long seed) {
        return TestClient.JSON.createObjectNode().put("model", model).put("prompt", prompt).put("n", n).put("max_tokens", 64)
                .put("ignore_eos_token", true).put("temperature", temperature).put("seed", seed).toString();
    }

    /** What must not change: the text and tokens of /generate, the choices' texts in order for completions. */
    static String answer(Request r, JsonNode j) {
        if (r.path.equals("/generate")) {
            List<Integer> ids = new ArrayList<>();
            j.path("details").path("tokens").forEach(t -> ids.add(t.path("id").asInt()));
            return j.path("generated_text").asText() + " " + ids;
        }
        List<String> texts = new ArrayList<>();
        for (JsonNode c : j.path("choices")) {
            texts.add(c.path("index").asInt() + ":" + c.path("text").asText());
        }
        return texts.toString();
    }

    /**
     * Sends every request at once: each socket first gets all but the last byte of its request, then
     * all last bytes go out together, so the server sees the whole burst within a few milliseconds.
     */
    private List<RawHttp.Response> fire(List<Request> burst) throws Exception {
        int port = base.getPort();
        List<Socket> sockets = new ArrayList<>();
        List<byte[]> requests = new ArrayList<>();
        try {
            for (Request r : burst) {
                byte[] req = RawHttp.request("POST", r.path, port, "application/json", r.body.getBytes(StandardCharsets.UTF_8));
                Socket s = new Socket();
                s.connect(new InetSocketAddress("127.0.0.1", port), 5_000);
                s.getOutputStream().write(req, 0, req.length - 1);
                s.getOutputStream().flush();
                sockets.add(s);
                requests.add(req);
            }
            for (int i = 0; i < sockets.size(); i++) {
                OutputStream out = sockets.get(i).getOutputStream();
                out.write(requests.get(i)[requests.get(i).length - 1]);
                out.flush();
            }
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
            try (ExecutorService readers = Executors.newVirtualThreadPerTaskExecutor()) {
                List<Future<RawHttp.Response>> futures = new ArrayList<>();
                for (Socket s : sockets) {
                    futures.add(readers.submit(() -> RawHttp.read(s, deadline)));
                }
                List<RawHttp.Response> out = new ArrayList<>();
                for (Future<RawHttp.Response> f : futures) {
                    out.add(f.get(130, TimeUnit.SECONDS));
                }
                return out;
            }
        } finally {
            for (Socket s : sockets) {
                s.close();
            }
        }
    }

    static String excerpt(String s) {
        return s == null ? "null" : s.length() > 200 ? s.substring(0, 200) + "..." : s;
    }
}
