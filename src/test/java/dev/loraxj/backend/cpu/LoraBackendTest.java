package dev.loraxj.backend.cpu;

import dev.loraxj.SharedAssets;
import dev.loraxj.adapter.LoraWeights;
import dev.loraxj.adapter.RandomLora;
import dev.loraxj.backend.LoraAdapter;
import dev.loraxj.model.Checkpoint;
import dev.loraxj.model.DType;
import dev.loraxj.model.ModelConfig;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** LoRA in the CPU backend: the shared adapters' goldens, random adapters against a double reference, mixed batches. */
class LoraBackendTest {

    /** The golden README's bound for an F32 implementation; logits reach ~20. */
    private static final float TOLERANCE = 1e-3f;

    private static Checkpoint ckpt;
    private static ModelConfig cfg;
    private static Parallel pool;
    private static CpuBackend backend;

    @BeforeAll
    static void load() {
        Path dir = SharedAssets.stories260K();
        ckpt = Checkpoint.open(dir);
        cfg = ModelConfig.load(dir);
        pool = new Parallel(2);
        backend = CpuBackend.load(ckpt, cfg, pool);
    }

    @AfterAll
    static void close() {
        backend.close();
        pool.close();
        ckpt.close();
    }

    static LoraAdapter adapter(Path dir) {
        return LoraWeights.plan(dir, cfg).materialize().lora();
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"lora-name-max", "lora-name-sue", "lora-synth-1", "lora-synth-2"})
    void sharedAdapterMatchesItsGoldenLogits(String name) {
        float[] golden = SharedAssets.floats(name + ".logits.f32");
        LoraAdapter a = adapter(SharedAssets.adapter(name));
        for (int chunk : new int[] {13, 4}) {
            Sequences seqs = new Sequences(backend, 8, 16);
            float[] got = seqs.prefill(seqs.add(13), SharedAssets.PROMPT, chunk, a);
            for (int i = 0; i < golden.length; i++) {
                assertEquals(golden[i], got[i], TOLERANCE, name + " logit " + i + " (chunk " + chunk + ")");
            }
        }
    }

    @Test
    void randomAdaptersMatchADoublePrecisionReference(@TempDir Path tmp) throws Exception {
        record Spec(int rank, boolean rslora, List<String> modules) {
        }
        List<Spec> specs = List.of(
                new Spec(4, false, RandomLora.ALL_MODULES),
                new Spec(8, true, List.of("q_proj", "v_proj")),
                new Spec(16, false, List.of("k_proj", "o_proj", "down_proj")),
                new Spec(16, true, List.of("gate_proj", "up_proj", "down_proj")));
        for (int i = 0; i < specs.size(); i++) {
            Spec s = specs.get(i);
            Path dir = tmp.resolve("a" + i);
            RandomLora.write(dir, cfg, s.rank(), 2.0 * s.rank(), s.rslora(), s.modules(), DType.F32, 100 + i, 0.05);
            double[][] want;
            try (ReferenceLora ref = new ReferenceLora(dir)) {
                want = new ReferenceLlama(ckpt, cfg, ref).logits(SharedAssets.PROMPT);
            }
            Sequences seqs = new Sequences(backend, 8, 16);
            float[] got = seqs.prefill(seqs.add(13), SharedAssets.PROMPT, 13, adapter(dir));
            double maxDiff = 0;
            for (int t = 0; t < 13; t++) {
                for (int v = 0; v < cfg.vocabSize(); v++) {
                    maxDiff = Math.max(maxDiff, Math.abs(want[t][v] - got[t * cfg.vocabSize() + v]));
                }
            }
            // F32 against float64: the same bound the goldens use
            assertEquals(0, maxDiff, TOLERANCE, "adapter " + s);
        }
    }

    @Test
    void mixedAdapterBatchMatchesEachAdapterAloneBitwise(@TempDir Path tmp) {
        List<LoraAdapter> adapters = new ArrayList<>();
        adapters.add(null);
        adapters.add(adapter(SharedAssets.adapter("lora-name-max")));
        adapters.add(adapter(SharedAssets.adapter("lora-synth-1")));
        Path dir = tmp.resolve("r16");
        RandomLora.write(dir, cfg, 16, 16, true, List.of("q_proj", "down_proj"), DType.BF16, 7, 0.05);
        adapters.add(adapter(dir));
        adapters.add(adapters.get(1)); // a second sequence of the same adapter
        int[][] prompts = new int[adapters.size()][];
        for (int i = 0; i < prompts.length; i++) {
            prompts[i] = java.util.Arrays.copyOf(SharedAssets.PROMPT, 4 + 2 * i);
        }
        float[][] alone = new float[adapters.size()][];
        for (int i = 0; i < adapters.size(); i++) {
            Sequences seqs = new Sequences(backend, 16, 4);
            alone[i] = seqs.prefill(seqs.add(prompts[i].length), prompts[i], prompts[i].length, adapters.get(i));
        }
        Sequences seqs = new Sequences(backend, 64, 4);
        Sequences.Run[] runs = new Sequences.Run[adapters.size()];
        for (int i = 0; i < adapters.size(); i++) {
            runs[i] = new Sequences.Run(seqs.add(prompts[i].length), prompts[i], true, adapters.get(i));
        }
        float[][] together = seqs.step(runs);
        for (int i = 0; i < adapters.size(); i++) {
            assertArrayEquals(alone[i], together[i], "sequence " + i + " in a mixed batch vs alone");
        }
    }
}
