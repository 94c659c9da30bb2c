package dev.loraxj.bench;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The serving bench's parts that need no server: options, the request body, quantiles, the chart. Its end-to-end run is ServeBenchIT. */
class ServeBenchTest {

    @TempDir
    Path tmp;

    @Test
    void optionsDefaultToTheScaledIssueShapeAndRejectBadValues() {
        ServeBench.Options d = ServeBench.Options.parse();
        assertEquals("110m", d.shape());
        assertEquals(256, d.clients());
        assertArrayEquals(new int[] {1, 8, 32, 128, 256}, d.adapterCounts());
        assertEquals(64, d.prefixClients(), "the issue's 64 clients (about 5 minutes on 2 cores)");
        assertEquals(512, d.systemTokens());
        assertEquals(8, d.prefixAdapters());
        assertEquals(Set.copyOf(ServeBench.FIGURES), d.figures());
        ServeBench.Options o = ServeBench.Options.parse("--adapters", "32,1,8,8", "--figures", "prefix,concurrency", "--out", tmp.toString());
        assertArrayEquals(new int[] {1, 8, 32}, o.adapterCounts(), "sorted, each once");
        assertEquals(Set.of("prefix", "concurrency"), o.figures());
        assertEquals(tmp, o.out());
        assertThrows(IllegalArgumentException.class, () -> ServeBench.Options.parse("--clients", "0"));
        assertThrows(IllegalArgumentException.class, () -> ServeBench.Options.parse("--figures", "latency"));
        assertThrows(IllegalArgumentException.class, () -> ServeBench.Options.parse("--shape", "7b"));
        assertThrows(IllegalArgumentException.class, () -> ServeBench.Options.parse("--tokens"));
        assertThrows(IllegalArgumentException.class, () -> ServeBench.Options.parse("--max-total", "32", "--tokens", "32"),
                "a request must fit in max-total-tokens");
    }

    @Test
    void theLoadFigureRunsOnlyWhenAskedAndTakesTheBaseModelAsZeroAdapters() {
        assertFalse(ServeBench.Options.parse().figures().contains("load"), "not in the default figures");
        ServeBench.Options o = ServeBench.Options.parse("--figures", "load", "--adapters", "0,4", "--url", "http://127.0.0.1:8080");
        assertEquals(Set.of("load"), o.figures());
        assertArrayEquals(new int[] {0, 4}, o.adapterCounts());
        assertArrayEquals(new int[] {4}, o.adapterPoints());
        assertEquals(java.net.URI.create("http://127.0.0.1:8080"), o.url());
        assertThrows(IllegalArgumentException.class, () -> ServeBench.Options.parse("--url", "http://127.0.0.1:8080"),
                "--url runs the load figure only");
        assertThrows(IllegalArgumentException.class, () -> ServeBench.Options.parse("--figures", "load", "--url", "ftp://x"));
        assertThrows(IllegalArgumentException.class, () -> ServeBench.Options.parse("--figures", "scaling", "--adapters", "0"),
                "scaling needs an adapter count");
        assertThrows(IllegalArgumentException.class, () -> ServeBench.Options.parse("--figures", "load", "--adapters", "-1"));
    }

    @Test
    void anOpenAiClientAsksForGreedyTokensWithoutEosAndTheAdapterAsModel() throws Exception {
        var json = new com.fasterxml.jackson.databind.ObjectMapper().readTree(OpenAiStream.body(
                new StreamingLoad.Request("hi", "a3", 8, 0, null, StreamingLoad.Wire.OPENAI), true));
        assertEquals("a3", json.path("model").asText());
        assertEquals(8, json.path("max_tokens").asInt());
        assertEquals(0, json.path("temperature").asInt());
        assertTrue(json.path("stream").asBoolean() && json.path("stream_options").path("include_usage").asBoolean());
        assertTrue(json.path("ignore_eos").asBoolean() && json.path("ignore_eos_token").asBoolean(), "to another server: llama-server's field too");
        assertEquals("", new com.fasterxml.jackson.databind.ObjectMapper().readTree(OpenAiStream.body(
                new StreamingLoad.Request("hi", null, 8, 0, null, StreamingLoad.Wire.OPENAI), false)).path("model").asText(), "the base model");
        assertTrue(new com.fasterxml.jackson.databind.ObjectMapper().readTree(OpenAiStream.body(
                new StreamingLoad.Request("hi", null, 8, 0, null, StreamingLoad.Wire.OPENAI), false)).path("ignore_eos").isMissingNode(),
                "loraxj refuses llama-server's field");
    }

