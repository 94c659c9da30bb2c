package dev.loraxj.model;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.loraxj.SharedAssets;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TokenizerTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String PROMPT_TEXT = "Once upon a time, there was a little girl";
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
    void encodesTheGoldenPromptWithBos() {
        assertArrayEquals(SharedAssets.PROMPT, tokenizer.encode(PROMPT_TEXT));
    }

    @Test
    void emptyTextEncodesToBosAlone() {
        assertArrayEquals(new int[]{1}, tokenizer.encode(""));
    }

    @Test
    void longPromptsAreNotTruncated() {
        String text = "word ".repeat(3000);
        assertTrue(tokenizer.encode(text).length > 3000, "DJL's default 512-token truncation must be off");
    }

    @Test
    void specialTokensComeFromTheConfigFiles() {
        assertEquals(1, tokenizer.bosId());
        assertArrayEquals(new int[]{2}, tokenizer.eosIds());
        assertEquals("<s>", tokenizer.bosToken());
        assertEquals("</s>", tokenizer.eosToken());
        assertEquals(512, tokenizer.vocabSize());
        assertTrue(tokenizer.isSpecial(0) && tokenizer.isSpecial(1) && tokenizer.isSpecial(2));
        assertFalse(tokenizer.isSpecial(3));
        assertFalse(tokenizer.isSpecial(403));
        assertFalse(tokenizer.isSpecial(-1));
        assertFalse(tokenizer.isSpecial(512));
        assertEquals("LlamaTokenizerFast", tokenizer.tokenizerConfig().get("tokenizer_class").asText());
    }

    @Test
    void decodesARangeWithOrWithoutSpecialTokens() {
        int[] ids = SharedAssets.PROMPT;
        assertEquals(PROMPT_TEXT, tokenizer.decode(ids, 0, ids.length, true));
        assertEquals("<s> " + PROMPT_TEXT, tokenizer.decode(ids, 0, ids.length, false));
        assertEquals("upon a", tokenizer.decode(ids, 2, 4, false));
        assertEquals("", tokenizer.decode(ids, 3, 3, false));
        assertThrows(IndexOutOfBoundsException.class, () -> tokenizer.decode(ids, 2, 99, false));
    }

    @Test
    void unknownIdsDecodeToNothing() {
        assertEquals("Once Once", tokenizer.decode(new int[]{403, 99_999, -5, 403}, 0, 4, false));
    }

    @Test
    void tokenTextIsTheIdDecodedAlone() {
        assertEquals("Once", tokenizer.tokenText(403));
        assertEquals("<s>", tokenizer.tokenText(1));
        assertEquals("\uFFFD", tokenizer.tokenText(tokenizer.tokenToId("<0xE4>")), "a lone lead byte is invalid UTF-8");
        assertEquals("Once", tokenizer.tokenText(403), "cached value is the same");
    }

    @Test
    void encodeWithOffsetsGivesVocabularyStringsAndCodePointOffsets() {
        String text = "hi 😀 you";
        TokenSpan[] spans = tokenizer.encodeWithOffsets(text, true);
        int[] ids = tokenizer.encode(text);
        assertEquals(ids.length, spans.length);
        assertEquals(new TokenSpan(1, "<s>", 0, 0), spans[0], "the post-processor's BOS has no span");
        for (int i = 0; i < spans.length; i++) {
            assertEquals(ids[i], spans[i].id());
            assertEquals(tokenizer.idToToken(ids[i]), spans[i].text());
        }
        // 😀 is one code point (two UTF-16 chars): "hi " covers 0..3, the emoji 3..4, " you" 4..8
        TokenSpan firstByte = spans[findToken(spans, "<0xF0>")];
        assertEquals(3, firstByte.start());
        assertEquals(4, firstByte.stop());
        TokenSpan last = spans[spans.length - 1];
        assertEquals(text.codePointCount(0, text.length()), last.stop());

        TokenSpan[] plain = tokenizer.encodeWithOffsets(text, false);
        assertEquals(spans.length - 1, plain.length, "without special tokens there is no BOS");
        assertEquals(spans[1], plain[0]);
    }

    @Test
    void addBosTokenFalseDropsThePostProcessorsBos(@TempDir Path dir) throws IOException {
        Path model = copyModel(dir, cfg -> cfg.put("add_bos_token", false));
        try (Tokenizer t = Tokenizer.load(model)) {
            int[] expected = java.util.Arrays.copyOfRange(SharedAssets.PROMPT, 1, SharedAssets.PROMPT.length);
            assertArrayEquals(expected, t.encode(PROMPT_TEXT));
            assertEquals(SharedAssets.PROMPT.length, t.encodeWithOffsets(PROMPT_TEXT, true).length,
                    "/tokenize follows tokenizer.json alone, as LoRAX's router");
        }
    }

    @Test
    void addBosTokenFalseKeepsABosWrittenInTheText(@TempDir Path dir) throws IOException {
        Path model = copyModel(dir, cfg -> cfg.put("add_bos_token", false));
        try (Tokenizer t = Tokenizer.load(model)) {
            int[] ids = t.encode("<s>Once");
            assertEquals(1, ids[0], "the literal <s> is text, not the post-processor's");
            assertEquals(1, java.util.Arrays.stream(ids).filter(id -> id == 1).count());
        }
    }

    @Test
    void addEosTokenTrueAppendsEos(@TempDir Path dir) throws IOException {
        Path model = copyModel(dir, cfg -> cfg.put("add_eos_token", true));
        try (Tokenizer t = Tokenizer.load(model)) {
            int[] ids = t.encode(PROMPT_TEXT);
            assertEquals(SharedAssets.PROMPT.length + 1, ids.length);
            assertEquals(2, ids[ids.length - 1]);
            assertEquals(1, ids[0]);
        }
    }

    @Test
    void addBosTokenTruePrependsBosWhenThePostProcessorDoesNot(@TempDir Path dir) throws IOException {
        Path model = copyModel(dir, cfg -> { });
        ObjectNode tok = (ObjectNode) JSON.readTree(model.resolve("tokenizer.json").toFile());
        tok.putNull("post_processor");
        JSON.writeValue(model.resolve("tokenizer.json").toFile(), tok);
        try (Tokenizer t = Tokenizer.load(model)) {
            assertArrayEquals(SharedAssets.PROMPT, t.encode(PROMPT_TEXT));
            assertEquals(SharedAssets.PROMPT.length - 1, t.encodeWithOffsets(PROMPT_TEXT, true).length);
        }
    }

    @Test
    void eosIdsPreferGenerationConfigThenConfigThenTokenizerConfig(@TempDir Path dir) throws IOException {
        Path model = copyModel(dir, cfg -> cfg.putObject("eos_token").put("content", "<0x0A>").put("__type", "AddedToken"));
        JSON.writeValue(model.resolve("generation_config.json").toFile(),
                JSON.createObjectNode().set("eos_token_id", JSON.createArrayNode().add(2).add(13)));
        try (Tokenizer t = Tokenizer.load(model)) {
            assertArrayEquals(new int[]{2, 13}, t.eosIds());
            assertEquals("<0x0A>", t.eosToken(), "the string comes from tokenizer_config, for chat templates");
        }
        Files.delete(model.resolve("generation_config.json"));
        ObjectNode config = (ObjectNode) JSON.readTree(model.resolve("config.json").toFile());
        JSON.writeValue(model.resolve("config.json").toFile(), config.put("eos_token_id", 7));
        try (Tokenizer t = Tokenizer.load(model)) {
            assertArrayEquals(new int[]{7}, t.eosIds());
        }
        config.remove("eos_token_id");
        JSON.writeValue(model.resolve("config.json").toFile(), config);
        try (Tokenizer t = Tokenizer.load(model)) {
            assertArrayEquals(new int[]{t.tokenToId("<0x0A>")}, t.eosIds());
        }
    }

    @Test
    void cleanUpTokenizationSpacesIsAppliedOnlyWhenTheConfigAsks(@TempDir Path dir) throws IOException {
        int[] ids = {403, tokenizer.tokenToId("▁"), tokenizer.tokenToId(",")};
        assertEquals("Once ,", tokenizer.decode(ids, 0, ids.length, false));
        Path model = copyModel(dir, cfg -> cfg.put("clean_up_tokenization_spaces", true));
        try (Tokenizer t = Tokenizer.load(model)) {
            assertEquals("Once,", t.decode(ids, 0, ids.length, false));
        }
        assertEquals("I don't, he's.", Tokenizer.cleanUp("I do n't , he 's ."));
    }

    @Test
    void missingConfigFilesLeaveDefaults(@TempDir Path dir) throws IOException {
        Files.copy(SharedAssets.stories260K().resolve("tokenizer.json"), dir.resolve("tokenizer.json"));
        try (Tokenizer t = Tokenizer.load(dir)) {
            assertEquals(-1, t.bosId());
            assertEquals("", t.bosToken());
            assertArrayEquals(new int[0], t.eosIds());
            assertEquals("", t.eosToken());
            assertTrue(t.tokenizerConfig().isObject() && t.tokenizerConfig().isEmpty());
            assertArrayEquals(SharedAssets.PROMPT, t.encode(PROMPT_TEXT), "the post-processor still adds <s>");
        }
    }

    @Test
    void missingTokenizerJsonIsAClearError(@TempDir Path dir) {
        ModelException e = assertThrows(ModelException.class, () -> Tokenizer.load(dir));
        assertTrue(e.getMessage().contains("tokenizer.json"), e.getMessage());
    }

    private static int findToken(TokenSpan[] spans, String token) {
        for (int i = 0; i < spans.length; i++) {
            if (spans[i].text().equals(token)) {
                return i;
            }
        }
        throw new AssertionError("no token " + token);
    }

    private static Path copyModel(Path dir, java.util.function.Consumer<ObjectNode> editTokenizerConfig) throws IOException {
        Path src = SharedAssets.stories260K();
        for (String f : new String[]{"tokenizer.json", "generation_config.json", "config.json"}) {
            Files.copy(src.resolve(f), dir.resolve(f));
        }
        ObjectNode cfg = (ObjectNode) JSON.readTree(src.resolve("tokenizer_config.json").toFile());
        editTokenizerConfig.accept(cfg);
        JSON.writeValue(dir.resolve("tokenizer_config.json").toFile(), cfg);
        return dir;
    }
}
