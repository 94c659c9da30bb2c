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
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * vLLM's /v1/load_lora_adapter and /v1/unload_lora_adapter end to end, as the LoRA syncer calls them:
 * a name registered for an adapter of any source serves it as {@code model}, pinned until unloaded;
 * refusals answer vLLM's statuses and change nothing; server auth guards both routes.
 */
@QuarkusTest
@TestProfile(LoraAdapterApiTest.Registration.class)
class LoraAdapterApiTest {

    static final String KEY = "lx-lora-key_7c41e2";
    static final String PROMPT = "Once upon a time, there was a little girl";

    public static class Registration implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("loraxj.adapters.runtime-registration", "true",
                    "loraxj.auth.api-keys", KEY,
                    "loraxj.adapters.preload", "local:lora-name-sue",
                    "loraxj.adapters.local-roots", SharedAssets.root().resolve("adapters/stories260K").toString());
        }
    }

    record Reply(int status, String body, String contentType) {
        JsonNode json() {
            try {
                return TestClient.JSON.readTree(body);
            } catch (Exception e) {
                throw new AssertionError("not JSON (" + status + "): " + body, e);
            }
        }
    }

    @TestHTTPResource("/")
    URI base;

    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
    private final List<String> loaded = new ArrayList<>();

    @BeforeEach
    void ready() {
        new TestClient(base).awaitReady(); // /q/health/ready is an open path
        for (String name : List.of("max", "sue", "max-again", "hub-max", "ghost")) {
            post("/v1/unload_lora_adapter", "{\"lora_name\":\"" + name + "\"}", KEY); // each test starts with no registrations
        }
    }

    Reply post(String path, String body, String key) {
        return send(HttpRequest.newBuilder(base.resolve(path)).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body)), key);
    }

    Reply get(String path) {
        return send(HttpRequest.newBuilder(base.resolve(path)).GET(), KEY);
    }

    private Reply send(HttpRequest.Builder b, String key) {
        if (key != null) {
            b.header("x-api-key", key);
        }
        try {
            HttpResponse<String> r = http.send(b.timeout(Duration.ofSeconds(60)).build(), HttpResponse.BodyHandlers.ofString());
            return new Reply(r.statusCode(), r.body(), r.headers().firstValue("Content-Type").orElse(""));
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    String complete(String model) {
        Reply r = post("/v1/completions", "{\"model\":\"" + model + "\",\"prompt\":\"" + PROMPT + "\",\"max_tokens\":6,\"temperature\":0}", KEY);
        assertEquals(200, r.status(), r.body());
        return r.json().path("choices").get(0).path("text").asText();
    }

    JsonNode adapter(String id) {
        for (JsonNode a : get("/adapters").json().path("adapters")) {
            if (a.path("id").asText().equals(id)) {
                return a;
            }
        }
        return null;
    }

    List<String> models() {
        List<String> ids = new ArrayList<>();
        get("/v1/models").json().path("data").forEach(m -> ids.add(m.path("id").asText()));
        return ids;
    }

    static void assertVllmError(Reply r, int status, String type, String messagePart) {
        assertEquals(status, r.status(), r.body());
        JsonNode e = r.json().path("error");
        assertEquals(type, e.path("type").asText(), r.body());
        assertEquals(status, e.path("code").asInt(), "vLLM's code is the status: " + r.body());
        assertTrue(e.path("message").asText().contains(messagePart), r.body());
    }

    @Test
    void loadedNameServesTheAdapterPinnedUntilUnloaded() {
        String base = complete("");
        String viaId = complete("lora-name-max");
        assertNotEquals(base, viaId, "the adapter changes the greedy text");

        // what the LoRA syncer sends: lora_name, lora_path and base_model_name
        Reply load = post("/v1/load_lora_adapter", "{\"lora_name\":\"max\",\"lora_path\":\"local:lora-name-max\",\"base_model_name\":\"stories260K\"}", KEY);
        assertEquals(200, load.status(), load.body());
        assertEquals("Success: LoRA adapter 'max' added successfully.", load.body());
        assertTrue(load.contentType().startsWith("text/plain"), load.contentType());

        assertEquals(viaId, complete("max"), "model: max serves lora-name-max");
        assertTrue(models().contains("max"), "vLLM lists a loaded adapter by its lora_name: " + models());
        assertEquals(200, get("/v1/models/max").status());
        JsonNode held = adapter("lora-name-max");
        assertTrue(held != null && held.path("pinned").asBoolean(), "pinned: " + held);
        assertEquals("ready", held.path("state").asText());

        Reply unload = post("/v1/unload_lora_adapter", "{\"lora_name\":\"max\"}", KEY);
        assertEquals(200, unload.status(), unload.body());
        assertEquals("Success: LoRA adapter 'max' removed successfully.", unload.body());
        assertFalse(adapter("lora-name-max").path("pinned").asBoolean(), "unpinned once unloaded: evictable when idle");
        assertFalse(models().contains("max"), models().toString());
        Reply gone = post("/v1/completions", "{\"model\":\"max\",\"prompt\":\"x\",\"max_tokens\":1}", KEY);
        assertEquals(404, gone.status(), "the name no longer stands for the adapter: " + gone.body());
        assertEquals(viaId, complete("lora-name-max"), "the adapter itself still serves by its id");
    }

    @Test
    void pathsTakeAnySourceAndPinsAreCountedPerHolder() {
        // lora-name-sue is preloaded: registering and unloading it must leave the preload's pin
        Reply load = post("/v1/load_lora_adapter", "{\"lora_name\":\"sue\",\"lora_path\":\"lora-name-sue\"}", KEY);
        assertEquals(200, load.status(), load.body());
        assertTrue(complete("sue").startsWith(" named Sue"), complete("sue"));
        assertEquals(200, post("/v1/unload_lora_adapter", "{\"lora_name\":\"sue\"}", KEY).status());
        assertTrue(adapter("lora-name-sue").path("pinned").asBoolean(), "the preload list still pins it");

        // two names for one adapter, the second by its path through the default source
        String path = SharedAssets.root().resolve("adapters/stories260K/lora-name-max").toString();
        assertEquals(200, post("/v1/load_lora_adapter", "{\"lora_name\":\"max\",\"lora_path\":\"lora-name-max\"}", KEY).status());
        assertEquals(200, post("/v1/load_lora_adapter", "{\"lora_name\":\"max-again\",\"lora_path\":\"" + path + "\"}", KEY).status());
        assertEquals(complete("max"), complete("max-again"));
        assertEquals(200, post("/v1/unload_lora_adapter", "{\"lora_name\":\"max\"}", KEY).status());
        assertTrue(adapter("lora-name-max").path("pinned").asBoolean(), "max-again still pins it");
        assertEquals(200, post("/v1/unload_lora_adapter", "{\"lora_name\":\"max-again\"}", KEY).status());
        assertFalse(adapter("lora-name-max").path("pinned").asBoolean());
    }

    @Test
    void refusalsAnswerAsVllmDoesAndChangeNothing() {
        List<String> before = models();
        String load = "/v1/load_lora_adapter";
        assertVllmError(post(load, "{\"lora_name\":\"max\"}", KEY), 400, "InvalidUserInput", "Both 'lora_name' and 'lora_path' must be provided.");
        assertVllmError(post(load, "{\"lora_path\":\"lora-name-max\"}", KEY), 400, "InvalidUserInput", "Both 'lora_name' and 'lora_path'");
        assertVllmError(post(load, "{\"lora_name\":\"\",\"lora_path\":\"lora-name-max\"}", KEY), 400, "InvalidUserInput", "Both");
        assertVllmError(post(load, "{\"lora_name\":\"max\",", KEY), 400, "InvalidUserInput", "not valid JSON");
        assertVllmError(post(load, "[]", KEY), 400, "InvalidUserInput", "JSON object");
        assertVllmError(post(load, "{\"lora_name\":7,\"lora_path\":\"lora-name-max\"}", KEY), 400, "InvalidUserInput", "`lora_name`");
        assertVllmError(post(load, "{\"lora_name\":\"max\",\"lora_paht\":\"lora-name-max\"}", KEY), 400, "InvalidUserInput", "did you mean `lora_path`");
        assertVllmError(post(load, "{\"lora_name\":\"max\",\"lora_path\":\"lora-name-max\",\"load_inplace\":true}", KEY), 400,
                "InvalidUserInput", "load_inplace");
        assertVllmError(post(load, "{\"lora_name\":\"max\",\"lora_path\":\"lora-name-max\",\"base_model_name\":\"llama-3\"}", KEY), 400,
                "InvalidUserInput", "not the served model");
        assertVllmError(post(load, "{\"lora_name\":\"a,b\",\"lora_path\":\"lora-name-max\"}", KEY), 400, "InvalidUserInput", "commas");
        assertVllmError(post(load, "{\"lora_name\":\"stories260K\",\"lora_path\":\"lora-name-max\"}", KEY), 400, "InvalidUserInput", "base model");
        assertVllmError(post(load, "{\"lora_name\":\"max\",\"lora_path\":\"nosuch:lora-name-max\"}", KEY), 400, "InvalidUserInput",
                "unknown adapter source nosuch");
        assertVllmError(post(load, "{\"lora_name\":\"max\",\"lora_path\":\"https://example.com/lora\"}", KEY), 400, "InvalidUserInput",
                "unknown adapter source https");
        assertVllmError(post(load, "{\"lora_name\":\"ghost\",\"lora_path\":\"local:no-such-adapter\"}", KEY), 404, "NotFoundError", "no-such-adapter");
        assertEquals(404, post("/v1/completions", "{\"model\":\"ghost\",\"prompt\":\"x\",\"max_tokens\":1}", KEY).status(),
                "a failed load registers nothing");
        assertEquals(before, models(), "no refusal changed the models listed");

        assertEquals(200, post(load, "{\"lora_name\":\"max\",\"lora_path\":\"lora-name-max\"}", KEY).status());
        assertVllmError(post(load, "{\"lora_name\":\"max\",\"lora_path\":\"lora-name-sue\"}", KEY), 400, "InvalidUserInput",
                "The lora adapter 'max' has already been loaded.");
        assertEquals(complete("lora-name-max"), complete("max"), "the taken name still serves the first adapter");

        String unload = "/v1/unload_lora_adapter";
        assertVllmError(post(unload, "{}", KEY), 400, "InvalidUserInput", "'lora_name' needs to be provided");
        assertVllmError(post(unload, "{\"lora_name\":\"nobody\"}", KEY), 404, "NotFoundError", "The lora adapter 'nobody' cannot be found.");
        assertVllmError(post(unload, "{\"lora_name\":\"max\",\"lora_int_id\":1}", KEY), 400, "InvalidUserInput", "lora_int_id");
        assertTrue(models().contains("max"), "refused unloads left it registered");

        Reply text = send(HttpRequest.newBuilder(base.resolve(load)).header("Content-Type", "text/plain")
                .POST(HttpRequest.BodyPublishers.ofString("{\"lora_name\":\"x\",\"lora_path\":\"lora-name-max\"}")), KEY);
        assertEquals(415, text.status(), text.body());
    }

    @Test
    void bothRoutesNeedTheServerCredential() {
        for (String path : List.of("/v1/load_lora_adapter", "/v1/unload_lora_adapter")) {
            Reply none = post(path, "{\"lora_name\":\"max\",\"lora_path\":\"lora-name-max\"}", null);
            assertEquals(401, none.status(), path + ": " + none.body());
            assertEquals("authentication_error", none.json().path("error").path("type").asText(), none.body());
            Reply wrong = post(path, "{\"lora_name\":\"max\",\"lora_path\":\"lora-name-max\"}", "lx-wrong");
            assertEquals(401, wrong.status(), path + ": " + wrong.body());
        }
        assertFalse(models().contains("max"), "a refused load registered nothing");
    }
}
