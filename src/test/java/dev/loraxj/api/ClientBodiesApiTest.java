package dev.loraxj.api;

import com.fasterxml.jackson.databind.JsonNode;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The request bodies real clients send, byte for byte as they build them, answered as those
 * clients expect.
 */
@QuarkusTest
@TestProfile(OpenaiProfile.class)
class ClientBodiesApiTest {

    static final String PROMPT = OpenaiSdkTest.PROMPT;

    @TestHTTPResource("/")
    URI base;
    TestClient client;

    @BeforeEach
    void ready() {
        client = new TestClient(base);
        client.awaitReady();
    }

    /** The base model's greedy text, through LoRAX's own route. */
    String greedy(int tokens) {
        return client.post("/generate", GenerateApiTest.body(PROMPT, "\"max_new_tokens\":" + tokens)).json().path("generated_text").asText();
    }

    @Test
    void huggingfaceInferenceWithAnEndpointUrlGetsTheServersDefault() {
        String endpoint = base.toString().replaceAll("/$", "");
        String expected = greedy(12);
        // @huggingface/inference 4.x textGeneration({endpointUrl, inputs, parameters: {max_new_tokens: 12, temperature: 0}})
        for (String url : List.of(endpoint, endpoint + "/v1", "https://my-endpoint.example.com")) {
            TestClient.Reply r = client.post("/v1/completions", "{\"model\":" + GenerateApiTest.quote(url)
                    + ",\"max_tokens\":12,\"temperature\":0,\"prompt\":" + GenerateApiTest.quote(PROMPT) + "}");
            assertEquals(200, r.status(), url + ": " + r.body());
            assertEquals(expected, r.json().path("choices").get(0).path("text").asText(), url);
            assertEquals("stories260K", r.json().path("model").asText(), "the served name, not the URL");
        }
        // textGenerationStream: the same body with stream: true
        TestClient.Reply s = client.post("/v1/completions", "{\"model\":" + GenerateApiTest.quote(endpoint)
                + ",\"max_tokens\":12,\"temperature\":0,\"prompt\":" + GenerateApiTest.quote(PROMPT) + ",\"stream\":true}");
        assertEquals(200, s.status(), s.body());
        assertEquals(expected, OpenaiWireTest.text(TestClient.sseEvents(s.body().replace("data: [DONE]", ""))));
        // chatCompletion({endpointUrl, messages, max_tokens: 12, temperature: 0}) posts to /v1/chat/completions
        TestClient.Reply c = client.post("/v1/chat/completions", "{\"messages\":[{\"role\":\"user\",\"content\":"
                + GenerateApiTest.quote(PROMPT) + "}],\"max_tokens\":12,\"temperature\":0,\"model\":" + GenerateApiTest.quote(endpoint) + "}");
        assertEquals(200, c.status(), c.body());
        assertEquals(expected, c.json().path("choices").get(0).path("message").path("content").asText(),
                "the story template renders the user's text as the prompt");
    }
}
