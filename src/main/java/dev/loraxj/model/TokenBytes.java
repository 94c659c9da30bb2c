package dev.loraxj.model;

import com.fasterxml.jackson.databind.JsonNode;

import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;

/**
 * The bytes each token adds to decoded text, read from tokenizer.json's decoder: byte-level BPE
 * (GPT-2's byte-to-unicode table, Llama 3, Qwen) or SentencePiece style ("▁" for a space and
 * {@code <0xNN>} byte-fallback pieces, Llama 2, Mistral). Special tokens have none. This is what a
 * grammar steps over, so multi-character and byte tokens are exact.
 */
public final class TokenBytes {

    private TokenBytes() {
    }

    /** Each id's bytes, or null for special and unknown ids. Throws for decoders of other kinds. */
    static byte[][] of(Vocabulary vocab, JsonNode tokenizerJson) {
        JsonNode decoder = tokenizerJson.path("decoder");
        boolean byteLevel = has(decoder, "ByteLevel");
        boolean byteFallback = has(decoder, "ByteFallback") || tokenizerJson.path("model").path("byte_fallback").asBoolean(false);
        boolean metaspace = has(decoder, "Metaspace") || has(decoder, "Replace");
        if (!byteLevel && !metaspace && !byteFallback) {
            throw new ModelException("constrained decoding needs a byte-level or SentencePiece tokenizer; this tokenizer.json's decoder is "
                    + (decoder.isMissingNode() ? "missing" : decoder.path("type").asText("?")));
        }
        Map<Integer, Integer> unicodeToByte = byteLevel ? unicodeToByte() : null;
        java.util.Set<String> added = new java.util.HashSet<>();
        tokenizerJson.path("added_tokens").forEach(t -> added.add(t.path("content").asText()));
        byte[][] out = new byte[vocab.size()][];
        for (int id = 0; id < vocab.size(); id++) {
            String piece = vocab.token(id);
            if (piece == null || vocab.isSpecial(id)) {
                continue;
            }
            if (added.contains(piece)) {
                out[id] = piece.getBytes(StandardCharsets.UTF_8);
            } else if (byteLevel) {
                out[id] = byteLevel(piece, unicodeToByte);
            } else if (byteFallback && piece.length() == 6 && piece.startsWith("<0x") && piece.endsWith(">")) {
                try {
                    out[id] = new byte[]{(byte) Integer.parseInt(piece.substring(3, 5), 16)};
                } catch (NumberFormatException e) {
                    out[id] = piece.getBytes(StandardCharsets.UTF_8);
                }
            } else {
                out[id] = piece.replace('\u2581', ' ').getBytes(StandardCharsets.UTF_8);
            }
        }
        return out;
    }

    private static boolean has(JsonNode decoder, String type) {
        if (type.equals(decoder.path("type").asText())) {
            return true;
        }
        for (JsonNode d : decoder.path("decoders")) {
            if (has(d, type)) {
                return true;
            }
        }
        return false;
    }

    private static byte[] byteLevel(String piece, Map<Integer, Integer> map) {
        byte[] out = new byte[piece.length()];
        int n = 0;
        for (int i = 0; i < piece.length(); ) {
            int c = piece.codePointAt(i);
            i += Character.charCount(c);
            Integer b = map.get(c);
            if (b == null) {
                return null; // not a byte-level piece: never allowed
            }
            out[n++] = (byte) (int) b;
        }
        return java.util.Arrays.copyOf(out, n);
    }

    /** GPT-2's bytes_to_unicode, inverted: printable bytes map to themselves, the rest to 256 + k. */
    private static Map<Integer, Integer> unicodeToByte() {
        Map<Integer, Integer> m = new HashMap<>();
        int extra = 0;
        for (int b = 0; b < 256; b++) {
            boolean printable = b >= '!' && b <= '~' || b >= 0xA1 && b <= 0xAC || b >= 0xAE && b <= 0xFF;
            m.put(printable ? b : 256 + extra++, b);
        }
        return m;
    }
}
