package dev.loraxj.adapter;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;

/**
 * A per-request merge of adapters (LoRAX's {@code merged_adapters}), applied to every lora_A and
 * lora_B tensor separately. A value: two requests asking for the same merge share one stored
 * adapter. Fields a strategy does not use are set to their defaults, so they never tell equal merges
 * apart: density counts for all but linear, the sign method for TIES, the seed for DARE.
 *
 * @param weights one per adapter (omitted: 1.0 each, as LoRAX computes)
 * @param density kept fraction for TIES and DARE, in (0, 1]
 * @param seed    seeds DARE's random drop, so the same request gives the same merge
 */
public record MergeSpec(List<AdapterRef> adapters, List<Float> weights, Strategy strategy, float density,
                        SignMethod signMethod, long seed) implements AdapterKey {

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
        Objects.requireNonNull(strategy, "strategy");
        adapters = List.copyOf(adapters);
        if (weights == null || weights.isEmpty()) {
            List<Float> ones = new ArrayList<>();
            adapters.forEach(a -> ones.add(1f));
            weights = ones;
        }
        weights = List.copyOf(weights);
        if (strategy == Strategy.LINEAR) {
            density = 1f;
        }
        if (!strategy.ties()) {
            signMethod = SignMethod.TOTAL;
        }
        Objects.requireNonNull(signMethod, "signMethod");
        if (!strategy.dare()) {
            seed = DEFAULT_SEED;
        }
    }

    @Override
    public List<AdapterRef> refs() {
        return adapters;
    }

    /**
     * The parts (with their weights unless all are 1) and whatever of the strategy counts, e.g.
     * {@code merge(a*0.7, b*0.3; linear)} or {@code merge(a, b; dare_ties d=0.7 sign=total seed=5)}.
     */
    @Override
    public String name() {
        boolean weighted = weights.stream().anyMatch(w -> w != 1f);
        StringBuilder sb = new StringBuilder("merge(");
        for (int i = 0; i < adapters.size(); i++) {
            sb.append(i == 0 ? "" : ", ").append(adapters.get(i).name());
            if (weighted) {
                sb.append('*').append(number(weights.get(i)));
            }
        }
        sb.append("; ").append(strategy.name().toLowerCase(Locale.ROOT));
        if (strategy != Strategy.LINEAR) {
            sb.append(" d=").append(number(density));
        }
        if (strategy.ties()) {
            sb.append(" sign=").append(signMethod.name().toLowerCase(Locale.ROOT));
        }
        if (strategy.dare()) {
            sb.append(" seed=").append(seed);
        }
        return sb.append(')').toString();
    }

    @Override
    public String toString() {
        return name();
    }

    private static String number(float f) {
        String s = Float.toString(f);
        return s.endsWith(".0") ? s.substring(0, s.length() - 2) : s;
    }
}
