package dev.loraxj.api;

import com.fasterxml.jackson.databind.JsonNode;
import dev.loraxj.SharedAssets;
import dev.loraxj.TestFiles;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The preload list comes from a watched file (a mounted ConfigMap): changes apply without a restart. */
@QuarkusTest
@TestProfile(PreloadApiTest.WatchedFile.class)
class PreloadApiTest {

    static final Path FILE = file();

    static Path file() {
        try {
            Path f = TestFiles.dir("loraxj-preload").resolve("preload");
            Files.writeString(f, "# adapters to keep loaded\nlocal:lora-name-max\n");
            return f;
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    public static class WatchedFile implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("loraxj.adapters.preload-file", FILE.toString(),
                    "loraxj.adapters.preload-poll", "100ms",
                    "loraxj.adapters.local-roots", SharedAssets.root().resolve("adapters/stories260K").toString());
        }
    }

    @TestHTTPResource("/")
    URI base;

    @Test
    void changingThePreloadFileLoadsNewAdaptersAndUnpinsRemovedOnes() throws Exception {
        TestClient client = new TestClient(base);
        client.awaitReady();
        JsonNode max = await(client, "lora-name-max", true);
        assertEquals("ready", max.path("state").asText());
        assertEquals(1, max.path("leases").asInt(), "the pin holds it");

        Files.writeString(FILE, "local:lora-name-sue\n");
        JsonNode sue = await(client, "lora-name-sue", true);
        assertEquals("ready", sue.path("state").asText());
        JsonNode oldMax = await(client, "lora-name-max", false);
        assertEquals(0, oldMax.path("leases").asInt(), "nothing holds the removed adapter: it is evictable");

        TestClient.Reply r = client.post("/generate", "{\"inputs\":\"Once upon a time, there was a little girl\","
                + "\"parameters\":{\"max_new_tokens\":4,\"adapter_id\":\"lora-name-sue\",\"adapter_source\":\"local\"}}");
        assertTrue(r.json().path("generated_text").asText().startsWith(" named Sue"), r.body());
    }

    /** Waits until the adapter is listed with the given pinned state (and not loading). */
    static JsonNode await(TestClient client, String name, boolean pinned) throws InterruptedException {
        long deadline = System.nanoTime() + 20_000_000_000L;
        while (System.nanoTime() < deadline) {
            for (JsonNode a : client.get("/adapters").json().path("adapters")) {
                if (a.path("id").asText().endsWith(name) && a.path("pinned").asBoolean() == pinned
                        && a.path("state").asText().equals("ready")) {
                    return a;
                }
            }
            Thread.sleep(50);
        }
        throw new AssertionError(name + " never became pinned=" + pinned + ": " + client.get("/adapters").body());
    }
}
