package dev.loraxj.bench;

import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * What the Gateway API Inference Extension's endpoint picker reads from one model server's
 * /metrics with its vLLM profile, ported from its core metrics extractor
 * (pkg/epp/framework/plugins/datalayer/extractor/metrics, v1.5.0): the queue, the running requests,
 * KV cache usage, the LoRA adapters running and waiting with max_lora, and the cache config.
 *
 * @param activeModels  running_lora_adapters (what the LoRA-affinity scorer calls active)
 * @param waitingModels waiting_lora_adapters
 */
public record EppMetrics(int waitingQueueSize, int runningRequestsSize, double kvCacheUsagePercent, Set<String> activeModels,
                         Set<String> waitingModels, int maxActiveModels, int cacheBlockSize, int cacheNumBlocks) {

    public static final String QUEUED = "vllm:num_requests_waiting";
    public static final String RUNNING = "vllm:num_requests_running";
    public static final String KV_USAGE = "vllm:kv_cache_usage_perc";
    public static final String LORA = "vllm:lora_requests_info";
    public static final String CACHE_INFO = "vllm:cache_config_info";

    /**
     * The extractor's reading; where it would record an error (a family missing or empty, a label
     * that is not an integer) this throws instead, so nothing goes unnoticed.
     */
    public static EppMetrics extract(Map<String, PrometheusText.Family> families) {
        int queued = (int) gauge(families, QUEUED);
        int running = (int) gauge(families, RUNNING);
        double kv = gauge(families, KV_USAGE);
        PrometheusText.Sample lora = latestByValue(families, LORA);
        Set<String> active = new LinkedHashSet<>();
        Set<String> waiting = new LinkedHashSet<>();
        int maxLora = 0;
        for (Map.Entry<String, String> l : lora.labels().entrySet()) {
            switch (l.getKey()) {
                case "running_lora_adapters" -> addAdapters(active, l.getValue());
                case "waiting_lora_adapters" -> addAdapters(waiting, l.getValue());
                case "max_lora" -> maxLora = l.getValue().isEmpty() ? 0 : Integer.parseInt(l.getValue()); // strconv.Atoi
                default -> {
                }
            }
        }
        PrometheusText.Sample cache = latest(families, CACHE_INFO);
        int blockSize = Integer.parseInt(cache.labels().getOrDefault("block_size", "0"));
        int numBlocks = Integer.parseInt(cache.labels().getOrDefault("num_gpu_blocks", "0"));
        return new EppMetrics(queued, running, kv, Set.copyOf(active), Set.copyOf(waiting), maxLora, blockSize, numBlocks);
    }

    /** extractFamily: the family must exist and hold samples. */
    private static PrometheusText.Family family(Map<String, PrometheusText.Family> families, String name) {
        PrometheusText.Family f = families.get(name);
        if (f == null) {
            throw new IllegalStateException("metric family \"" + name + "\" not found");
        }
        if (f.samples().isEmpty()) {
            throw new IllegalStateException("no metrics found for \"" + name + "\"");
        }
        return f;
    }

    /** Spec.getLatestMetric: the sample with the latest timestamp; without timestamps (as here) the first. */
    private static PrometheusText.Sample latest(Map<String, PrometheusText.Family> families, String name) {
        return family(families, name).samples().getFirst();
    }

    /** LoRASpec.getLatestMetric: the sample with the largest value, which is its update time (-1 to start, as the Go code). */
    private static PrometheusText.Sample latestByValue(Map<String, PrometheusText.Family> families, String name) {
        PrometheusText.Family f = family(families, name);
        PrometheusText.Sample latest = null;
        double recent = -1;
        for (PrometheusText.Sample s : f.samples()) {
            double v = valueOf(f, s);
            if (v > recent) {
                recent = v;
                latest = s;
            }
        }
        if (latest == null) {
            throw new IllegalStateException("no matching lora metric found for \"" + name + "\"");
        }
        return latest;
    }

    /** extractValue: a gauge's or a counter's value; any other type reads as 0. */
    private static double valueOf(PrometheusText.Family f, PrometheusText.Sample s) {
        return f.type().equals("gauge") || f.type().equals("counter") ? s.value() : 0;
    }

    /** The latest sample's value, as extractValue reads it. */
    private static double gauge(Map<String, PrometheusText.Family> families, String name) {
        return valueOf(families.get(name), latest(families, name));
    }

    /** addAdapters: comma-separated, each name trimmed, empty ones skipped. */
    private static void addAdapters(Set<String> into, String csv) {
        for (String name : csv.split(",", -1)) {
            String trimmed = name.strip();
            if (!trimmed.isEmpty()) {
                into.add(trimmed);
            }
        }
    }

    /** The families the vLLM profile reads, each of which must be a gauge for the older, legacy reader (GetGauge()). */
    public static List<String> gauges() {
        return List.of(QUEUED, RUNNING, KV_USAGE, LORA, CACHE_INFO);
    }
}
