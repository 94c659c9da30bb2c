package dev.loraxj.api;

import com.fasterxml.jackson.databind.JsonNode;
import dev.loraxj.SharedAssets;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Per-request merges through the REST API: LoRAX's goldens, mixed batches, validation. */
@QuarkusTest
class MergeApiTest {

    static final String PROMPT = "Once upon a time, there was a little girl";

    @TestHTTPResource("/")
    URI base;
    TestClient client;

    @BeforeEach
    void ready() {
        client = new TestClient(base);
        client.awaitReady();
    }

    static String merged(String merge, String params) {
        String max = GenerateApiTest.quote(SharedAssets.adapter("lora-name-max").toString());
        String sue = GenerateApiTest.quote(SharedAssets.adapter("lora-name-sue").toString());
        return "{\"inputs\":\"" + PROMPT + "\",\"parameters\":{\"adapter_source\":\"local\",\"merged_adapters\":{\"ids\":["
                + max + "," + sue + "]" + merge + "}" + (params.isEmpty() ? "" : "," + params) + "}}";
    }

    static Stream<Arguments> goldens() {
        return Stream.of(
                Arguments.of("merge-linear-0.7-0.3", ",\"weights\":[0.7,0.3],\"merge_strategy\":\"linear\""),
                Arguments.of("merge-ties-total-d0.5", ",\"weights\":[0.5,0.5],\"merge_strategy\":\"ties\",\"density\":0.5,\"majority_sign_method\":\"total\""),
                Arguments.of("merge-ties-frequency-d0.5", ",\"weights\":[0.5,0.5],\"merge_strategy\":\"ties\",\"density\":0.5,\"majority_sign_method\":\"frequency\""));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("goldens")
    void mergesMatchLoraxsGoldens(String golden, String merge) {
        float[] logits = SharedAssets.floats(golden + ".logits.f32");
        TestClient.Reply r = client.post("/generate", merged(merge, "\"max_new_tokens\":1,\"decoder_input_details\":true"));
        assertEquals(200, r.status(), r.body());
        JsonNode prefill = r.json().path("details").path("prefill");
        for (int t = 1; t < 13; t++) {
            double expected = SharedAssets.logSoftmax(logits, (t - 1) * 512, 512, SharedAssets.PROMPT[t]);
            // 1e-3: the goldens' tolerance for F32
            assertEquals(expected, prefill.get(t).path("logprob").asDouble(), 1e-3, golden + " position " + t);
        }
    }

    @Test
    void mergedRequestsBesideSingleAdapterAndBaseRequestsGiveWhatTheyGiveAlone() throws Exception {
        List<String> bodies = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            bodies.add(merged(",\"weights\":[0.7,0.3]", "\"max_new_tokens\":" + (10 + i) + ",\"details\":true"));
            bodies.add(merged(",\"merge_strategy\":\"dare_ties\",\"density\":0.7", "\"max_new_tokens\":12,\"seed\":" + (5 + i)
                    + ",\"do_sample\":true,\"details\":true"));
            bodies.add("{\"inputs\":\"" + PROMPT + "\",\"parameters\":{\"max_new_tokens\":12,\"details\":true,\"adapter_source\":\"local\","
                    + "\"adapter_id\":" + GenerateApiTest.quote(SharedAssets.adapter("lora-name-sue").toString()) + "}}");
            bodies.add("{\"inputs\":\"" + PROMPT + "\",\"parameters\":{\"max_new_tokens\":12,\"details\":true}}");
        }
        List<JsonNode> alone = new ArrayList<>();
        for (String b : bodies) {
            TestClient.Reply r = client.post("/generate", b);
            assertEquals(200, r.status(), r.body());
            alone.add(r.json());
        }
        ExecutorService pool = Executors.newFixedThreadPool(bodies.size());
        try {
            List<CompletableFuture<TestClient.Reply>> together = new ArrayList<>();
            for (String b : bodies) {
                together.add(CompletableFuture.supplyAsync(() -> client.post("/generate", b), pool));
            }
            for (int i = 0; i < bodies.size(); i++) {
                assertEquals(alone.get(i), together.get(i).get().json(), "request " + i);
            }
        } finally {
            pool.shutdownNow();
        }
        assertTrue(client.get("/adapters").body().contains("dare_ties d=0.7"), "merges are cached in the store");
    }

