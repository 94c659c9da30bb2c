package dev.loraxj.service;

import dev.loraxj.SharedAssets;
import dev.loraxj.adapter.AdapterCatalog;
import dev.loraxj.model.Tokenizer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Length checks cost what can matter, not what the client sends; truncate keeps exactly the tokens full tokenizing keeps. */
class RequestValidatorTest {

    static Tokenizer tokenizer;
    static RequestValidator validator;
    static final int MAX_INPUT = 400;

    @BeforeAll
    static void load() {
        tokenizer = Tokenizer.load(SharedAssets.stories260K());
        Limits limits = new Limits(128, MAX_INPUT, 512, 4096, 65536, 16, 2, 4, 2);
        validator = new RequestValidator(tokenizer, limits, new AdapterCatalog(List.of(new dev.loraxj.adapter.LocalAdapterSource(List.of())), "local"), new ServedModel("stories260K", "../shared/models/stories260K"), null);
    }

    @AfterAll
    static void close() {
        tokenizer.close();
    }

    static LoraxRequest request(String inputs, Integer truncate) {
        GenerateParameters none = GenerateParameters.none();
        GenerateParameters p = new GenerateParameters(null, null, null, null, null, null, null, null, null, null, null, null,
                null, 1, null, null, null, truncate, null, null, null, null, null, null, null, null);
        return new LoraxRequest(inputs, truncate == null ? none : p, null);
    }

    /** Stories, words glued together, digits, emoji (surrogate pairs) and CJK (byte fallback). */
    static String text(long seed, int chars) {
        String[] pieces = {"Once upon a time, ", "there was a little girl named Lily. ", "xxxxxxxxxxxx", "12345 ", "\uD83D\uDE00",
                "\u732B\u3068\u72AC ", "  ", "\n", "Ben's dog barked! "};
        SplittableRandom r = new SplittableRandom(seed);
        StringBuilder sb = new StringBuilder();
        while (sb.length() < chars) {
            sb.append(pieces[r.nextInt(pieces.length)]);
        }
        return sb.toString();
    }

    @Test
    void aTextTooLongForAnyPromptIsRefusedFromItsLengthAlone() {
        String huge = "x".repeat(2_000_000);
        long t0 = System.nanoTime();
        ValidationException e = assertThrows(ValidationException.class, () -> validator.validate(request(huge, null), false));
        assertTrue(e.getMessage().contains("2000000 characters"), e.getMessage());
        // not a timing assertion on the work itself: the refusal never reaches the tokenizer, which takes ~2 s for this text
        assertTrue(System.nanoTime() - t0 < 1_000_000_000L, "refused without tokenizing 2M chars");
        // just below the bound it is tokenized and refused by its real count
        String below = "x".repeat(MAX_INPUT * tokenizer.maxCharsPerToken());
        ValidationException exact = assertThrows(ValidationException.class, () -> validator.validate(request(below, null), false));
        assertTrue(exact.getMessage().contains("Given: " + (below.length() + 2)), exact.getMessage()); // one token per x, "▁" and BOS
    }

    @Test
    void truncatingALongTextKeepsTheLastTokensOfItsFullTokenization() {
        for (long seed = 0; seed < 40; seed++) {
            String t = text(seed, 20_000 + (int) seed * 997);
            int[] full = tokenizer.encode(t);
            for (int truncate : new int[]{1, 7, 64, 399}) {
                ValidRequest v = validator.validate(request(t, truncate), false);
                int[] expected = Arrays.copyOfRange(full, full.length - truncate, full.length);
                assertArrayEquals(expected, v.generation().promptIds(), "seed " + seed + ", truncate " + truncate);
                assertEquals(tokenizer.decode(expected, 0, expected.length, false), v.inputs());
            }
        }
    }
}
