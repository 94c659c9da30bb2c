package dev.loraxj.api;

import dev.loraxj.adapter.AdapterKey;
import dev.loraxj.adapter.AdapterRef;
import dev.loraxj.adapter.AdapterStore;
import dev.loraxj.config.LoraxjConfig;
import dev.loraxj.engine.AdapterActivity;
import dev.loraxj.engine.EngineMetrics;
import dev.loraxj.service.ModelHost;
import dev.loraxj.service.ModelRuntime;
import io.micrometer.prometheus.PrometheusMeterRegistry;
import io.prometheus.client.Collector;
import io.prometheus.client.GaugeMetricFamily;
import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.enterprise.inject.Instance;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * The gauges the Gateway API Inference Extension's endpoint picker reads from a model server
 * (its model server protocol), under vLLM's names so that its vLLM profile reads them unchanged.
 * Computed at each scrape from what the engine published at its last step; a series per label set
 * would pile up as adapters come and go, so {@code vllm:lora_requests_info} is one series, stamped
 * with the time of that step. Nothing is exported before the model is loaded.
 */
@ApplicationScoped
public class VllmMetrics extends Collector {

    public static final String WAITING = "vllm:num_requests_waiting";
    public static final String RUNNING = "vllm:num_requests_running";
    public static final String KV_USAGE = "vllm:kv_cache_usage_perc";
    /** vLLM's name before 0.10, which endpoint pickers up to v1.2 read. */
    public static final String KV_USAGE_OLD = "vllm:gpu_cache_usage_perc";
    public static final String LORA_INFO = "vllm:lora_requests_info";
    public static final String CACHE_CONFIG = "vllm:cache_config_info";

    private final ModelHost host;
    private final int maxActiveAdapters;

    public VllmMetrics(ModelHost host, LoraxjConfig config) {
        this.host = host;
        this.maxActiveAdapters = config.maxActiveAdapters();
    }

    void register(@Observes StartupEvent event, Instance<PrometheusMeterRegistry> registry) {
        if (registry.isResolvable()) {
            registry.get().getPrometheusRegistry().register(this);
        }
    }

    @Override
    public List<MetricFamilySamples> collect() {
        if (!host.ready()) {
            return List.of();
        }
        ModelRuntime rt = host.runtime();
        EngineMetrics m = rt.engine().metrics();
        int total = rt.engine().totalBlocks();
        double usage = total == 0 ? 0 : 1.0 - (double) m.freeBlocks() / total;
        AdapterActivity activity = m.adapterActivity();
        Map<AdapterKey, List<String>> names = names(rt);
        List<MetricFamilySamples> out = new ArrayList<>();
        out.add(new GaugeMetricFamily(WAITING, "Sequences waiting to join the batch (loraxj_queue_size)", m.queueSize()));
        out.add(new GaugeMetricFamily(RUNNING, "Sequences in the running batch (loraxj_batch_size)", m.batchSize()));
        out.add(new GaugeMetricFamily(KV_USAGE, "KV cache usage, 0 to 1: blocks in use over all blocks; cached free blocks count as free", usage));
        out.add(new GaugeMetricFamily(KV_USAGE_OLD, "The same as " + KV_USAGE + ", under vLLM's older name", usage));
        GaugeMetricFamily lora = new GaugeMetricFamily(LORA_INFO, "Adapters with running and waiting requests, by the names "
                + "clients send as model; the value is the time of the engine step they were read at (seconds since the epoch)",
                List.of("max_lora", "running_lora_adapters", "waiting_lora_adapters"));
        lora.addMetric(List.of(Integer.toString(maxLora(maxActiveAdapters, rt.adapters())), list(activity.running(), names), list(activity.waiting(), names)),
                activity.publishedMillis() / 1000.0);
        out.add(lora);
        GaugeMetricFamily cache = new GaugeMetricFamily(CACHE_CONFIG, "The KV cache's block size (tokens) and number of blocks",
                List.of("block_size", "num_gpu_blocks"));
        cache.addMetric(List.of(Integer.toString(rt.limits().kvBlockSize()), Integer.toString(total)), 1);
        out.add(cache);
        return out;
    }

    /**
     * vLLM's max_loras, the adapters a replica takes at once: max-active-adapters (the base model takes
     * a place only while it has requests), and no more than the adapter budget holds at the mean size of
     * those held now.
     */
    static int maxLora(int maxActiveAdapters, AdapterStore store) {
        return maxLora(maxActiveAdapters, store.heldCount(), store.held().device(), store.budgets().device());
    }

    /** The same from the figures: adapters held, their device bytes, the device budget. */
    static int maxLora(int maxActiveAdapters, int held, long heldBytes, long budget) {
        int cap = Math.max(0, maxActiveAdapters);
        if (held == 0 || heldBytes == 0) {
            return cap;
        }
        return (int) Math.min(cap, Math.max(1, budget / Math.max(1, heldBytes / held)));
    }

    /** Each adapter's names as clients send them: its registered names, else its id; merges have no name a client can send. */
    private static Map<AdapterKey, List<String>> names(ModelRuntime rt) {
        Map<AdapterKey, List<String>> out = new java.util.HashMap<>();
        rt.catalog().registeredNames().forEach((name, ref) -> out.computeIfAbsent(ref, k -> new ArrayList<>()).add(name));
        return out;
    }

    private static String list(Collection<AdapterKey> keys, Map<AdapterKey, List<String>> names) {
        TreeSet<String> sorted = new TreeSet<>();
        for (AdapterKey key : keys) {
            if (key instanceof AdapterRef ref) {
                List<String> registered = names.get(ref);
                if (registered != null) {
                    sorted.addAll(registered);
                } else {
                    sorted.add(ref.name());
                }
            }
        }
        return String.join(",", sorted);
    }
}
