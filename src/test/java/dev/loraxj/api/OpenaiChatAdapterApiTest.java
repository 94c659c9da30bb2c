package dev.loraxj.api;

import com.fasterxml.jackson.databind.JsonNode;
import dev.loraxj.SharedAssets;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A chat whose adapter ships its own chat template: the parameters are checked first, the adapter
 * is held (access, then load), the conversation is rendered with its template and only then is the
 * prompt checked; the hold ends with the request, however it ends.
 */
@QuarkusTest
class OpenaiChatAdapterApiTest {

    /** lora-name-max's weights with a template of its own, which appends " named" to the conversation. */
    static final Path ADAPTER = AdapterApiTest.TEST_ADAPTERS.resolve("chat-template-max");
    static final String TEXT = "Once upon a time, there was a little girl";

    @TestHTTPResource("/")
    URI base;
    TestClient client;

    @BeforeAll
    static void adapter() throws Exception {
        Files.createDirectories(ADAPTER);
        for (String f : new String[] {"adapter_config.json", "adapter_model.safetensors"}) {
            Files.copy(SharedAssets.adapter("lora-name-max").resolve(f), ADAPTER.resolve(f), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        }
        Files.writeString(ADAPTER.resolve("tokenizer_config.json"),
                "{\"chat_template\":\"{% for m in messages %}{{ m['content'] }}{% endfor %} named\"}");
    }

    @BeforeEach
    void ready() {
        client = new TestClient(base);
        client.awaitReady();
    }

    static String chat(String model, String more) {
        return "{\"model\":" + GenerateApiTest.quote(model) + ",\"messages\":[{\"role\":\"user\",\"content\":\"" + TEXT + "\"}]"
                + (more.isEmpty() ? "" : "," + more) + "}";
    }

    static String local(String inputs, String parameters) {
        return "{\"inputs\":" + GenerateApiTest.quote(inputs) + ",\"parameters\":{\"adapter_source\":\"local\",\"adapter_id\":"
                + GenerateApiTest.quote(ADAPTER.toString()) + "," + parameters + "}}";
    }

    JsonNode listed(String id) {
        for (JsonNode a : client.get("/adapters").json().path("adapters")) {
            if (a.path("id").asText().equals(id)) {
                return a;
            }
        }
        return null;
    }

    @Test
    void theAdaptersTemplateRendersThePromptWhoseLimitsAreCheckedAfterRendering() {
        TestClient.Reply lorax = client.post("/generate", local(TEXT + " named", "\"max_new_tokens\":6"));
        assertEquals(200, lorax.status(), lorax.body());
        TestClient.Reply r = client.post("/v1/chat/completions", chat(ADAPTER.toString(), "\"max_tokens\":6,\"temperature\":0,\"n\":2"));
        assertEquals(200, r.status(), r.body());
        int promptTokens = r.json().path("usage").path("prompt_tokens").asInt();
        assertEquals(lorax.headers().firstValue("x-prompt-tokens").orElse(""), String.valueOf(promptTokens),
                "the adapter's template rendered the prompt");
        for (JsonNode choice : r.json().path("choices")) {
            assertEquals(lorax.json().path("generated_text").asText(), choice.path("message").path("content").asText());
        }
        // the limit that depends on the prompt is checked on the rendered prompt, with its own length
        int maxTotal = client.get("/info").json().path("max_total_tokens").asInt();
        TestClient.Reply tooLong = client.post("/v1/chat/completions", chat(ADAPTER.toString(), "\"max_tokens\":" + (maxTotal - 1)));
        assertEquals(400, tooLong.status(), tooLong.body());
        String message = tooLong.json().path("error").path("message").asText();
        assertTrue(message.contains("`max_tokens`") && message.contains("Given: " + promptTokens + " "), message);
        JsonNode held = listed("chat-template-max");
        assertTrue(held != null, client.get("/adapters").body());
        assertEquals(0, held.path("leases").asInt(), "every choice, and the refused request, released its hold");
    }

    @Test
    void badParametersAreRefusedBeforeTheAdapterIsTouched() throws Exception {
        Path fresh = AdapterApiTest.TEST_ADAPTERS.resolve("chat-never-loaded");
        Files.createDirectories(fresh);
        for (String f : new String[] {"adapter_config.json", "adapter_model.safetensors"}) {
            Files.copy(SharedAssets.adapter("lora-name-sue").resolve(f), fresh.resolve(f), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        }
        TestClient.Reply r = client.post("/v1/chat/completions", chat(fresh.toString(), "\"top_k\":-1"));
        assertEquals(400, r.status(), r.body());
        assertTrue(r.json().path("error").path("message").asText().contains("top_k"), r.body());
        assertEquals(null, listed("chat-never-loaded"), "the adapter was not loaded for a request refused on its parameters");
    }

    @Test
    void aClientThatLeavesAStreamingChatReleasesItsHold() throws Exception {
        String body = chat(ADAPTER.toString(), "\"max_tokens\":400,\"ignore_eos_token\":true,\"stream\":true");
        try (Socket s = new Socket("127.0.0.1", base.getPort())) {
            s.setSoTimeout(RawHttp.TIMEOUT_MS);
            OutputStream out = s.getOutputStream();
            out.write(RawHttp.post("/v1/chat/completions", "application/json", body.getBytes(StandardCharsets.UTF_8)));
            out.flush();
            InputStream in = s.getInputStream();
            StringBuilder seen = new StringBuilder();
            while (!seen.toString().contains("data:")) {
                int b = in.read();
                assertTrue(b >= 0, "the stream ended before its first event: " + seen);
                seen.append((char) b);
            }
            assertTrue(seen.toString().startsWith("HTTP/1.1 200"), seen.toString());
        } // the client leaves mid-stream
        long deadline = System.nanoTime() + 10_000_000_000L;
        JsonNode held = listed("chat-template-max");
        while ((held == null || held.path("leases").asInt() != 0) && System.nanoTime() < deadline) {
            Thread.sleep(20);
            held = listed("chat-template-max");
        }
        assertTrue(held != null, client.get("/adapters").body());
        assertEquals(0, held.path("leases").asInt(), "the hold ended with the request: " + held);
        assertFalse(held.path("pinned").asBoolean());
    }
}
