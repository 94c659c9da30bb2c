package dev.loraxj.backend.cpu;

import dev.loraxj.adapter.LoraWeights;
import dev.loraxj.backend.AdapterSlot;
import dev.loraxj.backend.Sequences;
import dev.loraxj.model.Checkpoint;
import dev.loraxj.model.ModelConfig;

import java.nio.file.Path;
import java.util.Arrays;

/** A model directory on the CPU backend, engine-free, for logit and greedy references in tests (also over HTTP). */
public final class LoadedModel implements AutoCloseable {

    private final Checkpoint ckpt;
    private final Parallel pool;
    private final ModelConfig cfg;
    private final CpuBackend backend;

    private LoadedModel(Path dir, int threads) {
        cfg = ModelConfig.load(dir);
        ckpt = Checkpoint.open(dir);
        pool = new Parallel(threads);
        backend = CpuBackend.load(ckpt, cfg, pool);
    }

    public static LoadedModel open(Path dir) {
        return new LoadedModel(dir, 2);
    }

    public CpuBackend backend() {
        return backend;
    }

    /** Registers the PEFT adapter at {@code dir} with the backend. */
    public AdapterSlot adapter(Path dir) {
        return backend.register(LoraWeights.read(dir, cfg).updates());
    }

    /** Logits of every prompt position, {@code [n, vocab]}, prefilled in chunks of 5 (the backend's results do not depend on it). */
    public float[] promptLogits(int[] prompt, AdapterSlot lora) {
        Sequences seqs = new Sequences(backend, 16, 16);
        return seqs.prefill(seqs.add(prompt.length + 1), prompt, 5, lora);
    }

    /** {@code n} greedy tokens after {@code prompt}, EOS ignored. */
    public int[] greedy(int[] prompt, int n, AdapterSlot lora) {
        int vocab = cfg.vocabSize();
        Sequences seqs = new Sequences(backend, 16, 16);
        int seq = seqs.add(prompt.length + n + 1);
        float[] logits = seqs.prefill(seq, prompt, prompt.length, lora);
        int[] ids = new int[n];
        int token = Sequences.argmax(logits, (prompt.length - 1) * vocab, vocab);
        for (int i = 0; i < n; i++) {
            ids[i] = token;
            token = Sequences.argmax(seqs.step(new Sequences.Run(seq, new int[] {token}, false, lora))[0], 0, vocab);
        }
        return ids;
    }

    /** Log-probabilities of {@code ids} under greedy decoding as {@link #greedy} runs it. */
    public double[] greedyLogprobs(int[] prompt, int[] ids, AdapterSlot lora) {
        int vocab = cfg.vocabSize();
        Sequences seqs = new Sequences(backend, 16, 16);
        int seq = seqs.add(prompt.length + ids.length + 1);
        float[] logits = seqs.prefill(seq, prompt, prompt.length, lora);
        double[] out = new double[ids.length];
        float[] row = Arrays.copyOfRange(logits, (prompt.length - 1) * vocab, prompt.length * vocab);
        for (int i = 0; i < ids.length; i++) {
            out[i] = logSoftmax(row, ids[i]);
            row = seqs.step(new Sequences.Run(seq, new int[] {ids[i]}, false, lora))[0];
        }
        return out;
    }

    private static double logSoftmax(float[] v, int id) {
        double max = Double.NEGATIVE_INFINITY;
        for (float f : v) {
            max = Math.max(max, f);
        }
        double sum = 0;
        for (float f : v) {
            sum += Math.exp(f - max);
        }
        return v[id] - max - Math.log(sum);
    }

    @Override
    public void close() {
        backend.close();
        ckpt.close();
        pool.close();
    }
}
