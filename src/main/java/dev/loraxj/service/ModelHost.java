package dev.loraxj.service;

import dev.loraxj.adapter.AdapterAccess;
import dev.loraxj.adapter.AdapterCatalog;
import dev.loraxj.adapter.AdapterMerger;
import dev.loraxj.adapter.MergeSpec;
import dev.loraxj.adapter.AdapterRef;
import dev.loraxj.adapter.AdapterStore;
import dev.loraxj.adapter.AdapterSource;
import dev.loraxj.adapter.ApiToken;
import dev.loraxj.adapter.HubAdapterSource;
import dev.loraxj.adapter.HubClient;
import dev.loraxj.adapter.MedusaLoader;
import io.quarkus.arc.All;
import dev.loraxj.adapter.LoadedAdapter;
import dev.loraxj.backend.AdapterFootprint;
import dev.loraxj.backend.AdapterSlots;
import dev.loraxj.backend.Backend;
import dev.loraxj.backend.BackendFactory;
import dev.loraxj.backend.cuda.CudaProbe;
import dev.loraxj.backend.cpu.Parallel;
import dev.loraxj.config.LoraxjConfig;
import dev.loraxj.engine.Engine;
import dev.loraxj.engine.EngineConfig;
import dev.loraxj.model.Checkpoint;
import dev.loraxj.model.ModelConfig;
import dev.loraxj.model.DType;
import dev.loraxj.model.ModelException;
import dev.loraxj.model.Tokenizer;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import org.jboss.logging.Logger;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * Loads the base model in the background at start, so the HTTP server answers (503, not ready)
 * while a large model loads, and owns it until shutdown.
 */
@ApplicationScoped
public class ModelHost {

    private static final Logger LOG = Logger.getLogger(ModelHost.class);

    private final LoraxjConfig config;
    private final MeterRegistry registry;
    private final List<AdapterSource> sources;
    private volatile ModelRuntime runtime;
    private volatile Throwable failure;
    /** What the load is doing now, for /health, /info and readiness while it runs. */
    private volatile String stage = "starting";

    public ModelHost(LoraxjConfig config, MeterRegistry registry, @All List<AdapterSource> sources) {
        this.config = config;
        this.registry = registry;
        this.sources = sources;
    }

    void onStart(@Observes StartupEvent event) {
        Thread.ofPlatform().name("loraxj-model-load").daemon(true).start(this::load);
    }

    void onStop(@Observes ShutdownEvent event) {
        ModelRuntime r = runtime;
        runtime = null;
        if (r != null) {
            r.close();
        }
    }

    private void load() {
        long t0 = System.nanoTime();
        try {
            runtime = open();
            LOG.infof("model %s ready in %d ms: %s, %s weights (linears held as %s, %d MB), KV cache %d blocks of %d tokens in %s"
                            + " (%d MB of a %d MB budget)",
                    config.modelId(), (System.nanoTime() - t0) / 1_000_000, runtime.backend().deviceType(),
                    runtime.backend().dtype(), runtime.backend().linearDtype(), runtime.backend().weightBytes() >> 20,
                    runtime.engine().totalBlocks(), runtime.limits().kvBlockSize(), runtime.backend().kvDtype(),
                    runtime.kvCacheBytes() >> 20, runtime.kvCacheMemory() >> 20);
        } catch (Throwable t) {
            failure = t;
            if (t instanceof ModelException) { // the configuration's fault, said in its message: no stack trace
                LOG.errorf("cannot load model %s: %s", config.modelId(), t.getMessage());
            } else {
                LOG.errorf(t, "cannot load model %s: %s", config.modelId(), t.getMessage());
            }
        }
    }

