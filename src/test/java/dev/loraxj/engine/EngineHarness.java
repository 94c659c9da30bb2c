package dev.loraxj.engine;

import dev.loraxj.backend.cpu.CpuBackend;
import dev.loraxj.backend.cpu.Parallel;
import dev.loraxj.model.Checkpoint;
import dev.loraxj.model.ModelConfig;
import dev.loraxj.model.Tokenizer;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/** A real engine over a model directory, without the HTTP server, for engine-level tests. */
final class EngineHarness implements AutoCloseable {

    final Tokenizer tokenizer;
    final Checkpoint checkpoint;
    final Parallel pool;
    final CpuBackend backend;
    final Engine engine;

    EngineHarness(Path dir, EngineConfig config, int threads) {
        ModelConfig cfg = ModelConfig.load(dir);
        tokenizer = Tokenizer.load(dir);
        checkpoint = Checkpoint.open(dir);
        pool = new Parallel(threads);
        backend = CpuBackend.load(checkpoint, cfg, pool);
        engine = new Engine(backend, tokenizer, config, new SimpleMeterRegistry()).start();
    }

    /** Collects a sequence's events. */
    static class Collector implements SequenceListener {
        final List<TokenEvent> events = new ArrayList<>();
        final CompletableFuture<Generation> done = new CompletableFuture<>();

        @Override
        public synchronized void onEvent(TokenEvent event) {
            events.add(event);
            if (event instanceof TokenEvent.Finished f) {
                done.complete(f.generation());
            }
        }

        @Override
        public void onError(Throwable error) {
            done.completeExceptionally(error);
        }

        Generation await() throws Exception {
            return done.get(120, TimeUnit.SECONDS);
        }

        synchronized List<Integer> ids() {
            return events.stream().map(e -> e.token().id()).toList();
        }

        synchronized String streamedText() {
            StringBuilder sb = new StringBuilder();
            events.forEach(e -> sb.append(e.token().text()));
            return sb.toString();
        }
    }

    static GenerationRequest greedy(int[] prompt, int maxNew) {
        return new GenerationRequest(prompt, SamplingParams.greedy(), new StoppingParams(maxNew, List.of(), true),
                true, false, 0, null);
    }

    static GenerationRequest sampled(int[] prompt, int maxNew, long seed, float temperature, int topK, float topP) {
        SamplingParams p = new SamplingParams(true, temperature, topK, topP, 1.0f, 1.0f, 0f, 0f, seed, Map.of());
        return new GenerationRequest(prompt, p, new StoppingParams(maxNew, List.of(), true), true, false, 0, seed);
    }

    @Override
    public void close() {
        engine.close();
        backend.close();
        pool.close();
        tokenizer.close();
        checkpoint.close();
    }

    /** A test adapter's key in the engine's queues. */
    static dev.loraxj.adapter.AdapterKey key(String name) {
        return name == null ? null : dev.loraxj.adapter.AdapterRef.of(name, "test");
    }
}
