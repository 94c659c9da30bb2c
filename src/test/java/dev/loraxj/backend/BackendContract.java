package dev.loraxj.backend;

import dev.loraxj.SharedAssets;
import dev.loraxj.adapter.AdapterMerger;
import dev.loraxj.adapter.AdapterRef;
import dev.loraxj.adapter.LoraWeights;
import dev.loraxj.adapter.MedusaLoader;
import dev.loraxj.adapter.MergeSpec;
import dev.loraxj.adapter.RandomLora;
import dev.loraxj.model.Checkpoint;
import dev.loraxj.model.DType;
import dev.loraxj.model.ModelConfig;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * What every backend must do, through the {@link Backend} interface alone, on the real stories260K
 * model against goldens from independent implementations: the base model, each LoRA, merges and
 * Medusa heads; a batch of mixed adapters equal to each sequence alone; KV rolled back by count;
 * adapter slots registered and released under churn. A backend's test extends this and opens it.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
public abstract class BackendContract {

    private static final String[] LORAS = {"lora-name-max", "lora-name-sue", "lora-synth-1", "lora-synth-2"};

    protected Checkpoint ckpt;
    protected ModelConfig cfg;
    protected Backend backend;

    /** The backend under test over stories260K's checkpoint, which stays open while it is used. */
    protected abstract Backend open(Checkpoint ckpt, ModelConfig cfg);

    /** The golden README's bound for an F32 implementation; logits reach about 20. */
    protected float goldenTolerance() {
        return 1e-3f;
    }

    /** The bound against one golden (base, an adapter's, a merge's or Medusa heads' name): {@link #goldenTolerance()} unless a backend's precision needs more for some. */
    protected float goldenTolerance(String golden) {
        return goldenTolerance();
    }

    /**
     * How far a row may move when other sequences share its batch: 0, bitwise, for a backend whose
     * every output is computed in an order the batch does not change (the CPU's).
     */
    protected float batchTolerance() {
        return 0f;
    }

    /** Opens the backend once for the class; a subclass may first check that its device is there. */
    @BeforeAll
    protected void openBackend() {
        ckpt = Checkpoint.open(SharedAssets.stories260K());
        cfg = ModelConfig.load(SharedAssets.stories260K());
        backend = open(ckpt, cfg);
    }

    @AfterAll
    void closeBackend() {
        if (backend != null) { // null where a subclass skipped before opening
            backend.close();
        }
        if (ckpt != null) {
            ckpt.close();
        }
    }

    private AdapterSlot register(String adapter) {
        return backend.register(LoraWeights.read(SharedAssets.adapter(adapter), cfg).updates());
    }

    private AdapterSlot merge(MergeSpec.Strategy strategy, float density, MergeSpec.SignMethod sign, float... weights) {
        List<Float> w = new ArrayList<>();
        for (float x : weights) {
            w.add(x);
        }
        MergeSpec spec = new MergeSpec(List.of(AdapterRef.of("lora-name-max", "local"), AdapterRef.of("lora-name-sue", "local")),
                w, strategy, density, sign, MergeSpec.DEFAULT_SEED);
        return AdapterMerger.pending(spec, ref -> SharedAssets.adapter(ref.id()), cfg, backend).materialize().lora();
    }

    private void assertClose(float[] expected, float[] actual, float tol, String what) {
        assertEquals(expected.length, actual.length, what + ": length");
        int worst = 0;
        for (int i = 1; i < expected.length; i++) {
            if (!(Math.abs(expected[i] - actual[i]) <= Math.abs(expected[worst] - actual[worst]))) {
                worst = i;
            }
        }
        int w = worst;
        assertTrue(Math.abs(expected[w] - actual[w]) <= tol, () -> what + ": max |diff| " + Math.abs(expected[w] - actual[w])
                + " at " + w + " (expected " + expected[w] + ", got " + actual[w] + "), tolerance " + tol);
    }

