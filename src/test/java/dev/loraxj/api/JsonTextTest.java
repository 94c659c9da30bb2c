package dev.loraxj.api;

import dev.loraxj.service.ValidationException;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The body checks Jackson leaves out: strict UTF-8 and paired surrogate escapes. */
class JsonTextTest {

    static void ok(String json) {
        assertDoesNotThrow(() -> JsonText.check(json.getBytes(StandardCharsets.UTF_8)), json);
    }

    static String refused(byte[] body) {
        return assertThrows(ValidationException.class, () -> JsonText.check(body), new String(body, StandardCharsets.ISO_8859_1))
                .getMessage();
    }

    static String refused(String json) {
        return refused(json.getBytes(StandardCharsets.ISO_8859_1));
    }

    @Test
    void pairedEscapesEscapedBackslashesAndFourByteCharactersPass() {
        ok("{\"a\":\"\\ud83d\\ude00\"}");
        ok("{\"a\":\"\\uD83D\\uDE00\\ud83d\\ude00\"}");
        ok("{\"a\":\"\\\\ud800\"}");      // an escaped backslash, then text
        ok("{\"a\":\"\\\\\\ud83d\\ude00\"}");
        ok("{\"a\":\"\\\"\\u0041\\u0000\"}");
        ok("{\"a\":\"😀 été 中文\"}");
        ok("{\"a\":\"\\u12\"}");          // malformed: Jackson says so
        ok("{\"a\":\"\\");
    }

    @Test
    void loneSurrogateEscapesAreRefusedWhereverTheyAre() {
        for (String s : new String[] {"\\ud800", "\\uDBFF", "\\udc00", "\\ud800x", "\\ud800\\u0041", "\\ud800\\ud800", "\\ude00\\ud83d",
                "\\ud83d\\ude00\\udc00"}) {
            assertTrue(refused("{\"a\":\"" + s + "\"}").contains("surrogate"), s);
        }
        assertTrue(refused("{\"\\ud800\":1}").contains("surrogate"), "a key");
        assertTrue(refused("{\"a\":\"\\ud800").contains("surrogate"), "at the end of the body");
        assertTrue(refused("{\"a\":\"\\ud800\\u").contains("surrogate"), "a truncated pair");
    }

    @Test
    void invalidUtf8IsRefused() {
        byte[][] bad = {{(byte) 0xC0, (byte) 0x80}, {(byte) 0xC1, (byte) 0xBF}, {(byte) 0xE0, (byte) 0x80, (byte) 0xAF},
                {(byte) 0xF0, (byte) 0x80, (byte) 0x80, (byte) 0xAF}, {(byte) 0xED, (byte) 0xA0, (byte) 0x80},
                {(byte) 0xED, (byte) 0xBF, (byte) 0xBF}, {(byte) 0xFF}, {(byte) 0xFE}, {(byte) 0x80}, {(byte) 0xE2, (byte) 0x82},
                {(byte) 0xF4, (byte) 0x90, (byte) 0x80, (byte) 0x80}, {0}};
        for (byte[] b : bad) {
            byte[] body = RawHttp.concat("{\"a\":\"".getBytes(StandardCharsets.US_ASCII), b, "\"}".getBytes(StandardCharsets.US_ASCII));
            assertTrue(refused(body).contains("UTF-8"), Arrays.toString(b));
        }
        assertTrue(refused("{\"a\":1}".getBytes(StandardCharsets.UTF_16BE)).contains("UTF-8"), "UTF-16");
    }

    @Test
    void aBodyAtTheSizeLimitIsCheckedQuickly() {
        byte[] body = ("{\"a\":\"" + "été 😀 \\ud83d\\ude00 \\\\ ".repeat(80_000) + "\"}").getBytes(StandardCharsets.UTF_8);
        assertTrue(body.length > 2_000_000);
        JsonText.check(body); // warm up
        long t0 = System.nanoTime();
        for (int i = 0; i < 10; i++) {
            JsonText.check(body);
        }
        long perBodyMs = (System.nanoTime() - t0) / 10 / 1_000_000;
        // linear, a few ms here; 200 ms leaves room for a loaded 2-core machine and still catches a quadratic scan
        assertTrue(perBodyMs < 200, perBodyMs + " ms per 2 MB body");
    }
}
