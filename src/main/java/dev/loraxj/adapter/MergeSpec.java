package dev.loraxj.adapter;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * A per-request merge of adapters (LoRAX's {@code merged_adapters}), applied to every lora_A and
 * lora_B tensor separately. The whole spec, seed included, keys the merged adapter in the store.
 *
 * @param weights one per adapter (omitted: 1.0 each, as LoRAX computes)
 * @param density kept fraction for TIES and DARE, in (0, 1]
 * @param seed    seeds DARE's random drop, so the same request gives the same merge
 */
public record MergeSpec(List<AdapterRef> adapters, List<Float> weights, Strategy strategy, float density,
                        SignMethod signMethod, long seed) {

    /** The source name merged adapters are stored under. */
    public static final String SOURCE = "merge";

    /** DARE's seed when a request gives none. */
    public static final long DEFAULT_SEED = 0;

    public enum Strategy {
        LINEAR, TIES, DARE_LINEAR, DARE_TIES;

        public static Strategy parse(String s) {
            try {
                return valueOf(s.toUpperCase(Locale.ROOT));
            } catch (IllegalArgumentException e) {
                return null;
            }
        }

        boolean dare() {
            return this == DARE_LINEAR || this == DARE_TIES;
        }

        boolean ties() {
            return this == TIES || this == DARE_TIES;
        }
    }

    public enum SignMethod {
        TOTAL, FREQUENCY;

        public static SignMethod parse(String s) {
            try {
                return valueOf(s.toUpperCase(Locale.ROOT));
            } catch (IllegalArgumentException e) {
                return null;
            }
        }
    }

    public MergeSpec {
        adapters = List.copyOf(adapters);
        if (weights == null || weights.isEmpty()) {
            List<Float> ones = new ArrayList<>();
            adapters.forEach(a -> ones.add(1f));
            weights = ones;
        }
        weights = List.copyOf(weights);
    }

    /** The store's key: a synthetic reference whose id is the canonical spec. */
    public AdapterRef ref() {
        ObjectMapper json = new ObjectMapper();
        ObjectNode n = json.createObjectNode();
        ArrayNode ids = n.putArray("adapters");
        for (AdapterRef a : adapters) {
            ids.addObject().put("id", a.id()).put("source", a.source()).put("revision", a.revision());
        }
        ArrayNode w = n.putArray("weights");
        weights.forEach(w::add);
        n.put("strategy", strategy.name().toLowerCase(Locale.ROOT));
        if (strategy != Strategy.LINEAR) {
            n.put("density", density);
        }
        if (strategy.ties()) {
            n.put("majority_sign_method", signMethod.name().toLowerCase(Locale.ROOT));
        }
        if (strategy.dare()) {
            n.put("seed", seed);
        }
        return AdapterRef.of(n.toString(), SOURCE);
    }

    /** The spec back from {@link #ref()}'s id. */
    public static MergeSpec parse(AdapterRef ref) {
        try {
            var n = new ObjectMapper().readTree(ref.id());
            List<AdapterRef> adapters = new ArrayList<>();
            n.path("adapters").forEach(a -> adapters.add(new AdapterRef(a.path("id").asText(), a.path("source").asText(),
                    a.path("revision").isNull() ? null : a.path("revision").asText(null))));
            List<Float> weights = new ArrayList<>();
            n.path("weights").forEach(w -> weights.add((float) w.asDouble()));
            Strategy s = Strategy.parse(n.path("strategy").asText());
            return new MergeSpec(adapters, weights, s, (float) n.path("density").asDouble(1.0),
                    SignMethod.parse(n.path("majority_sign_method").asText("total")), n.path("seed").asLong(DEFAULT_SEED));
        } catch (Exception e) {
            throw new AdapterException("not a merge specification: " + e.getMessage(), e);
        }
    }
}
