package dev.loraxj.bench;

import dev.loraxj.adapter.RandomLora;
import dev.loraxj.model.DType;
import dev.loraxj.model.ModelConfig;
import dev.loraxj.model.RandomLlama;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The pieces of bench route: the text-format reader, the picker's extraction and LoRA-affinity rule as ported, the trace. */
class RouteBenchTest {

    @TempDir
    Path tmp;

    @Test
    void textFormatReaderUnescapesLabelsGroupsHistogramsAndFailsWhereExpfmtFails() {
        Map<String, PrometheusText.Family> f = PrometheusText.parse("""
                # HELP vllm:lora_requests_info Running stats on lora requests.
                # TYPE vllm:lora_requests_info gauge
                vllm:lora_requests_info{max_lora="8",running_lora_adapters="a\\"b\\\\c,d\\ne",waiting_lora_adapters=""} 1.7e9
                # TYPE loraxj_step_duration_seconds histogram
                loraxj_step_duration_seconds_bucket{le="0.001"} 3
                loraxj_step_duration_seconds_bucket{le="+Inf"} 5
                loraxj_step_duration_seconds_count 5
                loraxj_step_duration_seconds_sum 0.25
                plain_untyped 7 1700000000000
                """);
        PrometheusText.Sample lora = f.get("vllm:lora_requests_info").samples().getFirst();
        assertEquals("a\"b\\c,d\ne", lora.labels().get("running_lora_adapters"));
        assertEquals(1.7e9, lora.value());
        assertEquals(4, f.get("loraxj_step_duration_seconds").samples().size(), "buckets, count and sum are one family");
        assertEquals("untyped", f.get("plain_untyped").type());
        assertEquals(7, f.get("plain_untyped").samples().getFirst().value(), "a timestamp after the value is allowed");

        assertThrows(IllegalArgumentException.class, () -> PrometheusText.parse("vllm-num_requests 1\n"), "a dash is no name character");
        assertThrows(IllegalArgumentException.class, () -> PrometheusText.parse("x{running-adapters=\"a\"} 1\n"), "nor in a label name");
        assertThrows(IllegalArgumentException.class, () -> PrometheusText.parse("x{a=b} 1\n"), "label values are quoted");
        assertThrows(IllegalArgumentException.class, () -> PrometheusText.parse("# TYPE x gauge\n# TYPE x counter\nx 1\n"));
        assertThrows(IllegalArgumentException.class, () -> PrometheusText.parse("x 1\n# TYPE x gauge\n"), "TYPE after the samples");
        assertThrows(IllegalArgumentException.class, () -> PrometheusText.parse("x 1 2 3\n"));
    }

    static final String GAUGES = """
            # TYPE vllm:num_requests_waiting gauge
            vllm:num_requests_waiting 3
            # TYPE vllm:num_requests_running gauge
            vllm:num_requests_running 2
            # TYPE vllm:kv_cache_usage_perc gauge
            vllm:kv_cache_usage_perc 0.25
            # TYPE vllm:cache_config_info gauge
            vllm:cache_config_info{block_size="16",num_gpu_blocks="512"} 1
            """;

    @Test
    void extractionTakesTheNewestLoraSeriesAndSplitsItsListsAsThePickerDoes() {
        // vLLM keeps every label set it ever exported; the newest (largest value) is the one read
        EppMetrics m = EppMetrics.extract(PrometheusText.parse(GAUGES + """
                # TYPE vllm:lora_requests_info gauge
                vllm:lora_requests_info{max_lora="4",running_lora_adapters="old",waiting_lora_adapters=""} 1700000000
                vllm:lora_requests_info{max_lora="4",running_lora_adapters="sql, chat ,",waiting_lora_adapters="code"} 1700000005
                vllm:lora_requests_info{max_lora="4",running_lora_adapters="older",waiting_lora_adapters=""} 1699999999
                """));
        assertEquals(new EppMetrics(3, 2, 0.25, Set.of("sql", "chat"), Set.of("code"), 4, 16, 512), m);

        // untyped, every value reads as 0 (extractValue): the first series wins whatever its time
        EppMetrics untyped = EppMetrics.extract(PrometheusText.parse(GAUGES + """
                vllm:lora_requests_info{max_lora="4",running_lora_adapters="first",waiting_lora_adapters=""} 1
                vllm:lora_requests_info{max_lora="4",running_lora_adapters="newer",waiting_lora_adapters=""} 2
                """));
        assertEquals(Set.of("first"), untyped.activeModels());

        assertThrows(IllegalStateException.class, () -> EppMetrics.extract(PrometheusText.parse(GAUGES)), "no LoRA family");
        assertThrows(NumberFormatException.class, () -> EppMetrics.extract(PrometheusText.parse(GAUGES
                + "# TYPE vllm:lora_requests_info gauge\nvllm:lora_requests_info{max_lora=\"many\"} 1\n")), "max_lora is strconv.Atoi'd");
    }

