package dev.loraxj.api;

import dev.loraxj.service.ValidationException;

import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/**
 * A JSON body's text, checked before it is parsed: strict UTF-8 (no overlong forms, encoded
 * surrogates, stray or truncated bytes), no raw NUL (which would let the parser guess UTF-16 or
 * UTF-32), and no {@code \\u} escape that leaves a surrogate unpaired. Jackson accepts all of these
 * and hands the tokenizer text that is not Unicode. Two linear passes, cheap enough for the event loop.
 */
final class JsonText {

    private JsonText() {
    }

    static void check(byte[] body) {
        strictUtf8(body);
        escapes(body);
    }

    private static void strictUtf8(byte[] body) {
        CharsetDecoder decoder = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
        ByteBuffer in = ByteBuffer.wrap(body);
        CharBuffer out = CharBuffer.allocate(Math.min(body.length, 8192) + 1); // the text is discarded: only errors matter
        while (true) {
            CoderResult r = decoder.decode(in, out, true);
            if (r.isUnderflow()) {
                break;
            }
            if (r.isError()) {
                throw new ValidationException("request body is not valid UTF-8 (at byte " + in.position() + ")");
            }
            out.clear();
        }
    }

    private static void escapes(byte[] b) {
        for (int i = 0; i < b.length; i++) {
            if (b[i] == 0) {
                throw new ValidationException("request body is not valid UTF-8 JSON: a raw NUL byte at byte " + i
                        + " (UTF-16 and UTF-32 are not accepted)");
            }
            if (b[i] != '\\' || i + 1 >= b.length) {
                continue;
            }
            if (b[i + 1] != 'u') {
                i++; // an escaped character such as \\ or \": what follows is not an escape
                continue;
            }
            int unit = hex4(b, i + 2);
            if (unit < 0) {
                continue; // a malformed escape: the parser reports it
            }
            if (high(unit)) {
                if (i + 11 < b.length && b[i + 6] == '\\' && b[i + 7] == 'u' && low(hex4(b, i + 8))) {
                    i += 11;
                    continue;
                }
                throw unpaired(b, i);
            }
            if (low(unit)) {
                throw unpaired(b, i);
            }
            i += 5;
        }
    }

    private static boolean high(int unit) {
        return unit >= 0xD800 && unit <= 0xDBFF;
    }

    private static boolean low(int unit) {
        return unit >= 0xDC00 && unit <= 0xDFFF;
    }

    private static ValidationException unpaired(byte[] b, int at) {
        return new ValidationException("request body has an unpaired surrogate escape \\" + new String(b, at + 1, 5, StandardCharsets.US_ASCII)
                + " (at byte " + at + "): a \\uD800-\\uDBFF escape must be followed by a \\uDC00-\\uDFFF one");
    }

    /** The four hex digits at {@code at} as a UTF-16 unit, or -1 (the parser reports a malformed escape). */
    private static int hex4(byte[] b, int at) {
        if (at + 4 > b.length) {
            return -1;
        }
        int v = 0;
        for (int k = at; k < at + 4; k++) {
            int d = Character.digit(b[k], 16);
            if (d < 0) {
                return -1;
            }
            v = v << 4 | d;
        }
        return v;
    }
}
