package dev.loraxj.backend.cpu;

import dev.loraxj.backend.Sequences;

import dev.loraxj.SharedAssets;
import dev.loraxj.adapter.LoraWeights;
import dev.loraxj.adapter.RandomLora;
import dev.loraxj.backend.AdapterSlot;
import dev.loraxj.backend.LinearModule;
import dev.loraxj.model.Checkpoint;
import dev.loraxj.model.DType;
import dev.loraxj.model.ModelConfig;
import dev.loraxj.model.RandomLlama;
import dev.loraxj.model.SafeTensors;
import dev.loraxj.model.Tensor;
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

/**
 * LoRA in the CPU backend: the shared adapters' goldens, random F32 and BF16 adapters against a double
 * reference, weights kept as the file holds them, mixed batches bit for bit.
 */
class LoraBackendTest {

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

    static AdapterSlot adapter(Path dir) {
        return backend.register(LoraWeights.read(dir, cfg).updates());
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"lora-name-max", "lora-name-sue", "lora-synth-1", "lora-synth-2"})
    void sharedAdapterMatchesItsGoldenLogits(String name) {
        float[] golden = SharedAssets.floats(name + ".logits.f32");
        AdapterSlot a = adapter(SharedAssets.adapter(name));
        for (int chunk : new int[] {13, 4}) {
            Sequences seqs = new Sequences(backend, 8, 16);
            float[] got = seqs.prefill(seqs.add(13), SharedAssets.PROMPT, chunk, a);
            for (int i = 0; i < golden.length; i++) {
                assertEquals(golden[i], got[i], TOLERANCE, name + " logit " + i + " (chunk " + chunk + ")");
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"F32", "BF16"})
    void randomAdaptersMatchADoublePrecisionReference(String dtypeName, @TempDir Path tmp) throws Exception {
        DType dtype = DType.valueOf(dtypeName);
        record Spec(int rank, boolean rslora, List<String> modules) {
        }
        List<Spec> specs = List.of(
                new Spec(4, false, RandomLora.ALL_MODULES),
                new Spec(8, true, List.of("q_proj", "v_proj")),
                new Spec(16, false, List.of("k_proj", "o_proj", "down_proj")),
                new Spec(16, true, List.of("gate_proj", "up_proj", "down_proj")),
                new Spec(5, false, RandomLora.ALL_MODULES));
        for (int i = 0; i < specs.size(); i++) {
            Spec s = specs.get(i);
            Path dir = tmp.resolve("a" + i);
            RandomLora.write(dir, cfg, s.rank(), 2.0 * s.rank(), s.rslora(), s.modules(), dtype, 100 + i, 0.05);
            // The reference reads the same file, so a BF16 adapter is compared on the same rounded weights.
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
            assertEquals(0, maxDiff, TOLERANCE, dtype + " adapter " + s);
        }
    }

    @Test
    void adapterWeightsKeepTheFilesValuesBf16AsBf16AndF16WidenedToF32(@TempDir Path tmp) {
        for (DType dtype : new DType[]{DType.F32, DType.BF16, DType.F16}) { // the dtypes adapter files come in
            Path dir = tmp.resolve(dtype.name());
            RandomLora.write(dir, cfg, 5, 10, false, RandomLora.ALL_MODULES, dtype, 21, 0.05);
            CpuLora loaded = (CpuLora) backend.register(LoraWeights.read(dir, cfg).updates());
            long bytes = 0;
            try (SafeTensors file = SafeTensors.open(dir.resolve("adapter_model.safetensors"))) {
                for (int layer = 0; layer < cfg.numLayers(); layer++) {
                    for (LinearModule module : LinearModule.LORA_TARGETS) {
                        LoraMatrix m = loaded.matrix(layer, module);
                        assertEquals(dtype == DType.BF16 ? LoraMatrix.Bf16.class : LoraMatrix.F32.class, m.getClass(), dtype + " " + module);
                        assertEquals(2f, m.scale(), "alpha / r, kept apart from the weights");
                        String prefix = "base_model.model.model.layers." + layer + "." + module.path();
                        Tensor a = file.tensors().get(prefix + ".lora_A.weight");
                        Tensor b = file.tensors().get(prefix + ".lora_B.weight");
                        for (int j = 0; j < m.rank(); j++) {
                            for (int k = 0; k < m.in(); k++) {
                                assertEquals(a.getFloat((long) j * m.in() + k), m.a(j, k), dtype + " " + prefix + " A");
                            }
                            for (int c = 0; c < m.out(); c++) {
                                assertEquals(b.getFloat((long) c * m.rank() + j), m.bt(j, c), dtype + " " + prefix + " B");
                            }
                        }
                        bytes += LoraMatrix.bytes(LoraMatrix.storage(dtype), m.rank(), m.in(), m.out());
                    }
                }
            }
            assertEquals(bytes, loaded.footprint().device(), dtype + " accounting");
            assertEquals(bytes, backend.footprint(LoraWeights.check(dir, cfg).shapes()).device(), dtype + " accounting before loading");
        }
    }

    @Test
    void mixedAdapterBatchMatchesEachAdapterAloneBitwise(@TempDir Path tmp) {
        List<AdapterSlot> adapters = new ArrayList<>();
        adapters.add(null);
        adapters.add(adapter(SharedAssets.adapter("lora-name-max")));
        adapters.add(adapter(SharedAssets.adapter("lora-synth-1")));
        Path dir = tmp.resolve("r16");
        RandomLora.write(dir, cfg, 16, 16, true, List.of("q_proj", "down_proj"), DType.BF16, 7, 0.05);
        adapters.add(adapter(dir));
        adapters.add(adapters.get(1)); // a second sequence of the same adapter
        Path odd = tmp.resolve("r5");
        RandomLora.write(odd, cfg, 5, 10, false, RandomLora.ALL_MODULES, DType.BF16, 8, 0.05);
        adapters.add(adapter(odd));
        int[][] prompts = new int[adapters.size()][];
        for (int i = 0; i < prompts.length; i++) {
            prompts[i] = java.util.Arrays.copyOf(SharedAssets.PROMPT, 4 + 2 * (i % 5));
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

    /**
     * Many F32 and BF16 adapters decoding together (one task per adapter) give the bits each gives
     * alone (shrink and expand as separate parallel regions), with 1 to 3 threads, on stories260K
     * and on a model whose widths are odd (no chunk of any kernel fits evenly).
     */
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"stories260K", "odd"})
    void manyF32AndBf16AdaptersDecodingTogetherMatchEachAloneBitwise(String model, @TempDir Path tmp) {
        Path modelDir = model.equals("odd") ? TestModels.random(tmp, "odd75", ODD_WIDTHS, DType.F32) : SharedAssets.stories260K();
        ModelConfig c = ModelConfig.load(modelDir);
        int n = 8;
        AdapterSlot[] adapters = new AdapterSlot[n];
        for (int i = 0; i < n; i++) {
            Path dir = tmp.resolve("a" + i);
            int rank = new int[] {1, 5, 8, 16}[i % 4];
            RandomLora.write(dir, c, rank, 2.0 * rank, i % 3 == 0, RandomLora.ALL_MODULES, i % 2 == 0 ? DType.BF16 : DType.F32, 300 + i, 0.05);
            adapters[i] = i == 5 ? null : backend.register(LoraWeights.read(dir, c).updates());
        }
        int[][] prompts = new int[n][];
        for (int i = 0; i < n; i++) {
            prompts[i] = DeterminismTest.randomTokens(3 + i, c.vocabSize(), 40 + i);
        }
        int steps = 3;
        int[] decode = DeterminismTest.randomTokens(steps, c.vocabSize(), 99);
        try (Checkpoint ck = Checkpoint.open(modelDir)) {
            float[][][] alone = new float[n][][];
            for (int i = 0; i < n; i++) {
                int s = i;
                alone[i] = withBackend(ck, c, 1, seqs -> {
                    int seq = seqs.add(32);
                    float[][] out = new float[1 + steps][];
                    out[0] = seqs.step(new Sequences.Run(seq, prompts[s], true, adapters[s]))[0];
                    for (int t = 0; t < steps; t++) {
                        out[1 + t] = seqs.step(new Sequences.Run(seq, new int[] {decode[t]}, true, adapters[s]))[0];
                    }
                    return out;
                });
            }
            for (int threads = 1; threads <= 3; threads++) {
                float[][][] together = new float[1 + steps][][];
                withBackend(ck, c, threads, seqs -> {
                    int[] seq = new int[n];
                    Sequences.Run[] runs = new Sequences.Run[n];
                    for (int i = 0; i < n; i++) {
                        seq[i] = seqs.add(32);
                        runs[i] = new Sequences.Run(seq[i], prompts[i], true, adapters[i]);
                    }
                    together[0] = seqs.step(runs);
                    for (int t = 0; t < steps; t++) {
                        for (int i = 0; i < n; i++) {
                            runs[i] = new Sequences.Run(seq[i], new int[] {decode[t]}, true, adapters[i]);
                        }
                        together[1 + t] = seqs.step(runs);
                    }
                    return null;
                });
                for (int i = 0; i < n; i++) {
                    for (int t = 0; t <= steps; t++) {
                        assertArrayEquals(alone[i][t], together[t][i], model + ", threads " + threads + ", sequence " + i + ", step " + t);
                    }
                }
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"F32", "BF16"})
    void adaptersOnAModelOfOddWidthsMatchTheReference(String dtypeName, @TempDir Path tmp) throws Exception {
        DType dtype = DType.valueOf(dtypeName);
        Path modelDir = TestModels.random(tmp, "odd75", ODD_WIDTHS, DType.F32);
        ModelConfig c = ModelConfig.load(modelDir);
        int[] tokens = DeterminismTest.randomTokens(9, c.vocabSize(), 12);
        try (Checkpoint ck = Checkpoint.open(modelDir)) {
            for (int rank : new int[] {3, 8}) {
                Path dir = tmp.resolve("r" + rank);
                RandomLora.write(dir, c, rank, 2.0 * rank, false, RandomLora.ALL_MODULES, dtype, 500 + rank, 0.05);
                double[][] want;
                try (ReferenceLora ref = new ReferenceLora(dir)) {
                    want = new ReferenceLlama(ck, c, ref).logits(tokens);
                }
                AdapterSlot a = backend.register(LoraWeights.read(dir, c).updates());
                float[][] got = withBackend(ck, c, 2, seqs -> new float[][] {seqs.prefill(seqs.add(tokens.length), tokens, 4, a)});
                double maxDiff = 0;
                for (int t = 0; t < tokens.length; t++) {
                    for (int v = 0; v < c.vocabSize(); v++) {
                        maxDiff = Math.max(maxDiff, Math.abs(want[t][v] - got[0][t * c.vocabSize() + v]));
                    }
                }
                // Random-model logits are of order 1 here: float32 rounding stays far below this
                assertEquals(0, maxDiff, 1e-4, dtype + " rank " + rank);
            }
        }
    }

    /** Every width off the kernels' chunks: hidden 75, q 78, kv 26, FFN 101. */
    private static final RandomLlama.Shape ODD_WIDTHS = new RandomLlama.Shape("llama", 75, 101, 2, 3, 1, 26, 300, false, false, false, 0);

    private static float[][] withBackend(Checkpoint ck, ModelConfig c, int threads, java.util.function.Function<Sequences, float[][]> body) {
        try (Parallel p = new Parallel(threads); CpuBackend b = CpuBackend.load(ck, c, p)) {
            return body.apply(new Sequences(b, 64, 4));
        }
    }
}
