package dev.loraxj.bench;

import dev.loraxj.SharedAssets;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * bench serve end to end against servers started from the packaged jar, on the tiny shape and a
 * few clients, so it cannot rot; performance itself is never asserted.
 */
class ServeBenchIT {

    @TempDir
    Path tmp;

    @Test
    void runsEveryFigureAgainstPackagedServersOnTheTinyShape() {
        Path jar = Path.of("target", "quarkus-app", "quarkus-run.jar");
        assertTrue(Files.isRegularFile(jar), "package the server first: " + jar.toAbsolutePath());
        ServeBench.Options o = ServeBench.Options.parse("--shape", "tiny", "--clients", "4", "--tokens", "6", "--prompt-tokens", "8",
                "--max-total", "96", "--adapters", "1,2", "--rank", "4", "--prefix-clients", "4", "--system-tokens", "48",
                "--prefix-adapters", "2", "--prefix-new-tokens", "2", "--rounds", "1", "--threads", "1", "--timeout", "60",
                "--dir", tmp.toString(), "--jar", jar.toString(), "--tokenizer", SharedAssets.stories260K().toString());
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        ServeBench.Report r = assertTimeoutPreemptively(Duration.ofSeconds(120),
                () -> ServeBench.run(o, new PrintStream(bytes, true, StandardCharsets.UTF_8)));
        String text = bytes.toString(StandardCharsets.UTF_8);

        assertNotNull(r.concurrency(), text);
        // the 4 clients' working set is below two max-total-tokens reservations, so the old rule runs one request at a time
        assertEquals(1, r.concurrency().worstCasePeak(), text);
        assertEquals(4, r.concurrency().onDemandPeak(), text);
        assertTrue(r.concurrency().onDemandTokensPerSecond() > 0 && r.concurrency().worstCaseTokensPerSecond() > 0, text);
        assertTrue(r.preemption().halfTokensPerSecond() > 0 && r.preemption().ratio() > 0, text);
        assertEquals(2, r.scaling().points().size(), text);
        assertTrue(r.scaling().base().tokensPerSecond() > 0, text);
        assertTrue(r.scaling().files().stream().allMatch(Files::isRegularFile), text);
        assertTrue(r.prefix().uncachedP50() > 0 && r.prefix().warmP50() > 0, text);
        assertTrue(r.prefix().hitTokens() > 0, "the cached server served prefix blocks: " + text);
        for (String line : new String[] {"on-demand / worst-case peak running:", "cached / uncached TTFT p50:",
                "50% / 100% pool throughput:", "2 adapters / base throughput:"}) {
            assertTrue(text.contains(line), line + " in\n" + text);
        }
    }

    @Test
    void theLoadFigureStreamsOpenAiCompletionsForTheBaseModelAndAnAdapterMix() {
        Path jar = Path.of("target", "quarkus-app", "quarkus-run.jar");
        assertTrue(Files.isRegularFile(jar), "package the server first: " + jar.toAbsolutePath());
        ServeBench.Options o = ServeBench.Options.parse("--shape", "tiny", "--figures", "load", "--clients", "6", "--tokens", "5",
                "--prompt-tokens", "8", "--max-total", "96", "--adapters", "0,2", "--rank", "4", "--rounds", "1", "--threads", "1",
                "--timeout", "60", "--dir", tmp.toString(), "--jar", jar.toString(), "--tokenizer", SharedAssets.stories260K().toString());
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        ServeBench.Report r = assertTimeoutPreemptively(Duration.ofSeconds(120),
                () -> ServeBench.run(o, new PrintStream(bytes, true, StandardCharsets.UTF_8)));
        String text = bytes.toString(StandardCharsets.UTF_8);
        assertEquals(2, r.load().size(), text);
        for (ServeLoad.Point p : r.load()) {
            assertTrue(p.tokensPerSecond() > 0 && p.ttftP50() > 0 && p.ttftP90() >= p.ttftP50() && p.latencyP50() >= p.ttftP50(), text);
            assertEquals(5.0, p.meanTokens(), 0.0, "EOS ignored: every client gets max_tokens: " + text);
            assertTrue(p.promptTokens() > 0, "the server reported its prompt tokens: " + text);
        }
        assertTrue(text.contains("load adapters=0 clients=6 tokens=5 tokens_per_s=") && text.contains("load adapters=2 "), text);
    }
}
