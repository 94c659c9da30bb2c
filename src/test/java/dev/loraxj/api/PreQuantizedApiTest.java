package dev.loraxj.api;

import com.fasterxml.jackson.databind.JsonNode;
import dev.loraxj.SharedAssets;
import dev.loraxj.backend.AdapterSlot;
import dev.loraxj.backend.cpu.LoadedModel;
import dev.loraxj.model.DType;
import dev.loraxj.model.PackedCheckpoints;
import dev.loraxj.model.PackedCheckpoints.Format;
import dev.loraxj.model.RandomLlama;
import dev.loraxj.model.RandomLora;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTestProfile;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

/**
 * A GPTQ or AWQ checkpoint served over HTTP (each subclass one format): {@code /info} reports it and the bytes held, and
 * greedy generation equals, token for token, the same model served from its dequantized F32 weights, with and without a LoRA
 * adapter. The checkpoints are written by {@link PackedCheckpoints} from a small random Llama, with the tokenizer of stories260K.
 */
abstract class PreQuantizedApiTest {

    static final String PROMPT = "Once upon a time, there was a little girl";

    /** The packed checkpoint, its dequantized F32 twin and a LoRA for them, under a directory of this JVM. */
    record Fixture(Path packed, Path plain, Path lora) {

        static Fixture of(String name, Format f) {
            Path dir = Path.of(System.getProperty("java.io.tmpdir"), "loraxj-prequantized-" + ProcessHandle.current().pid(), name);
            Fixture x = new Fixture(dir.resolve("packed"), dir.resolve("plain"), dir.resolve("adapters").resolve("random-lora"));
            if (!Files.isRegularFile(x.plain.resolve("config.json"))) { // the profile and the test both ask; write once
                Path src = dir.resolve("f32");
                RandomLlama.write(src, PackedCheckpoints.SHAPE, DType.F32, 11);
                try {
                    for (String file : new String[] {"tokenizer.json", "tokenizer_config.json", "tokenizer.model"}) {
                        Files.copy(SharedAssets.stories260K().resolve(file), src.resolve(file));
                    }
                } catch (java.io.IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
                RandomLora.write(x.lora, PackedCheckpoints.SHAPE, 5);
                PackedCheckpoints.write(src, f, 21, x.packed, x.plain);
                Path root = dir.getParent();
                dev.loraxj.TestFiles.deleteAtExit(root);
            }
            return x;
        }

        Map<String, String> config() {
            return Map.of("loraxj.model-id", packed.toString(), "loraxj.adapters.local-roots", lora.getParent().toString());
        }
    }

    /** A profile serving {@code fixture}. */
    abstract static class Served implements QuarkusTestProfile {
        abstract Fixture fixture();

        @Override
        public Map<String, String> getConfigOverrides() {
            return fixture().config();
        }
    }

    @TestHTTPResource("/")
    URI base;
    TestClient client;

    abstract Fixture fixture();

    abstract Format format();

    @BeforeEach
    void ready() {
        client = new TestClient(base);
        client.awaitReady();
    }

    @Test
    void infoReportsTheFormatAndTheBytesHeld() {
        JsonNode info = client.get("/info").json();
        Format f = format();
        assertEquals(f.awq() ? "awq" : "gptq", info.path("quantize").asText(), info.toString());
        assertEquals("float32", info.path("model_dtype").asText(), "fp16 embeddings and head, widened");
        // per layer q, o (64x64), k, v (32x64), gate, up (192x64), down (64x192): 16 bytes per 32 inputs, a float scale and a
        // byte zero point per group, the act order's 4 bytes per input where it reorders; the F32-widened head 512x64
        long bytes = 512 * 64 * 4L;
        int[][] linears = {{64, 64}, {32, 64}, {32, 64}, {64, 64}, {192, 64}, {192, 64}, {64, 192}};
        for (int[] m : linears) {
            int groups = f.groupSize() == -1 ? 1 : m[1] / f.groupSize();
            bytes += 2L * (m[0] * (m[1] / 32 * 16L) + m[0] * groups * 5L + (f.descAct() && groups > 1 ? m[1] * 4L : 0));
        }
        assertEquals(bytes, info.path("weight_bytes").asLong(), info.toString());
    }

    @Test
    void greedyTokensEqualTheDequantizedModelsWithAndWithoutALora() {
        String lora = fixture().lora().toString();
        Generated plain = generate("");
        Generated adapted = generate(",\"adapter_id\":" + GenerateApiTest.quote(lora) + ",\"adapter_source\":\"local\"");
        assertArrayEquals(plain.prompt(), adapted.prompt());
        assertFalse(Arrays.equals(plain.tokens(), adapted.tokens()), "the adapter changes the tokens");
        try (LoadedModel f32 = LoadedModel.open(fixture().plain())) {
            AdapterSlot slot = f32.adapter(fixture().lora());
            for (Generated g : new Generated[] {plain, adapted}) {
                AdapterSlot a = g == plain ? null : slot;
                int[] want = f32.greedy(g.prompt(), g.tokens().length, a);
                assertArrayEquals(want, g.tokens(), format() + (a == null ? "" : " with the LoRA") + ": the F32 model's greedy tokens");
                double[] logprobs = f32.greedyLogprobs(g.prompt(), want, a);
                for (int i = 0; i < want.length; i++) {
                    // bitwise equal logits give the same logprob up to the JSON's float digits; act order adds rounding of 1e-6
                    assertEquals(logprobs[i], g.logprobs()[i], 1e-4, format() + " logprob of token " + i);
                }
            }
        }
    }

    record Generated(int[] prompt, int[] tokens, double[] logprobs) {
    }

    private Generated generate(String adapter) {
        TestClient.Reply r = client.post("/generate", "{\"inputs\":" + GenerateApiTest.quote(PROMPT) + ",\"parameters\":{\"max_new_tokens\":16,"
                + "\"ignore_eos_token\":true,\"details\":true,\"decoder_input_details\":true" + adapter + "}}");
        assertEquals(200, r.status(), r.body());
        JsonNode details = r.json().path("details");
        JsonNode prefill = details.path("prefill");
        JsonNode tokens = details.path("tokens");
        int[] prompt = new int[prefill.size()];
        for (int i = 0; i < prompt.length; i++) {
            prompt[i] = prefill.get(i).path("id").asInt();
        }
        int[] ids = new int[tokens.size()];
        double[] logprobs = new double[ids.length];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = tokens.get(i).path("id").asInt();
            logprobs[i] = tokens.get(i).path("logprob").asDouble();
        }
        assertEquals(16, ids.length, r.body());
        return new Generated(prompt, ids, logprobs);
    }
}
