package dev.loraxj.api;

import dev.loraxj.TestFiles;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A model that cannot load: the server still answers, with 503 and the reason. */
@QuarkusTest
@TestProfile(NotReadyApiTest.MissingModel.class)
class NotReadyApiTest {

    /** A relative directory that is not there (and not a Hub repo id: it starts with a dot). */
    static final String MISSING = "../nonexistent/loraxj-model";
    static final Path LOG = log();

    public static class MissingModel implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("loraxj.model-id", MISSING, "quarkus.log.file.enabled", "true", "quarkus.log.file.path", LOG.toString());
        }
    }

    static Path log() {
        try {
            return TestFiles.file("loraxj-not-ready", ".log");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
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
        String error = gen.json().path("error").asText();
        assertTrue(error.contains("model directory " + MISSING + " does not exist"), gen.body());
        String resolved = Path.of(MISSING).toAbsolutePath().normalize().toString();
        assertFalse(error.contains(resolved), "the server's own paths stay in its log: " + error);
        assertEquals(503, client.post("/generate_stream", "{\"inputs\":\"hi\"}").status());
        assertEquals(503, client.get("/info").status());
        assertEquals(503, client.get("/health").status());
        assertEquals(503, client.get("/q/health/ready").status());
        assertTrue(Files.readString(LOG).contains(resolved), "the log shows where the directory was looked for");
    }
}
