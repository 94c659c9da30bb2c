package dev.loraxj.bench;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The multi-LoRA bench runs end to end on the tiny shape; performance itself is never asserted. */
class LoraBenchTest {

    @TempDir
    Path tmp;

    @Test
    void runsOnTheTinyShape() {
        LoraBench.Options o = LoraBench.Options.parse("--shape", "tiny", "--adapters", "3", "--rank", "4", "--steps", "4",
                "--rounds", "1", "--threads", "2", "--dir", tmp.toString());
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        LoraBench.Report r = LoraBench.run(o, new PrintStream(bytes, true, StandardCharsets.UTF_8));
        String text = bytes.toString(StandardCharsets.UTF_8);
        assertTrue(r.baseTokensPerSecond() > 0 && r.loraTokensPerSecond() > 0 && r.medianLoadMillis() > 0, text);
        // r=4 on all seven linears of the tiny shape: 4 * (in + out) floats per linear, 5 layers
        assertEquals(5L * 4 * 4 * ((64 + 64) + (64 + 32) * 2 + (64 + 64) + (64 + 172) * 3), r.adapterBytes(), text);
        assertTrue(text.contains("median"), text);
    }

    @Test
    void rejectsUnknownOptions() {
        assertThrows(IllegalArgumentException.class, () -> LoraBench.Options.parse("--frobnicate", "1"));
        assertThrows(IllegalArgumentException.class, () -> LoraBench.Options.parse("--rank"));
    }
}
