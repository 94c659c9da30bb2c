package dev.loraxj.model;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.ArrayList;
import java.util.List;

/**
 * BOS and EOS as the model's config files define them, and whether the prompt gets them.
 *
 * @param bosId     -1 if none
 * @param bosToken  "" if none
 * @param eosIds    generation_config.json's eos_token_id, else config.json's, else tokenizer_config's eos_token
 * @param eosToken  "" if none
 * @param addBos    tokenizer_config's add_bos_token, or null when it does not say
 * @param addEos    tokenizer_config's add_eos_token, or null when it does not say
 */
public record SpecialTokens(int bosId, String bosToken, int[] eosIds, String eosToken, Boolean addBos, Boolean addEos) {

    public SpecialTokens {
        eosIds = eosIds.clone();
    }

    @Override
    public int[] eosIds() {
        return eosIds.clone();
    }

    /** Resolves from the three files; any of them may be an empty object when the file is absent. */
    public static SpecialTokens resolve(Vocabulary vocab, JsonNode tokenizerConfig, JsonNode generationConfig, JsonNode modelConfig) {
        String bosText = tokenString(tokenizerConfig.get("bos_token"));
        int bosId = bosText == null ? -1 : vocab.id(bosText);
        if (bosId < 0) {
            bosId = firstId(generationConfig.get("bos_token_id"));
        }
        if (bosId < 0) {
            bosId = firstId(modelConfig.get("bos_token_id"));
        }
        if (bosText == null && bosId >= 0) {
            bosText = vocab.token(bosId);
        }

        String eosText = tokenString(tokenizerConfig.get("eos_token"));
        int[] eos = ids(generationConfig.get("eos_token_id"));
        if (eos.length == 0) {
            eos = ids(modelConfig.get("eos_token_id"));
        }
        if (eos.length == 0 && eosText != null && vocab.id(eosText) >= 0) {
            eos = new int[]{vocab.id(eosText)};
        }
        if (eosText == null && eos.length > 0) {
            eosText = vocab.token(eos[0]);
        }
        return new SpecialTokens(bosId, bosText == null ? "" : bosText, eos, eosText == null ? "" : eosText,
                flag(tokenizerConfig.get("add_bos_token")), flag(tokenizerConfig.get("add_eos_token")));
    }

    /** tokenizer_config writes a token as a string or as an AddedToken object with "content". */
    private static String tokenString(JsonNode node) {
        if (node == null || node.isNull()) {
            return null;
        }
        if (node.isTextual()) {
            return node.asText();
        }
        JsonNode content = node.get("content");
        return content != null && content.isTextual() ? content.asText() : null;
    }

    private static int[] ids(JsonNode node) {
        if (node == null || node.isNull()) {
            return new int[0];
        }
        List<Integer> out = new ArrayList<>();
        if (node.isArray()) {
            node.forEach(n -> {
                if (n.canConvertToInt()) {
                    out.add(n.asInt());
                }
            });
        } else if (node.canConvertToInt()) {
            out.add(node.asInt());
        }
        return out.stream().mapToInt(Integer::intValue).distinct().toArray();
    }

    private static int firstId(JsonNode node) {
        int[] ids = ids(node);
        return ids.length == 0 ? -1 : ids[0];
    }

    private static Boolean flag(JsonNode node) {
        return node != null && node.isBoolean() ? node.asBoolean() : null;
    }
}
