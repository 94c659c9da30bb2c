package dev.loraxj.backend.cpu;

import dev.loraxj.backend.Sequences;

import dev.loraxj.SharedAssets;
import dev.loraxj.adapter.LoraWeights;
import dev.loraxj.adapter.MedusaLoader;
import dev.loraxj.backend.AdapterSlot;
import dev.loraxj.backend.MedusaHeads;
import dev.loraxj.model.Checkpoint;
import dev.loraxj.model.ModelConfig;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** Medusa heads against the goldens: hidden state and every head's logits at every prompt position. */
class MedusaGoldenTest {

    /** The golden README's bound for an F32 implementation. */
    private static final float TOLERANCE = 1e-3f;

    private static Stories260K model;
    private static Checkpoint ckpt;
    private static ModelConfig cfg;
    private static CpuBackend backend;

    @BeforeAll
    static void load() {
        model = Stories260K.open();
        ckpt = model.ckpt();
        cfg = model.cfg();
        backend = model.backend();
    }

    @AfterAll
    static void close() {
        model.close();
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"medusa-v1", "medusa-v2", "medusa-v2-lora-max"})
    void headsMatchTheirGoldenLogitsAtEveryPosition(String name) {
        Path dir = SharedAssets.adapter(name);
        MedusaHeads heads = MedusaLoader.load(dir, cfg);
        assertEquals(name.equals("medusa-v1") ? 1 : 2, heads.version());
        AdapterSlot lora = name.endsWith("lora-max") ? backend.register(LoraWeights.read(dir, cfg).updates()) : null;
        Sequences seqs = new Sequences(backend, 8, 16);
        float[] logits = seqs.prefill(seqs.add(13), SharedAssets.PROMPT, 13, lora);
        float[] hidden = backend.finalHidden().clone();
        int d = cfg.hiddenSize();
        int v = cfg.vocabSize();
        float[] hiddenLast = SharedAssets.floats(name + ".hidden_last.f32");
        for (int i = 0; i < d; i++) {
            assertEquals(hiddenLast[i], hidden[12 * d + i], TOLERANCE, "hidden " + i);
        }
        float[] baseLast = SharedAssets.floats(name + ".base_logits_last.f32");
        for (int i = 0; i < v; i++) {
            assertEquals(baseLast[i], logits[12 * v + i], TOLERANCE, "base logit " + i);
        }
        // all 13 rows in one call; the golden is [position][head][vocab], the output [head][row][vocab]
        float[] all = SharedAssets.floats(name + ".heads_logits_all.f32");
        int h = heads.numHeads();
        float[] out = new float[h * 13 * v];
        backend.medusa(heads, hidden, 13, out);
        for (int t = 0; t < 13; t++) {
            for (int i = 0; i < h; i++) {
                for (int j = 0; j < v; j++) {
                    assertEquals(all[(t * h + i) * v + j], out[(i * 13 + t) * v + j], TOLERANCE, name + " position " + t + " head " + i);
                }
            }
        }
        float[] last = SharedAssets.floats(name + ".heads_logits_last.f32");
        float[] one = new float[h * v];
        backend.medusa(heads, java.util.Arrays.copyOfRange(hidden, 12 * d, 13 * d), 1, one);
        for (int j = 0; j < one.length; j++) {
            assertEquals(last[j], one[j], TOLERANCE, "one row alone");
        }
    }
}
