package dev.loraxj.api;

import com.fasterxml.jackson.databind.JsonNode;
import dev.loraxj.SharedAssets;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The OpenAI routes' wire format over plain HTTP: SSE framing, stop trimming, echo, errors. */
@QuarkusTest
@TestProfile(OpenaiProfile.class)
class OpenaiWireTest {

    static final String PROMPT = OpenaiSdkTest.PROMPT;

    @TestHTTPResource("/")
    URI base;
    TestClient client;

    @BeforeEach
    void ready() {
        client = new TestClient(base);
        client.awaitReady();
    }

    static String completion(String fields) {
        return "{\"model\":\"\",\"prompt\":" + GenerateApiTest.quote(PROMPT) + "," + fields + "}";
    }

    static String chat(String messages, String fields) {
        return "{\"model\":\"\",\"messages\":" + messages + (fields.isEmpty() ? "" : "," + fields) + "}";
    }

    static String text(List<JsonNode> events) {
        StringBuilder sb = new StringBuilder();
        for (JsonNode e : events) {
            for (JsonNode c : e.path("choices")) {
                sb.append(c.has("delta") ? c.path("delta").path("content").asText("") : c.path("text").asText(""));
            }
        }
        return sb.toString();
    }

    @Test
    void theStopSequenceIsNotReturnedWholeOrStreamed() throws Exception {
        String golden = Files.readString(SharedAssets.golden("greedy256.txt"), StandardCharsets.UTF_8);
        // the greedy continuation is " named Lily. ..."; "d Li" spans tokens
        TestClient.Reply whole = client.post("/v1/completions", completion("\"temperature\":0,\"max_tokens\":40,\"stop\":\"d Li\""));
        assertEquals(200, whole.status(), whole.body());
        JsonNode choice = whole.json().path("choices").get(0);
        assertEquals(" name", choice.path("text").asText());
        assertEquals("stop", choice.path("finish_reason").asText());
        assertTrue(golden.startsWith(PROMPT + choice.path("text").asText() + "d Li"));
        TestClient.Reply stream = client.post("/v1/completions",
                completion("\"temperature\":0,\"max_tokens\":40,\"stop\":[\"d Li\"],\"stream\":true"));
        assertEquals(" name", text(TestClient.sseEvents(stream.body().replace("data: [DONE]", ""))));
        TestClient.Reply chat = client.post("/v1/chat/completions", chat("[{\"role\":\"user\",\"content\":" + GenerateApiTest.quote(PROMPT) + "}]",
                "\"temperature\":0,\"max_tokens\":40,\"stop\":[\"zzz\",\"Lily\"],\"stream\":true"));
        assertEquals(" named ", text(TestClient.sseEvents(chat.body().replace("data: [DONE]", ""))));
    }

    @Test
    void streamsEndWithDoneAndUsageOnlyWhenAsked() {
        TestClient.Reply r = client.post("/v1/chat/completions", chat("[{\"role\":\"user\",\"content\":\"Tom\"}]",
                "\"max_tokens\":5,\"stream\":true,\"stream_options\":{\"include_usage\":true}"));
        assertEquals(200, r.status(), r.body());
        assertTrue(r.headers().firstValue("content-type").orElse("").startsWith("text/event-stream"));
        assertTrue(r.body().endsWith("data: [DONE]\n\n"), r.body());
        List<JsonNode> events = TestClient.sseEvents(r.body().replace("data: [DONE]", ""));
        JsonNode usage = events.getLast();
        assertEquals(0, usage.path("choices").size());
        assertEquals(5, usage.path("usage").path("completion_tokens").asInt());
        for (JsonNode e : events) {
            assertEquals("chat.completion.chunk", e.path("object").asText());
            assertEquals(events.getFirst().path("id").asText(), e.path("id").asText());
        }
        TestClient.Reply plain = client.post("/v1/completions", completion("\"max_tokens\":3,\"stream\":true"));
        for (JsonNode e : TestClient.sseEvents(plain.body().replace("data: [DONE]", ""))) {
            assertEquals("text_completion", e.path("object").asText());
            assertFalse(e.has("usage"), e.toString());
        }
    }

    @Test
    void echoPrependsThePromptAndItsTokensLogprobs() {
        TestClient.Reply r = client.post("/v1/completions", completion("\"temperature\":0,\"max_tokens\":3,\"echo\":true,\"logprobs\":0"));
        assertEquals(200, r.status(), r.body());
        JsonNode choice = r.json().path("choices").get(0);
        assertTrue(choice.path("text").asText().startsWith(PROMPT), choice.toString());
        JsonNode lp = choice.path("logprobs");
        assertEquals(13 + 3, lp.path("tokens").size());
        assertTrue(lp.path("token_logprobs").get(0).isNull(), "the first prompt token has no logprob");
        JsonNode prefill = client.post("/generate", GenerateApiTest.body(PROMPT, "\"max_new_tokens\":1,\"decoder_input_details\":true"))
                .json().path("details").path("prefill");
        for (int t = 1; t < 13; t++) {
            assertEquals(prefill.get(t).path("logprob").asDouble(), lp.path("token_logprobs").get(t).asDouble(), 1e-6, "prompt token " + t);
        }
        assertEquals(PROMPT.length(), lp.path("text_offset").get(13).asInt(), "generated tokens start after the prompt");
    }

