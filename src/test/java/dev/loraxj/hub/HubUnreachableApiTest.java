package dev.loraxj.hub;

import com.fasterxml.jackson.databind.JsonNode;
import dev.loraxj.TestFiles;
import dev.loraxj.api.TestClient;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A base model on a Hub that refuses connections: the server answers, saying it is still loading and why. */
@QuarkusTest
@TestProfile(HubUnreachableApiTest.Profile.class)
class HubUnreachableApiTest {

    static final String ENDPOINT = "http://127.0.0.1:" + closedPort();
    static final Path LOG = log();

    public static class Profile implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            try {
                return Map.of("loraxj.model-id", "test-org/stories260K", "loraxj.hub.endpoint", ENDPOINT,
                        "loraxj.hub.cache", TestFiles.dir("loraxj-hub-unreachable").toString(),
                        // many attempts, so the load is still retrying while the test looks
                        "loraxj.hub.retries", "30",
                        "quarkus.log.file.enabled", "true", "quarkus.log.file.path", LOG.toString());
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }

    static int closedPort() {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort(); // closed when this returns: connections to it are refused
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static Path log() {
        try {
            return TestFiles.file("loraxj-hub-unreachable", ".log");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @TestHTTPResource("/")
    URI base;

    @Test
    void healthInfoAndReadinessSayTheModelIsStillLoadingAndWhy() throws Exception {
        TestClient client = new TestClient(base);
        String expected = "model is still loading: asking the Hub (" + ENDPOINT + ") for model test-org/stories260K: attempt ";
        long deadline = System.nanoTime() + 20_000_000_000L;
        TestClient.Reply info = client.get("/info");
        while (!info.body().contains("failed (") && System.nanoTime() < deadline) {
            Thread.sleep(50);
            info = client.get("/info");
        }
        assertEquals(503, info.status(), info.body());
        String why = info.json().path("error").asText();
        assertTrue(why.startsWith(expected), why);
        assertTrue(why.contains("ConnectException"), "the cause is named: " + why);
        assertFalse(why.contains(": null"), why);

        TestClient.Reply health = client.get("/health");
        assertEquals(503, health.status());
        assertTrue(health.json().path("error").asText().startsWith("unhealthy: " + expected), health.body());

        JsonNode ready = client.get("/q/health/ready").json();
        assertTrue(ready.toString().contains("asking the Hub"), ready.toString());

        String logged = Files.readString(LOG);
        assertTrue(logged.contains("Hub request for test-org/stories260K failed (attempt 1 of 30: ConnectException"),
                "every retry line names its cause: " + logged);
    }
}
