package dev.loraxj.api;

import com.fasterxml.jackson.databind.JsonNode;
import dev.loraxj.SharedAssets;
import dev.loraxj.adapter.LoraWeights;
import dev.loraxj.adapter.RandomLora;
import dev.loraxj.model.DType;
import dev.loraxj.model.ModelConfig;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** 200 distinct adapters through a server whose adapter budget holds 20. */
@QuarkusTest
@TestProfile(EvictionApiTest.SmallBudget.class)
class EvictionApiTest {

    static final int DISTINCT_WEIGHTS = 10;
    static final int ADAPTERS = 200;
    static final int FITS = 20;
    static final Path DIR = AdapterApiTest.TEST_ADAPTERS.resolve("eviction");

    /** Bytes of one r=4, all-module adapter on stories260K, as the loader counts them. */
    static long adapterBytes() {
        ModelConfig cfg = ModelConfig.load(SharedAssets.stories260K());
        Path one = DIR.resolve("a0");
        if (!Files.exists(one.resolve("adapter_model.safetensors"))) {
            RandomLora.write(one, cfg, 4, 8, false, RandomLora.ALL_MODULES, DType.F32, 1000, 0.08);
        }
        // what the CPU backend holds for F32 weights: A and Bᵀ as floats
        return LoraWeights.check(one, cfg).shapes().stream().mapToLong(s -> 4L * s.rank() * (s.in() + s.out())).sum();
    }

    public static class SmallBudget implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("loraxj.adapters.memory-budget", String.valueOf(FITS * adapterBytes()));
        }
    }

    @TestHTTPResource("/")
    URI base;

    @Test
    void everyAnswerIsRightWhileTheBudgetHoldsAndEvictionsHappen() throws Exception {
        TestClient client = new TestClient(base);
        client.awaitReady();
        ModelConfig cfg = ModelConfig.load(SharedAssets.stories260K());
        // adapter i has the weights of seed i % 10, under its own directory: 200 distinct adapters for the store
        for (int i = 0; i < ADAPTERS; i++) {
            Path dir = DIR.resolve("a" + i);
            if (!Files.exists(dir.resolve("adapter_model.safetensors"))) {
                RandomLora.write(dir, cfg, 4, 8, false, RandomLora.ALL_MODULES, DType.F32, 1000 + i % DISTINCT_WEIGHTS, 0.08);
            }
        }
        Map<Integer, String> expected = new HashMap<>();
        for (int w = 0; w < DISTINCT_WEIGHTS; w++) {
            expected.put(w, text(client.post("/generate", body(w))));
        }
        assertTrue(expected.values().stream().distinct().count() > 1, "the random adapters differ: " + expected);
        double evictionsBefore = client.metric("loraxj_adapter_evictions_total");
        ExecutorService pool = Executors.newFixedThreadPool(8);
        try {
            List<CompletableFuture<TestClient.Reply>> replies = new ArrayList<>();
            for (int i = 0; i < ADAPTERS; i++) {
                String b = body(i);
                replies.add(CompletableFuture.supplyAsync(() -> client.post("/generate", b), pool));
            }
            for (int i = 0; i < ADAPTERS; i++) {
                TestClient.Reply r = replies.get(i).get();
                assertEquals(200, r.status(), "adapter " + i + ": " + r.body());
                assertEquals(expected.get(i % DISTINCT_WEIGHTS), text(r), "adapter " + i);
            }
        } finally {
            pool.shutdownNow();
        }
        double budget = client.metric("loraxj_adapter_budget_bytes");
        assertTrue(client.metric("loraxj_adapter_bytes_peak") <= budget, "bytes held never exceed the budget");
        assertTrue(client.metric("loraxj_adapter_evictions_total") - evictionsBefore >= ADAPTERS - FITS - DISTINCT_WEIGHTS,
                "evictions are counted: " + client.metric("loraxj_adapter_evictions_total"));
        assertEquals(0, client.metric("loraxj_adapter_load_failures_total"), "no load failed");
        JsonNode list = client.get("/adapters").json();
        assertTrue(list.path("adapters").size() <= FITS, list.toString());
    }

    static String body(int i) {
        return "{\"inputs\":\"Once upon a time\",\"parameters\":{\"max_new_tokens\":6,\"adapter_source\":\"local\",\"adapter_id\":"
                + GenerateApiTest.quote(DIR.resolve("a" + i).toString()) + "}}";
    }

    static String text(TestClient.Reply r) {
        assertEquals(200, r.status(), r.body());
        return r.json().path("generated_text").asText();
    }
}