    private float[] prompt(AdapterSlot adapter, int chunk) {
        Sequences seqs = new Sequences(backend, 8, 16);
        return seqs.prefill(seqs.add(SharedAssets.PROMPT.length), SharedAssets.PROMPT, chunk, adapter);
    }

    @ParameterizedTest(name = "prefill in chunks of {0}")
    @ValueSource(ints = {13, 4, 1})
    void baseModelMatchesItsGoldenAtEveryPosition(int chunk) {
        assertClose(SharedAssets.floats("base.logits.f32"), prompt(null, chunk), goldenTolerance("base"), "base, chunks of " + chunk);
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"lora-name-max", "lora-name-sue", "lora-synth-1", "lora-synth-2"})
    void eachLoraMatchesItsGoldenAtEveryPosition(String adapter) {
        AdapterSlot slot = register(adapter);
        try {
            assertClose(SharedAssets.floats(adapter + ".logits.f32"), prompt(slot, 5), goldenTolerance(adapter), adapter);
        } finally {
            backend.release(slot);
        }
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"merge-linear-0.7-0.3", "merge-ties-total-d0.5", "merge-ties-frequency-d0.5"})
    void mergesMatchTheirGoldens(String golden) {
        AdapterSlot slot = switch (golden) {
            case "merge-linear-0.7-0.3" -> merge(MergeSpec.Strategy.LINEAR, 1f, MergeSpec.SignMethod.TOTAL, 0.7f, 0.3f);
            case "merge-ties-total-d0.5" -> merge(MergeSpec.Strategy.TIES, 0.5f, MergeSpec.SignMethod.TOTAL, 0.5f, 0.5f);
            default -> merge(MergeSpec.Strategy.TIES, 0.5f, MergeSpec.SignMethod.FREQUENCY, 0.5f, 0.5f);
        };
        try {
            assertClose(SharedAssets.floats(golden + ".logits.f32"), prompt(slot, 13), goldenTolerance(golden), golden);
        } finally {
            backend.release(slot);
        }
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"medusa-v1", "medusa-v2", "medusa-v2-lora-max"})
    void medusaHeadsMatchTheirGoldensAtEveryPosition(String name) {
        Path dir = SharedAssets.adapter(name);
        MedusaHeads heads = MedusaLoader.load(dir, cfg);
        AdapterSlot lora = name.endsWith("lora-max") ? backend.register(LoraWeights.read(dir, cfg).updates()) : null;
        try {
            float[] logits = prompt(lora, 13);
            int d = cfg.hiddenSize();
            int v = cfg.vocabSize();
            float[] hidden = backend.finalHidden().clone();
            assertClose(SharedAssets.floats(name + ".hidden_last.f32"), Arrays.copyOfRange(hidden, 12 * d, 13 * d), goldenTolerance(name),
                    name + " hidden state");
            assertClose(SharedAssets.floats(name + ".base_logits_last.f32"), Arrays.copyOfRange(logits, 12 * v, 13 * v),
                    goldenTolerance(name), name + " base logits");
            int h = heads.numHeads();
            float[] out = new float[h * 13 * v];
            backend.medusa(heads, hidden, 13, out);
            float[] all = SharedAssets.floats(name + ".heads_logits_all.f32"); // [position][head][vocab]; out is [head][row][vocab]
            float[] reordered = new float[all.length];
            for (int t = 0; t < 13; t++) {
                for (int i = 0; i < h; i++) {
                    System.arraycopy(out, (i * 13 + t) * v, reordered, (t * h + i) * v, v);
                }
            }
            assertClose(all, reordered, goldenTolerance(name), name + " heads at every position");
        } finally {
            if (lora != null) {
                backend.release(lora);
            }
        }
    }

    /**
     * Base, four LoRAs and a merge, with prompts of different lengths, prefilled in one step and then
     * decoded together: every row equals that sequence run alone.
     */
    @Test
    void aMixedAdapterBatchEqualsEachSequenceAlone() {
        List<AdapterSlot> slots = new ArrayList<>();
        slots.add(null);
        for (String a : LORAS) {
            slots.add(register(a));
        }
        slots.add(merge(MergeSpec.Strategy.LINEAR, 1f, MergeSpec.SignMethod.TOTAL, 0.7f, 0.3f));
        int n = slots.size();
        int steps = 8;
        int[][] prompts = new int[n][];
        for (int i = 0; i < n; i++) {
            prompts[i] = Arrays.copyOf(SharedAssets.PROMPT, 6 + i); // 6..11 tokens
        }
        int[][] next = new int[n][steps];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < steps; j++) {
                next[i][j] = 260 + 17 * i + 5 * j;
            }
        }
        float[][][] alone = new float[n][][];
        for (int i = 0; i < n; i++) {
            Sequences one = new Sequences(backend, 64, 4);
            int s = one.add(32);
            alone[i] = new float[steps + 1][];
            alone[i][0] = one.step(new Sequences.Run(s, prompts[i], true, slots.get(i)))[0];
            for (int j = 0; j < steps; j++) {
                alone[i][j + 1] = one.step(new Sequences.Run(s, new int[] {next[i][j]}, false, slots.get(i)))[0];
            }
        }
        Sequences together = new Sequences(backend, 64, 4);
        int[] ids = new int[n];
        Sequences.Run[] runs = new Sequences.Run[n];
        for (int i = 0; i < n; i++) {
            ids[i] = together.add(32);
            runs[i] = new Sequences.Run(ids[i], prompts[i], true, slots.get(i));
        }
        float[][] got = together.step(runs);
        for (int i = 0; i < n; i++) {
            assertClose(alone[i][0], got[i], batchTolerance(), "prefill of sequence " + i);
        }
        for (int j = 0; j < steps; j++) {
            for (int i = 0; i < n; i++) {
                runs[i] = new Sequences.Run(ids[i], new int[] {next[i][j]}, false, slots.get(i));
            }
            got = together.step(runs);
            for (int i = 0; i < n; i++) {
                assertClose(alone[i][j + 1], got[i], batchTolerance(), "decode step " + j + " of sequence " + i);
            }
        }
        assertNotEquals(alone[0][steps][0], alone[1][steps][0], "the adapters change the logits");
        slots.stream().filter(s -> s != null).forEach(backend::release);
    }

    /**
     * A verification step writes K/V for candidates that are then rejected; the engine drops them by
     * count alone. What comes next must attend only to the kept positions, and overwrite the rest.
     */
    @Test
    void kvRolledBackByCountIsOverwrittenAndNeverAttended() {
        int[] prompt = SharedAssets.PROMPT;
        int vocab = cfg.vocabSize();
        float[] golden = SharedAssets.floats("base.logits.f32");
        Sequences seqs = new Sequences(backend, 8, 4);
        int s = seqs.add(prompt.length + 8);
        seqs.step(new Sequences.Run(s, Arrays.copyOf(prompt, 7), true));
        seqs.step(new Sequences.Run(s, new int[] {500, 499, 498, 497, 496}, true)); // positions 7..11, rejected
        seqs.truncate(s, 7);
        float[] rest = seqs.step(new Sequences.Run(s, Arrays.copyOfRange(prompt, 7, prompt.length), true))[0];
        assertClose(Arrays.copyOfRange(golden, 7 * vocab, prompt.length * vocab), rest, goldenTolerance("base"),
                "positions 7.. after five rejected candidates");
        // one accepted of three: positions 7 and 8 kept, 9 and 10 rolled back, then decoding goes on
        Sequences again = new Sequences(backend, 8, 4);
        int t = again.add(prompt.length + 8);
        again.step(new Sequences.Run(t, Arrays.copyOf(prompt, 7), true));
        again.step(new Sequences.Run(t, new int[] {prompt[7], prompt[8], 12, 13}, true));
        again.truncate(t, 9);
        float[] after = again.step(new Sequences.Run(t, Arrays.copyOfRange(prompt, 9, prompt.length), true))[0];
        assertClose(Arrays.copyOfRange(golden, 9 * vocab, prompt.length * vocab), after, goldenTolerance("base"),
                "positions 9.. after a partly accepted draft");
    }

    /**
     * Forty rounds of registering a fresh adapter, running it beside one that stays, and releasing
     * it, with registrations from another thread while forwards run: every slot's footprint is what
     * {@link Backend#footprint} said, its logits do not depend on the slots before it, and the one
     * that stays keeps its golden throughout.
     */
    @Test
    void slotsRegisteredAndReleasedUnderChurnKeepEveryAdaptersLogits(@TempDir Path tmp) throws Exception {
        int kinds = 4;
        List<LoraWeights> weights = new ArrayList<>();
        for (int k = 0; k < kinds; k++) {
            Path dir = tmp.resolve("a" + k);
            int rank = 2 + 3 * k;
            RandomLora.write(dir, cfg, rank, 2.0 * rank, k == 3, RandomLora.ALL_MODULES, k % 2 == 0 ? DType.BF16 : DType.F32, 40 + k, 0.05);
            LoraWeights w = LoraWeights.read(dir, cfg);
            assertEquals(backend.footprint(LoraWeights.check(dir, cfg).shapes()), backend.footprint(
                    w.updates().stream().map(LoraUpdate::shape).toList()), "footprint known before the weights are read");
            weights.add(w);
        }
        AdapterSlot max = register("lora-name-max");
        float[] maxGolden = SharedAssets.floats("lora-name-max.logits.f32");
        float[][] first = new float[kinds][];
        long lastSerial = max.serial();
        ExecutorService other = Executors.newSingleThreadExecutor();
        try {
            for (int round = 0; round < 40; round++) {
                int k = round % kinds;
                LoraWeights another = weights.get((round + 1) % kinds);
                Future<AdapterSlot> registering = other.submit(() -> backend.register(another.updates()));
                AdapterSlot slot = backend.register(weights.get(k).updates());
                assertTrue(slot.serial() > lastSerial, "serials are never reused");
                lastSerial = slot.serial();
                assertEquals(backend.footprint(weights.get(k).updates().stream().map(LoraUpdate::shape).toList()), slot.footprint());
                Sequences seqs = new Sequences(backend, 16, 4);
                int a = seqs.add(16);
                int b = seqs.add(16);
                float[][] got = seqs.step(new Sequences.Run(a, SharedAssets.PROMPT, true, max),
                        new Sequences.Run(b, SharedAssets.PROMPT, true, slot));
                assertClose(maxGolden, got[0], goldenTolerance("lora-name-max"), "lora-name-max in round " + round);
                if (first[k] == null) {
                    first[k] = got[1];
                } else {
                    assertClose(first[k], got[1], batchTolerance(), "adapter " + k + " registered again in round " + round);
                }
                backend.release(slot);
                backend.release(slot); // twice is a no-op
                assertTrue(slot.released());
                AdapterSlot fromOtherThread = registering.get();
                lastSerial = Math.max(lastSerial, fromOtherThread.serial());
                backend.release(fromOtherThread);
            }
        } finally {
            other.shutdownNow();
        }
        assertNotEquals(first[0][0], first[1][0], "different adapters give different logits");
        backend.release(max);
    }

    /** A slot used after its release is a bug in whoever released it: the backend refuses it, it never reads freed weights. */
    @Test
    void aReleasedSlotInABatchIsRefused() {
        AdapterSlot slot = register("lora-name-sue");
        backend.release(slot);
        Sequences seqs = new Sequences(backend, 8, 16);
        int s = seqs.add(16);
        assertThrows(IllegalStateException.class, () -> seqs.step(new Sequences.Run(s, SharedAssets.PROMPT, true, slot)));
    }
}
