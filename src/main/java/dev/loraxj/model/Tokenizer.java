package dev.loraxj.model;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import ai.djl.huggingface.tokenizers.jni.CharSpan;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;

/**
 * A Hugging Face fast tokenizer (tokenizer.json, run by the Rust library through DJL) with the
 * special tokens of tokenizer_config.json, generation_config.json and config.json.
 * Encoding and decoding are safe from any thread.
 */
public final class Tokenizer implements AutoCloseable {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String OPT_OUT = "OPT_OUT_TRACKING";

    private final HuggingFaceTokenizer hf;
    private final Vocabulary vocab;
    private final SpecialTokens specials;
    private final JsonNode tokenizerConfig;
    private final boolean cleanUpSpaces;
    private final String[] tokenTexts;
    private final JsonNode tokenizerJson;
    private volatile byte[][] tokenBytes;

    private Tokenizer(HuggingFaceTokenizer hf, Vocabulary vocab, SpecialTokens specials, JsonNode tokenizerConfig, JsonNode tokenizerJson) {
        this.hf = hf;
        this.tokenizerJson = tokenizerJson;
        this.vocab = vocab;
        this.specials = specials;
        this.tokenizerConfig = tokenizerConfig;
        // transformers' decode applies this Python-side clean-up when the config asks (its default is off)
        this.cleanUpSpaces = tokenizerConfig.path("clean_up_tokenization_spaces").asBoolean(false);
        this.tokenTexts = new String[vocab.size()];
        int longest = 1;
        for (int i = 0; i < vocab.size(); i++) {
            String t = vocab.token(i);
            if (t != null) {
                longest = Math.max(longest, t.length());
            }
        }
        // +1: a SentencePiece normalizer prepends the "▁" of the first word
        this.maxCharsPerToken = longest + 1;
    }

    private final int maxCharsPerToken;

    /**
     * An upper bound on the UTF-16 chars of input one token covers: the longest vocabulary string
     * (byte-level pieces hold one char per byte; byte-fallback pieces cover one char). So a text of
     * {@code n} chars has at least {@code n / maxCharsPerToken()} tokens, known without tokenizing it.
     */
    public int maxCharsPerToken() {
        return maxCharsPerToken;
    }

    /** Whether {@code text} has more than {@code tokens} tokens for sure, judged from its length alone. */
    public boolean surelyLongerThan(String text, long tokens) {
        return text.length() > tokens * maxCharsPerToken;
    }

    public static Tokenizer load(Path modelDir) {
        Path file = modelDir.resolve("tokenizer.json");
        if (!Files.isRegularFile(file)) {
            throw new ModelException("model directory " + modelDir + " has no tokenizer.json (only fast tokenizers are supported)");
        }
        JsonNode tokenizerJson = read(file);
        JsonNode tokenizerConfig = readOptional(modelDir.resolve("tokenizer_config.json"));
        Vocabulary vocab = Vocabulary.parse(tokenizerJson);
        SpecialTokens specials = SpecialTokens.resolve(vocab, tokenizerConfig,
                readOptional(modelDir.resolve("generation_config.json")), readOptional(modelDir.resolve("config.json")));
        // DJL otherwise probes the EC2 metadata endpoint to send telemetry when a tokenizer is created
        if (System.getenv(OPT_OUT) == null && System.getProperty(OPT_OUT) == null) {
            System.setProperty(OPT_OUT, "true");
        }
        try {
            // DJL truncates to 512 tokens and pads by default; the server needs neither
            HuggingFaceTokenizer hf = HuggingFaceTokenizer.newInstance(file,
                    Map.of("addSpecialTokens", "true", "truncation", "false", "padding", "false"));
            return new Tokenizer(hf, vocab, specials, tokenizerConfig, tokenizerJson);
        } catch (IOException | RuntimeException e) {
            throw new ModelException("cannot load tokenizer " + file + ": " + e.getMessage(), e);
        }
    }

    /**
     * Tokenizes a prompt as the LoRAX shard does: tokenizer.json's post-processor adds its special
     * tokens, then tokenizer_config's add_bos_token / add_eos_token, where given, add or remove them.
     */
    public int[] encode(String text) {
        Encoding enc = hf.encode(text, true, false);
        long[] ids = enc.getIds();
        long[] added = enc.getSpecialTokenMask();
        int from = 0;
        int to = ids.length;
        int bos = specials.bosId();
        int eos = vocab.id(specials.eosToken());
        boolean bosAdded = to > 0 && added[0] == 1 && ids[0] == bos;
        if (Boolean.FALSE.equals(specials.addBos()) && bosAdded) {
            from++;
        }
        boolean eosAdded = to > from && added[to - 1] == 1 && ids[to - 1] == eos;
        if (Boolean.FALSE.equals(specials.addEos()) && eosAdded) {
            to--;
        }
        boolean prependBos = Boolean.TRUE.equals(specials.addBos()) && !bosAdded && bos >= 0;
        boolean appendEos = Boolean.TRUE.equals(specials.addEos()) && !eosAdded && eos >= 0;
        int[] out = new int[(to - from) + (prependBos ? 1 : 0) + (appendEos ? 1 : 0)];
        int n = 0;
        if (prependBos) {
            out[n++] = bos;
        }
        for (int i = from; i < to; i++) {
            out[n++] = (int) ids[i];
        }
        if (appendEos) {
            out[n] = eos;
        }
        return out;
    }

