package dev.loraxj.api;

import com.fasterxml.jackson.databind.JsonNode;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import org.eclipse.microprofile.config.ConfigProvider;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.net.URI;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The base model's name on the bundled defaults: the model directory's last segment, never a path. */
@QuarkusTest
class ServedModelApiTest {

    static final String PROMPT = "Once upon a time";

    @TestHTTPResource("/")
    URI base;
    TestClient client;

    @BeforeEach
    void ready() {
        client = new TestClient(base);
        client.awaitReady();
    }

    static String modelId() {
        return ConfigProvider.getConfig().getValue("loraxj.model-id", String.class);
    }

    @Test
    void theServedNameIsTheModelDirectorysLastSegment() {
        assertEquals("stories260K", client.get("/info").json().path("model_id").asText());
        assertEquals("stories260K", client.get("/v1/models").json().path("data").get(0).path("id").asText());
        assertEquals("stories260K", client.post("/generate", "{\"inputs\":\"a\",\"parameters\":{\"max_new_tokens\":1}}")
                .headers().firstValue("x-model-id").orElse(""));
    }

    @Test
    void theBaseModelAnswersToItsNameItsFullIdAndEmpty() {
        String expected = null;
        for (String model : new String[]{"stories260K", modelId(), ""}) {
            TestClient.Reply r = client.post("/v1/completions", "{\"model\":" + GenerateApiTest.quote(model)
                    + ",\"prompt\":\"" + PROMPT + "\",\"max_tokens\":8,\"temperature\":0}");
            assertEquals(200, r.status(), model + ": " + r.body());
            JsonNode json = r.json();
            assertEquals("stories260K", json.path("model").asText(), "the response names the base model, not its path");
            String text = json.path("choices").get(0).path("text").asText();
            if (expected == null) {
                expected = client.post("/generate", GenerateApiTest.body(PROMPT, "\"max_new_tokens\":8"))
                        .json().path("generated_text").asText();
            }
            assertEquals(expected, text, "the base model, greedy, as /generate without an adapter: " + model);
        }
        for (String adapter : new String[]{"stories260K", modelId()}) {
            TestClient.Reply r = client.post("/generate", GenerateApiTest.body(PROMPT, "\"max_new_tokens\":8,\"adapter_id\":"
                    + GenerateApiTest.quote(adapter)));
            assertEquals(200, r.status(), r.body());
            assertEquals(expected, r.json().path("generated_text").asText());
            assertTrue(r.headers().firstValue("x-adapter-id").isEmpty(), "no adapter: " + r.headers().map());
        }
    }
}
