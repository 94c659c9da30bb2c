package dev.loraxj.backend.cpu;

import dev.loraxj.backend.Sequences;

import dev.loraxj.SharedAssets;
import dev.loraxj.model.Checkpoint;
import dev.loraxj.model.DType;
import dev.loraxj.model.ModelConfig;
import dev.loraxj.model.ModelException;
import dev.loraxj.model.RandomLlama;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Weight dtypes and architecture options against the double-precision reference on the same weights. */
class ModelVariantsTest {

    /** As for F32 stories260K against golden: float32 activations, logits up to ~20. */
    private static final float STORIES_TOLERANCE = 1e-3f;
    /** Random models have logits of order 0.1, so float32 rounding stays far below this. */
    private static final float RANDOM_TOLERANCE = 1e-5f;

    @TempDir
    Path tmp;

    @Test
    void bf16Stories260KMatchesReferenceOnTheSameRoundedWeights() {
        Path dir = TestModels.stories260KAs(tmp, DType.BF16);
        float[] got = checkAgainstReference(dir, SharedAssets.PROMPT, STORIES_TOLERANCE, "bfloat16");
        // The bf16 model is still the same model: its logits stay near the F32 golden ones.
        Stories260KGoldenTest.assertClose(SharedAssets.floats("base.logits.f32"), got, 0.5f);
    }

    @Test
    void f16Stories260KIsWidenedOnceAndMatchesReference() {
        checkAgainstReference(TestModels.stories260KAs(tmp, DType.F16), SharedAssets.PROMPT, STORIES_TOLERANCE, "float32");
    }

    @Test
    void oddShapesWithUntiedHeadMatchReferenceInF32AndBf16() {
        int[] tokens = DeterminismTest.randomTokens(11, TestModels.ODD.vocab(), 5);
        checkAgainstReference(TestModels.random(tmp, "odd", TestModels.ODD, DType.F32), tokens, RANDOM_TOLERANCE, "float32");
        checkAgainstReference(TestModels.random(tmp, "odd", TestModels.ODD, DType.BF16), tokens, RANDOM_TOLERANCE, "bfloat16");
    }

    @Test
    void qwen2QkvBiasesAreApplied() {
        RandomLlama.Shape qwen = TestModels.ODD.withModelType("qwen2");
        checkAgainstReference(TestModels.random(tmp, "qwen2", qwen, DType.F32),
                DeterminismTest.randomTokens(9, qwen.vocab(), 6), RANDOM_TOLERANCE, "float32");
    }

    @Test
    void llamaAttentionAndMlpBiasesAreApplied() {
        RandomLlama.Shape biased = TestModels.ODD.withBiases(true, true);
        checkAgainstReference(TestModels.random(tmp, "biased", biased, DType.F32),
                DeterminismTest.randomTokens(9, biased.vocab(), 7), RANDOM_TOLERANCE, "float32");
    }

    @Test
    void mistralSlidingWindowLimitsAttention() {
        RandomLlama.Shape windowed = TestModels.ODD.withModelType("mistral").withSlidingWindow(5);
        Path dir = TestModels.random(tmp, "mistral", windowed, DType.F32);
        assertEquals(5, ModelConfig.load(dir).slidingWindow());
        checkAgainstReference(dir, DeterminismTest.randomTokens(17, windowed.vocab(), 8), RANDOM_TOLERANCE, "float32");
    }

    @Test
    void aTensorOfTheWrongShapeIsRejectedWithItsName() throws Exception {
        Path dir = TestModels.random(tmp, "odd", TestModels.ODD, DType.F32);
        String config = Files.readString(dir.resolve("config.json")).replace("\"intermediate_size\" : 200", "\"intermediate_size\" : 201");
        Files.writeString(dir.resolve("config.json"), config);
        try (Checkpoint ckpt = Checkpoint.open(dir); Parallel pool = new Parallel(1)) {
            ModelConfig cfg = ModelConfig.load(dir);
            ModelException e = assertThrows(ModelException.class, () -> CpuBackend.load(ckpt, cfg, pool));
            assertTrue(e.getMessage().contains("model.layers.0.mlp.gate_proj.weight") && e.getMessage().contains("[200, 96]"),
                    e.getMessage());
        }
    }

    @Test
    void aMissingTensorIsRejectedWithItsName() throws Exception {
        Path dir = TestModels.random(tmp, "odd", TestModels.ODD, DType.F32);
        String config = Files.readString(dir.resolve("config.json")).replace("\"num_hidden_layers\" : 2", "\"num_hidden_layers\" : 3");
        Files.writeString(dir.resolve("config.json"), config);
        try (Checkpoint ckpt = Checkpoint.open(dir); Parallel pool = new Parallel(1)) {
            ModelConfig cfg = ModelConfig.load(dir);
            ModelException e = assertThrows(ModelException.class, () -> CpuBackend.load(ckpt, cfg, pool));
            assertTrue(e.getMessage().contains("missing tensor model.layers.2."), e.getMessage());
        }
    }

    /** Prefills {@code tokens} in chunks of 4 and compares every position's logits with the reference. */
    private static float[] checkAgainstReference(Path dir, int[] tokens, float tol, String dtype) {
        try (Checkpoint ckpt = Checkpoint.open(dir); Parallel pool = new Parallel(2)) {
            ModelConfig cfg = ModelConfig.load(dir);
            double[][] ref = new ReferenceLlama(ckpt, cfg).logits(tokens);
            float[] expected = new float[tokens.length * cfg.vocabSize()];
            for (int t = 0; t < tokens.length; t++) {
                for (int i = 0; i < cfg.vocabSize(); i++) {
                    expected[t * cfg.vocabSize() + i] = (float) ref[t][i];
                }
            }
            try (CpuBackend backend = CpuBackend.load(ckpt, cfg, pool)) {
                assertEquals(dtype, backend.dtype());
                Sequences seqs = new Sequences(backend, 16, 4);
                float[] got = seqs.prefill(seqs.add(tokens.length), tokens, 4);
                Stories260KGoldenTest.assertClose(expected, got, tol);
                return got;
            }
        }
    }
}