    @Test
    void aRequestWithoutMaxNewTokensSendsNone() {
        assertEquals("{\"inputs\":\"hi\",\"parameters\":{}}", StreamingLoad.body(new StreamingLoad.Request("hi", null, null, 8, null)));
        assertEquals("{\"inputs\":\"hi\",\"parameters\":{\"adapter_id\":\"a3\",\"max_new_tokens\":4,\"cache_salt\":\"s\"}}",
                StreamingLoad.body(new StreamingLoad.Request("hi", "a3", 4, 0, "s")));
    }

    @Test
    void quantilesAreNearestRank() {
        double[] v = {5, 1, 4, 2, 3};
        assertEquals(3, StreamingLoad.quantile(v, 0.5));
        assertEquals(5, StreamingLoad.quantile(v, 0.99));
        assertEquals(1, StreamingLoad.quantile(v, 0.0));
        assertTrue(Double.isNaN(StreamingLoad.quantile(new double[0], 0.5)));
        assertEquals(Arrays.toString(new double[] {5, 1, 4, 2, 3}), Arrays.toString(v), "the input is left alone");
    }

    @Test
    void scalingChartWritesACsvRowPerPointAndATwoPanelPng() throws Exception {
        ScalingChart.Point base = new ScalingChart.Point(0, 200, 1.0, 2.0);
        List<ScalingChart.Point> points = List.of(new ScalingChart.Point(1, 190, 1.1, 2.1), new ScalingChart.Point(8, 150, 1.2, 2.2),
                new ScalingChart.Point(256, 100, 2.0, 4.0));
        List<Path> files = ScalingChart.write(tmp, "scaling", "test", base, points);
        List<String> csv = Files.readAllLines(files.get(0));
        assertEquals("adapters,tokens_per_second,ttft_p50_s,ttft_p99_s,throughput_vs_base,ttft_p50_vs_base", csv.get(0));
        assertEquals("base,200.00,1.0000,2.0000,1.0000,1.0000", csv.get(1));
        assertEquals("256,100.00,2.0000,4.0000,0.5000,2.0000", csv.get(4));
        byte[] png = Files.readAllBytes(files.get(1));
        assertTrue(png.length > 1000 && png[1] == 'P' && png[2] == 'N' && png[3] == 'G', "a PNG");
        java.awt.image.BufferedImage image = javax.imageio.ImageIO.read(files.get(1).toFile());
        assertTrue(image.getWidth() > image.getHeight(), "two panels side by side");
    }

    @Test
    void theServedTokenizerDecodesEveryIdOfTheModelToTextAndEncodesAsBefore() throws Exception {
        Path stories = dev.loraxj.SharedAssets.stories260K();
        String config = Files.readString(stories.resolve("config.json"));
        Files.writeString(tmp.resolve("config.json"), config.replaceFirst("\"vocab_size\"\\s*:\\s*\\d+", "\"vocab_size\": 700"));
        ServeSetup.copyTokenizer(stories, tmp);
        ServeSetup.copyTokenizer(stories, tmp); // a second copy finds the same file and leaves it
        try (dev.loraxj.model.Tokenizer padded = dev.loraxj.model.Tokenizer.load(tmp);
             dev.loraxj.model.Tokenizer original = dev.loraxj.model.Tokenizer.load(stories)) {
            String text = "Once upon a time, there was a little girl named Lily.";
            assertArrayEquals(original.encode(text), padded.encode(text), "the stories pieces and merges are unchanged");
            for (int id = 512; id < 700; id++) {
                assertEquals("t" + id, padded.decode(new int[] {id}, 0, 1, true).strip(), "id " + id);
            }
        }
    }
}
