package dev.loraxj.bench;

import dev.loraxj.backend.AdapterSlot;
import dev.loraxj.backend.StepBatch;
import dev.loraxj.backend.cpu.CpuBackend;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * The one decode timing of {@code bench} and {@code bench lora}: several decode runs (columns) on
 * one backend, each a batch of sequences that prefill {@code prompt} random tokens (untimed) and
 * then decode in lockstep, timed in slices that rotate which column goes first, with a hook (a
 * bandwidth pass) before each slice. Both benches time the same positions, with the same JIT
 * warm-up, so their figures for the same workload agree.
 */
final class InterleavedDecode {

    /** Prefill and decode positions of every column: llama-batched-bench's {@code -npp 32 -ntg 64} by default. */
    record Schedule(int prompt, int warmupSteps, int slices) {
        static final int PROMPT = 32;
        static final int STEPS = 64;
        static final int WARMUP = 16;
        static final int SLICES = 4;
    }

    /** One decode run: {@code batch} sequences ({@code adapters[s]} null: the base model), {@code steps} timed steps a round. */
    record Column(int batch, AdapterSlot[] adapters, int steps) {
        static Column base(int batch, int steps) {
            return new Column(batch, new AdapterSlot[batch], steps);
        }
    }

    static final int BLOCK = 16;

    private final CpuBackend backend;
    private final List<Column> columns;
    private final Schedule schedule;
    private final int[] firstBlock;
    private final int[] maxLen;
    private final int extraFirstBlock;
    private int rounds;

    /** Sizes the backend's KV cache for all columns (plus {@code extraBlocks} at its end for the caller) and warms the JIT on each. */
    InterleavedDecode(CpuBackend backend, List<Column> columns, Schedule schedule, int extraBlocks) {
        this.backend = backend;
        this.columns = List.copyOf(columns);
        this.schedule = schedule;
        firstBlock = new int[columns.size()];
        maxLen = new int[columns.size()];
        int blocks = 0;
        for (int i = 0; i < columns.size(); i++) {
            Column c = columns.get(i);
            firstBlock[i] = blocks;
            maxLen[i] = schedule.prompt() + Math.max(c.steps(), schedule.warmupSteps());
            blocks += DecodeThroughput.blocksNeeded(c.batch(), maxLen[i], BLOCK);
        }
        this.extraFirstBlock = blocks;
        backend.allocateKvCache(blocks + extraBlocks, BLOCK);
        // Warm the JIT on every kernel shape and fault the mmap'd weights in; not timed.
        for (int i = 0; i < columns.size(); i++) {
            start(i).steps(schedule.warmupSteps());
        }
    }

    /** The first of the {@code extraBlocks} KV blocks left to the caller. */
    int extraFirstBlock() {
        return extraFirstBlock;
    }

    /** One round: fresh runs of every column, timed over the schedule's slices, {@code beforeSlice} run before each. */
    List<DecodeThroughput.Result> round(Runnable beforeSlice) {
        DecodeThroughput[] runs = new DecodeThroughput[columns.size()];
        for (int i = 0; i < runs.length; i++) {
            runs[i] = start(i);
        }
        int n = schedule.slices();
        for (int slice = 0; slice < n; slice++) {
            beforeSlice.run();
            // Rotate who goes first, so drift in the host's speed does not favour one column.
            for (int j = 0; j < runs.length; j++) {
                int i = (slice + rounds + j) % runs.length;
                int total = columns.get(i).steps();
                runs[i].steps(total * (slice + 1) / n - total * slice / n);
            }
        }
        rounds++;
        List<DecodeThroughput.Result> out = new ArrayList<>(runs.length);
        for (DecodeThroughput r : runs) {
            out.add(r.result());
        }
        return out;
    }

    /**
     * Nanoseconds of one prefill of {@code tokens} random tokens as a single sequence in one forward
     * step (logits of its last token only), in the caller's extra blocks.
     */
    long prefillNanos(int tokens) {
        int vocab = backend.config().vocabSize();
        int[] table = new int[(tokens + BLOCK - 1) / BLOCK];
        for (int i = 0; i < table.length; i++) {
            table[i] = extraFirstBlock + i;
        }
        SplittableRandom rnd = new SplittableRandom(tokens);
        int[] prompt = new int[tokens];
        for (int i = 0; i < tokens; i++) {
            prompt[i] = rnd.nextInt(vocab);
        }
        StepBatch step = new StepBatch(vocab);
        step.addSequence(prompt, 0, tokens, 0, table, tokens - 1, null);
        long t0 = System.nanoTime();
        backend.forward(step);
        return System.nanoTime() - t0;
    }

    /** KV blocks one prefill of {@code tokens} needs. */
    static int prefillBlocks(int tokens) {
        return (tokens + BLOCK - 1) / BLOCK;
    }

    private DecodeThroughput start(int i) {
        Column c = columns.get(i);
        return new DecodeThroughput(backend, c.batch(), schedule.prompt(), maxLen[i], BLOCK, firstBlock[i], c.adapters());
    }
}
