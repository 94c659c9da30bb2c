package dev.loraxj.config;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;


import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * Every loraxj setting, under the prefix {@code loraxj} (so {@code LORAXJ_MODEL_ID} works as an
 * environment variable). Documented in the README's configuration table.
 */
@ConfigMapping(prefix = "loraxj")
public interface LoraxjConfig {

    /**
     * How long SIGTERM keeps the server draining (readiness down, new requests 503) while requests
     * are in flight, before Quarkus stops; it ends as soon as none is, so an idle server stops at once.
     */
    @WithDefault("5s")
    Duration shutdownDelay();

    /** The base model: a local directory in Hugging Face layout. */
    String modelId();

    /** Name reported by /info and the OpenAI API; defaults to model-id. */
    Optional<String> servedModelName();

    /** A chat template file (Jinja, or a tokenizer_config.json) replacing the base model's for the OpenAI chat API. */
    Optional<String> chatTemplate();

    /** Threads of the compute pool; defaults to the available processors. */
    OptionalInt threads();

    /** Requests in flight (queued or running) before new ones get 429. */
    @WithDefault("128")
    int maxConcurrentRequests();

    /** Longest prompt in tokens; defaults to min(1024, max-total-tokens - 1). */
    OptionalInt maxInputLength();

    /** Longest prompt plus new tokens; defaults to min(2048, the model's max_position_embeddings). */
    OptionalInt maxTotalTokens();

    /**
     * Prompt tokens prefilled per engine step; longer prompts, and many prompts at once, are
     * prefilled in chunks, oldest first. Defaults to 128 on the CPU, whose matmuls are as fast per
     * token at 128 as at 512, so that prompts arriving together reach their first tokens in waves
     * (time to first token p50 falls with the chunk), and 4096 on CUDA, where big steps fill the GPU.
     */
    OptionalInt maxBatchPrefillTokens();

    /**
     * Token slots of the paged KV cache, shared by all running sequences; defaults to what fits in
     * loraxj.kv-cache-memory, at most 65536 and at least max-total-tokens.
     */
    OptionalInt maxBatchTotalTokens();

    /** Token slots per KV cache block. */
    @WithDefault("16")
    int kvBlockSize();

    /** Largest best_of a request may ask for. */
    @WithDefault("2")
    int maxBestOf();

    /** Most stop sequences per request. */
    @WithDefault("4")
    int maxStopSequences();

    /** The adapter used when a request names none (LoRAX's --adapter-id); none means the base model. */
    Optional<String> adapterId();

    /** Distinct adapters (the base model counts as one) whose requests may run at once. */
    @WithDefault("1024")
    int maxActiveAdapters();

    /** How long an adapter stays in the active set while other adapters' requests wait. */
    @WithDefault("2s")
    Duration adapterCycleTime();

    /**
     * Automatic prefix caching: full KV blocks are shared among requests with the same prefix,
     * adapter and cache salt, and kept after their requests end until the cache needs the room.
     */
    @WithDefault("true")
    boolean prefixCaching();

    /**
     * Where the model runs: auto (CUDA when a device answers, else the CPU, saying why once at start),
     * cpu, or cuda (failing at start when no device answers).
     */
    @WithDefault("auto")
    String device();

    /**
     * Bytes of device memory for the paged KV cache (for the CPU backend, off-heap host memory), e.g.
     * 4294967296; default: half of what the device has free once the weights are loaded (for the CPU,
     * MemAvailable less the weights), at most 65536 tokens' worth. loraxj.max-batch-total-tokens, when
     * set, decides the cache's size instead.
     */
    java.util.OptionalLong kvCacheMemory();

    /** The KV cache's dtype, float32 or bfloat16; default bfloat16 when the weights are bfloat16, else float32. */
    Optional<String> kvCacheDtype();

    /**
     * Weight-only quantization of the seven linears of every block and the head at load: none, int8
     * (per row, groups of 32 inputs, a float scale each, as llama.cpp's Q8_0) or int4 (the same groups, 4-bit, as
     * llama.cpp's Q4_0). The embeddings keep the checkpoint's dtype. GPTQ and AWQ checkpoints (config.json's
     * quantization_config) are read quantized as they are and need none here.
     */
    @WithDefault("none")
    String quantize();

    /** Whether loraxj.quantize covers the output head too (a tied head gets its own quantized copy; embeddings stay). */
    @WithDefault("true")
    boolean quantizeHead();

    Adapters adapters();

    Auth auth();

    Speculative speculative();

    BenchOnly bench();

    Cpu cpu();

    /** The CPU backend's kernels. */
    interface Cpu {

        /**
         * The vector width the kernels run on: auto (the JIT's preferred), 256 or 512. The kernels fix their
         * species at class load, so {@code backend/cpu/CpuVectors} reads it as a system property
         * ({@code -Dloraxj.cpu.vector-bits}); it is declared here so the server accepts it and documents it.
         */
        @WithDefault("auto")
        String vectorBits();
    }

    /** Switches the benchmarks flip to compare against the past; not for serving. */
    interface BenchOnly {

        /** Admit a sequence only when blocks for its prompt plus all its new tokens are free (the rule before KV on demand). */
        @WithDefault("false")
        boolean reserveWorstCase();
    }

    /** Medusa speculative decoding. */
    interface Speculative {

        /** The server's default Medusa heads, as {@code [source:]id}; per-request Medusa adapters need it. */
        Optional<String> medusaAdapter();

