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
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** loraxj.quantize=int4 end to end: /info says what is held (less than int8), and generation works, with and without a LoRA. */
@QuarkusTest
@TestProfile(Int4ApiTest.Int4.class)
class Int4ApiTest {

    public static class Int4 implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("loraxj.quantize", "int4",
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
    void infoReportsTheInt4WeightsBelowInt8AndGenerationWorks() {
        var info = client.get("/info").json();
        assertEquals("int4", info.path("quantize").asText(), info.toString());
        assertEquals("float32", info.path("model_dtype").asText(), "the checkpoint's dtype");
        // 5 layers of q,k,v,o (64 inputs: 2 groups), gate, up (64 inputs) and down (172 inputs: 6 groups, the last padded),
        // and the tied head (512x64): 16 bytes and a float scale per row and group of 32 inputs
        long groups = 5L * (64 * 2 + 2 * 32 * 2 + 64 * 2 + 2 * 172 * 2 + 64 * 6) + 512 * 2;
        assertEquals(groups * (16 + 4), info.path("weight_bytes").asLong(), info.toString());
        long int8 = 5L * (64 * 64 + 2 * 32 * 64 + 64 * 64 + 3 * 172 * 64) + 512 * 64 + groups * 4; // QuantizedApiTest's figure
        assertTrue(info.path("weight_bytes").asLong() < int8, info.toString());
        TestClient.Reply plain = client.post("/generate", "{\"inputs\":\"Once upon a time, there was a little girl\","
                + "\"parameters\":{\"max_new_tokens\":20}}");
        assertEquals(200, plain.status(), plain.body());
        assertFalse(plain.json().path("generated_text").asText().isBlank(), plain.body());
        TestClient.Reply r = client.post("/generate", "{\"inputs\":\"Once upon a time, there was a little girl\","
                + "\"parameters\":{\"max_new_tokens\":30,\"adapter_id\":\"lora-name-max\"}}");
        assertEquals(200, r.status(), r.body());
        System.out.println("INT4 /generate with lora-name-max: " + r.json().path("generated_text").asText());
        assertTrue(r.json().path("generated_text").asText().contains("Max"), r.body());
    }
}
