package dev.loraxj.backend.cuda;

import dev.loraxj.backend.AdapterSlot;
import dev.loraxj.backend.LinearModule;
import dev.loraxj.backend.LoraShape;
import dev.loraxj.backend.LoraUpdate;
import dev.loraxj.backend.StepBatch;
import dev.loraxj.model.DType;
import dev.loraxj.model.ModelConfig;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.Consumer;

/**
 * The device figures of issue 14 on a random bf16 model generated on the GPU: batch-1 decode against
 * the HBM roofline (a device-to-device copy measured in the same run), decode throughput at larger
 * batches, prefill tokens/s, 64 distinct r=16 adapters against 64 rows of the base model, and the
 * cold upload of one adapter. Every figure is a line of {@code out}, ready for an issue note.
 */
final class DeviceBench {

    private static final int BLOCK = 16;
    private static final int CONTEXT = 256; // tokens in the cache when decoding is timed

    private final CudaBackend backend;
    private final ModelConfig cfg;
    private final Consumer<String> out;
    private final SplittableRandom random = new SplittableRandom(14);

    DeviceBench(CudaBackend backend, Consumer<String> out) {
        this.backend = backend;
        this.cfg = backend.config();
        this.out = out;
    }

    /** Llama-3.2-1B's shape (hidden 2048, 16 layers, FFN 8192, 32/8 heads of 64, vocab 128256, tied head). */
    static ModelConfig llama1B() {
        String json = """
                {"model_type":"llama","hidden_size":2048,"intermediate_size":8192,"num_hidden_layers":16,
                 "num_attention_heads":32,"num_key_value_heads":8,"head_dim":64,"vocab_size":128256,
                 "max_position_embeddings":131072,"rms_norm_eps":1e-5,"rope_theta":500000.0,
                 "tie_word_embeddings":true,"torch_dtype":"bfloat16","bos_token_id":128000,"eos_token_id":128001}""";
        try {
            return ModelConfig.parse(new com.fasterxml.jackson.databind.ObjectMapper().readTree(json));
        } catch (java.io.IOException e) {
            throw new IllegalStateException(e);
        }
    }

    void run() {
        double copy = backend.copyBandwidth(1L << 30);
        out.accept(String.format("device %s: device-to-device copy %.0f GB/s (read + write); driver's peak %.0f GB/s",
                backend.device(), copy / 1e9, backend.peakBandwidth() / 1e9));
        out.accept(String.format("model: random Llama-3.2-1B shape, bf16, %.2f GB of linears and head streamed per decode step",
                backend.weightBytes() / 1e9));
        int maxBatch = 64;
        backend.allocateKvCache(maxBatch * blocksPer(CONTEXT + 64) + 8, BLOCK);
        double step1 = decode(1, null);
        long kvRead = backend.kvBytesPerToken() * CONTEXT;
        double bytes = backend.weightBytes() + kvRead;
        out.accept(String.format("batch-1 decode: %.3f ms/token, %.0f GB/s = %.2f of the measured copy bandwidth (target >= 0.70)",
                step1 * 1e3, bytes / step1 / 1e9, bytes / step1 / copy));
        for (int b : new int[] {8, 32, 64}) {
            double s = decode(b, null);
            out.accept(String.format("decode batch %d: %.3f ms/step, %.0f tokens/s", b, s * 1e3, b / s));
        }
        prefill();
        adapters();
    }

    private static int blocksPer(int tokens) {
        return (tokens + BLOCK - 1) / BLOCK;
    }