    @Test
    void aMergeIsNamedReadablyInItsHeadersAndTheListingAndIsNoOpenaiModel() {
        String name = "merge(stories260K/lora-name-max*0.6, stories260K/lora-name-sue*0.4; ties d=0.5 sign=frequency)";
        String body = merged(",\"weights\":[0.6,0.4],\"merge_strategy\":\"ties\",\"density\":0.5,\"majority_sign_method\":\"frequency\"",
                "\"max_new_tokens\":3");
        TestClient.Reply r = client.post("/generate", body);
        assertEquals(200, r.status(), r.body());
        assertEquals(name, r.headers().firstValue("x-adapter-id").orElse(""));
        assertEquals("merge", r.headers().firstValue("x-adapter-source").orElse(""));
        TestClient.Reply streamed = client.post("/generate_stream", body);
        assertEquals(200, streamed.status(), streamed.body());
        assertEquals(name, streamed.headers().firstValue("x-adapter-id").orElse(""));

        JsonNode listed = null;
        for (JsonNode a : client.get("/adapters").json().path("adapters")) {
            assertTrue(!a.path("id").asText().contains("{"), "no JSON in an adapter's id: " + a);
            if (a.path("id").asText().equals(name)) {
                listed = a;
            }
        }
        assertTrue(listed != null, "the merge is listed by its name: " + client.get("/adapters").body());
        assertEquals("merge", listed.path("source").asText());
        assertEquals("ready", listed.path("state").asText());
        assertEquals(0, listed.path("leases").asInt(), "both requests released their lease");

        for (JsonNode m : client.get("/v1/models").json().path("data")) {
            assertTrue(!m.path("id").asText().startsWith("merge(") && !m.path("id").asText().contains("{"),
                    "`model` cannot name a merge, so none is listed: " + m);
        }
    }

    static Stream<Arguments> badMerges() {
        String max = GenerateApiTest.quote(SharedAssets.adapter("lora-name-max").toString());
        return Stream.of(
                Arguments.of("{\"inputs\":\"hi\",\"parameters\":{\"adapter_id\":" + max + ",\"merged_adapters\":{\"ids\":[" + max + "]}}}", "adapter_id"),
                Arguments.of("{\"inputs\":\"hi\",\"parameters\":{\"merged_adapters\":{\"ids\":[" + max + "],\"weights\":[1,2]}}}", "weights"),
                Arguments.of("{\"inputs\":\"hi\",\"parameters\":{\"merged_adapters\":{\"ids\":[" + max + "],\"merge_strategy\":\"average\"}}}", "merge_strategy"),
                Arguments.of("{\"inputs\":\"hi\",\"parameters\":{\"merged_adapters\":{\"ids\":[" + max + "],\"merge_strategy\":\"ties\",\"majority_sign_method\":\"median\"}}}", "majority_sign_method"),
                Arguments.of("{\"inputs\":\"hi\",\"parameters\":{\"merged_adapters\":{\"ids\":[" + max + "],\"merge_strategy\":\"ties\",\"density\":0}}}", "density"),
                Arguments.of("{\"inputs\":\"hi\",\"parameters\":{\"merged_adapters\":{\"ids\":[" + max + "],\"merge_strategy\":\"dare_linear\",\"density\":1.5}}}", "density"),
                Arguments.of("{\"inputs\":\"hi\",\"parameters\":{\"merged_adapters\":{\"ids\":[]}}}", "ids"));
    }

    @ParameterizedTest
    @MethodSource("badMerges")
    void badMergesAnswer422(String body, String field) {
        TestClient.Reply r = client.post("/generate", body);
        assertEquals(422, r.status(), r.body());
        assertTrue(r.json().path("error").asText().contains(field), r.body());
    }

    @Test
    void adaptersOfDifferentRanksCannotBeMerged() throws Exception {
        java.nio.file.Path r8 = AdapterApiTest.TEST_ADAPTERS.resolve("merge-rank-8");
        if (!java.nio.file.Files.exists(r8.resolve("adapter_model.safetensors"))) {
            dev.loraxj.adapter.RandomLora.write(r8, dev.loraxj.model.ModelConfig.load(SharedAssets.stories260K()), 8, 16, false,
                    List.of("q_proj", "v_proj"), dev.loraxj.model.DType.F32, 9, 0.05);
        }
        String body = "{\"inputs\":\"hi\",\"parameters\":{\"adapter_source\":\"local\",\"merged_adapters\":{\"ids\":["
                + GenerateApiTest.quote(SharedAssets.adapter("lora-name-max").toString()) + "," + GenerateApiTest.quote(r8.toString()) + "]}}}";
        TestClient.Reply r = client.post("/generate", body);
        assertEquals(422, r.status(), r.body());
        assertTrue(r.json().path("error").asText().contains("different ranks"), r.body());
    }
}
