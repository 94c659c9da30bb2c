package dev.loraxj.api;

import com.fasterxml.jackson.databind.JsonNode;
import dev.loraxj.SharedAssets;
import dev.loraxj.model.ModelConfig;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** loraxj.kv-cache-memory sizes the KV cache, and /info reports the device and every memory budget. */
@QuarkusTest
@TestProfile(DeviceApiTest.SmallKvCache.class)
class DeviceApiTest {

    static final long KV_MEMORY = 3_000_000;
    static final long ADAPTER_BUDGET = 5_000_000;

    public static class SmallKvCache implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("loraxj.kv-cache-memory", Long.toString(KV_MEMORY), "loraxj.adapters.memory-budget", Long.toString(ADAPTER_BUDGET),
                    "loraxj.device", "auto");
        }
    }

    @TestHTTPResource("/")
    URI base;

    @Test
    void theKvCacheHoldsWhatItsMemoryBudgetFitsAndInfoSaysSo() throws Exception {
        TestClient client = new TestClient(base);
        client.awaitReady();
        JsonNode info = client.get("/info").json();
        ModelConfig cfg = ModelConfig.load(SharedAssets.stories260K());
        long perToken = 2L * cfg.numLayers() * cfg.numKvHeads() * cfg.headDim() * 4; // K and V, float32, every layer
        int block = info.path("kv_block_size").asInt();
        long tokens = KV_MEMORY / perToken / block * block;
        assertEquals(tokens, info.path("max_batch_total_tokens").asLong(), info.toString());
        assertEquals(KV_MEMORY, info.path("kv_cache_memory").asLong());
        assertEquals(tokens * perToken, info.path("kv_cache_bytes").asLong());
        assertTrue(info.path("kv_cache_bytes").asLong() <= KV_MEMORY);
        assertEquals("cpu", info.path("device").asText());
        assertEquals("cpu", info.path("model_device_type").asText());
        assertTrue(info.path("device_reason").asText().startsWith("loraxj.device=auto"), info.toString());
        assertEquals(ADAPTER_BUDGET, info.path("adapter_memory_budget").asLong());
        assertEquals(ADAPTER_BUDGET, info.path("adapter_host_memory_budget").asLong(), "the host tier defaults to the device's budget");
        TestClient.Reply gen = client.post("/generate", "{\"inputs\":\"Once upon a time\",\"parameters\":{\"max_new_tokens\":4}}");
        assertEquals(200, gen.status(), gen.body());
    }
}
