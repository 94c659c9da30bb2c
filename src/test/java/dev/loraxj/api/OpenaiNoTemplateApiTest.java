package dev.loraxj.api;

import com.fasterxml.jackson.databind.JsonNode;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.net.URI;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The default setup: stories260K has no chat template and none is configured. */
@QuarkusTest
class OpenaiNoTemplateApiTest {

    @TestHTTPResource("/")
    URI base;
    TestClient client;

    @BeforeEach
    void ready() {
        client = new TestClient(base);
        client.awaitReady();
    }

    @Test
    void chatWithoutATemplateIsAClear400AndCompletionsStillWork() {
        TestClient.Reply chat = client.post("/v1/chat/completions", "{\"model\":\"\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");
        assertEquals(400, chat.status(), chat.body());
        JsonNode error = chat.json().path("error");
        assertTrue(error.path("message").asText().contains("no chat template"), chat.body());
        assertEquals("invalid_request_error", error.path("type").asText());
        TestClient.Reply completion = client.post("/v1/completions", "{\"model\":\"\",\"prompt\":\"Tom\",\"max_tokens\":3}");
        assertEquals(200, completion.status(), completion.body());
        assertEquals(3, completion.json().path("usage").path("completion_tokens").asInt());
    }
}
