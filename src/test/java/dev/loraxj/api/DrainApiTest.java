package dev.loraxj.api;

import com.fasterxml.jackson.databind.JsonNode;
import dev.loraxj.service.Draining;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import jakarta.inject.Inject;
import org.junit.jupiter.api.Test;

import java.net.URI;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

/**
 * What SIGTERM does first (Quarkus's shutdown delay calls {@link Draining#begin()}), on a model slow
 * enough that a 64-token stream is still running: it completes, new requests get 503, readiness is down.
 */
@QuarkusTest
@TestProfile(DrainApiTest.Profile.class)
class DrainApiTest {

    /** The slow model, in a server of its own: this test leaves it draining. */
    public static class Profile extends SlowModelProfile {
    }

    @TestHTTPResource("/")
    URI base;

    @Inject
    Draining draining;

    @Test
    void drainingLetsTheRunningStreamFinishAndRefusesNewWork() throws Exception {
        TestClient client = new TestClient(base);
        client.awaitReady();
        try (TestClient.StreamReader s = client.stream("/generate_stream",
                "{\"inputs\":\"Once\",\"parameters\":{\"max_new_tokens\":64,\"ignore_eos_token\":true,\"details\":true}}")) {
            assertEquals(200, s.status());
            assertNotNull(s.next());
            draining.begin();
            assertEquals(503, client.get("/q/health/ready").status(), "readiness is down at once");
            TestClient.Reply refused = client.post("/generate", "{\"inputs\":\"hi\",\"parameters\":{\"max_new_tokens\":2}}");
            assertEquals(503, refused.status(), refused.body());
            assertEquals(200, client.get("/q/health/live").status(), "still alive while draining");
            int events = 1;
            JsonNode last = null;
            JsonNode e;
            while ((e = s.next()) != null) {
                events++;
                last = e;
            }
            assertEquals(64, events, "the running stream completed");
            assertNotNull(last);
            assertEquals(64, last.path("details").path("generated_tokens").asInt());
            assertNull(null);
        }
    }
}
