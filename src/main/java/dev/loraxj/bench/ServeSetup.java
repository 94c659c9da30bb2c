package dev.loraxj.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.loraxj.adapter.RandomLora;
import dev.loraxj.model.DType;
import dev.loraxj.model.ModelConfig;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Function;

/**
 * What the servers of {@code bench serve} share: the options, the model and its config, the prompt
 * builder and the console; and how a server for a figure is started, warmed and fed.
 */
final class ServeSetup {

    static final int BLOCK = 16;
    private static final ObjectMapper JSON = new ObjectMapper();
    /** Tokens of a warm-up request: enough for the JIT to see prefill and decode before anything is timed. */
    private static final int WARM_TOKENS = 4;

    final ServeBench.Options o;
    final Path model;
    final ModelConfig cfg;
    final Prompts prompts;
    final Path logs;
    final PrintStream out;
    private long bursts; // keeps warm-up prompts unique

    ServeSetup(ServeBench.Options o, Path model, ModelConfig cfg, Prompts prompts, Path logs, PrintStream out) {
        this.o = o;
        this.model = model;
        this.cfg = cfg;
        this.prompts = prompts;
        this.logs = logs;
        this.out = out;
    }

    long kvBytesPerToken() {
        return 2L * cfg.numLayers() * cfg.kvDim() * Float.BYTES;
    }

    /** Adapters written under the bench folder and preloaded into the servers that use them. */
    record Adapters(Path root, int count, long bytesEach) {
        static final Adapters NONE = new Adapters(null, 0, 0);

        String id(int i) {
            return "a" + i;
        }
    }

    Adapters adapters(int count) {
        Path root = o.dir().resolve(o.shape() + "-lora-r" + o.rank() + "-qkvo-f32");
        List<String> modules = List.of("q_proj", "k_proj", "v_proj", "o_proj");
        long bytes = 0;
        int written = 0;
        for (int i = 0; i < count; i++) {
            Path dir = root.resolve("a" + i);
            Path file = dir.resolve("adapter_model.safetensors");
            if (!Files.isRegularFile(file)) {
                RandomLora.write(dir, cfg, o.rank(), 2.0 * o.rank(), false, modules, DType.F32, 9000 + i, 0.02);
                written++;
            }
            try {
                bytes = Math.max(bytes, Files.size(file));
            } catch (IOException e) {
                throw new IllegalStateException("cannot read " + file + ": " + e.getMessage(), e);
            }
        }
        if (written > 0) {
            out.printf(Locale.ROOT, "wrote %d random rank-%d adapters to %s%n", written, o.rank(), root);
        }
        return new Adapters(root, count, bytes);
    }

    /**
     * Starts a server for this bench: its KV pool, limits, prefix caching, admission rule, and the
     * adapters it preloads (it returns once they are all in memory).
     */
    ServerProcess server(String name, int poolTokens, int maxTotal, int clients, boolean prefixCaching, boolean worstCase,
                         Adapters adapters) {
        return server(name, poolTokens, maxTotal, clients, prefixCaching, worstCase, adapters, Map.of());
    }

    /** As above, with {@code extra} properties on top (a figure's own switch, such as tracing). */
    ServerProcess server(String name, int poolTokens, int maxTotal, int clients, boolean prefixCaching, boolean worstCase,
                         Adapters adapters, Map<String, String> extra) {
        Map<String, String> p = new LinkedHashMap<>();
        p.put("loraxj.model-id", model.toAbsolutePath().toString());
        p.put("loraxj.threads", String.valueOf(o.threads()));
        p.put("loraxj.max-batch-total-tokens", String.valueOf(poolTokens));
        p.put("loraxj.max-total-tokens", String.valueOf(maxTotal));
        p.put("loraxj.max-input-length", String.valueOf(maxTotal - 1));
        p.put("loraxj.max-concurrent-requests", String.valueOf(clients + 16)); // the bench's own health checks fit too
        p.put("loraxj.prefix-caching", String.valueOf(prefixCaching));
        if (worstCase) {
            p.put("loraxj.bench.reserve-worst-case", "true");
        }
        long adapterBudget = 0;
        if (adapters.count() > 0) {
            p.put("loraxj.adapters.local-roots", adapters.root().toAbsolutePath().toString());
            StringBuilder ids = new StringBuilder();
            for (int i = 0; i < adapters.count(); i++) {
                ids.append(i == 0 ? "" : ",").append(adapters.id(i));
            }
            p.put("loraxj.adapters.preload", ids.toString());
            adapterBudget = adapters.count() * adapters.bytesEach() * 5 / 4 + (16L << 20);
            p.put("loraxj.adapters.memory-budget", String.valueOf(adapterBudget));
        } else {
            p.put("loraxj.adapters.local-roots", o.dir().toAbsolutePath().resolve("no-adapters").toString());
        }
        p.putAll(extra);
        long kv = poolTokens * kvBytesPerToken();
        List<String> jvm = List.of("-Xmx" + ((1L << 30) + adapterBudget) / (1 << 20) + "m",
                "-XX:MaxDirectMemorySize=" + (kv + (512L << 20)) / (1 << 20) + "m");
        ServerProcess server = ServerProcess.start(name, o.jar(), jvm, p, logs, Duration.ofSeconds(300));
        if (adapters.count() > 0) {
            server.awaitMetric("loraxj_adapters_loaded", adapters.count(), Duration.ofSeconds(300));
        }
        out.printf(Locale.ROOT, "  started server %s (KV pool %d tokens = %.0f MB%s%s)%n", name, poolTokens, kv / 1e6,
                worstCase ? ", worst-case admission" : "", prefixCaching ? "" : ", prefix caching off");
        return server;
    }

