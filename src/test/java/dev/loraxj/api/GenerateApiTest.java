package dev.loraxj.api;

import com.fasterxml.jackson.databind.JsonNode;
import dev.loraxj.SharedAssets;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The LoRAX REST API end to end over HTTP, on the real stories260K model. */
@QuarkusTest
class GenerateApiTest {

    static final String PROMPT = "Once upon a time, there was a little girl";

    @TestHTTPResource("/")
    URI base;
    TestClient client;

    @BeforeEach
    void ready() {
        client = new TestClient(base);
        client.awaitReady();
    }

    static String body(String inputs, String parameters) {
        return "{\"inputs\":" + quote(inputs) + ",\"parameters\":{" + parameters + "}}";
    }

    static String quote(String s) {
        try {
            return TestClient.JSON.writeValueAsString(s);
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    @Test
    void decoderInputDetailsEqualLogSoftmaxOfGoldenLogits() {
        float[] logits = SharedAssets.floats("base.logits.f32");
        TestClient.Reply r = client.post("/generate", body(PROMPT, "\"max_new_tokens\":1,\"decoder_input_details\":true"));
        assertEquals(200, r.status(), r.body());
        JsonNode prefill = r.json().path("details").path("prefill");
        assertEquals(13, prefill.size());
        assertTrue(prefill.get(0).path("logprob").isNull(), "the first prompt token has no logprob");
        for (int t = 0; t < 13; t++) {
            assertEquals(SharedAssets.PROMPT[t], prefill.get(t).path("id").asInt());
        }
        for (int t = 1; t < 13; t++) {
            double expected = SharedAssets.logSoftmax(logits, (t - 1) * 512, 512, SharedAssets.PROMPT[t]);
            // 1e-3: the tolerance for F32 against the float64 reference
            assertEquals(expected, prefill.get(t).path("logprob").asDouble(), 1e-3, "position " + t);
        }
        assertEquals("<s>", prefill.get(0).path("text").asText());
    }

    @Test
    void greedyContinuationFollowsTheGoldenText() throws Exception {
        String golden = Files.readString(SharedAssets.golden("greedy256.txt"), StandardCharsets.UTF_8);
        TestClient.Reply r = client.post("/generate", body(PROMPT, "\"max_new_tokens\":60,\"details\":true"));
        assertEquals(200, r.status(), r.body());
        String text = r.json().path("generated_text").asText();
        assertTrue(golden.startsWith(PROMPT + text), "greedy output diverges from the golden: " + text);
        JsonNode d = r.json().path("details");
        assertEquals("length", d.path("finish_reason").asText());
        assertEquals(60, d.path("generated_tokens").asInt());
        assertEquals(13, d.path("prompt_tokens").asInt());
        assertEquals(60, d.path("tokens").size());
        assertTrue(d.path("seed").isNull(), "greedy has no seed");
        assertEquals("60", r.headers().firstValue("x-generated-tokens").orElseThrow());
    }

    @Test
    void streamedTokensEqualTheWholeResponse() {
        for (String params : List.of("\"max_new_tokens\":50,\"details\":true",
                "\"max_new_tokens\":50,\"details\":true,\"do_sample\":true,\"seed\":7,\"temperature\":0.8,\"top_k\":40")) {
            TestClient.Reply whole = client.post("/generate", body("Lily and Tom", params));
            TestClient.Reply stream = client.post("/generate_stream", body("Lily and Tom", params));
            assertEquals(200, stream.status(), stream.body());
            assertTrue(stream.headers().firstValue("content-type").orElse("").startsWith("text/event-stream"));
            List<JsonNode> events = TestClient.sseEvents(stream.body());
            JsonNode tokens = whole.json().path("details").path("tokens");
            assertEquals(tokens.size(), events.size());
            StringBuilder text = new StringBuilder();
            for (int i = 0; i < events.size(); i++) {
                JsonNode e = events.get(i);
                assertEquals(tokens.get(i).path("id").asInt(), e.path("token").path("id").asInt(), "token " + i);
                assertEquals(tokens.get(i).path("logprob").asDouble(), e.path("token").path("logprob").asDouble(), 0.0);
                text.append(e.path("token").path("text").asText());
                boolean last = i == events.size() - 1;
                assertEquals(last, !e.path("generated_text").isNull(), "generated_text only on the last event");
                assertTrue(e.has("details"));
            }
            JsonNode last = events.getLast();
            assertEquals(whole.json().path("generated_text").asText(), last.path("generated_text").asText());
            assertEquals(whole.json().path("generated_text").asText(), text.toString());
            assertEquals("length", last.path("details").path("finish_reason").asText());
        }
    }

    @Test
    void compatRouteAnswersAnArrayOrAStream() {
        TestClient.Reply whole = client.post("/", "{\"inputs\":\"Tom had a ball\",\"parameters\":{\"max_new_tokens\":8}}");
        assertEquals(200, whole.status(), whole.body());
        assertTrue(whole.json().isArray());
        String text = whole.json().get(0).path("generated_text").asText();
        TestClient.Reply stream = client.post("/", "{\"inputs\":\"Tom had a ball\",\"stream\":true,\"parameters\":{\"max_new_tokens\":8}}");
        List<JsonNode> events = TestClient.sseEvents(stream.body());
        assertEquals(8, events.size());
        assertEquals(text, events.getLast().path("generated_text").asText());
    }

    @Test
    void stopSequenceEndsGenerationAcrossTokens() throws Exception {
        String golden = Files.readString(SharedAssets.golden("greedy256.txt"), StandardCharsets.UTF_8);
        // the golden continuation after the prompt contains "named Lily."; stop on a string spanning tokens
        TestClient.Reply r = client.post("/generate", body(PROMPT, "\"max_new_tokens\":100,\"details\":true,\"stop\":[\"d Li\"]"));
        JsonNode j = r.json();
        assertEquals("stop_sequence", j.path("details").path("finish_reason").asText(), r.body());
        String text = j.path("generated_text").asText();
        assertTrue(text.contains("d Li"), text);
        assertTrue(golden.startsWith(PROMPT + text));
        assertTrue(j.path("details").path("generated_tokens").asInt() < 10);
    }

    @Test
    void truncateKeepsTheLastPromptTokens() {
        String longPrompt = "the dog ran to the park and ".repeat(60);
        TestClient.Reply tooLong = client.post("/generate", body(longPrompt, "\"max_new_tokens\":2"));
        assertEquals(422, tooLong.status(), "without truncate the prompt is too long");
        TestClient.Reply r = client.post("/generate", body(longPrompt, "\"max_new_tokens\":2,\"truncate\":20,\"decoder_input_details\":true"));
        assertEquals(200, r.status(), r.body());
        JsonNode d = r.json().path("details");
        assertEquals(20, d.path("prompt_tokens").asInt());
        JsonNode all = client.post("/tokenize", "{\"inputs\":" + quote(longPrompt) + "}").json();
        for (int i = 0; i < 20; i++) {
            assertEquals(all.get(all.size() - 20 + i).path("id").asInt(), d.path("prefill").get(i).path("id").asInt(), "token " + i);
        }
    }

    @Test
    void returnFullTextPrependsTheInputs() {
        TestClient.Reply r = client.post("/generate", body("Tom had a ball", "\"max_new_tokens\":5,\"return_full_text\":true"));
        assertTrue(r.json().path("generated_text").asText().startsWith("Tom had a ball"), r.body());
    }

    @Test
    void seededSamplingIsReproducibleAndReportsTheSeed() {
        String p = "\"max_new_tokens\":30,\"do_sample\":true,\"seed\":42,\"temperature\":1.2,\"details\":true";
        JsonNode a = client.post("/generate", body("The dog", p)).json();
        JsonNode b = client.post("/generate", body("The dog", p)).json();
        assertEquals(a.path("generated_text"), b.path("generated_text"));
        assertEquals(42, a.path("details").path("seed").asLong());
        JsonNode c = client.post("/generate", body("The dog", p.replace("42", "43"))).json();
        assertFalse(a.path("details").path("tokens").equals(c.path("details").path("tokens")), "another seed, other tokens");
    }

    @Test
    void bestOfReturnsTheMostLikelyCandidateAndTheOthers() {
        JsonNode r = client.post("/generate", body("The cat", "\"max_new_tokens\":10,\"best_of\":2,\"do_sample\":true,\"details\":true")).json();
        JsonNode others = r.path("details").path("best_of_sequences");
        assertEquals(1, others.size(), r.toString());
        double best = sum(r.path("details").path("tokens"));
        double other = sum(others.get(0).path("tokens"));
        assertTrue(best >= other, "best_of picks the highest total logprob");
    }

    @Test
    void alternativesAreReportedPerToken() {
        JsonNode r = client.post("/generate", body("The cat", "\"max_new_tokens\":3,\"details\":true,\"return_k_alternatives\":3")).json();
        JsonNode alts = r.path("details").path("tokens").get(0).path("alternative_tokens");
        assertEquals(3, alts.size(), r.toString());
        assertEquals(r.path("details").path("tokens").get(0).path("id").asInt(), alts.get(0).path("id").asInt(), "greedy picks the top alternative");
    }

    @Test
    void eachChosenTokenIsAmongItsOwnAlternativesWithTheSameTextAndLogprob() throws Exception {
        String params = "\"max_new_tokens\":24,\"details\":true,\"return_k_alternatives\":5";
        TestClient.Reply whole = client.post("/generate", body(PROMPT, params));
        assertEquals(200, whole.status(), whole.body());
        JsonNode tokens = whole.json().path("details").path("tokens");
        assertEquals(24, tokens.size());
        StringBuilder text = new StringBuilder();
        for (JsonNode t : tokens) {
            assertAmongAlternatives(t, true);
            text.append(t.path("text").asText());
        }
        assertEquals(whole.json().path("generated_text").asText(), text.toString(), "the tokens' texts are the generated text");
        assertTrue(text.toString().startsWith(" named"), "the first token keeps its leading space: " + text);

        TestClient.Reply streamed = client.post("/generate_stream", body(PROMPT, params));
        List<JsonNode> events = TestClient.sseEvents(streamed.body());
        assertEquals(24, events.size(), streamed.body());
        for (JsonNode e : events) {
            assertAmongAlternatives(e.path("token"), true);
        }

        JsonNode sampled = client.post("/generate", body(PROMPT, params + ",\"do_sample\":true,\"seed\":3,\"temperature\":1.5")).json();
        for (JsonNode t : sampled.path("details").path("tokens")) {
            assertAmongAlternatives(t, false);
        }
    }

    /** Greedy picks the top alternative; a sampled token outside the top k is not listed. */
    private static void assertAmongAlternatives(JsonNode token, boolean required) {
        JsonNode alts = token.path("alternative_tokens");
        assertEquals(5, alts.size(), token.toString());
        for (JsonNode a : alts) {
            if (a.path("id").asInt() == token.path("id").asInt()) {
                assertEquals(token.path("text").asText(), a.path("text").asText(), token.toString());
                // same float from the same distribution, serialized the same way
                assertEquals(token.path("logprob").asDouble(), a.path("logprob").asDouble(), 0.0, token.toString());
                return;
            }
        }
        assertFalse(required, "the chosen token is missing from its alternatives: " + token);
    }

    @Test
    void theLastStreamEventCarriesDetailsOnlyWhenAsked() {
        for (boolean details : new boolean[]{false, true}) {
            TestClient.Reply r = client.post("/generate_stream", body(PROMPT, "\"max_new_tokens\":5" + (details ? ",\"details\":true" : "")));
            assertEquals(200, r.status(), r.body());
            List<JsonNode> events = TestClient.sseEvents(r.body());
            assertEquals(5, events.size(), r.body());
            JsonNode last = events.get(4);
            StringBuilder text = new StringBuilder();
            for (JsonNode e : events) {
                text.append(e.path("token").path("text").asText());
            }
            assertEquals(text.toString(), last.path("generated_text").asText(), "the last event carries the whole text");
            if (details) {
                assertEquals("length", last.path("details").path("finish_reason").asText(), r.body());
                assertEquals(5, last.path("details").path("generated_tokens").asInt());
            } else {
                assertTrue(last.has("details") && last.path("details").isNull(), "details: null unless asked: " + last);
            }
            for (JsonNode e : events.subList(0, 4)) {
                assertTrue(e.path("generated_text").isNull() && e.path("details").isNull(), e.toString());
            }
        }
    }

    @Test
    void sixteenConcurrentRequestsEachReturnWhatTheyReturnAlone() throws Exception {
        List<String> bodies = new ArrayList<>();
        String[] prompts = {"Once upon a time", "Lily wanted to play", "The sun was hot", "Tom and Sue went to the park",
                PROMPT, "A big dog", "She saw a bird in the sky and", "One day"};
        for (int i = 0; i < 16; i++) {
            String prompt = prompts[i % prompts.length] + (i >= 8 ? " and then" : "");
            String params = "\"max_new_tokens\":" + (10 + 7 * i) + ",\"details\":true";
            params += switch (i % 4) {
                case 0 -> "";
                case 1 -> ",\"do_sample\":true,\"seed\":" + (100 + i) + ",\"temperature\":0.7";
                case 2 -> ",\"do_sample\":true,\"seed\":" + (100 + i) + ",\"top_p\":0.9,\"top_k\":50,\"repetition_penalty\":1.2";
                default -> ",\"repetition_penalty\":1.3,\"stop\":[\"park\"]";
            };
            bodies.add(body(prompt, params));
        }
        List<String> alone = new ArrayList<>();
        for (String b : bodies) {
            TestClient.Reply r = client.post("/generate", b);
            assertEquals(200, r.status(), r.body());
            alone.add(r.body());
        }
        ExecutorService pool = Executors.newFixedThreadPool(16);
        try {
            List<CompletableFuture<String>> together = new ArrayList<>();
            for (String b : bodies) {
                together.add(CompletableFuture.supplyAsync(() -> client.post("/generate", b).body(), pool));
            }
            for (int i = 0; i < bodies.size(); i++) {
                assertEquals(TestClient.JSON.readTree(alone.get(i)), TestClient.JSON.readTree(together.get(i).get()), "request " + i);
            }
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void tokenizeReturnsIdsAndOffsets() {
        TestClient.Reply r = client.post("/tokenize", "{\"inputs\":\"" + PROMPT + "\"}");
        assertEquals(200, r.status(), r.body());
        JsonNode t = r.json();
        assertEquals(13, t.size());
        for (int i = 0; i < 13; i++) {
            assertEquals(SharedAssets.PROMPT[i], t.get(i).path("id").asInt());
        }
        JsonNode once = t.get(1);
        assertEquals("Once", PROMPT.substring(once.path("start").asInt(), once.path("stop").asInt()).trim());
    }

    @Test
    void infoDescribesModelAndLimits() {
        JsonNode i = client.get("/info").json();
        assertEquals("stories260K", i.path("model_id").asText());
        assertEquals("float32", i.path("model_dtype").asText());
        assertEquals("cpu", i.path("model_device_type").asText());
        assertEquals(128, i.path("max_concurrent_requests").asInt());
        assertEquals(512, i.path("max_total_tokens").asInt());
        assertEquals(511, i.path("max_input_length").asInt());
        assertNotNull(i.get("max_batch_total_tokens"));
    }

    @Test
    void healthGeneratesOneTokenAndMetricsArePrometheus() {
        assertEquals(200, client.get("/health").status());
        assertEquals(200, client.get("/q/health").status());
        client.post("/generate", body("Hi", "\"max_new_tokens\":3"));
        String m = client.get("/metrics").body();
        for (String name : List.of("loraxj_queue_size", "loraxj_batch_size", "loraxj_generated_tokens_total",
                "loraxj_time_to_first_token_seconds_bucket", "loraxj_inter_token_latency_seconds_bucket",
                "loraxj_request_duration_seconds_bucket", "loraxj_kv_cache_free_blocks")) {
            assertTrue(m.contains(name), "metrics lack " + name);
        }
        assertTrue(client.metric("loraxj_generated_tokens_total") >= 3);
    }

    private static double sum(JsonNode tokens) {
        double s = 0;
        for (JsonNode t : tokens) {
            s += t.path("logprob").asDouble();
        }
        return s;
    }
}
