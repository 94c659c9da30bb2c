package dev.loraxj.model;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;

/**
 * The id-to-token table of a tokenizer.json: the model's vocabulary plus its added tokens, and
 * which ids are special. DJL does not expose id_to_token, so we read it ourselves.
 */
public final class Vocabulary {

    private final String[] tokens;
    private final boolean[] special;
    private final Map<String, Integer> ids;

    private Vocabulary(String[] tokens, boolean[] special, Map<String, Integer> ids) {
        this.tokens = tokens;
        this.special = special;
        this.ids = ids;
    }

    /** Reads {@code model.vocab} (a token-to-id object, or Unigram's [piece, score] list) and {@code added_tokens}. */
    public static Vocabulary parse(JsonNode tokenizerJson) {
        Map<String, Integer> ids = new HashMap<>();
        JsonNode vocab = tokenizerJson.path("model").path("vocab");
        if (vocab.isObject()) {
            for (Iterator<Map.Entry<String, JsonNode>> it = vocab.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                ids.put(e.getKey(), e.getValue().asInt());
            }
        } else if (vocab.isArray()) {
            for (int i = 0; i < vocab.size(); i++) {
                ids.put(vocab.get(i).get(0).asText(), i);
            }
        } else {
            throw new ModelException("tokenizer.json has no model.vocab (model type "
                    + tokenizerJson.path("model").path("type").asText("?") + ")");
        }
        Map<Integer, Boolean> specials = new HashMap<>();
        for (JsonNode added : tokenizerJson.path("added_tokens")) {
            int id = added.path("id").asInt(-1);
            String content = added.path("content").asText(null);
            if (id < 0 || content == null) {
                throw new ModelException("tokenizer.json has an added token without id or content: " + added);
            }
            ids.put(content, id);
            specials.put(id, added.path("special").asBoolean(false));
        }
        int size = 0;
        for (int id : ids.values()) {
            if (id < 0) {
                throw new ModelException("tokenizer.json has a negative token id " + id);
            }
            size = Math.max(size, id + 1);
        }
        String[] tokens = new String[size];
        // added tokens win over a model entry with the same id, as in HF's id_to_token
        for (Map.Entry<String, Integer> e : ids.entrySet()) {
            int id = e.getValue();
            if (tokens[id] == null || specials.containsKey(id)) {
                tokens[id] = e.getKey();
            }
        }
        for (JsonNode added : tokenizerJson.path("added_tokens")) {
            tokens[added.get("id").asInt()] = added.get("content").asText();
        }
        boolean[] special = new boolean[size];
        specials.forEach((id, s) -> special[id] = s);
        return new Vocabulary(tokens, special, Map.copyOf(ids));
    }

    /** One past the highest id (holes, if any, decode to nothing). */
    public int size() {
        return tokens.length;
    }

    /** The vocabulary string of an id, or null if the id is unknown. */
    public String token(int id) {
        return id >= 0 && id < tokens.length ? tokens[id] : null;
    }

    /** The id of a vocabulary string, or -1. */
    public int id(String token) {
        Integer id = ids.get(token);
        return id == null ? -1 : id;
    }

    public boolean isSpecial(int id) {
        return id >= 0 && id < special.length && special[id];
    }
}