    /** For POST /tokenize: tokenizer.json alone decides the special tokens, as LoRAX's router does. */
    public TokenSpan[] encodeWithOffsets(String text, boolean addSpecialTokens) {
        Encoding enc = hf.encode(text, addSpecialTokens, false);
        long[] ids = enc.getIds();
        String[] tokens = enc.getTokens();
        CharSpan[] spans = enc.getCharTokenSpans();
        TokenSpan[] out = new TokenSpan[ids.length];
        for (int i = 0; i < ids.length; i++) {
            int id = (int) ids[i];
            String token = vocab.token(id);
            CharSpan span = spans[i];
            out[i] = new TokenSpan(id, token != null ? token : tokens[i],
                    span == null ? 0 : span.getStart(), span == null ? 0 : span.getEnd());
        }
        return out;
    }

    /**
     * Decodes ids[from, to) as transformers does: tokenizer.json's decoder, then the
     * clean_up_tokenization_spaces rules if tokenizer_config sets it. Unknown ids decode to nothing.
     */
    public String decode(int[] ids, int from, int to, boolean skipSpecialTokens) {
        String text = decodeRaw(ids, from, to, skipSpecialTokens);
        return cleanUpSpaces ? cleanUp(text) : text;
    }

    private String decodeRaw(int[] ids, int from, int to, boolean skipSpecialTokens) {
        if (from < 0 || to > ids.length || from > to) {
            throw new IndexOutOfBoundsException("decode range [" + from + ", " + to + ") of " + ids.length + " ids");
        }
        long[] longs = new long[to - from];
        for (int i = from; i < to; i++) {
            // negative ids would wrap to huge u32 ids on the native side; drop them instead
            longs[i - from] = ids[i] < 0 ? Integer.MAX_VALUE : ids[i];
        }
        return hf.decode(longs, skipSpecialTokens);
    }

    /** transformers' clean_up_tokenization: drops the space before punctuation and English contractions. */
    static String cleanUp(String text) {
        return text.replace(" .", ".").replace(" ?", "?").replace(" !", "!").replace(" ,", ",")
                .replace(" ' ", "'").replace(" n't", "n't").replace(" 'm", "'m").replace(" 's", "'s")
                .replace(" 've", "'ve").replace(" 're", "'re");
    }

    /**
     * The bytes each id adds to decoded text (null for special and unknown ids), for grammars;
     * computed once. Throws ModelException for tokenizers that are neither byte-level nor SentencePiece.
     */
    public byte[][] tokenBytes() {
        byte[][] b = tokenBytes;
        if (b == null) {
            b = TokenBytes.of(vocab, tokenizerJson);
            tokenBytes = b;
        }
        return b;
    }

    /** As {@link #decode}, without the clean-up of spaces (constrained output must stay as the grammar made it). */
    public String decodeExact(int[] ids, int from, int to, boolean skipSpecialTokens) {
        return decodeRaw(ids, from, to, skipSpecialTokens);
    }

    /** The text of one id decoded alone, special tokens kept, no space clean-up (LoRAX's prefill token text). */
    public String tokenText(int id) {
        if (id < 0 || id >= tokenTexts.length) {
            return decodeRaw(new int[]{id}, 0, 1, false);
        }
        String text = tokenTexts[id];
        if (text == null) {
            // a racing fill stores an equal immutable String, so no lock is needed
            text = decodeRaw(new int[]{id}, 0, 1, false);
            tokenTexts[id] = text;
        }
        return text;
    }

    /** The vocabulary string of an id (e.g. {@code ▁Once}), or null if unknown. */
    public String idToToken(int id) {
        return vocab.token(id);
    }

    /** The id of a vocabulary string, or -1. */
    public int tokenToId(String token) {
        return vocab.id(token);
    }

    public boolean isSpecial(int id) {
        return vocab.isSpecial(id);
    }

    public int bosId() {
        return specials.bosId();
    }

    public int[] eosIds() {
        return specials.eosIds();
    }

    public String bosToken() {
        return specials.bosToken();
    }

    public String eosToken() {
        return specials.eosToken();
    }

    /** One past the highest token id of tokenizer.json (the model's vocab_size may be larger). */
    public int vocabSize() {
        return vocab.size();
    }

    /** The raw tokenizer_config.json, an empty object if the file is absent. */
    public JsonNode tokenizerConfig() {
        return tokenizerConfig.deepCopy();
    }

    @Override
    public void close() {
        hf.close();
    }

    private static JsonNode read(Path file) {
        try {
            return JSON.readTree(file.toFile());
        } catch (IOException e) {
            throw new ModelException("cannot parse " + file + ": " + e.getMessage(), e);
        }
    }

    private static JsonNode readOptional(Path file) {
        return Files.isRegularFile(file) ? read(file) : JSON.createObjectNode();
    }

    @Override
    public String toString() {
        return "Tokenizer[vocab=" + vocab.size() + ", bos=" + specials.bosId() + ", eos=" + Arrays.toString(specials.eosIds()) + "]";
    }
}
