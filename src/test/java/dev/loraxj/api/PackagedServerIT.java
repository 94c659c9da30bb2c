package dev.loraxj.api;

import com.fasterxml.jackson.databind.JsonNode;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusIntegrationTest;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The packaged jar, started the way a user starts it: catches what only the production class
 * loading shows (DJL's natives and logging live in the parent-first class loader).
 */
@QuarkusIntegrationTest
class PackagedServerIT {

    @TestHTTPResource("/")
    URI base;

    @Test
    void packagedJarServesGenerationStreamingAndHealth() {
        TestClient client = new TestClient(base);
        client.awaitReady();
        TestClient.Reply r = client.post("/generate",
                "{\"inputs\":\"Once upon a time, there was a little girl\",\"parameters\":{\"max_new_tokens\":4}}");
        assertEquals(200, r.status(), r.body());
        assertEquals(" named Lily. She", r.json().path("generated_text").asText());
        List<JsonNode> events = TestClient.sseEvents(client.post("/generate_stream",
                "{\"inputs\":\"Once upon a time\",\"parameters\":{\"max_new_tokens\":3}}").body());
        assertEquals(3, events.size());
        assertEquals(200, client.get("/health").status());
        assertTrue(client.get("/metrics").body().contains("loraxj_generated_tokens_total"));
        // the OpenAPI document and Swagger UI are served by the packaged jar too, not only in dev and test
        assertEquals(200, client.get("/q/openapi").status());
        assertEquals(200, client.get("/docs/").status());
    }
}
