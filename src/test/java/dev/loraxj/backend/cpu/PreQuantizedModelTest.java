package dev.loraxj.backend.cpu;

import dev.loraxj.backend.AdapterSlot;
import dev.loraxj.model.Checkpoint;
import dev.loraxj.model.DType;
import dev.loraxj.model.ModelConfig;
import dev.loraxj.model.ModelException;
import dev.loraxj.model.PackedCheckpoints;
import dev.loraxj.model.PackedCheckpoints.Format;
import dev.loraxj.model.RandomLlama;
import dev.loraxj.model.RandomLora;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Whole models from GPTQ and AWQ checkpoints against the same models dequantized to F32: with groups in input order the
 * logits are bitwise equal (each weight is the same float and the FMA chain the same, see {@link U4Tiles}), with act order
 * they differ only by the rounding of the permuted sum; greedy tokens agree, with and without a LoRA adapter.
 */
class PreQuantizedModelTest {

    static final RandomLlama.Shape SHAPE = PackedCheckpoints.SHAPE;

    @TempDir
    Path tmp;

    @Test
    void everyFormatServesTheDequantizedModelsLogitsAndTokens() {
        Path src = tmp.resolve("f32");
        RandomLlama.write(src, SHAPE, DType.F32, 7);
        Path lora = RandomLora.write(tmp.resolve("lora"), SHAPE, 3);
        Format[] formats = {Format.gptq(32, false, true).withHead(), Format.gptq(-1, true, false), Format.gptq(64, false, false).gptqV2(),
                Format.gptq(32, true, true), Format.awq(32), Format.awq(-1)};
        int[] prompt = new SplittableRandom(5).ints(11, 3, 512).toArray();
        for (int i = 0; i < formats.length; i++) {
            Format f = formats[i];
            Path packed = tmp.resolve("packed" + i);
            Path plain = tmp.resolve("plain" + i);
            PackedCheckpoints.write(src, f, 100 + i, packed, plain);
            try (LoadedModel q = LoadedModel.open(packed); LoadedModel d = LoadedModel.open(plain)) {
                assertEquals(f.awq() ? "awq" : "gptq", q.backend().linearDtype(), f.toString());
                assertEquals("float32", q.backend().dtype(), "fp16 embeddings are widened to float32, as for any fp16 checkpoint");
                AdapterSlot qa = q.adapter(lora);
                AdapterSlot da = d.adapter(lora);
                for (AdapterSlot[] slots : new AdapterSlot[][] {{null, null}, {qa, da}}) {
                    String what = f + (slots[0] == null ? "" : " with the LoRA");
                    float[] got = q.promptLogits(prompt, slots[0]);
                    float[] want = d.promptLogits(prompt, slots[1]);
                    if (f.descAct()) {
                        // the act-order kernel sums each row in its sorted input order: only rounding moves, about
                        // in * 2^-24 of the row's sum of |w x| per matmul (< 1e-6 at these widths); 1e-4 of the largest
                        // logit leaves room for its growth through two blocks, while a wrong weight moves logits by 1e-2
                        double scale = 0;
                        for (float v : want) {
                            scale = Math.max(scale, Math.abs(v));
                        }
                        for (int k = 0; k < want.length; k++) {
                            assertEquals(want[k], got[k], 1e-4 * scale, what + " logit " + k);
                        }
                    } else {
                        assertArrayEquals(want, got, what + ": bitwise the dequantized model's logits");
                    }
                    int[] tokens = q.greedy(prompt, 16, slots[0]);
                    assertArrayEquals(d.greedy(prompt, 16, slots[1]), tokens, what + ": greedy tokens");
                }
                assertFalse(Arrays.equals(q.greedy(prompt, 16, null), q.greedy(prompt, 16, qa)), f + ": the adapter changes the tokens");
            }
        }
    }

    @Test
    void weightBytesCountWhatIsHeld() {
        Path src = tmp.resolve("f32");
        RandomLlama.write(src, SHAPE, DType.F32, 7);
        PackedCheckpoints.write(src, Format.gptq(32, false, true), 1, tmp.resolve("q"), tmp.resolve("d"));
        try (LoadedModel q = LoadedModel.open(tmp.resolve("q")); LoadedModel d = LoadedModel.open(tmp.resolve("d"))) {
            // per layer q, o (64x64), k, v (32x64), gate, up (192x64), down (64x192): 16 bytes per 32 inputs, a float scale and
            // a byte zero point per group of 32, and the act order's 4 bytes per input (q/k/v and gate/up share one input order
            // each, but every linear counts the order it reads); the head (512x64) stays dense F32
            long perLayer = 0;
            int[][] linears = {{64, 64}, {32, 64}, {32, 64}, {64, 64}, {192, 64}, {192, 64}, {64, 192}};
            for (int[] m : linears) {
                perLayer += (long) m[0] * (m[1] / 32) * (16 + 4 + 1) + m[1] * 4L;
            }
            assertEquals(2 * perLayer + 512 * 64 * 4L, q.backend().weightBytes());
            long head = 512 * 64 * 4L;
            // 5.7 bits a weight here (groups of 32, and the act order's input orders) against F32's 32: below a fifth
            assertTrue((q.backend().weightBytes() - head) * 5 < d.backend().weightBytes() - head, "gptq linears hold a fraction of F32's bytes");
        }
    }

    @Test
    void quantizingAPreQuantizedCheckpointIsRefusedAtStart() {
        Path src = tmp.resolve("f32");
        RandomLlama.write(src, SHAPE, DType.F32, 7);
        PackedCheckpoints.write(src, Format.awq(32), 1, tmp.resolve("q"), tmp.resolve("d"));
        try (Checkpoint ckpt = Checkpoint.open(tmp.resolve("q")); Parallel pool = new Parallel(1)) {
            ModelConfig cfg = ModelConfig.load(tmp.resolve("q"));
            ModelException e = assertThrows(ModelException.class, () -> CpuBackend.load(ckpt, cfg, pool, DType.I4));
            assertEquals("loraxj.quantize=int4 cannot apply to a awq checkpoint, whose linears are quantized already: set loraxj.quantize=none",
                    e.getMessage());
        }
    }

    @Test
    void aDeclaredQuantizationWithoutQuantizedTensorsIsRefused() throws Exception {
        Path src = tmp.resolve("f32");
        RandomLlama.write(src, SHAPE, DType.F32, 7);
        var json = new com.fasterxml.jackson.databind.ObjectMapper();
        var config = (com.fasterxml.jackson.databind.node.ObjectNode) json.readTree(src.resolve("config.json").toFile());
        config.set("quantization_config", PackedCheckpoints.quantizationConfig(json, Format.gptq(32, true, false)));
        Files.writeString(src.resolve("config.json"), json.writeValueAsString(config));
        try (Checkpoint ckpt = Checkpoint.open(src); Parallel pool = new Parallel(1)) {
            ModelException e = assertThrows(ModelException.class, () -> CpuBackend.load(ckpt, ModelConfig.load(src), pool));
            assertTrue(e.getMessage().endsWith("config.json declares gptq quantization, but no linear has a qweight tensor"), e.getMessage());
        }
    }
}
