package dev.loraxj.api;

import dev.loraxj.TestFiles;
import dev.loraxj.adapter.AdapterKey;
import dev.loraxj.adapter.RandomLora;
import dev.loraxj.bench.EppMetrics;
import dev.loraxj.bench.PrometheusText;
import dev.loraxj.engine.AdapterActivity;
import dev.loraxj.engine.EngineMetrics;
import dev.loraxj.model.DType;
import dev.loraxj.model.ModelConfig;
import dev.loraxj.service.ModelHost;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import jakarta.inject.Inject;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.URI;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The gauges the endpoint picker's vLLM profile reads, scraped while one adapter's request runs and
 * another adapter's requests queue behind it (one adapter active at a time, a slow model), read the
 * way the picker's parser and extractor read them, and checked against the engine's own state.
 */
@QuarkusTest
@TestProfile(VllmMetricsApiTest.OneAdapterAtATime.class)
class VllmMetricsApiTest {

    static final Path ADAPTERS = adapters();
    static final int WAITING = 3;

    /** Two random rank-4 adapters for the slow model, named as a client sends them. */
    static Path adapters() {
        try {
            Path dir = TestFiles.dir("loraxj-vllm-metrics");
            ModelConfig base = ModelConfig.load(SlowModelProfile.model());
            RandomLora.write(dir.resolve("alpha-lora"), base, 4, 8, false, List.of("q_proj", "v_proj"), DType.F32, 1, 0.02);
            RandomLora.write(dir.resolve("beta-lora"), base, 4, 8, false, List.of("q_proj", "v_proj"), DType.F32, 2, 0.02);
            return dir;
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    public static class OneAdapterAtATime implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("loraxj.model-id", SlowModelProfile.model().toString(),
                    "loraxj.threads", "1",
                    "loraxj.max-concurrent-requests", "16",
                    "loraxj.max-active-adapters", "1",
                    "loraxj.adapters.local-roots", ADAPTERS.toString(),
                    "loraxj.adapters.runtime-registration", "true");
        }
    }

    @TestHTTPResource("/")
    URI base;

    @Inject
    ModelHost host;

