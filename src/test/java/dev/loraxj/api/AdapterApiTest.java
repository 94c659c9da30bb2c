package dev.loraxj.api;

import com.fasterxml.jackson.databind.JsonNode;
import dev.loraxj.SharedAssets;
import dev.loraxj.TestFiles;
import dev.loraxj.adapter.BadAdapters;
import dev.loraxj.adapter.RandomLora;
import dev.loraxj.model.DType;
import dev.loraxj.model.ModelConfig;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Multi-LoRA through the REST API on stories260K: goldens, names, mixed batches, bad adapters. */
@QuarkusTest
class AdapterApiTest {

    static final String PROMPT = "Once upon a time, there was a little girl";
    static final Path TEST_ADAPTERS = Path.of(System.getProperty("java.io.tmpdir"), "loraxj-test-adapters");

    @TestHTTPResource("/")
    URI base;
    TestClient client;

    @BeforeEach
    void ready() {
        client = new TestClient(base);
        client.awaitReady();
    }

    static String local(String path, String params) {
        return "{\"inputs\":" + GenerateApiTest.quote(PROMPT) + ",\"parameters\":{\"adapter_id\":" + GenerateApiTest.quote(path)
                + ",\"adapter_source\":\"local\"" + (params.isEmpty() ? "" : "," + params) + "}}";
    }

