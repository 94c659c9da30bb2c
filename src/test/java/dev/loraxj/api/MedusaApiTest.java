package dev.loraxj.api;

import com.fasterxml.jackson.databind.JsonNode;
import dev.loraxj.SharedAssets;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Medusa through the REST API: default heads at start, per-request Medusa(+LoRA) adapters, lossless. */
@QuarkusTest
@TestProfile(MedusaApiTest.DefaultHeads.class)
class MedusaApiTest {

    public static class DefaultHeads implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("loraxj.speculative.medusa-adapter", "local:medusa-v1",
                    "loraxj.adapters.local-roots", SharedAssets.root().resolve("adapters/stories260K").toString());
        }
    }

    static final String PROMPT = "Once upon a time, there was a little girl";

    @TestHTTPResource("/")
    URI base;
    TestClient client;

    @BeforeEach
    void ready() {
        client = new TestClient(base);
        client.awaitReady();
    }

    @Test
    void greedyWithDefaultHeadsFollowsTheGoldenAndSkipsTokens() throws Exception {
        String golden = Files.readString(SharedAssets.golden("greedy256.txt"), StandardCharsets.UTF_8);
        TestClient.Reply r = client.post("/generate", "{\"inputs\":\"" + PROMPT + "\",\"parameters\":{\"max_new_tokens\":64,\"details\":true}}");
        assertEquals(200, r.status(), r.body());
        String text = r.json().path("generated_text").asText();
        assertTrue(golden.startsWith(PROMPT + text), "speculation is lossless: " + text);
        assertEquals(64, r.json().path("details").path("generated_tokens").asInt());
        assertTrue(r.json().path("details").path("skipped_tokens").asInt() > 10, "heads' candidates were accepted: " + r.body());
        assertTrue(client.metric("loraxj_speculative_accepted_tokens_total") > 0);
        assertTrue(client.metric("loraxj_speculative_mean_accepted_per_step") > 1.0);
        List<JsonNode> events = TestClient.sseEvents(client.post("/generate_stream",
                "{\"inputs\":\"" + PROMPT + "\",\"parameters\":{\"max_new_tokens\":64}}").body());
        assertEquals(64, events.size(), "every accepted token is streamed");
        assertEquals(text, events.getLast().path("generated_text").asText());
    }

    @Test
    void aMedusaAdapterWithALoraSwitchesBoth() {
        TestClient.Reply r = client.post("/generate", "{\"inputs\":\"" + PROMPT + "\",\"parameters\":{\"max_new_tokens\":12,"
                + "\"details\":true,\"adapter_id\":\"medusa-v2-lora-max\",\"adapter_source\":\"local\"}}");
        assertEquals(200, r.status(), r.body());
        assertTrue(r.json().path("generated_text").asText().startsWith(" named Max"), r.body());
        TestClient.Reply lora = client.post("/generate", "{\"inputs\":\"" + PROMPT + "\",\"parameters\":{\"max_new_tokens\":12,"
                + "\"adapter_id\":\"lora-name-max\",\"adapter_source\":\"local\"}}");
        assertEquals(lora.json().path("generated_text"), r.json().path("generated_text"), "same text as the LoRA alone");
    }
}
