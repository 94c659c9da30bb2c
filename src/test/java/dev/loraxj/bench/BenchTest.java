package dev.loraxj.bench;

import dev.loraxj.model.DType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The bench runs end to end on the tiny shape; performance itself is never asserted. */
class BenchTest {

    @TempDir
    Path tmp;

    @Test
    void runsOnTheTinyShapeInBothDtypesAndReusesTheWrittenModel() throws Exception {
        Bench.Options o = Bench.Options.parse("--shape", "tiny", "--dtype", "f32,bf16", "--threads", "2", "--tokens", "4",
                "--batch-steps", "4", "--batches", "2,4", "--rounds", "1", "--bw-mb", "4", "--warmup", "2",
                "--prefill", "16,40", "--dir", tmp.toString());
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        Bench.Report report = Bench.run(o, new PrintStream(bytes, true, StandardCharsets.UTF_8));
        String text = bytes.toString(StandardCharsets.UTF_8);
        assertEquals(2, report.models().size(), text);
        for (Bench.ModelReport m : report.models()) {
            assertTrue(m.batch1TokensPerSecond() > 0 && m.copyGBs() > 0 && m.readGBs() > 0, text);
            assertTrue(m.batchedTokensPerSecond(1) > 0 && m.rooflineOfRead() > 0 && m.prefillTokensPerSecond(1) > 0, text);
        }
        assertTrue(text.contains("b4/b1") && text.contains("pp40/s") && text.contains("%read") && text.contains("median") && text.contains("writing random tiny"), text);
        long written = Files.getLastModifiedTime(tmp.resolve("tiny-f32/model.safetensors")).toMillis();

        ByteArrayOutputStream again = new ByteArrayOutputStream();
        Bench.run(Bench.Options.parse("--shape", "tiny", "--tokens", "2", "--batch-steps", "2", "--batches", "2",
                "--rounds", "1", "--bw-mb", "4", "--warmup", "2", "--dir", tmp.toString()), new PrintStream(again, true, StandardCharsets.UTF_8));
        assertTrue(!again.toString(StandardCharsets.UTF_8).contains("writing random"), "the model is reused");
        assertEquals(written, Files.getLastModifiedTime(tmp.resolve("tiny-f32/model.safetensors")).toMillis());
    }

    @Test
    void optionsHaveDefaultsAndRejectBadValues() {
        Bench.Options d = Bench.Options.parse();
        assertEquals("110m", d.shape());
        assertEquals(List.of(DType.F32), d.dtypes());
        assertEquals(List.of(DType.I8, DType.I4), Bench.Options.parse("--dtype", "int8,int4").dtypes(), "quantized at load from f32");
        assertEquals(Runtime.getRuntime().availableProcessors(), d.threads());
        assertEquals(32, d.prompt(), "llama-batched-bench's -npp 32");
        assertEquals(64, d.batchSteps(), "llama-batched-bench's -ntg 64");
        assertArrayEquals(new int[] {128, 512}, d.prefill());
        assertEquals(0, Bench.Options.parse("--prefill", "none").prefill().length);
        assertThrows(IllegalArgumentException.class, () -> Bench.Options.parse("--prefill", "0"));
        assertThrows(IllegalArgumentException.class, () -> Bench.Options.parse("--tokens", "0"));
        assertThrows(IllegalArgumentException.class, () -> Bench.Options.parse("--shape", "7b"));
        assertThrows(IllegalArgumentException.class, () -> Bench.Options.parse("--frobnicate", "1"));
        assertThrows(IllegalArgumentException.class, () -> Bench.Options.parse("--threads"));
    }
}
