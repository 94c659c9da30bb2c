package dev.loraxj.api;

import com.fasterxml.jackson.databind.JsonNode;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.net.URI;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The default setup: stories260K has no chat template and none is configured, so chat uses the
 * bundled continuation template.
 */
@QuarkusTest
class OpenaiDefaultTemplateApiTest {

    @TestHTTPResource("/")
    URI base;
    TestClient client;

    @BeforeEach
    void ready() {
        client = new TestClient(base);
        client.awaitReady();
    }

    /** Greedy text for a raw prompt, through LoRAX's route: what the conversation should read as. */
    String greedy(String prompt, int tokens) {
        return client.post("/generate", GenerateApiTest.body(prompt, "\"max_new_tokens\":" + tokens)).json().path("generated_text").asText();
    }

    String chat(String messages) {
        TestClient.Reply r = client.post("/v1/chat/completions", "{\"model\":\"\",\"temperature\":0,\"max_tokens\":12,\"messages\":" + messages + "}");
        assertEquals(200, r.status(), r.body());
        return r.json().path("choices").get(0).path("message").path("content").asText();
    }

    @Test
    void chatContinuesTheConversationAsOnePassage() {
        String expected = greedy("Once upon a time, there was a little girl", 12);
        assertTrue(expected.startsWith(" named Lily"), expected);
        assertEquals(expected, chat("[{\"role\":\"user\",\"content\":\"Once upon a time, there was a little girl\"}]"));
        assertEquals(expected, chat("[{\"role\":\"system\",\"content\":\"Tell a story.\"},"
                + "{\"role\":\"user\",\"content\":\"Once upon a time,\"},"
                + "{\"role\":\"assistant\",\"content\":\" there was a little girl \"}]"),
                "the system message left out, the turns joined by one space");
    }

    @Test
    void aRoleTheDefaultCannotRenderIsAClear400AndCompletionsStillWork() {
        TestClient.Reply chat = client.post("/v1/chat/completions", "{\"model\":\"\",\"messages\":[{\"role\":\"tool\",\"content\":\"hi\",\"tool_call_id\":\"1\"}]}");
        assertEquals(400, chat.status(), chat.body());
        JsonNode error = chat.json().path("error");
        assertTrue(error.path("message").asText().contains("no chat template of its own"), chat.body());
        assertEquals("invalid_request_error", error.path("type").asText());
        assertEquals("messages", error.path("param").asText());
        TestClient.Reply completion = client.post("/v1/completions", "{\"model\":\"\",\"prompt\":\"Tom\",\"max_tokens\":3}");
        assertEquals(200, completion.status(), completion.body());
        assertEquals(3, completion.json().path("usage").path("completion_tokens").asInt());
    }
}
