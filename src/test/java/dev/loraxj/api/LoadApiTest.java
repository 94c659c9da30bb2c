package dev.loraxj.api;

import com.fasterxml.jackson.databind.JsonNode;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Behaviour under load, on a model slow enough that streams are still running when we act. */
@QuarkusTest
@TestProfile(SlowModelProfile.class)
class LoadApiTest {

    static final String LONG_STREAM = "{\"inputs\":\"Once\",\"parameters\":{\"max_new_tokens\":400,\"ignore_eos_token\":true}}";

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
    void clientThatDisconnectsMidStreamGetsItsBlocksFreed() throws Exception {
        double total = client.metric("loraxj_kv_cache_blocks");
        double cancelledBefore = client.metric("loraxj_sequences_cancelled_total");
        try (TestClient.StreamReader s = client.stream("/generate_stream", LONG_STREAM)) {
            assertEquals(200, s.status());
            assertNotNull(s.next());
            assertNotNull(s.next());
            assertTrue(client.metric("loraxj_kv_cache_free_blocks") < total, "a running stream holds blocks");
        }
        client.awaitMetric("loraxj_sequences_cancelled_total", cancelledBefore + 1);
        client.awaitMetric("loraxj_kv_cache_free_blocks", total);
        assertTrue(client.metric("loraxj_generated_tokens_total") < 400, "the sequence stopped long before its 400 tokens");
    }

    @Test
    void requestsBeyondMaxConcurrentGet429AndTheServerRecovers() throws Exception {
        List<TestClient.StreamReader> streams = new ArrayList<>();
        try {
            for (int i = 0; i < SlowModelProfile.MAX_CONCURRENT; i++) {
                TestClient.StreamReader s = client.stream("/generate_stream", LONG_STREAM);
                assertEquals(200, s.status());
                assertNotNull(s.next());
                streams.add(s);
            }
            TestClient.Reply r = client.post("/generate", "{\"inputs\":\"hi\",\"parameters\":{\"max_new_tokens\":1}}");
            assertEquals(429, r.status(), r.body());
            JsonNode e = r.json();
            assertEquals("overloaded", e.path("error_type").asText());
            assertEquals("Model is overloaded", e.path("error").asText());
            assertEquals(429, client.post("/generate_stream", "{\"inputs\":\"hi\"}").status());
        } finally {
            for (TestClient.StreamReader s : streams) {
                s.close();
            }
        }
        client.awaitMetric("loraxj_kv_cache_free_blocks", client.metric("loraxj_kv_cache_blocks"));
        TestClient.Reply ok = client.post("/generate", "{\"inputs\":\"hi\",\"parameters\":{\"max_new_tokens\":2}}");
        assertEquals(200, ok.status(), ok.body());
    }
}
