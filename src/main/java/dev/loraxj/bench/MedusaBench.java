package dev.loraxj.bench;

import dev.loraxj.adapter.MedusaLoader;
import dev.loraxj.backend.MedusaHeads;
import dev.loraxj.backend.cpu.CpuBackend;
import dev.loraxj.backend.cpu.Parallel;
import dev.loraxj.engine.Engine;
import dev.loraxj.engine.EngineConfig;
import dev.loraxj.engine.GenerationRequest;
import dev.loraxj.engine.SamplingParams;
import dev.loraxj.engine.SequenceListener;
import dev.loraxj.engine.StoppingParams;
import dev.loraxj.engine.TokenEvent;
import dev.loraxj.model.Checkpoint;
import dev.loraxj.model.ModelConfig;
import dev.loraxj.model.Tokenizer;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * Medusa's effect on greedy decode throughput through the real engine: the same requests with and
 * without speculation, at batch 1 and batch 8, alternating in one run.
 * <pre>
 * java --add-modules jdk.incubator.vector -jar target/quarkus-app/quarkus-run.jar bench medusa \
 *     --model ../shared/models/stories260K --medusa ../shared/adapters/stories260K/medusa-v1 [--tokens 64] [--rounds 3] [--threads N]
 * </pre>
 */
public final class MedusaBench {

    private static final String[] PROMPTS = {"Once upon a time, there was a little girl", "One day, a boy named Tom",
            "Lily and her mom went to the park", "There was a big dog", "Tim wanted to play with his ball",
            "Sue had a red hat", "The little bird was sad because", "Ben saw a big tree"};

    public record Report(double base1, double medusa1, double base8, double medusa8, double meanAccepted) {
    }

    public static void main(String[] args) throws Exception {
        Path model = Path.of("../shared/models/stories260K");
        Path medusa = Path.of("../shared/adapters/stories260K/medusa-v1");
        int tokens = 64;
        int rounds = 3;
        int threads = Runtime.getRuntime().availableProcessors();
        for (int i = 0; i + 1 < args.length; i += 2) {
            switch (args[i]) {
                case "--model" -> model = Path.of(args[i + 1]);
                case "--medusa" -> medusa = Path.of(args[i + 1]);
                case "--tokens" -> tokens = Integer.parseInt(args[i + 1]);
                case "--rounds" -> rounds = Integer.parseInt(args[i + 1]);
                case "--threads" -> threads = Integer.parseInt(args[i + 1]);
                default -> throw new IllegalArgumentException("usage: bench medusa [--model DIR] [--medusa DIR] [--tokens N] [--rounds N] [--threads N]");
            }
        }
        run(model, medusa, tokens, rounds, threads, System.out);
    }

    public static Report run(Path modelDir, Path medusaDir, int tokens, int rounds, int threads, PrintStream out) throws Exception {
        ModelConfig cfg = ModelConfig.load(modelDir);
        MedusaHeads heads = MedusaLoader.load(medusaDir, cfg);
        try (Tokenizer tok = Tokenizer.load(modelDir); Checkpoint ckpt = Checkpoint.open(modelDir);
             Parallel pool = new Parallel(threads); CpuBackend backend = CpuBackend.load(ckpt, cfg, pool)) {
            out.printf(Locale.ROOT, "loraxj medusa bench: %s with %s (v%d, %d heads), %d greedy tokens per request, %d threads%n",
                    modelDir.getFileName(), medusaDir.getFileName(), heads.version(), heads.numHeads(), tokens, threads);
            List<double[]> rows = new ArrayList<>();
            double meanAccepted = 0;
            // each round runs both modes with a fresh engine each; the backend is shared (one engine at a time)
            for (int round = 0; round <= rounds; round++) {
                double[] r = new double[4];
                for (int mode = 0; mode < 2; mode++) {
                    EngineConfig ec = mode == 0 ? new EngineConfig(16384, 4096, 16)
                            : new EngineConfig(16384, 4096, 16, 1024, 2_000_000_000L, heads, heads.numHeads(), 32);
                    Engine e = new Engine(backend, tok, ec, new SimpleMeterRegistry()).start();
                    try {
                        r[mode] = throughput(e, tok, 1, tokens);
                        r[2 + mode] = throughput(e, tok, 8, tokens);
                        if (mode == 1) {
                            meanAccepted = e.metrics().meanAcceptedPerStep();
                        }
                    } finally {
                        e.close();
                    }
                }
                if (round > 0) { // round 0 warms the JIT
                    rows.add(r);
                    out.printf(Locale.ROOT, "  round %d: batch 1 %.0f -> %.0f tok/s (%.2fx), batch 8 %.0f -> %.0f tok/s (%.2fx)%n",
                            round, r[0], r[1], r[1] / r[0], r[2], r[3], r[3] / r[2]);
                }
            }
            double[] m = new double[4];
            for (int i = 0; i < 4; i++) {
                final int k = i;
                m[i] = rows.stream().mapToDouble(x -> x[k]).sorted().toArray()[rows.size() / 2];
            }
            out.printf(Locale.ROOT, "  median:  batch 1 %.0f -> %.0f tok/s (%.2fx), batch 8 %.0f -> %.0f tok/s (%.2fx); %.2f tokens per verification step%n",
                    m[0], m[1], m[1] / m[0], m[2], m[3], m[3] / m[2], meanAccepted);
            return new Report(m[0], m[1], m[2], m[3], meanAccepted);
        }
    }

    /** Generated tokens per second with {@code concurrent} requests in flight over all prompts. */
    private static double throughput(Engine e, Tokenizer tok, int concurrent, int tokens) throws InterruptedException {
        long t0 = System.nanoTime();
        int total = 0;
        for (int start = 0; start < PROMPTS.length; start += concurrent) {
            int n = Math.min(concurrent, PROMPTS.length - start);
            CountDownLatch done = new CountDownLatch(n);
            for (int i = 0; i < n; i++) {
                GenerationRequest r = new GenerationRequest(tok.encode(PROMPTS[start + i]), SamplingParams.greedy(),
                        new StoppingParams(tokens, List.of(), true), false, false, 0, null);
                e.submit(r, new SequenceListener() {
                    @Override
                    public void onEvent(TokenEvent event) {
                        if (event instanceof TokenEvent.Finished) {
                            done.countDown();
                        }
                    }

                    @Override
                    public void onError(Throwable error) {
                        done.countDown();
                    }
                });
            }
            if (!done.await(300, TimeUnit.SECONDS)) {
                throw new IllegalStateException("bench requests did not finish");
            }
            total += n * tokens;
        }
        return total / ((System.nanoTime() - t0) / 1e9);
    }
}