    /**
     * A short burst that lets the server's JIT see prefill, decode and (with adapters) LoRA steps
     * before anything is timed. Like the measured bursts it sends no max_new_tokens, so under the
     * old rule it admits no more sequences at once than they do, and the engine's peak stays theirs.
     */
    void warm(ServerProcess server, Adapters adapters) {
        int n = Math.min(16, o.clients());
        List<StreamingLoad.Request> reqs = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            String adapter = adapters.count() > 0 && i % 2 == 1 ? adapters.id(i % adapters.count()) : null;
            reqs.add(new StreamingLoad.Request(prompts.client(i, -1 - bursts, o.promptTokens()), adapter, null, WARM_TOKENS, "warm"));
        }
        bursts++;
        StreamingLoad.run(server, reqs, o.timeout());
    }

    /** Warms long-prompt prefill (and, sent twice, prefill after a cache hit) with a system prompt the measured bursts never use. */
    void warmLongPrompts(ServerProcess server, Adapters adapters, int passes) {
        String system = prompts.build("System: you are a careful teacher.", 43, o.systemTokens());
        List<StreamingLoad.Request> reqs = new ArrayList<>();
        for (int i = 0; i < Math.min(o.prefixAdapters(), o.prefixClients()); i++) {
            reqs.add(new StreamingLoad.Request(system + "\nUser " + i + ": hello", adapters.id(i % adapters.count()), WARM_TOKENS, 0, "warm"));
        }
        for (int i = 0; i < passes; i++) {
            StreamingLoad.run(server, reqs, o.timeout());
        }
    }

    /** The clients' prompts of the concurrency, preemption and scaling figures (the same for every burst). */
    List<String> clientPrompts() {
        List<String> list = new ArrayList<>();
        for (int i = 0; i < o.clients(); i++) {
            list.add(prompts.client(i, 0, o.promptTokens()));
        }
        return list;
    }

    /**
     * One request per prompt. Each burst gets a fresh cache salt unless {@code salt} is given, so
     * a burst never reuses the KV of an earlier one unless the figure wants it to.
     */
    static List<StreamingLoad.Request> requests(List<String> prompts, Function<Integer, String> adapter, Integer maxNew,
                                                int stopAfter, String salt) {
        String burstSalt = salt != null ? salt : "burst-" + System.nanoTime();
        List<StreamingLoad.Request> reqs = new ArrayList<>(prompts.size());
        for (int i = 0; i < prompts.size(); i++) {
            reqs.add(new StreamingLoad.Request(prompts.get(i), adapter.apply(i), maxNew, stopAfter, burstSalt));
        }
        return reqs;
    }

    /** KV slots all the prompts need with {@code newTokens} each, in whole blocks, plus 2% for the engine's admission watermark (1%). */
    int workingSet(List<String> texts, int newTokens) {
        long blocks = 0;
        for (String p : texts) {
            blocks += (prompts.length(p) + newTokens + BLOCK - 1) / BLOCK;
        }
        blocks += Math.max(2, blocks / 50);
        return Math.toIntExact(blocks * BLOCK);
    }

    /** The random F32 model of {@code shape} under {@code dir} (written once), with the tokenizer of {@code tokenizer} beside it, for a server to load. */
    static Path servedModel(Path dir, String shape, Path tokenizer, PrintStream out) {
        Path model = dir.resolve(shape + "-f32");
        Bench.ensureModel(model, shape, DType.F32, out);
        copyTokenizer(tokenizer, model);
        return model;
    }

    /**
     * Puts the tokenizer of {@code from} beside the model, its vocabulary padded to the model's with
     * {@link #padPiece} pieces: a random model draws ids all over its vocabulary, and ids the tokenizer
     * lacks decode to nothing, so a stream would carry no text until its end (and time to first token
     * would read as the whole latency). bench/safetensors_to_gguf.py pads llama.cpp's vocabulary alike.
     */
    static void copyTokenizer(Path from, Path model) {
        Path src = from.resolve("tokenizer.json");
        if (!Files.isRegularFile(src)) {
            throw new IllegalArgumentException("no tokenizer.json in " + from + " (pass --tokenizer DIR)");
        }
        try {
            Path config = from.resolve("tokenizer_config.json");
            if (Files.isRegularFile(config)) {
                Files.copy(config, model.resolve("tokenizer_config.json"), StandardCopyOption.REPLACE_EXISTING);
            }
            int vocab = ModelConfig.load(model).vocabSize();
            ObjectNode tj = (ObjectNode) JSON.readTree(src.toFile());
            ObjectNode pieces = (ObjectNode) tj.path("model").path("vocab");
            for (int id = pieces.size(); id < vocab; id++) {
                pieces.put(padPiece(id), id);
            }
            byte[] text = JSON.writeValueAsBytes(tj);
            Path dst = model.resolve("tokenizer.json");
            if (!Files.isRegularFile(dst) || !java.util.Arrays.equals(Files.readAllBytes(dst), text)) {
                Files.write(dst, text);
            }
        } catch (IOException | ClassCastException e) {
            throw new IllegalStateException("cannot write the tokenizer of " + from + " into " + model + ": " + e.getMessage(), e);
        }
    }

    /** The piece of padding id {@code id}: a word of its own, so every id decodes to text. */
    static String padPiece(int id) {
        return "\u2581t" + id;
    }
}