    @Test
    void pickerReadsRunningAndWaitingAdaptersAsTheEngineHoldsThem() throws Exception {
        TestClient client = new TestClient(base);
        client.awaitReady();
        long t0 = System.currentTimeMillis();
        TestClient.Reply load = client.post("/v1/load_lora_adapter", "{\"lora_name\":\"alpha\",\"lora_path\":\"local:alpha-lora\"}");
        assertEquals(200, load.status(), load.body());

        EppMetrics idle = EppMetrics.extract(PrometheusText.parse(client.get("/metrics").body()));
        assertEquals(Set.of(), idle.activeModels());
        assertEquals(Set.of(), idle.waitingModels());
        assertEquals(0, idle.waitingQueueSize());
        assertEquals(0, idle.runningRequestsSize());

        // alpha runs (long, EOS ignored) and holds the only active place; beta's requests wait behind it
        try (TestClient.StreamReader alpha = client.stream("/v1/completions", "{\"model\":\"alpha\",\"prompt\":\"Once upon a time\","
                + "\"max_tokens\":400,\"temperature\":0,\"stream\":true,\"ignore_eos_token\":true}")) {
            assertEquals(200, alpha.status());
            assertTrue(alpha.next() != null, "alpha streams");
            List<CompletableFuture<TestClient.Reply>> betas = new ArrayList<>();
            for (int i = 0; i < WAITING; i++) {
                betas.add(CompletableFuture.supplyAsync(() -> client.post("/v1/completions",
                        "{\"model\":\"beta-lora\",\"prompt\":\"Once upon a time\",\"max_tokens\":2,\"temperature\":0}")));
            }
            EngineMetrics engine = host.runtime().engine().metrics();
            long deadline = System.nanoTime() + 30_000_000_000L;
            // submitted requests count as queued at once; the adapters are published at the engine's next step
            while (engine.queueSize() < WAITING || engine.adapterActivity().waiting().isEmpty()) {
                if (System.nanoTime() > deadline) {
                    fail("beta's requests did not queue: " + engine.queueSize());
                }
                Thread.sleep(20);
            }

            String text = client.get("/metrics").body();
            Map<String, PrometheusText.Family> families = PrometheusText.parse(text); // fails where the picker's parser fails
            for (String name : List.of(EppMetrics.QUEUED, EppMetrics.RUNNING, EppMetrics.KV_USAGE, "vllm:gpu_cache_usage_perc",
                    EppMetrics.LORA, EppMetrics.CACHE_INFO)) {
                PrometheusText.Family f = families.get(name);
                assertTrue(f != null, name + " is exported");
                assertEquals("gauge", f.type(), name + ": the legacy reader takes only gauges (GetGauge())");
                assertEquals(1, f.samples().size(), name + ": one series, so no stale label set is ever the latest");
            }
            PrometheusText.Sample info = families.get(EppMetrics.LORA).samples().getFirst();
            assertEquals(List.of("max_lora", "running_lora_adapters", "waiting_lora_adapters"), List.copyOf(info.labels().keySet()));

            EppMetrics read = EppMetrics.extract(families);
            AdapterActivity activity = engine.adapterActivity();
            assertEquals(Set.of("alpha"), read.activeModels(), "running by its registered name: " + info.labels());
            assertEquals(Set.of("beta-lora"), read.waitingModels(), "waiting by the id clients send: " + info.labels());
            assertEquals(names(activity.running()), Set.of("alpha-lora"), "the engine runs alpha's adapter");
            assertEquals(names(activity.waiting()), Set.of("beta-lora"));
            assertEquals(1, read.maxActiveModels(), "max_lora: one adapter active at a time");
            assertEquals(1, read.runningRequestsSize());
            assertEquals(engine.batchSize(), read.runningRequestsSize(), "the engine's running batch");
            assertEquals(WAITING, read.waitingQueueSize());
            assertEquals(engine.queueSize(), read.waitingQueueSize(), "the engine's queue");
            int total = host.runtime().engine().totalBlocks();
            // the engine may take a block between the scrape and this read: one block's share of the cache
            double used = 1.0 - (double) engine.freeBlocks() / total;
            assertEquals(used, read.kvCacheUsagePercent(), 1.0 / total + 1e-12);
            assertTrue(read.kvCacheUsagePercent() > 0 && read.kvCacheUsagePercent() < 1, "alpha's prompt holds blocks: " + read);
            assertEquals(read.kvCacheUsagePercent(), families.get("vllm:gpu_cache_usage_perc").samples().getFirst().value());
            assertEquals(16, read.cacheBlockSize(), "loraxj.kv-block-size");
            assertEquals(total, read.cacheNumBlocks());
            double stamp = info.value();
            assertTrue(stamp >= t0 / 1000.0 && stamp <= System.currentTimeMillis() / 1000.0 + 1e-3,
                    "the value is the time of the last engine step, in seconds: " + stamp);

            alpha.close(); // alpha's client leaves: its sequence is cancelled, and beta takes the active place
            for (CompletableFuture<TestClient.Reply> beta : betas) {
                TestClient.Reply r = beta.get();
                assertEquals(200, r.status(), r.body());
            }
        }
        long deadline = System.nanoTime() + 30_000_000_000L;
        EppMetrics after;
        do {
            after = EppMetrics.extract(PrometheusText.parse(client.get("/metrics").body()));
            if (System.nanoTime() > deadline) {
                fail("the adapters stayed listed: " + after);
            }
        } while (!after.activeModels().isEmpty() || !after.waitingModels().isEmpty() || after.runningRequestsSize() != 0);
        assertEquals(0, after.waitingQueueSize());
        assertTrue(client.get("/metrics").body().contains("loraxj_queue_size"), "the loraxj_* metrics stay");
    }

    private static Set<String> names(Set<AdapterKey> keys) {
        return keys.stream().map(AdapterKey::name).collect(Collectors.toSet());
    }
}
