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
import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * bench route end to end against replicas started from the packaged jar, on the tiny shape and a
 * short trace, so it cannot rot; which rule wins is never asserted, only what must hold for both.
 */
class RouteBenchIT {

    @TempDir
    Path tmp;

    @Test
    void bothRulesServeTheWholeTraceAndCountEveryLoad() {
        Path jar = Path.of("target", "quarkus-app", "quarkus-run.jar");
        assertTrue(Files.isRegularFile(jar), "package the server first: " + jar.toAbsolutePath());
        RouteBench.Options o = RouteBench.Options.parse("--shape", "tiny", "--replicas", "2", "--requests", "30", "--adapters", "6",
                "--budget-adapters", "2", "--clients", "4", "--tokens", "2", "--rank", "4", "--scrape-ms", "100", "--timeout", "60",
                "--dir", tmp.toString(), "--jar", jar.toString(), "--tokenizer", SharedAssets.stories260K().toString());
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        RouteBench.Report r = assertTimeoutPreemptively(Duration.ofSeconds(180),
                () -> RouteBench.run(o, new PrintStream(bytes, true, StandardCharsets.UTF_8)));
        String text = bytes.toString(StandardCharsets.UTF_8);
        long distinct = Arrays.stream(RouteBench.trace(30, 6, 1.0, 1)).distinct().count();
        assertEquals(2, r.rules().size(), text);
        for (RouteBench.RuleResult rule : r.rules()) {
            assertEquals(30, rule.requests(), rule.rule() + " served every request: " + rule.errors());
            assertEquals(30, Arrays.stream(rule.perReplica()).sum());
            assertTrue(rule.loads() >= distinct, rule.rule() + ": every adapter of the trace is loaded somewhere at least once: " + text);
            // each replica holds at most its budget at the end, so every other load was followed by an eviction
            assertTrue(rule.evictions() >= rule.loads() - 2L * 2, rule.rule() + ": " + text);
            assertTrue(rule.ttftP50() > 0 && rule.ttftP99() >= rule.ttftP50() && rule.tokensPerSecond() > 0, text);
        }
        assertTrue(text.contains("summary (lora-affinity / round-robin"), text);
    }
}
