package dev.loraxj.api;

import dev.loraxj.SharedAssets;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.net.URI;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Every accepted sampling value gives a sound answer through the API; merges that overflow are refused. */
@QuarkusTest
class NumericsApiTest {

    static final String PROMPT = "Once upon a time, there was a little girl";

    @TestHTTPResource("/")
    URI base;
    TestClient client;

    @BeforeEach
    void ready() {
        client = new TestClient(base);
        client.awaitReady();
    }

    private String text(String parameters) {
        TestClient.Reply r = client.post("/generate", GenerateApiTest.body(PROMPT, "\"max_new_tokens\":8," + parameters));
        assertEquals(200, r.status(), parameters + ": " + r.body());
        return r.json().path("generated_text").asText();
    }

    @Test
    void aTinyTemperatureGivesTheGreedyText() {
        String greedy = text("\"do_sample\":false");
        for (String t : new String[]{"1e-45", "1e-40", "1e-20"}) {
            assertEquals(greedy, text("\"do_sample\":true,\"seed\":3,\"temperature\":" + t), "temperature " + t);
        }
    }

    /**
     * repetition_penalty 1e-45 divides each positive logit of a prompt token by 1e-45: exact
     * arithmetic (float64 here, on the golden logits) picks the prompt token with the highest logit.
     */
    @Test
    void aTinyRepetitionPenaltyPicksWhatExactArithmeticPicks() {
        float[] logits = SharedAssets.floats("base.logits.f32");
        double[] row = new double[512];
        for (int i = 0; i < 512; i++) {
            row[i] = logits[12 * 512 + i];
        }
        boolean[] seen = new boolean[512];
        for (int id : SharedAssets.PROMPT) {
            if (!seen[id]) {
                seen[id] = true;
                row[id] = row[id] < 0 ? row[id] * 1e-45 : row[id] / 1e-45;
            }
        }
        int expected = 0;
        for (int i = 1; i < 512; i++) {
            if (row[i] > row[expected]) {
                expected = i;
            }
        }
        TestClient.Reply r = client.post("/generate", GenerateApiTest.body(PROMPT,
                "\"max_new_tokens\":1,\"details\":true,\"repetition_penalty\":1e-45"));
        assertEquals(200, r.status(), r.body());
        assertEquals(expected, r.json().path("details").path("tokens").get(0).path("id").asInt(), r.body());
        assertTrue(r.json().path("details").path("tokens").get(0).path("logprob").isNumber(), r.body());
    }

    @Test
    void aMergeWhoseWeightsOverflowIsAValidationError() {
        String max = GenerateApiTest.quote(SharedAssets.adapter("lora-name-max").toString());
        String sue = GenerateApiTest.quote(SharedAssets.adapter("lora-name-sue").toString());
        TestClient.Reply r = client.post("/generate", "{\"inputs\":\"hi\",\"parameters\":{\"adapter_source\":\"local\",\"max_new_tokens\":2,"
                + "\"merged_adapters\":{\"ids\":[" + max + "," + sue + "],\"weights\":[3e38,3e38]}}}");
        assertEquals(422, r.status(), r.body());
        assertTrue(r.json().path("error").asText().contains("non-finite"), r.body());
        // the same adapters with sane weights still merge
        TestClient.Reply ok = client.post("/generate", "{\"inputs\":\"hi\",\"parameters\":{\"adapter_source\":\"local\",\"max_new_tokens\":2,"
                + "\"merged_adapters\":{\"ids\":[" + max + "," + sue + "],\"weights\":[0.5,0.5]}}}");
        assertEquals(200, ok.status(), ok.body());
    }

    /** cache_salt over both APIs: the same salt shares a prefix, an empty one is refused. */
    @Test
    void cacheSaltIsAcceptedOnBothApisAndSharesOnlyWithinTheSameSalt() throws Exception {
        String prompt = GenerateApiTest.quote("Once upon a time, there was a little girl named Lily. She loved to play outside in the sun. "
                + "One day, she saw a big red ball.");
        String salt = GenerateApiTest.quote("tenant-" + System.nanoTime());
        double before = client.metric("loraxj_prefix_cache_hit_tokens_total");
        TestClient.Reply first = client.post("/generate", "{\"inputs\":" + prompt + ",\"parameters\":{\"max_new_tokens\":2,\"cache_salt\":" + salt + "}}");
        assertEquals(200, first.status(), first.body());
        client.awaitMetric("loraxj_kv_cache_free_blocks", client.metric("loraxj_kv_cache_blocks"));
        assertEquals(before, client.metric("loraxj_prefix_cache_hit_tokens_total"), "a new salt finds nothing");
        TestClient.Reply again = client.post("/v1/completions", "{\"model\":\"\",\"prompt\":" + prompt + ",\"max_tokens\":2,\"cache_salt\":" + salt + "}");
        assertEquals(200, again.status(), again.body());
        assertTrue(client.metric("loraxj_prefix_cache_hit_tokens_total") > before, "the same salt shares the prefix");
        TestClient.Reply empty = client.post("/generate", "{\"inputs\":\"hi\",\"parameters\":{\"cache_salt\":\"\"}}");
        assertEquals(422, empty.status(), empty.body());
    }
}
