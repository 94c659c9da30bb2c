package dev.loraxj.model;

import dev.loraxj.SharedAssets;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class IncrementalDetokenizerTest {

    private static Tokenizer tokenizer;

    @BeforeAll
    static void load() {
        tokenizer = Tokenizer.load(SharedAssets.stories260K());
    }

    @AfterAll
    static void close() {
        tokenizer.close();
    }

    @Test
    void characterSplitOverByteTokensAppearsWhenComplete() {
        // 中 = E4 B8 AD, each a byte-fallback token
        List<String> pieces = run(new int[]{1}, ids("▁", "<0xE4>", "<0xB8>", "<0xAD>", "▁a"));
        assertEquals(List.of("", "", "", "中", " a", ""), pieces, "as generated_text: SentencePiece strips the first space");
    }

    @Test
    void emojiOfFourBytesAppearsWhole() {
        List<String> pieces = run(new int[]{1}, ids("<0xF0>", "<0x9F>", "<0x98>", "<0x80>", "<0x21>"));
        assertEquals(List.of("", "", "", "😀", "!", ""), pieces);
    }

    @Test
    void invalidBytesAreHeldBackUntilFlush() {
        List<String> pieces = run(new int[]{1}, new int[]{403, id("<0xE4>")});
        assertEquals(List.of("Once", "", "\uFFFD"), pieces, "a sequence cut off at the end comes out of flush()");
    }

    @Test
    void invalidBytesFollowedByTextComeOutWithIt() {
        List<String> pieces = run(new int[]{1}, new int[]{id("<0xE4>"), 403});
        assertEquals(List.of("", "\uFFFD Once", ""), pieces, "as in the full decode, the broken byte is U+FFFD");
    }

    @Test
    void specialTokensAreKept() {
        List<String> pieces = run(new int[]{1, 403}, new int[]{407, 2});
        assertEquals(List.of(" upon", "</s>", ""), pieces);
    }

    @Test
    void promptGivesTheFirstTokenItsLeadingSpace() {
        assertEquals(List.of(" upon", ""), run(new int[]{1, 403}, new int[]{407}));
        assertEquals(List.of("Once", ""), run(new int[0], new int[]{403}), "no context: SentencePiece strips it");
        assertEquals(List.of("Once", ""), run(new int[]{1}, new int[]{403}),
                "special tokens are no context: the stream matches generated_text (TGI would stream \" Once\")");
    }

    @Test
    void piecesConcatenateToTheInContextDecodeOfRandomSequences() {
        SplittableRandom random = new SplittableRandom(7);
        for (int trial = 0; trial < 400; trial++) {
            int[] prompt = randomPrompt(random);
            int[] generated = randomGeneration(random, trial % 50 == 0 ? 300 : random.nextInt(1, 40));
            check(prompt, generated, true);
        }
    }

    @Test
    void arbitraryIdsNeverStreamBrokenText() {
        SplittableRandom random = new SplittableRandom(11);
        for (int trial = 0; trial < 300; trial++) {
            int[] generated = new int[random.nextInt(1, 60)];
            for (int i = 0; i < generated.length; i++) {
                generated[i] = random.nextInt(tokenizer.vocabSize());
            }
            check(randomPrompt(random), generated, false);
        }
    }

    @Test
    void validBytesRewrittenByALaterStrayByteStayAsStreamed() {
        // HF's ByteFallback turns a whole run of byte tokens into U+FFFD once it is invalid, even the
        // "H" already streamed; TGI streams the same. Only invalid UTF-8 output shows this.
        int[] generated = ids("<0x48>", "<0xF0>", "▁a");
        assertEquals(List.of("H", "", "\uFFFD a", ""), run(new int[]{1}, generated), "streamed: H, then the rest");
        assertEquals("\uFFFD\uFFFD a", tokenizer.decode(generated, 0, generated.length, false));
    }

    @Test
    void goldenGreedyTextComesBackPieceByPiece() throws IOException {
        String golden = Files.readString(SharedAssets.golden("greedy256.txt"), StandardCharsets.UTF_8);
        int[] encoded = tokenizer.encode(golden);
        assertEquals(1, encoded[0]);
        int[] generated = Arrays.copyOfRange(encoded, 1, encoded.length);
        assertEquals(golden, tokenizer.decode(generated, 0, generated.length, false), "the text round-trips");
        assertEquals(golden, String.join("", run(new int[]{1}, generated)),
                "after BOS alone the pieces equal the text decoded on its own");
        assertEquals(golden, String.join("", run(new int[0], generated)));
        check(new int[]{1}, generated, true);
    }

    @Test
    void anAlternativeReadsAsIfItHadBeenChosen() {
        SplittableRandom random = new SplittableRandom(13);
        int[] specials = ids("<s>", "</s>");
        for (int trial = 0; trial < 150; trial++) {
            int[] prompt = randomPrompt(random);
            int[] generated = randomGeneration(random, random.nextInt(1, 20));
            IncrementalDetokenizer detok = new IncrementalDetokenizer(tokenizer, prompt);
            for (int i = 0; i < generated.length; i++) {
                String piece = detok.next(generated[i]);
                String where = "prompt " + Arrays.toString(prompt) + " generated " + Arrays.toString(Arrays.copyOf(generated, i + 1));
                assertEquals(piece, detok.alternative(generated[i], false), "the chosen token among its alternatives: " + where);
                int[] candidates = {random.nextInt(tokenizer.vocabSize()), generated[i], specials[random.nextInt(2)],
                        id("▁the"), id("<0xE4>")};
                for (int alt : candidates) {
                    // independent: a fresh detokenizer fed the same history, then the alternative
                    IncrementalDetokenizer replay = new IncrementalDetokenizer(tokenizer, prompt);
                    for (int j = 0; j < i; j++) {
                        replay.next(generated[j]);
                    }
                    String chosen = replay.next(alt);
                    assertEquals(chosen, detok.alternative(alt, false), "alternative " + alt + " after " + where);
                    assertEquals(chosen + replay.flush(), detok.alternative(alt, true), "flushed alternative " + alt + " after " + where);
                }
            }
        }
    }

    @Test
    void alternativesKeepTheLeadingSpace() {
        IncrementalDetokenizer detok = new IncrementalDetokenizer(tokenizer, tokenizer.encode("Once upon a time,"));
        assertEquals(" there", detok.next(id("▁there")));
        assertEquals(" there", detok.alternative(id("▁there"), false));
        assertEquals(" the", detok.alternative(id("▁the"), false), "as the chosen token would read, not the bare token text");
    }

    /** Feeds every id, then flush(); asserts the TGI properties; returns the pieces (flush last). */
    private static List<String> run(int[] prompt, int[] generated) {
        IncrementalDetokenizer detok = new IncrementalDetokenizer(tokenizer, prompt);
        List<String> pieces = new ArrayList<>();
        for (int id : generated) {
            pieces.add(detok.next(id));
        }
        pieces.add(detok.flush());
        return pieces;
    }

    /**
     * No piece but flush()'s ends in U+FFFD, no piece splits a surrogate pair; a special token's
     * piece is its literal text; and when exact, the ordinary tokens' pieces equal the decode of
     * context + generated ids after the decode of the context, special tokens skipped (the last 5
     * ordinary prompt ids are the context), and nothing streamed is ever taken back.
     */
    private static void check(int[] prompt, int[] generated, boolean exact) {
        int[] ordinary = Arrays.stream(prompt).filter(id -> !tokenizer.isSpecial(id)).toArray();
        int[] context = Arrays.copyOfRange(ordinary, Math.max(0, ordinary.length - 5), ordinary.length);
        int[] all = concat(context, generated);
        String before = tokenizer.decode(all, 0, context.length, true);
        String after = tokenizer.decode(all, 0, all.length, true);
        String where = "prompt " + Arrays.toString(prompt) + " generated " + Arrays.toString(generated);
        assertTrue(!exact || after.startsWith(before), where);
        String expected = exact ? after.substring(before.length()) : null;

        IncrementalDetokenizer detok = new IncrementalDetokenizer(tokenizer, prompt);
        StringBuilder streamed = new StringBuilder();
        for (int id : generated) {
            String piece = detok.next(id);
            if (tokenizer.isSpecial(id)) {
                assertEquals(tokenizer.tokenText(id), piece, where);
                continue;
            }
            assertFalse(piece.endsWith("\uFFFD"), where);
            assertWholeCodePoints(piece, where);
            streamed.append(piece);
            if (exact) {
                assertTrue(expected.startsWith(streamed.toString()), "streamed text must never be taken back: " + where);
            }
        }
        String last = detok.flush();
        assertWholeCodePoints(last, where);
        streamed.append(last);
        if (exact) {
            assertEquals(expected, streamed.toString(), where);
        }
        assertEquals("", detok.flush(), "a second flush has nothing left");
    }

    private static void assertWholeCodePoints(String piece, String where) {
        for (int i = 0; i < piece.length(); i++) {
            char c = piece.charAt(i);
            if (Character.isHighSurrogate(c)) {
                assertTrue(i + 1 < piece.length() && Character.isLowSurrogate(piece.charAt(i + 1)), where);
                i++;
            } else {
                assertFalse(Character.isLowSurrogate(c), where);
            }
        }
    }

    /** A tokenized random text, cut at a random start as `truncate` does (its end is always a whole character). */
    private static int[] randomPrompt(SplittableRandom random) {
        String[] alphabet = {"a", "b", " ", "Lily", " the", "中", "文", "😀", "é", "\n", ".", "<s>", "</s>"};
        StringBuilder text = new StringBuilder();
        for (int i = random.nextInt(0, 8); i > 0; i--) {
            text.append(alphabet[random.nextInt(alphabet.length)]);
        }
        int[] ids = tokenizer.encode(text.toString());
        return Arrays.copyOfRange(ids, random.nextInt(0, ids.length + 1), ids.length);
    }

    /**
     * Ordinary tokens, specials, and whole characters spelt as byte tokens (so every run of byte
     * tokens is valid UTF-8), sometimes ending in a character cut short, which only flush() reveals.
     */
    private static int[] randomGeneration(SplittableRandom random, int units) {
        String[][] chars = {{"<0x0A>"}, {"<0xC3>", "<0xA9>"}, {"<0xE4>", "<0xB8>", "<0xAD>"},
                {"<0xF0>", "<0x9F>", "<0x98>", "<0x80>"}, {"<0x21>"}};
        int[] specials = ids("<s>", "</s>", "<unk>", "▁");
        List<Integer> out = new ArrayList<>();
        for (int u = 0; u < units; u++) {
            switch (random.nextInt(4)) {
                case 0, 1 -> out.add(ordinaryToken(random));
                case 2 -> out.add(specials[random.nextInt(specials.length)]);
                default -> {
                    for (String b : chars[random.nextInt(chars.length)]) {
                        out.add(id(b));
                    }
                }
            }
        }
        if (random.nextInt(4) == 0) {
            out.add(ordinaryToken(random));
            out.add(id("<0xE4>"));
            if (random.nextBoolean()) {
                out.add(id("<0xB8>"));
            }
        }
        return out.stream().mapToInt(Integer::intValue).toArray();
    }

    /** A token that is neither special nor a byte-fallback token. */
    private static int ordinaryToken(SplittableRandom random) {
        while (true) {
            int id = random.nextInt(tokenizer.vocabSize());
            if (!tokenizer.isSpecial(id) && !tokenizer.idToToken(id).startsWith("<0x")) {
                return id;
            }
        }
    }

    private static int[] ids(String... tokens) {
        int[] out = new int[tokens.length];
        for (int i = 0; i < tokens.length; i++) {
            out[i] = id(tokens[i]);
        }
        return out;
    }

    private static int id(String token) {
        int id = tokenizer.tokenToId(token);
        assertTrue(id >= 0, "no token " + token);
        return id;
    }

    private static int[] concat(int[] a, int[] b) {
        int[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