    /** The model directory: a local path, else a Hub repo id fetched into the Hub cache. */
    private Path modelDir() {
        Path dir = Path.of(config.modelId());
        if (java.nio.file.Files.isDirectory(dir)) {
            return dir;
        }
        if (!config.modelId().matches("[A-Za-z0-9][\\w.-]*/[A-Za-z0-9][\\w.-]*")) {
            // the resolved path is the server's business: in its log, not in answers to clients
            LOG.errorf("model directory %s resolves to %s, which %s", config.modelId(), dir.toAbsolutePath().normalize(),
                    java.nio.file.Files.exists(dir) ? "is not a directory" : "does not exist");
            throw new ModelException("model directory " + config.modelId()
                    + (java.nio.file.Files.exists(dir) ? " is not a directory" : " does not exist"));
        }
        HubClient hub = sources.stream().filter(s -> s instanceof HubAdapterSource).map(s -> ((HubAdapterSource) s).client())
                .findFirst().orElseThrow(() -> new ModelException("model " + config.modelId() + " is neither a directory nor reachable on the Hub"));
        if (hub.offline()) {
            return hub.cached(config.modelId(), null).orElseThrow(() ->
                    new ModelException("model " + config.modelId() + " is not in the Hub cache (offline mode)"));
        }
        ApiToken token = config.hub().token().map(ApiToken::of).orElse(null);
        String asking = "asking the Hub (" + config.hub().endpoint() + ") for model " + config.modelId();
        stage = asking;
        HubClient.ModelInfo info = hub.info(config.modelId(), null, token, problem -> stage = asking + ": " + problem);
        List<String> wanted = info.files().stream().filter(f -> !f.contains("/") && (f.endsWith(".safetensors")
                || f.equals("model.safetensors.index.json") || f.equals("config.json") || f.equals("generation_config.json")
                || f.startsWith("tokenizer") || f.equals("special_tokens_map.json"))).toList();
        LOG.infof("fetching model %s from the Hub (%d files)", config.modelId(), wanted.size());
        String fetching = "fetching model " + config.modelId() + " from the Hub (" + wanted.size() + " files)";
        stage = fetching;
        return hub.snapshot(info, null, token, wanted, problem -> stage = fetching + ": " + problem);
    }

    private ModelRuntime open() {
        Path dir = modelDir();
        stage = "reading model " + config.modelId();
        ModelConfig modelConfig = ModelConfig.load(dir);
        Tokenizer tokenizer = Tokenizer.load(dir);
        Checkpoint checkpoint = Checkpoint.open(dir);
        int threads = config.threads().orElse(Runtime.getRuntime().availableProcessors());
        Parallel pool = new Parallel(threads);
        long loading = System.nanoTime();
        BackendFactory.Choice device = BackendFactory.choose(config.device(), CudaProbe::probe);
        LOG.infof("device: %s (%s)", device.device(), device.reason());
        stage = "loading model " + config.modelId() + " onto the " + device.device();
        Backend backend = BackendFactory.open(device, checkpoint, modelConfig, pool,
                new BackendFactory.Options(quantization(), config.quantizeHead()));
        if (quantization() == null && !backend.linearDtype().equals(backend.dtype())) {
            LOG.infof("%s checkpoint: linears read as 4-bit with zero points in %d ms: %d MB held for the linears and the head",
                    backend.linearDtype(), (System.nanoTime() - loading) / 1_000_000, backend.weightBytes() >> 20);
        } else if (!backend.linearDtype().equals(backend.dtype())) {
            LOG.infof("weights quantized from %s to %s in %d ms: %d MB held for the linears and the head", backend.dtype(),
                    backend.linearDtype(), (System.nanoTime() - loading) / 1_000_000, backend.weightBytes() >> 20);
        }
        backend.kvDtype(kvDtype(backend.dtype()));
        long kvMemory = config.kvCacheMemory().orElse(backend.freeMemory() / 2);
        Limits limits = limits(modelConfig, backend.kvBytesPerToken(), kvMemory, threads, backend.deviceType());
        AdapterCatalog catalog = new AdapterCatalog(sources, config.adapters().defaultSource());
        Speculation speculation = speculation(catalog, modelConfig);
        Engine engine = new Engine(backend, tokenizer,
                new EngineConfig(limits.maxBatchTotalTokens(), limits.maxBatchPrefillTokens(), limits.kvBlockSize(),
                        config.maxActiveAdapters(), config.adapterCycleTime().toNanos(),
                        speculation == null ? null : speculation.defaultHeads(),
                        speculation == null ? 0 : speculation.tokens(), config.speculative().maxBatchSize(), config.prefixCaching(),
                        config.bench().reserveWorstCase()),
                registry).start();
        ExecutorService loaders = Executors.newFixedThreadPool(Math.max(1, config.adapters().loaderThreads()),
                Thread.ofPlatform().name("loraxj-adapter-load-", 0).daemon(true).factory());
        AdapterSlots slots = engine.slots();
        AdapterStore store = new AdapterStore((key, token) -> switch (key) {
            case AdapterRef ref -> LoadedAdapter.pending(catalog.source(ref.source()).fetch(ref, token), modelConfig, slots);
            case MergeSpec merge -> AdapterMerger.pending(merge, part -> catalog.source(part.source()).fetch(part, token), modelConfig, slots);
        }, adapterBudget(), loaders, registry);
        Preloads preloads = new Preloads(store, catalog, config.adapters().preload().orElse(List.of()),
                config.adapters().preloadFile().map(Path::of).orElse(null)).start(config.adapters().preloadPoll());
        AdapterAccess access = new AdapterAccess(catalog, config.auth().cacheTtl(), loaders, registry);
        return new ModelRuntime(servedModel().name(), checkpoint, tokenizer, backend, device, kvMemory, engine, limits, catalog, store,
                access, preloads, new RuntimeAdapters(catalog, store, servedModel()), speculation, loaders, pool,
                new ConstraintCache(tokenizer, 1));
    }

