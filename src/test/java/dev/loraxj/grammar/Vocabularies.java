package dev.loraxj.grammar;

import dev.loraxj.SharedAssets;
import dev.loraxj.model.Tokenizer;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/** Vocabularies for grammar tests: the real stories260K one (512 ids, byte fallback) and a JSON-heavy synthetic one. */
final class Vocabularies {

    static final int SYNTHETIC_EOS = 0;

    private static TokenVocabulary stories;

    private Vocabularies() {
    }

    static synchronized TokenVocabulary stories260K() {
        if (stories == null) {
            try (Tokenizer t = Tokenizer.load(SharedAssets.stories260K())) {
                stories = new TokenVocabulary(t.tokenBytes(), t.eosIds());
            }
        }
        return stories;
    }

    /**
     * Every single byte, plus multi-byte pieces that cross JSON's token boundaries ({@code "},
     * {@code ":"}, {@code },{"}), numbers, words with a leading space, whole non-ASCII characters and
     * a piece that ends inside a UTF-8 sequence (as byte-level vocabularies have). Id 0 is EOS.
     */
    static TokenVocabulary synthetic() {
        Set<String> pieces = new LinkedHashSet<>(List.of("{\"", "\"}", "\":", "\": ", "\",", "\", \"", "\": \"", "},", "}}", "}]",
                "[{", "[]", "{}", "],", "]}", "true", "false", "null", "tr", "ue", "12", "345", "0.", ".5", "-1", "e+", "E-", " \"",
                "\n  ", "  ", " ", "\\\"", "\\n", "\\u00", "abc", " the", " name", "name", "age", "id", "2024-", "-01", "-12-", "T1",
                ":00", "Z\"", "@ex", ".com", "é", "日本", "<tool", "_call>", "</tool_call>", "<tool_call>", "\n<", "get_weather",
                "\"arguments\"", "{\"name\": \"", "city", "Paris"));
        List<byte[]> bytes = new ArrayList<>();
        bytes.add(null); // EOS
        for (int b = 0; b < 256; b++) {
            bytes.add(new byte[]{(byte) b});
        }
        for (String p : pieces) {
            bytes.add(p.getBytes(StandardCharsets.UTF_8));
        }
        byte[] partial = "日".getBytes(StandardCharsets.UTF_8);
        bytes.add(new byte[]{partial[0], partial[1]});
        bytes.add(new byte[]{partial[2], '"'});
        return new TokenVocabulary(bytes.toArray(new byte[0][]), new int[]{SYNTHETIC_EOS});
    }
}
