package dev.loraxj.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.loraxj.grammar.RandomSchemas;
import dev.loraxj.grammar.SchemaJudge;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * JSON that always parses, through the HTTP API: 200 generated schemas (nested, recursive, with
 * formats, patterns, bounds, enums, anyOf/oneOf and $ref), sampled at temperature 1 with a seed,
 * 32 clients at once so the engine batches them, each output held to networknt's validator; a
 * sample of them rerun alone gives the same text; refusals are 422 and name the keyword.
 */
@QuarkusTest
class StructuredOutputApiTest {

    @TestHTTPResource("/")
    URI base;

    private static String body(JsonNode schema, long seed, String adapter) {
        ObjectNode params = TestClient.JSON.createObjectNode().put("do_sample", true).put("temperature", 1.0).put("seed", seed)
                .put("max_new_tokens", 300);
        if (adapter != null) {
            params.put("adapter_id", adapter).put("adapter_source", "local");
        }
        params.putObject("response_format").put("type", "json_object").set("schema", schema);
        ObjectNode body = TestClient.JSON.createObjectNode().put("inputs", "Once upon a time, there was a little girl");
        body.set("parameters", params);
        return body.toString();
    }

    @Test
    void twoHundredRandomSchemasEachGiveValidJsonUnderBatching() throws Exception {
        TestClient client = new TestClient(base);
        String[] adapters = {null, dev.loraxj.SharedAssets.adapter("lora-name-max").toString()};
        List<JsonNode> schemas = new ArrayList<>();
        List<Future<TestClient.Reply>> replies = new ArrayList<>();
        ExecutorService clients = Executors.newFixedThreadPool(32);
        try {
            for (long seed = 0; seed < 200; seed++) {
                JsonNode schema = new RandomSchemas(1000 + seed).next();
                schemas.add(schema);
                String body = body(schema, seed, adapters[(int) (seed % 2)]);
                replies.add(clients.submit(() -> client.post("/generate", body)));
            }
            List<String> texts = new ArrayList<>();
            for (int i = 0; i < replies.size(); i++) {
                TestClient.Reply r = replies.get(i).get(5, TimeUnit.MINUTES);
                assertEquals(200, r.status(), "schema " + i + ": " + r.body());
                String text = r.json().get("generated_text").asText();
                SchemaJudge.assertValid(schemas.get(i), text, "schema " + i);
                texts.add(text);
            }
            for (int i = 0; i < 200; i += 25) {
                TestClient.Reply alone = client.post("/generate", body(schemas.get(i), i, adapters[i % 2]));
                assertEquals(texts.get(i), alone.json().get("generated_text").asText(), "schema " + i + " alone vs batched");
            }
        } finally {
            clients.shutdownNow();
        }
    }

    @Test
    void unsupportedKeywordsAndImpossibleBudgetsAre422NamingThem() {
        TestClient client = new TestClient(base);
        TestClient.Reply r = client.post("/generate", """
                {"inputs":"x","parameters":{"response_format":{"type":"json_object","schema":{"type":"object","patternProperties":{"a":{}}}}}}""");
        assertEquals(422, r.status(), r.body());
        assertTrue(r.json().get("error").asText().contains("patternProperties"), r.body());
        r = client.post("/generate", """
                {"inputs":"x","parameters":{"grammar":{"type":"regex","value":"(a)\\\\1"}}}""");
        assertEquals(422, r.status(), r.body());
        assertTrue(r.json().get("error").asText().contains("backreferences"), r.body());
        // compiled off the request thread, then refused: the shortest output is longer than max_new_tokens allows
        r = client.post("/generate", """
                {"inputs":"x","parameters":{"max_new_tokens":2,"response_format":{"type":"json_object","schema":
                 {"type":"object","properties":{"a_rather_long_property_name":{"type":"string"}},"required":["a_rather_long_property_name"]}}}}""");
        assertEquals(422, r.status(), r.body());
        assertTrue(r.json().get("error").asText().contains("max_new_tokens"), r.body());
        // the server is unharmed: a free request right after
        assertEquals(200, client.post("/generate", "{\"inputs\":\"Once\",\"parameters\":{\"max_new_tokens\":4}}").status());
    }

    @Test
    void regexGrammarAndStreamingAgree() {
        TestClient client = new TestClient(base);
        String params = "\"parameters\":{\"max_new_tokens\":40,\"grammar\":{\"type\":\"regex\",\"value\":\"(Lily|Max) is [0-9]{1,2} years old\\\\.\"}}";
        TestClient.Reply whole = client.post("/generate", "{\"inputs\":\"Once upon a time\"," + params + "}");
        assertEquals(200, whole.status(), whole.body());
        String text = whole.json().get("generated_text").asText();
        assertTrue(text.matches("(Lily|Max) is [0-9]{1,2} years old\\."), text);
        TestClient.Reply stream = client.post("/generate_stream", "{\"inputs\":\"Once upon a time\"," + params + "}");
        assertEquals(200, stream.status(), stream.body());
        assertTrue(stream.body().contains("\"generated_text\":" + TestClient.JSON.valueToTree(text)), stream.body());
    }
}
