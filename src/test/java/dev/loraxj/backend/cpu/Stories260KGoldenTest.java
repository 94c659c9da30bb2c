package dev.loraxj.backend.cpu;

import dev.loraxj.backend.Sequences;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import dev.loraxj.SharedAssets;
import dev.loraxj.model.Checkpoint;
import dev.loraxj.model.ModelConfig;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The real stories260K checkpoint against logits and text from independent implementations. */
class Stories260KGoldenTest {

    /** The golden README's bound for an F32 implementation; logits reach ~20. */
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

    @ParameterizedTest(name = "prefill in chunks of {0}")
    @ValueSource(ints = {13, 5, 4, 1})
    void promptLogitsMatchGoldenAtEveryPosition(int chunk) {
        float[] golden = SharedAssets.floats("base.logits.f32");
        int[] prompt = SharedAssets.PROMPT;
        assertEquals(prompt.length * cfg.vocabSize(), golden.length);
        Sequences seqs = new Sequences(backend, 8, 16);
        float[] got = seqs.prefill(seqs.add(prompt.length), prompt, chunk);
        assertClose(golden, got, TOLERANCE);
    }

    @Test
    void greedyDecodingFromBosReproducesGoldenText() throws Exception {
        String expected = Files.readString(SharedAssets.golden("greedy256.txt"));
        Sequences seqs = new Sequences(backend, 32, 16);
        int seq = seqs.add(300);
        int[] ids = new int[256];
        int token = 1;
        for (int i = 0; i < ids.length; i++) {
            float[] logits = seqs.step(new Sequences.Run(seq, new int[] {token}, false))[0];
            token = Sequences.argmax(logits, 0, cfg.vocabSize());
            ids[i] = token;
        }
        long[] asLong = new long[ids.length];
        for (int i = 0; i < ids.length; i++) {
            asLong[i] = ids[i];
        }
        try (HuggingFaceTokenizer tok = HuggingFaceTokenizer.newInstance(SharedAssets.stories260K().resolve("tokenizer.json"))) {
            assertEquals(expected, tok.decode(asLong, true));
        }
    }

    @Test
    void doubleReferenceMatchesGolden() {
        double[][] ref = new ReferenceLlama(ckpt, cfg).logits(SharedAssets.PROMPT);
        float[] golden = SharedAssets.floats("base.logits.f32");
        float[] flat = new float[golden.length];
        for (int t = 0; t < ref.length; t++) {
            for (int i = 0; i < cfg.vocabSize(); i++) {
                flat[t * cfg.vocabSize() + i] = (float) ref[t][i];
            }
        }
        assertClose(golden, flat, 1e-4f);
    }

    static void assertClose(float[] expected, float[] actual, float tol) {
        assertEquals(expected.length, actual.length, "length");
        float worst = 0;
        int at = -1;
        for (int i = 0; i < expected.length; i++) {
            float d = Math.abs(expected[i] - actual[i]);
            if (!(d <= worst)) {
                worst = d;
                at = i;
            }
        }
        final float w = worst;
        final int a = at;
        assertTrue(worst <= tol, () -> "max |diff| " + w + " at " + a + " (expected " + expected[a] + ", got " + actual[a] + ")");
    }
}
