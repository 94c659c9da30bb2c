package dev.loraxj.backend.cpu;

import dev.loraxj.backend.Sequences;

import dev.loraxj.SharedAssets;
import dev.loraxj.model.Checkpoint;
import dev.loraxj.model.DType;
import dev.loraxj.model.ModelConfig;
import dev.loraxj.model.RandomLlama;
import dev.loraxj.model.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Random models load into the backend with the shapes they claim and stay numerically tame. */
class RandomLlamaTest {

    @TempDir
    Path tmp;

    @Test
    void tinyHasStories260KShapeAndGivesFiniteLogitsInBothDtypes() {
        ModelConfig stories = ModelConfig.load(SharedAssets.stories260K());
        for (DType dtype : new DType[] {DType.F32, DType.BF16}) {
            Path dir = tmp.resolve("tiny-" + dtype);
            RandomLlama.write(dir, "tiny", dtype, 7);
            ModelConfig cfg = ModelConfig.load(dir);
            assertEquals(stories.hiddenSize(), cfg.hiddenSize());
            assertEquals(stories.intermediateSize(), cfg.intermediateSize());
            assertEquals(stories.numLayers(), cfg.numLayers());
            assertEquals(stories.numHeads(), cfg.numHeads());
            assertEquals(stories.numKvHeads(), cfg.numKvHeads());
            assertEquals(stories.headDim(), cfg.headDim());
            assertEquals(stories.vocabSize(), cfg.vocabSize());
            assertTrue(cfg.tieWordEmbeddings());
            try (Checkpoint ckpt = Checkpoint.open(dir); Parallel pool = new Parallel(2);
                 CpuBackend backend = CpuBackend.load(ckpt, cfg, pool)) {
                assertEquals(dtype.torchName(), backend.dtype());
                Sequences seqs = new Sequences(backend, 8, 16);
                float[] logits = seqs.prefill(seqs.add(20), DeterminismTest.randomTokens(20, cfg.vocabSize(), 1), 20);
                for (float v : logits) {
                    assertTrue(Float.isFinite(v) && Math.abs(v) < 100, "logit " + v);
                }
            }
        }
    }

    @Test
    void theSameSeedWritesTheSameBytesAndAnotherSeedDoesNot() throws Exception {
        RandomLlama.write(tmp.resolve("a"), "tiny", DType.F32, 1);
        RandomLlama.write(tmp.resolve("b"), "tiny", DType.F32, 1);
        RandomLlama.write(tmp.resolve("c"), "tiny", DType.F32, 2);
        byte[] a = Files.readAllBytes(tmp.resolve("a/model.safetensors"));
        assertArrayEquals(a, Files.readAllBytes(tmp.resolve("b/model.safetensors")));
        assertTrue(!java.util.Arrays.equals(a, Files.readAllBytes(tmp.resolve("c/model.safetensors"))));
    }

    @Test
    void the110mShapeIsLlama2Style() {
        RandomLlama.Shape s = RandomLlama.shape("110m");
        assertEquals(768, s.hidden());
        assertEquals(2048, s.ffn());
        assertEquals(12, s.layers());
        assertEquals(12, s.heads());
        assertEquals(12, s.kvHeads());
        assertEquals(64, s.headDim());
        assertEquals(32000, s.vocab());
        assertTrue(!s.tied());
    }

    @Test
    void weightsHaveTheAdvertisedScale() {
        Path dir = tmp.resolve("scale");
        RandomLlama.write(dir, "tiny", DType.F32, 3);
        try (Checkpoint ckpt = Checkpoint.open(dir)) {
            float[] w = ckpt.tensor("model.layers.0.mlp.up_proj.weight").toFloats();
            double ss = 0;
            for (float v : w) {
                ss += v * v;
            }
            // std 0.02 within sampling noise over 11008 values.
            assertEquals(0.02, Math.sqrt(ss / w.length), 0.002);
            Tensor norm = ckpt.tensor("model.norm.weight");
            for (int i = 0; i < norm.numel(); i++) {
                assertEquals(1.0, norm.getFloat(i), 0.1 + 1e-6);
            }
        }
    }
}