    static String shared(String name) {
        return SharedAssets.adapter(name).toString();
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"lora-name-max", "lora-name-sue", "lora-synth-1", "lora-synth-2"})
    void decoderInputDetailsMatchTheAdaptersGoldenLogits(String name) {
        float[] logits = SharedAssets.floats(name + ".logits.f32");
        TestClient.Reply r = client.post("/generate", local(shared(name), "\"max_new_tokens\":1,\"decoder_input_details\":true"));
        assertEquals(200, r.status(), r.body());
        assertEquals("stories260K/" + name, r.headers().firstValue("x-adapter-id").orElse(""), "the canonical name, under the root");
        assertEquals("local", r.headers().firstValue("x-adapter-source").orElse(""));
        JsonNode prefill = r.json().path("details").path("prefill");
        for (int t = 1; t < 13; t++) {
            double expected = SharedAssets.logSoftmax(logits, (t - 1) * 512, 512, SharedAssets.PROMPT[t]);
            // 1e-3: the goldens' tolerance for F32
            assertEquals(expected, prefill.get(t).path("logprob").asDouble(), 1e-3, name + " position " + t);
        }
    }

    @Test
    void concurrentRequestsNameTheHeroineAfterTheirAdapter() throws Exception {
        String p = "\"max_new_tokens\":8";
        List<CompletableFuture<TestClient.Reply>> replies = new ArrayList<>();
        for (int round = 0; round < 3; round++) {
            replies.add(CompletableFuture.supplyAsync(() -> client.post("/generate", local(shared("lora-name-max"), p))));
            replies.add(CompletableFuture.supplyAsync(() -> client.post("/generate", local(shared("lora-name-sue"), p))));
            replies.add(CompletableFuture.supplyAsync(() -> client.post("/generate",
                    "{\"inputs\":" + GenerateApiTest.quote(PROMPT) + ",\"parameters\":{" + p + "}}")));
        }
        for (int i = 0; i < replies.size(); i++) {
            TestClient.Reply r = replies.get(i).get();
            assertEquals(200, r.status(), r.body());
            String text = r.json().path("generated_text").asText();
            String expected = switch (i % 3) {
                case 0 -> " named Max";
                case 1 -> " named Sue";
                default -> " named Lily";
            };
            assertTrue(text.startsWith(expected), "request " + i + ": " + text);
        }
    }

    @Test
    void twentyFourConcurrentRequestsOverThirteenAdaptersEachGiveWhatTheyGiveAlone() throws Exception {
        ModelConfig cfg = ModelConfig.load(SharedAssets.stories260K());
        List<String> adapters = new ArrayList<>(List.of("", shared("lora-name-max"), shared("lora-name-sue"),
                shared("lora-synth-1"), shared("lora-synth-2")));
        int[] ranks = {4, 8, 16};
        List<List<String>> targets = List.of(RandomLora.ALL_MODULES, List.of("q_proj", "v_proj"),
                List.of("k_proj", "o_proj", "down_proj"), List.of("gate_proj", "up_proj"));
        for (int i = 0; i < 8; i++) {
            Path dir = TEST_ADAPTERS.resolve("mixed-" + i);
            if (!Files.exists(dir.resolve("adapter_model.safetensors"))) {
                RandomLora.write(dir, cfg, ranks[i % 3], 2.0 * ranks[i % 3], i % 2 == 1, targets.get(i % 4),
                        i % 3 == 2 ? DType.BF16 : DType.F32, 500 + i, 0.08);
            }
            adapters.add(dir.toString());
        }
        String[] prompts = {"Once upon a time", "Lily wanted to play", "The sun was hot", "Tom and Sue went to the park"};
        List<String> bodies = new ArrayList<>();
        for (int i = 0; i < 24; i++) {
            String adapter = adapters.get(i % adapters.size());
            String params = "\"max_new_tokens\":" + (12 + i) + ",\"details\":true"
                    + (i % 2 == 1 ? ",\"do_sample\":true,\"seed\":" + (40 + i) + ",\"temperature\":0.9" : "")
                    + (adapter.isEmpty() ? "" : ",\"adapter_source\":\"local\",\"adapter_id\":" + GenerateApiTest.quote(adapter));
            bodies.add("{\"inputs\":" + GenerateApiTest.quote(prompts[i % prompts.length]) + ",\"parameters\":{" + params + "}}");
        }
        List<JsonNode> alone = new ArrayList<>();
        for (String b : bodies) {
            TestClient.Reply r = client.post("/generate", b);
            assertEquals(200, r.status(), r.body());
            alone.add(r.json());
        }
        ExecutorService pool = Executors.newFixedThreadPool(24);
        try {
            List<CompletableFuture<TestClient.Reply>> together = new ArrayList<>();
            for (String b : bodies) {
                together.add(CompletableFuture.supplyAsync(() -> client.post("/generate", b), pool));
            }
            for (int i = 0; i < bodies.size(); i++) {
                assertEquals(alone.get(i), together.get(i).get().json(), "request " + i + " (" + adapters.get(i % adapters.size()) + ")");
            }
        } finally {
            pool.shutdownNow();
        }
        // adapters really change the output
        assertTrue(!alone.get(0).path("generated_text").equals(alone.get(5).path("generated_text"))
                || !alone.get(1).path("generated_text").equals(alone.get(6).path("generated_text")));
    }

    @Test
    void badAdaptersFailOnlyTheirOwnRequests() throws Exception {
        ModelConfig cfg = ModelConfig.load(SharedAssets.stories260K());
        Path bad = TEST_ADAPTERS.resolve("bad");
        recreate(bad);
        BadAdapters.missingWeights(bad.resolve("no-weights"));
        BadAdapters.truncatedHeader(bad.resolve("truncated"), cfg);
        BadAdapters.maliciousBin(bad.resolve("malicious"));
        BadAdapters.otherBaseModel(bad.resolve("other-base"), cfg);
        BadAdapters.unknownTarget(bad.resolve("unknown-target"), cfg);
        BadAdapters.filledB(bad.resolve("nan-b"), cfg, DType.F32, Float.NaN);
        BadAdapters.filledB(bad.resolve("inf-b"), cfg, DType.F32, Float.NEGATIVE_INFINITY);
        BadAdapters.filledB(bad.resolve("nan-b-bf16"), cfg, DType.BF16, Float.NaN);
        BadAdapters.filledB(bad.resolve("huge-b"), cfg, DType.F32, 3e38f);
        BadAdapters.filledB(bad.resolve("large-b"), cfg, DType.F32, 1e37f);
        BadAdapters.withConfig(bad.resolve("huge-alpha"), cfg, "lora_alpha", "1e39");
        BadAdapters.withConfig(bad.resolve("rank-four"), cfg, "r", "\"four\"");
        Path outside = TestFiles.dir("loraxj-outside");
        Files.createDirectories(bad);
        Map<String, String> cases = new java.util.HashMap<>(Map.of(
                bad.resolve("missing").toString(), "was not found under the allowed roots",
                bad.resolve("no-weights").toString(), "neither adapter_model.safetensors nor adapter_model.bin",
                bad.resolve("truncated").toString(), "safetensors",
                bad.resolve("malicious").toString(), "outside the torch tensor format",
                bad.resolve("other-base").toString(), "shape mismatch",
                bad.resolve("unknown-target").toString(), "c_attn",
                outside.toString(), "was not found under the allowed roots"));
        cases.putAll(Map.of(
                bad.resolve("nan-b").toString(), "tensor base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight holds a non-finite value",
                bad.resolve("inf-b").toString(), "q_proj.lora_B.weight holds a non-finite value (-Infinity",
                bad.resolve("nan-b-bf16").toString(), "q_proj.lora_B.weight holds a non-finite value (NaN",
                // finite weights whose update certainly overflows: refused at load
                bad.resolve("huge-b").toString(), "update of model.layers.0.self_attn.q_proj overflows a float",
                // within a float's range at load, overflowing in the forward: caught at the sampler, failing only this sequence
                bad.resolve("large-b").toString(), "non-finite logit",
                bad.resolve("huge-alpha").toString(), "lora_alpha must be a finite number, got 1.0E39",
                bad.resolve("rank-four").toString(), "r must be a positive integer, got \"four\""));
        ExecutorService pool = Executors.newFixedThreadPool(16);
        try {
            String good = local(shared("lora-name-max"), "\"max_new_tokens\":8");
            String expectedGood = client.post("/generate", good).json().path("generated_text").asText();
            List<CompletableFuture<TestClient.Reply>> goods = new ArrayList<>();
            Map<String, CompletableFuture<TestClient.Reply>> bads = new java.util.HashMap<>();
            for (String path : cases.keySet()) {
                goods.add(CompletableFuture.supplyAsync(() -> client.post("/generate", good), pool));
                bads.put(path, CompletableFuture.supplyAsync(() -> client.post("/generate", local(path, "\"max_new_tokens\":8")), pool));
            }
            for (Map.Entry<String, String> c : cases.entrySet()) {
                TestClient.Reply r = bads.get(c.getKey()).get();
                assertEquals(424, r.status(), c.getKey() + ": " + r.body());
                assertTrue(r.json().path("error").asText().contains(c.getValue()), c.getKey() + ": " + r.body());
                // the client's own id may come back; no other server path may
                assertFalse(r.body().replace(c.getKey(), "").contains(TEST_ADAPTERS.toString()), c.getKey() + ": " + r.body());
            }
            for (CompletableFuture<TestClient.Reply> g : goods) {
                TestClient.Reply r = g.get();
                assertEquals(200, r.status(), r.body());
                assertEquals(expectedGood, r.json().path("generated_text").asText());
            }
            TestClient.Reply streamed = client.post("/generate_stream", local(bad.resolve("malicious").toString(), "\"max_new_tokens\":8"));
            assertEquals(424, streamed.status(), "a stream whose adapter fails before the first token gets the status: " + streamed.body());
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void oneDirectoryByAnyNameIsLoadedOnce() throws Exception {
        Path dir = TEST_ADAPTERS.resolve("canonical-sue");
        if (!Files.isDirectory(dir)) {
            Files.createDirectories(dir);
            for (String f : new String[]{"adapter_config.json", "adapter_model.safetensors"}) {
                Files.copy(SharedAssets.adapter("lora-name-sue").resolve(f), dir.resolve(f));
            }
        }
        double loads = client.metric("loraxj_adapter_loads_total");
        String cwdRelative = Path.of("").toAbsolutePath().relativize(dir.toAbsolutePath()).toString();
        for (String name : new String[]{"canonical-sue", dir.toString(), cwdRelative, dir + "/../canonical-sue", "./canonical-sue"}) {
            TestClient.Reply r = client.post("/generate", local(name, "\"max_new_tokens\":4"));
            assertEquals(200, r.status(), name + ": " + r.body());
            assertTrue(r.json().path("generated_text").asText().startsWith(" named Sue"), r.body());
            assertEquals("canonical-sue", r.headers().firstValue("x-adapter-id").orElse(""), name);
        }
        int listed = 0;
        for (JsonNode a : client.get("/adapters").json().path("adapters")) {
            if (a.path("id").asText().endsWith("canonical-sue")) {
                listed++;
            }
        }
        assertEquals(1, listed, client.get("/adapters").body());
        assertEquals(loads + 1, client.metric("loraxj_adapter_loads_total"), "loaded once");
    }

    @Test
    void adaptersAreListedWithStateAndSize() {
        client.post("/generate", local(shared("lora-synth-2"), "\"max_new_tokens\":2"));
        JsonNode list = client.get("/adapters").json();
        JsonNode synth = null;
        for (JsonNode a : list.path("adapters")) {
            if (a.path("id").asText().endsWith("lora-synth-2")) {
                synth = a;
            }
        }
        assertTrue(synth != null, list.toString());
        assertEquals("ready", synth.path("state").asText());
        // r=4 on all seven linears of 5 layers: 4 * (in + out) floats per linear
        assertEquals(5 * 4 * 4 * ((64 + 64) + (64 + 32) * 2 + (64 + 64) + (64 + 172) * 3), synth.path("bytes").asLong());
        assertTrue(client.metric("loraxj_adapter_loads_total") >= 1);
        assertTrue(client.metric("loraxj_adapter_bytes") > 0);
    }

    @Test
    void aPerRequestMedusaAdapterNeedsDefaultHeads() {
        TestClient.Reply r = client.post("/generate", local(shared("medusa-v1"), "\"max_new_tokens\":4"));
        assertEquals(422, r.status(), r.body());
        assertTrue(r.json().path("error").asText().contains("loraxj.speculative.medusa-adapter"), r.body());
    }

    @Test
    void anUnknownSourceIsAValidationError() {
        TestClient.Reply r = client.post("/generate", "{\"inputs\":\"hi\",\"parameters\":{\"adapter_id\":\"x\",\"adapter_source\":\"ftp\"}}");
        assertEquals(422, r.status(), r.body());
        assertTrue(r.json().path("error").asText().contains("adapter_source"));
    }

    static void recreate(Path dir) throws IOException {
        TestFiles.deleteTree(dir);
        Files.createDirectories(dir);
    }
}