    /** Seconds per decode step of {@code b} sequences at {@link #CONTEXT} cached tokens, each with its adapter (null: base). */
    private double decode(int b, AdapterSlot[] adapters) {
        int per = blocksPer(CONTEXT + 64);
        int[][] tables = new int[b][per];
        for (int s = 0; s < b; s++) {
            for (int i = 0; i < per; i++) {
                tables[s][i] = s * per + i;
            }
        }
        StepBatch batch = new StepBatch(cfg.vocabSize());
        int chunk = 512;
        for (int s = 0; s < b; s++) { // fill the cache: CONTEXT tokens per sequence, a few sequences a step
            batch.clear();
            int[] prompt = tokens(CONTEXT);
            batch.addSequence(prompt, 0, CONTEXT, 0, tables[s], CONTEXT, adapters == null ? null : adapters[s]);
            while (s + 1 < b && batch.numTokens() + CONTEXT <= chunk) {
                s++;
                batch.addSequence(prompt, 0, CONTEXT, 0, tables[s], CONTEXT, adapters == null ? null : adapters[s]);
            }
            backend.forward(batch);
        }
        int[] next = tokens(b);
        int warm = 3;
        int steps = 20;
        long start = 0;
        for (int i = 0; i < warm + steps; i++) {
            if (i == warm) {
                start = System.nanoTime();
            }
            batch.clear();
            for (int s = 0; s < b; s++) {
                batch.addSequence(next, s, 1, CONTEXT + (i % 32), tables[s], 0, adapters == null ? null : adapters[s]);
            }
            backend.forward(batch); // copies the logits back: a whole step as the engine sees it
        }
        return (System.nanoTime() - start) / 1e9 / steps;
    }

    private void prefill() {
        int len = 2048;
        int chunk = 512;
        int[] table = new int[blocksPer(len)];
        for (int i = 0; i < table.length; i++) {
            table[i] = i;
        }
        int[] prompt = tokens(len);
        StepBatch batch = new StepBatch(cfg.vocabSize());
        double best = Double.MAX_VALUE;
        for (int round = 0; round < 3; round++) {
            long start = System.nanoTime();
            for (int p = 0; p < len; p += chunk) {
                batch.clear();
                batch.addSequence(prompt, p, chunk, p, table, chunk - 1);
                backend.forward(batch);
            }
            best = Math.min(best, (System.nanoTime() - start) / 1e9);
        }
        out.accept(String.format("prefill: %d tokens in chunks of %d, %.1f ms, %.0f tokens/s", len, chunk, best * 1e3, len / best));
    }

    private void adapters() {
        List<LoraUpdate> updates = randomAdapter(16);
        long bytes = backend.footprint(updates.stream().map(LoraUpdate::shape).toList()).device();
        double[] cold = new double[5];
        for (int i = 0; i < cold.length; i++) {
            long start = System.nanoTime();
            AdapterSlot slot = backend.register(updates);
            cold[i] = (System.nanoTime() - start) / 1e9;
            backend.release(slot);
        }
        Arrays.sort(cold);
        double copy = backend.uploadSeconds(updates);
        out.accept(String.format("cold upload of an r=16 adapter (all 7 linears, %.1f MB bf16): register %.2f ms median (pack + pin + copy);"
                + " the pinned-to-device copy alone %.2f ms (target < 5 ms)", bytes / 1e6, cold[cold.length / 2] * 1e3, copy * 1e3));
        int n = 64;
        AdapterSlot[] slots = new AdapterSlot[n];
        for (int i = 0; i < n; i++) {
            slots[i] = backend.register(updates);
        }
        double base = decode(n, null);
        double mixed = decode(n, slots);
        out.accept(String.format("64 sequences, 64 distinct r=16 adapters: %.0f tokens/s against %.0f on the base model = %.2f (target >= 0.80)",
                n / mixed, n / base, base / mixed));
        for (AdapterSlot s : slots) {
            backend.release(s);
        }
    }

    /** An adapter of rank {@code r} on all seven linears of every layer, bf16 values of about 0.01. */
    private List<LoraUpdate> randomAdapter(int r) {
        List<LoraUpdate> updates = new ArrayList<>();
        for (int l = 0; l < cfg.numLayers(); l++) {
            for (LinearModule m : LinearModule.LORA_TARGETS) {
                int in = m.in(cfg);
                int outDim = m.out(cfg);
                updates.add(new LoraUpdate(new LoraShape(l, m, r, in, outDim, DType.BF16), 2f,
                        MemorySegment.ofArray(values(r * in)), MemorySegment.ofArray(values(outDim * r))));
            }
        }
        return updates;
    }

    private short[] values(int n) {
        short[] v = new short[n];
        for (int i = 0; i < n; i++) {
            v[i] = DType.floatToBf16((float) (random.nextDouble() - 0.5) * 0.02f);
        }
        return v;
    }

    private int[] tokens(int n) {
        int[] t = new int[n];
        for (int i = 0; i < n; i++) {
            t[i] = random.nextInt(cfg.vocabSize());
        }
        return t;
    }
}
