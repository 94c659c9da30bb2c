package dev.loraxj.api;

import dev.loraxj.SharedAssets;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** loraxj.quantize=int8 end to end: /info says what is held, and a LoRA over the int8 base still does its job. */
@QuarkusTest
@TestProfile(QuantizedApiTest.Int8.class)
class QuantizedApiTest {

    public static class Int8 implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("loraxj.quantize", "int8",
                    "loraxj.adapters.local-roots", SharedAssets.root().resolve("adapters/stories260K").toString());
        }
    }

    @TestHTTPResource("/")
    URI base;
    TestClient client;

    @BeforeEach
    void ready() {
        client = new TestClient(base);
        client.awaitReady();
    }

    @Test
    void infoReportsTheInt8WeightsAndTheLoraStillNamesMax() {
        var info = client.get("/info").json();
        assertEquals("int8", info.path("quantize").asText(), info.toString());
        assertEquals("float32", info.path("model_dtype").asText(), "the checkpoint's dtype");
        // 5 layers of q,k,v,o (64x64, 32x64 twice, 64x64) and gate, up, down (172x64), and the tied head (512x64):
        // one byte per weight plus a float scale per row and 32 inputs
        long linears = 5L * (64 * 64 + 2 * 32 * 64 + 64 * 64 + 3 * 172 * 64) + 512 * 64;
        long scales = (5L * (64 * 2 + 2 * 32 * 2 + 64 * 2 + 2 * 172 * 2 + 64 * 6) + 512 * 2) * 4;
        assertEquals(linears + scales, info.path("weight_bytes").asLong(), info.toString());
        TestClient.Reply r = client.post("/generate", "{\"inputs\":\"Once upon a time, there was a little girl\","
                + "\"parameters\":{\"max_new_tokens\":30,\"adapter_id\":\"lora-name-max\"}}");
        assertEquals(200, r.status(), r.body());
        assertTrue(r.json().path("generated_text").asText().contains("Max"), r.body());
    }
}