    @Test
    void eachChosenTokenIsAmongItsOwnTopLogprobs() {
        TestClient.Reply r = client.post("/v1/completions", completion("\"temperature\":0,\"max_tokens\":24,\"logprobs\":5"));
        assertEquals(200, r.status(), r.body());
        JsonNode choice = r.json().path("choices").get(0);
        JsonNode lp = choice.path("logprobs");
        assertEquals(24, lp.path("tokens").size(), r.body());
        assertEquals(choice.path("text").asText(), String.join("", TestClient.JSON.convertValue(lp.path("tokens"), String[].class)));
        for (int i = 0; i < 24; i++) {
            String token = lp.path("tokens").get(i).asText();
            JsonNode top = lp.path("top_logprobs").get(i);
            assertTrue(top.has(token), "token " + i + " " + GenerateApiTest.quote(token) + " missing from " + top);
            assertEquals(lp.path("token_logprobs").get(i).asDouble(), top.path(token).asDouble(), 0.0, "token " + i);
        }

        TestClient.Reply c = client.post("/v1/chat/completions", chat("[{\"role\":\"user\",\"content\":" + GenerateApiTest.quote(PROMPT) + "}]",
                "\"temperature\":0,\"max_tokens\":24,\"logprobs\":true,\"top_logprobs\":5"));
        assertEquals(200, c.status(), c.body());
        for (JsonNode t : c.json().path("choices").get(0).path("logprobs").path("content")) {
            boolean found = false;
            for (JsonNode a : t.path("top_logprobs")) {
                if (a.path("token").asText().equals(t.path("token").asText())) {
                    assertEquals(t.path("logprob").asDouble(), a.path("logprob").asDouble(), 0.0, t.toString());
                    assertEquals(t.path("bytes"), a.path("bytes"), t.toString());
                    found = true;
                }
            }
            assertTrue(found, "the chosen token is missing from its top_logprobs: " + t);
        }
    }

    @Test
    void errorsHaveOpenaisShape() {
        TestClient.Reply bad = client.post("/v1/chat/completions", chat("[{\"role\":\"user\",\"content\":\"hi\"}]", "\"n\":0"));
        assertEquals(400, bad.status());
        JsonNode e = bad.json().path("error");
        assertEquals("invalid_request_error", e.path("type").asText());
        assertEquals("n", e.path("param").asText());
        assertTrue(e.has("code") && e.has("message"), bad.body());
        TestClient.Reply notJson = client.post("/v1/completions", "{\"prompt\":");
        assertEquals(400, notJson.status());
        TestClient.Reply typed = client.post("/v1/completions", completion("\"max_tokens\":\"ten\""));
        assertEquals(400, typed.status());
        assertEquals("max_tokens", typed.json().path("error").path("param").asText(), typed.body());
        TestClient.Reply missing = client.post("/v1/chat/completions", "{\"model\":\"../../etc\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");
        assertTrue(missing.status() == 404 || missing.status() == 400, missing.body());
        assertEquals("model", missing.json().path("error").path("param").asText());
    }

    @Test
    void theTemplatesOwnExceptionIsA400WithItsMessage() {
        TestClient.Reply r = client.post("/v1/chat/completions", chat("[{\"role\":\"robot\",\"content\":\"beep\"}]", ""));
        assertEquals(400, r.status(), r.body());
        assertEquals("Unknown role: robot", r.json().path("error").path("message").asText());
        assertEquals("messages", r.json().path("error").path("param").asText());
    }

    @Test
    void textPartsAndExtraLoraxFieldsAreAccepted() {
        TestClient.Reply parts = client.post("/v1/chat/completions", chat("[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":"
                + GenerateApiTest.quote(PROMPT) + "}]}]", "\"temperature\":0,\"max_tokens\":3,\"top_k\":5,\"repetition_penalty\":1.0,"
                + "\"ignore_eos_token\":true,\"adapter_source\":\"local\",\"user\":\"u1\",\"logit_bias\":{\"2\":-100}"));
        assertEquals(200, parts.status(), parts.body());
        assertTrue(parts.json().path("choices").get(0).path("message").path("content").asText().startsWith(" named"), parts.body());
        TestClient.Reply image = client.post("/v1/chat/completions", chat("[{\"role\":\"user\",\"content\":[{\"type\":\"image_url\","
                + "\"image_url\":{\"url\":\"x\"}}]}]", ""));
        assertEquals(400, image.status());
    }

    @Test
    void severalPromptsGiveChoicesInPromptOrder() {
        TestClient.Reply r = client.post("/v1/completions", "{\"prompt\":[\"Tom\",\"Lily\"],\"n\":2,\"temperature\":0,\"max_tokens\":4}");
        assertEquals(200, r.status(), r.body());
        JsonNode choices = r.json().path("choices");
        assertEquals(4, choices.size());
        assertEquals(choices.get(0).path("text"), choices.get(1).path("text"), "greedy: the same text twice");
        assertEquals(choices.get(2).path("text"), choices.get(3).path("text"));
        String tom = client.post("/generate", GenerateApiTest.body("Tom", "\"max_new_tokens\":4")).json().path("generated_text").asText();
        assertEquals(tom, choices.get(0).path("text").asText());
        assertEquals(16, r.json().path("usage").path("completion_tokens").asInt());
    }
}