        /** Tokens proposed per step; defaults to the default adapter's number of heads. */
        OptionalInt tokens();

        /** Steps with more running sequences than this decode without speculation. */
        @WithDefault("32")
        int maxBatchSize();
    }

    Hub hub();

    S3 s3();

    Predibase predibase();

    /** The s3 source (pbase adapters load through it too); the client itself is configured by quarkus.s3.*. */
    interface S3 {

        /** Where downloaded adapters are kept; defaults to {@code s3} beside the Hub cache (HF_HOME, else ~/.cache/huggingface). */
        Optional<String> cache();
    }

    /** The pbase source: Predibase's gateway turns {@code repo/version} into an S3 path. */
    interface Predibase {

        /** The gateway's base URL (PREDIBASE_GATEWAY_ENDPOINT). */
        @WithDefault("https://api.app.predibase.com")
        String gateway();

        /** The server's token (PREDIBASE_API_TOKEN): downloads with it when a request carries none. */
        Optional<String> token();

        /** The bucket of gateway paths given without {@code s3://} (PREDIBASE_MODEL_BUCKET); else their first segment. */
        Optional<String> modelBucket();

        /** Time limit of one gateway call. */
        @WithDefault("30s")
        Duration timeout();
    }

    /** Checks of callers' tokens for private adapters. */
    interface Auth {

        /** How long a check's result (allowed or refused) is reused for the same adapter and token. */
        @WithDefault("30s")
        Duration cacheTtl();

        /** Use the server's HF_TOKEN / HUGGING_FACE_HUB_TOKEN when a request carries no token. */
        @WithDefault("false")
        boolean useGlobalHfToken();

        /** Server API keys (Authorization: Bearer or x-api-key); with none here or in the file, keys are off. */
        Optional<List<String>> apiKeys();

        /** A file of server API keys, one per line ({@code #} comments), e.g. a mounted Secret; read at start. */
        Optional<String> apiKeysFile();

        /**
         * Whether api-keys-file may be missing (then it adds no keys): for an optionally mounted Secret. False by
         * default, so a mistyped path stops the server instead of leaving it open.
         */
        @WithDefault("false")
        boolean apiKeysFileOptional();

        /** Paths served without a credential when server auth is on: exact, or a prefix when ending in {@code /*}. */
        @WithDefault("/health,/info,/metrics,/q/health,/q/health/*")
        List<String> openPaths();

        Oidc oidc();

        /** Bearer tokens verified by quarkus-oidc (quarkus.oidc.*), on when quarkus.oidc.tenant-enabled is true. */
        interface Oidc {

            /** A role (groups claim, or quarkus.oidc.roles.role-claim-path, e.g. scope) every token must carry; none: any valid token. */
            Optional<String> requiredRole();
        }
    }

    /** The Hugging Face Hub source; each setting defaults to huggingface_hub's environment variable. */
    interface Hub {

        /** The Hub's base URL (HF_ENDPOINT). */
        @WithDefault("https://huggingface.co")
        String endpoint();

        /** The cache directory in huggingface_hub's layout (HF_HUB_CACHE, else HF_HOME/hub). */
        Optional<String> cache();

        /** Serve from the cache only, never calling the Hub (HF_HUB_OFFLINE=1). */
        @WithDefault("false")
        boolean offline();

        /** The server's own token (HF_TOKEN or HUGGING_FACE_HUB_TOKEN), used only as configured. */
        Optional<String> token();

        /** Attempts per request before a transient failure fails the load. */
        @WithDefault("5")
        int retries();

        /** How long one attempt waits for the Hub to accept the connection (an unreachable Hub fails fast). */
        @WithDefault("5s")
        Duration connectTimeout();
    }

    /** Where adapters come from and how many stay in memory. */
    interface Adapters {

        /** The source of requests that name none: local (hub, s3 and pbase come with the sources issue). */
        @WithDefault("local")
        String defaultSource();

        /** Directories under which local adapters may be read; empty disables the local source. */
        Optional<List<String>> localRoots();

        /** Adapters loaded at start and kept in memory, as {@code [source:]id}. */
        Optional<List<String>> preload();

        /**
         * A file listing adapters to keep loaded, one {@code [source:]id} per line (# comments), watched
         * for changes: new lines are loaded, removed ones unpinned, without a restart (a mounted ConfigMap).
         */
        Optional<String> preloadFile();

        /** How often the preload file is re-read. */
        @WithDefault("2s")
        Duration preloadPoll();

        /**
         * Bytes of adapter weights the backend holds on its device (GPU memory; for the CPU backend, host
         * memory), as it lays them out; idle adapters are evicted, least recently used first.
         */
        @WithDefault("1073741824")
        long memoryBudget();

        /** Bytes of adapter weights a GPU backend keeps staged in host memory; default: memory-budget. The CPU backend keeps none. */
        java.util.OptionalLong hostMemoryBudget();

        /** Threads that fetch and load adapters. */
        @WithDefault("4")
        int loaderThreads();

        /**
         * Whether POST /v1/load_lora_adapter and /v1/unload_lora_adapter are served (vLLM's runtime LoRA
         * updating, which the Gateway API Inference Extension's LoRA syncer calls); off, they answer 404 as vLLM does.
         */
        @WithDefault("false")
        boolean runtimeRegistration();
    }
}
