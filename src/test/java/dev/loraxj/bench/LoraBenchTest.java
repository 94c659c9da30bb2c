package dev.loraxj.bench;

import dev.loraxj.model.DType;
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
    void runsOnTheTinyShapeWithF32AndBf16AdaptersSideBySide() {
        LoraBench.Options o = LoraBench.Options.parse("--shape", "tiny", "--adapters", "3", "--rank", "4", "--steps", "4", "--warmup", "2", "--prompt", "8",
                "--rounds", "1", "--threads", "2", "--adapter-dtype", "f32,bf16", "--bw-mb", "8", "--dir", tmp.toString());
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        LoraBench.Report r = LoraBench.run(o, new PrintStream(bytes, true, StandardCharsets.UTF_8));
        String text = bytes.toString(StandardCharsets.UTF_8);
        assertTrue(r.baseTokensPerSecond() > 0 && r.readGBs() > 0, text);
        assertEquals(2, r.runs().size(), text);
        for (LoraBench.AdapterRun run : r.runs()) {
            assertTrue(run.tokensPerSecond() > 0 && run.ratio() > 0 && run.medianLoadMillis() > 0, text);
        }
        // r=4 on all seven linears of the tiny shape: 4 * (in + out) elements per linear, 5 layers
        long elements = 5L * 4 * ((64 + 64) + (64 + 32) * 2 + (64 + 64) + (64 + 172) * 3);
        assertEquals(DType.F32, r.runs().get(0).dtype());
        assertEquals(4 * elements, r.runs().get(0).adapterBytes(), text);
        // BF16 files stay BF16 in memory: half the bytes (every dimension is even)
        assertEquals(DType.BF16, r.runs().get(1).dtype());
        assertEquals(2 * elements, r.runs().get(1).adapterBytes(), text);
        assertTrue(text.contains("median") && text.contains("bf16 tok/s") && text.contains("of the read bandwidth"), text);
    }

    @Test
    void adaptersDefaultToF32() {
        assertEquals(java.util.List.of(DType.F32), LoraBench.Options.parse("--shape", "tiny").adapterDtypes());
        assertEquals(java.util.List.of(DType.BF16), LoraBench.Options.parse("--adapter-dtype", "bf16").adapterDtypes());
    }

    @Test
    void rejectsUnknownOptions() {
        assertThrows(IllegalArgumentException.class, () -> LoraBench.Options.parse("--frobnicate", "1"));
        assertThrows(IllegalArgumentException.class, () -> LoraBench.Options.parse("--rank"));
        assertThrows(RuntimeException.class, () -> LoraBench.Options.parse("--adapter-dtype", "int4"));
    }
}