    static EppMetrics view(Set<String> running, Set<String> waiting, int max) {
        return new EppMetrics(0, running.size(), 0, running, waiting, max, 16, 100);
    }

    @Test
    void loraAffinityScoresAsTheScorerDefinesIt() {
        assertEquals(1.0, LoraAffinity.score(view(Set.of("a", "b"), Set.of(), 2), "a"), "active, even when full");
        assertEquals(0.8, LoraAffinity.score(view(Set.of("b"), Set.of(), 2), "a"), "room for one more");
        assertEquals(0.6, LoraAffinity.score(view(Set.of("b"), Set.of("a"), 2), "a"), "full, but it waits there");
        assertEquals(0.0, LoraAffinity.score(view(Set.of("b", "c"), Set.of(), 2), "a"), "full and not there");
        assertEquals(0.8, LoraAffinity.score(view(Set.of("b"), Set.of("a"), 3), "a"), "room ranks above waiting");

        List<EppMetrics> replicas = List.of(view(Set.of("x"), Set.of(), 2), view(Set.of("a"), Set.of(), 2), view(Set.of("y"), Set.of(), 2));
        SplittableRandom random = new SplittableRandom(3);
        for (int i = 0; i < 50; i++) {
            assertEquals(1, LoraAffinity.pick(replicas, "a", random), "the replica running it");
        }
        int[] hits = new int[3];
        for (int i = 0; i < 3000; i++) {
            hits[LoraAffinity.pick(replicas, "new", random)]++;
        }
        for (int h : hits) {
            // each of three tied replicas is drawn with p = 1/3: 1000 expected, sd 26; 6 sd of tolerance
            assertEquals(1000, h, 160, "ties are broken at random: " + java.util.Arrays.toString(hits));
        }
    }

    @Test
    void traceFollowsZipfAndRepeatsForASeed() {
        int n = 20_000;
        int[] t = RouteBench.trace(n, 200, 1.0, 7);
        assertArrayEquals(t, RouteBench.trace(n, 200, 1.0, 7));
        int[] counts = new int[200];
        for (int a : t) {
            counts[a]++;
        }
        int[] sorted = java.util.Arrays.stream(counts).sorted().toArray();
        double h = 0;
        for (int k = 1; k <= 200; k++) {
            h += 1.0 / k;
        }
        // the top adapter's share is 1/H(200) = 0.170; its sampling sd at n = 20000 is 0.0027, so 0.015 is over 5 sd
        assertEquals(1 / h, sorted[199] / (double) n, 0.015);
        assertEquals(1 / (2 * h), sorted[198] / (double) n, 0.015, "the second is half as popular");
        int[] uniform = RouteBench.trace(n, 10, 0.0, 1);
        int[] u = new int[10];
        for (int a : uniform) {
            u[a]++;
        }
        for (int c : u) {
            assertEquals(n / 10.0, c, 200, "s = 0 is uniform (sd 42)");
        }
    }

    @Test
    void optionsDefaultToTheIssuesSizesAndRefuseNonsense() {
        RouteBench.Options o = RouteBench.Options.parse();
        assertEquals(List.of(3, 2000, 200), List.of(o.replicas(), o.requests(), o.adapters()));
        RouteBench.Options small = RouteBench.Options.parse("--requests", "40", "--adapters", "10", "--budget-adapters", "2", "--shape", "tiny");
        assertEquals(40, small.requests());
        assertThrows(IllegalArgumentException.class, () -> RouteBench.Options.parse("--replica", "3"), "unknown option");
        assertThrows(IllegalArgumentException.class, () -> RouteBench.Options.parse("--adapters", "8", "--budget-adapters", "8"));
        assertThrows(IllegalArgumentException.class, () -> RouteBench.Options.parse("--zipf", "-1"));
        assertThrows(IllegalArgumentException.class, () -> RouteBench.Options.parse("--clients", "0"));
        assertThrows(IllegalArgumentException.class, () -> RouteBench.Options.parse("--shape", "7b"));
    }

    @Test
    void adapterBudgetIsSizedFromTheTensorBytes() {
        Path model = tmp.resolve("tiny");
        RandomLlama.write(model, RandomLlama.shape("tiny"), DType.F32, 1);
        ModelConfig cfg = ModelConfig.load(model);
        RandomLora.write(tmp.resolve("a"), cfg, 4, 8, false, List.of("q_proj", "o_proj"), DType.F32, 1, 0.02);
        long expected = 0;
        for (int l = 0; l < cfg.numLayers(); l++) {
            for (String m : List.of("q_proj", "o_proj")) {
                dev.loraxj.backend.LinearModule module = dev.loraxj.backend.LinearModule.byShortName(m);
                expected += 4L * (4L * module.in(cfg) + (long) module.out(cfg) * 4);
            }
        }
        assertEquals(expected, RouteBench.tensorBytes(tmp.resolve("a/adapter_model.safetensors")));
    }
}
