package dev.loraxj.api;

import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A model that cannot load: the server still answers, with 503 and the reason. */
@QuarkusTest
@TestProfile(NotReadyApiTest.MissingModel.class)
class NotReadyApiTest {

    public static class MissingModel implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("loraxj.model-id", "/nonexistent/loraxj-model");
        }
    }

    @TestHTTPResource("/")
    URI base;

    @Test
    void everyRouteAnswers503WhileNoModelIsLoaded() throws Exception {
        TestClient client = new TestClient(base);
        Thread.sleep(200);
        TestClient.Reply gen = client.post("/generate", "{\"inputs\":\"hi\"}");
        assertEquals(503, gen.status(), gen.body());
        assertTrue(gen.json().path("error").asText().contains("/nonexistent/loraxj-model"), gen.body());
        assertEquals(503, client.post("/generate_stream", "{\"inputs\":\"hi\"}").status());
        assertEquals(503, client.get("/info").status());
        assertEquals(503, client.get("/health").status());
        assertEquals(503, client.get("/q/health/ready").status());
    }
}
