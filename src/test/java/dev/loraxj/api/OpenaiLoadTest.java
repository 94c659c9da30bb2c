package dev.loraxj.api;

import com.fasterxml.jackson.databind.JsonNode;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.net.URI;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The OpenAI routes under load on the slow model: disconnects cancel every choice; n beyond what the server ever runs is a 400, a busy server a 429. */
@QuarkusTest
@TestProfile(SlowModelProfile.class)
class OpenaiLoadTest {

    static final String LONG_STREAM = "{\"prompt\":\"Once\",\"n\":2,\"max_tokens\":400,\"ignore_eos_token\":true,\"stream\":true}";

    @TestHTTPResource("/")
    URI base;
    TestClient client;

    @BeforeEach
    void ready() throws Exception {
        client = new TestClient(base);
        client.awaitReady();
        client.awaitMetric("loraxj_kv_cache_free_blocks", client.metric("loraxj_kv_cache_blocks"));
    }

    @Test
    void aClientThatDisconnectsCancelsEveryChoice() throws Exception {
        double total = client.metric("loraxj_kv_cache_blocks");
        double cancelledBefore = client.metric("loraxj_sequences_cancelled_total");
        double generatedBefore = client.metric("loraxj_generated_tokens_total");
        try (TestClient.StreamReader s = client.stream("/v1/completions", LONG_STREAM)) {
            assertEquals(200, s.status());
            assertNotNull(s.next());
            assertNotNull(s.next());
        }
        client.awaitMetric("loraxj_sequences_cancelled_total", cancelledBefore + 2);
        client.awaitMetric("loraxj_kv_cache_free_blocks", total);
        assertTrue(client.metric("loraxj_generated_tokens_total") - generatedBefore < 800, "both stopped long before 400 tokens each");
    }

    @Test
    void moreChoicesThanTheServerEverRunsIsA400WhileABusyServerIsA429() throws Exception {
        TestClient.Reply never = client.post("/v1/completions",
                "{\"prompt\":\"Once\",\"n\":" + (SlowModelProfile.MAX_CONCURRENT + 1) + ",\"max_tokens\":50}");
        assertEquals(400, never.status(), "no retry can run more choices than the server runs at once: " + never.body());
        assertEquals("invalid_request_error", never.json().path("error").path("type").asText());
        assertTrue(never.json().path("error").path("message").asText().contains("loraxj.max-concurrent-requests"), never.body());
        client.awaitMetric("loraxj_kv_cache_free_blocks", client.metric("loraxj_kv_cache_blocks"));

        // the same number of choices as the server runs, while one of its places is taken: retrying helps, so 429
        try (TestClient.StreamReader busy = client.stream("/v1/completions",
                "{\"prompt\":\"Once\",\"max_tokens\":400,\"ignore_eos_token\":true,\"stream\":true}")) {
            assertEquals(200, busy.status());
            assertNotNull(busy.next());
            TestClient.Reply full = client.post("/v1/completions", "{\"prompt\":\"Once\",\"n\":" + SlowModelProfile.MAX_CONCURRENT + ",\"max_tokens\":2}");
            assertEquals(429, full.status(), full.body());
            JsonNode e = full.json().path("error");
            assertEquals("rate_limit_error", e.path("type").asText());
        }
        client.awaitMetric("loraxj_kv_cache_free_blocks", client.metric("loraxj_kv_cache_blocks"));
        TestClient.Reply ok = client.post("/v1/completions", "{\"prompt\":\"Once\",\"n\":" + SlowModelProfile.MAX_CONCURRENT + ",\"max_tokens\":2}");
        assertEquals(200, ok.status(), ok.body());
        assertEquals(SlowModelProfile.MAX_CONCURRENT, ok.json().path("choices").size());
    }
}
