package dev.loraxj.api;

import com.fasterxml.jackson.databind.JsonNode;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusIntegrationTest;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The npm clients a newcomer reaches for, unchanged, against the packaged jar on the bundled defaults:
 * openai (chat whole and streamed, completions with logprobs, models list and retrieve),
 * {@code @huggingface/inference} (textGeneration and textGenerationStream with an endpointUrl) and
 * {@code @langchain/openai} (ChatOpenAI). They are installed from the npm registry into the build
 * directory, never into the repository. Each answer is checked against the same request sent by our
 * own client, so what is tested is the clients' path through the server, not a fixed text.
 */
@QuarkusIntegrationTest
class NpmClientsIT {

    static final String[] PACKAGES = {"openai@6.49.0", "@huggingface/inference@4.13.30", "@langchain/openai@1.5.8"};
    static final Path DIR = Path.of("target", "npm-clients");

    @TestHTTPResource("/")
    URI base;

    @Test
    void openaiHuggingfaceAndLangchainClientsWorkUnchanged() throws Exception {
        TestClient client = new TestClient(base);
        client.awaitReady();
        install();
        try (InputStream script = NpmClientsIT.class.getResourceAsStream("/npm-clients/clients.mjs")) {
            Files.copy(script, DIR.resolve("clients.mjs"), StandardCopyOption.REPLACE_EXISTING);
        }
        String url = base.toString().replaceAll("/$", "");
        Map<String, JsonNode> seen = new HashMap<>();
        for (String line : run(List.of("node", "clients.mjs", url), 180)) {
            if (line.startsWith("{\"name\"")) {
                JsonNode n = TestClient.JSON.readTree(line);
                seen.put(n.path("name").asText(), n.path("value"));
            }
        }
        String chatBody = "{\"model\":\"lora-name-max\",\"messages\":[{\"role\":\"user\",\"content\":\"Once upon a time, there was a little girl\"}],"
                + "\"max_tokens\":12,\"temperature\":0}";
        String chat = client.post("/v1/chat/completions", chatBody).json().path("choices").get(0).path("message").path("content").asText();
        assertTrue(chat.contains("Max"), "the adapter names the heroine: " + chat);
        assertEquals(chat, text(seen, "openai.chat"));
        assertEquals(chat, text(seen, "openai.chat.stream"), "the streamed deltas add up to the whole answer");
        assertEquals(chat, text(seen, "langchain.invoke"));

        String completion = client.post("/v1/completions", "{\"model\":\"stories260K\",\"prompt\":\"Once upon a time, there was a little girl\","
                + "\"max_tokens\":6,\"temperature\":0}").json().path("choices").get(0).path("text").asText();
        assertEquals(completion, text(seen, "openai.completions"));
        JsonNode logprobs = seen.get("openai.completions.logprobs");
        for (int i = 0; i < logprobs.path("tokens").size(); i++) {
            String token = logprobs.path("tokens").get(i).asText();
            JsonNode top = logprobs.path("top_logprobs").get(i);
            assertTrue(top.has(token), "token " + i + " '" + token + "' is among its own top_logprobs: " + top);
            assertEquals(logprobs.path("token_logprobs").get(i).asDouble(), top.path(token).asDouble(), 0.0);
        }
        assertTrue(seen.get("openai.models.list").toString().contains("\"stories260K\""), seen.get("openai.models.list").toString());
        assertEquals("stories260K", text(seen, "openai.models.retrieve"));
        assertEquals(completion, text(seen, "hf.textGeneration"), "@huggingface/inference with an endpointUrl");
        assertEquals(completion, text(seen, "hf.textGenerationStream"));
    }

    private static String text(Map<String, JsonNode> seen, String name) {
        JsonNode v = seen.get(name);
        if (v == null) {
            fail("the npm script reported nothing for " + name + "; it reported " + seen.keySet());
        }
        return v.asText();
    }

    /** npm install into target/npm-clients (once per build directory). */
    private static void install() throws Exception {
        if (Files.isDirectory(DIR.resolve("node_modules/openai")) && Files.isDirectory(DIR.resolve("node_modules/@langchain/openai"))
                && Files.isDirectory(DIR.resolve("node_modules/@huggingface/inference"))) {
            return;
        }
        Files.createDirectories(DIR);
        Files.writeString(DIR.resolve("package.json"), "{\"name\":\"loraxj-npm-clients\",\"private\":true,\"type\":\"module\"}");
        List<String> cmd = new ArrayList<>(List.of("npm", "install", "--no-audit", "--no-fund", "--no-save"));
        cmd.addAll(List.of(PACKAGES));
        run(cmd, 400);
    }

    private static List<String> run(List<String> cmd, long seconds) throws Exception {
        Process p;
        try {
            p = new ProcessBuilder(cmd).directory(DIR.toFile()).redirectErrorStream(true).start();
        } catch (IOException e) {
            throw new AssertionError(cmd.getFirst() + " is needed for this test (Node 20 and npm, with the npm registry reachable): " + e.getMessage(), e);
        }
        Process started = p;
        // read while it runs, so a full pipe never blocks it
        java.util.concurrent.CompletableFuture<byte[]> output = java.util.concurrent.CompletableFuture.supplyAsync(() -> {
            try {
                return started.getInputStream().readAllBytes();
            } catch (IOException e) {
                return new byte[0];
            }
        });
        if (!p.waitFor(seconds, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            fail(String.join(" ", cmd) + " did not finish within " + seconds + " s");
        }
        String text = new String(output.get(30, TimeUnit.SECONDS), StandardCharsets.UTF_8);
        assertEquals(0, p.exitValue(), String.join(" ", cmd) + " failed:\n" + text);
        return text.lines().toList();
    }
}