    /** The default Medusa heads, loaded before the engine starts; null when not configured. */
    private Speculation speculation(AdapterCatalog catalog, ModelConfig modelConfig) {
        if (config.speculative().medusaAdapter().isEmpty()) {
            return null;
        }
        AdapterRef ref = catalog.parse(config.speculative().medusaAdapter().get());
        java.nio.file.Path dir = catalog.source(ref.source()).fetch(ref, config.hub().token().map(ApiToken::of).orElse(null));
        if (!MedusaLoader.present(dir)) {
            throw new ModelException("loraxj.speculative.medusa-adapter " + ref + " has no " + MedusaLoader.WEIGHTS);
        }
        dev.loraxj.backend.MedusaHeads heads = MedusaLoader.load(dir, modelConfig);
        int tokens = config.speculative().tokens().orElse(heads.numHeads());
        if (tokens < 1 || tokens > heads.numHeads()) {
            throw new ModelException("loraxj.speculative.tokens must be between 1 and the default adapter's "
                    + heads.numHeads() + " heads, got " + tokens);
        }
        LOG.infof("Medusa speculation: %s (v%d, %d heads), %d tokens per step", ref, heads.version(), heads.numHeads(), tokens);
        return new Speculation(heads, tokens, config.speculative().maxBatchSize());
    }

    /** loraxj.quantize: null for none, else the kernels' dtype. */
    DType quantization() {
        return switch (config.quantize().toLowerCase(java.util.Locale.ROOT)) {
            case "none", "" -> null;
            case "int8" -> DType.I8;
            case "int4" -> DType.I4;
            default -> throw new ModelException("loraxj.quantize must be none, int8 or int4, got " + config.quantize()
                    + " (GPTQ and AWQ checkpoints are read as they are, with loraxj.quantize=none)");
        };
    }

    /** loraxj.kv-cache-dtype, else bfloat16 over bfloat16 weights and float32 otherwise. */
    DType kvDtype(String weights) {
        String name = config.kvCacheDtype().orElse(weights.equals("bfloat16") ? "bfloat16" : "float32");
        return switch (name.toLowerCase(java.util.Locale.ROOT)) {
            case "float32", "f32", "fp32" -> DType.F32;
            case "bfloat16", "bf16" -> DType.BF16;
            default -> throw new ModelException("loraxj.kv-cache-dtype must be float32 or bfloat16, got " + name);
        };
    }

    /** loraxj.adapters.memory-budget for the device tier, host-memory-budget (default: the same) for the host tier. */
    AdapterFootprint adapterBudget() {
        long device = config.adapters().memoryBudget();
        return new AdapterFootprint(device, config.adapters().hostMemoryBudget().orElse(device));
    }

    /**
     * Prompt tokens a step prefills unless loraxj.max-batch-prefill-tokens says: on the CPU, 128, where a matmul runs
     * as fast per token as at 512 (register tiles over 3 or 4 tokens) and 32 prompts arriving together get first tokens
     * in waves (measured with bench/compare-llamacpp.sh, 32 clients: TTFT p50 2.03 s at 512); on CUDA, LoRAX's 4096.
     */
    static int defaultPrefillTokens(String device) {
        return device.equals("cpu") ? 128 : 4096;
    }

    /** {@code kvMemory}: bytes of KV cache the device may hold (loraxj.kv-cache-memory or its default). */
    Limits limits(ModelConfig model, long kvBytesPerToken, long kvMemory, int threads, String device) {
        int maxTotal = config.maxTotalTokens().orElse(Math.min(2048, model.maxPositionEmbeddings()));
        int maxInput = config.maxInputLength().orElse(Math.min(1024, maxTotal - 1));
        int block = config.kvBlockSize();
        if (kvMemory < 0) {
            throw new ModelException("loraxj.kv-cache-memory must not be negative, got " + kvMemory);
        }
        int fits = (int) Math.min(65536, kvMemory / Math.max(1, kvBytesPerToken));
        if (config.kvCacheMemory().isPresent() && config.maxBatchTotalTokens().isEmpty() && fits < maxTotal) {
            throw new ModelException("loraxj.kv-cache-memory (" + kvMemory + " bytes) holds " + fits + " tokens of KV cache at "
                    + kvBytesPerToken + " bytes each, fewer than one sequence of loraxj.max-total-tokens (" + maxTotal + ")");
        }
        int batchTotal = config.maxBatchTotalTokens().orElse(Math.max(maxTotal, fits));
        batchTotal = batchTotal / block * block;
        if (maxInput < 1 || maxInput >= maxTotal) {
            throw new ModelException("loraxj.max-input-length (" + maxInput + ") must be at least 1 and below loraxj.max-total-tokens (" + maxTotal + ")");
        }
        if (batchTotal < maxTotal) {
            throw new ModelException("loraxj.max-batch-total-tokens (" + batchTotal + ") must be at least loraxj.max-total-tokens (" + maxTotal + ")");
        }
        int prefill = config.maxBatchPrefillTokens().orElse(defaultPrefillTokens(device));
        if (prefill < 1 || block < 1 || config.maxConcurrentRequests() < 1) {
            throw new ModelException("loraxj.max-batch-prefill-tokens, loraxj.kv-block-size and loraxj.max-concurrent-requests must be positive");
        }
        return new Limits(config.maxConcurrentRequests(), maxInput, maxTotal, prefill,
                batchTotal, block, Math.max(1, config.maxBestOf()), Math.max(0, config.maxStopSequences()), threads);
    }

    /** The loaded model, or a NotReadyException saying why there is none. */
    public ModelRuntime runtime() {
        ModelRuntime r = runtime;
        if (r == null) {
            throw new NotReadyException(notReady());
        }
        return r;
    }

    /** Why the model does not serve (still loading, and at what; failed, and why; stopped), or null when it does. */
    public String notReady() {
        ModelRuntime r = runtime;
        if (r != null) {
            return r.engine().alive() ? null : "the engine stopped";
        }
        Throwable f = failure;
        return f == null ? "model is still loading: " + stage : "model failed to load: " + f.getMessage();
    }

    public boolean ready() {
        ModelRuntime r = runtime;
        return r != null && r.engine().alive();
    }

    /** False once a loaded engine died or the load failed; true while still loading. */
    public boolean alive() {
        ModelRuntime r = runtime;
        if (r != null) {
            return r.engine().alive();
        }
        return failure == null;
    }

    /** The default adapter for requests that name none, if configured. */
    public java.util.Optional<String> defaultAdapterId() {
        return config.adapterId();
    }

    /** The served model's name, known before the model loads. */
    public String configuredModelId() {
        return servedModel().name();
    }

    public ServedModel servedModel() {
        return ServedModel.of(config.modelId(), config.servedModelName());
    }
}
