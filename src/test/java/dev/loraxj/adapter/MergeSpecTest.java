package dev.loraxj.adapter;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

/** A merge is a value: the fields its strategy uses make its key (one stored adapter per merge), and its name reads. */
class MergeSpecTest {

    static final List<AdapterRef> AB = List.of(AdapterRef.of("a", "local"), AdapterRef.of("b", "local"));

    static MergeSpec spec(List<Float> weights, MergeSpec.Strategy strategy, float density, MergeSpec.SignMethod sign, long seed) {
        return new MergeSpec(AB, weights, strategy, density, sign, seed);
    }

    @Test
    void theSameMergeIsOneKeyAndTheSeedIsPartOfADareKey() {
        MergeSpec s = new MergeSpec(List.of(AdapterRef.of("a", "local"), AdapterRef.of("b", "hub")), List.of(0.7f, 0.3f),
                MergeSpec.Strategy.DARE_TIES, 0.5f, MergeSpec.SignMethod.FREQUENCY, 42);
        MergeSpec same = new MergeSpec(List.of(AdapterRef.of("a", "local"), AdapterRef.of("b", "hub")), List.of(0.7f, 0.3f),
                MergeSpec.Strategy.DARE_TIES, 0.5f, MergeSpec.SignMethod.FREQUENCY, 42);
        assertEquals(s, same);
        assertEquals(s.hashCode(), same.hashCode());
        MergeSpec other = new MergeSpec(s.adapters(), s.weights(), s.strategy(), s.density(), s.signMethod(), 43);
        assertNotEquals(s, other, "the seed is part of the key");
    }

    @Test
    void fieldsTheStrategyDoesNotUseDoNotTellMergesApart() {
        var total = MergeSpec.SignMethod.TOTAL;
        var frequency = MergeSpec.SignMethod.FREQUENCY;
        assertEquals(spec(null, MergeSpec.Strategy.LINEAR, 1f, total, 0), spec(List.of(1f, 1f), MergeSpec.Strategy.LINEAR, 0.3f, frequency, 9),
                "linear: weights omitted are ones; density, sign and seed do not count");
        assertEquals(spec(null, MergeSpec.Strategy.TIES, 0.5f, total, 1), spec(null, MergeSpec.Strategy.TIES, 0.5f, total, 2), "ties: no seed");
        assertNotEquals(spec(null, MergeSpec.Strategy.TIES, 0.5f, total, 1), spec(null, MergeSpec.Strategy.TIES, 0.5f, frequency, 1));
        assertNotEquals(spec(null, MergeSpec.Strategy.TIES, 0.5f, total, 1), spec(null, MergeSpec.Strategy.TIES, 0.6f, total, 1));
        assertEquals(spec(null, MergeSpec.Strategy.DARE_LINEAR, 0.5f, total, 1), spec(null, MergeSpec.Strategy.DARE_LINEAR, 0.5f, frequency, 1),
                "dare_linear: no sign election");
        assertNotEquals(spec(null, MergeSpec.Strategy.DARE_LINEAR, 0.5f, total, 1), spec(null, MergeSpec.Strategy.DARE_LINEAR, 0.5f, total, 2));
        assertNotEquals(spec(List.of(0.7f, 0.3f), MergeSpec.Strategy.LINEAR, 1f, total, 0), spec(List.of(0.3f, 0.7f), MergeSpec.Strategy.LINEAR, 1f, total, 0));
    }

    @Test
    void aMergeIsNamedByItsPartsAndWhatCountsOfItsStrategy() {
        assertEquals("merge(a*0.7, b*0.3; linear)", spec(List.of(0.7f, 0.3f), MergeSpec.Strategy.LINEAR, 1f, MergeSpec.SignMethod.TOTAL, 5).name());
        assertEquals("merge(a, b; ties d=0.5 sign=frequency)", spec(null, MergeSpec.Strategy.TIES, 0.5f, MergeSpec.SignMethod.FREQUENCY, 5).name());
        assertEquals("merge(a, b; dare_linear d=0.7 seed=5)", spec(null, MergeSpec.Strategy.DARE_LINEAR, 0.7f, MergeSpec.SignMethod.FREQUENCY, 5).name());
        assertEquals("merge(a*2, b*0.5; dare_ties d=1 sign=total seed=0)",
                spec(List.of(2f, 0.5f), MergeSpec.Strategy.DARE_TIES, 1f, MergeSpec.SignMethod.TOTAL, 0).name());
        assertEquals("lora-name-max@v2", new AdapterRef("lora-name-max", "hub", "v2").name());
        assertEquals(AB, spec(null, MergeSpec.Strategy.LINEAR, 1f, MergeSpec.SignMethod.TOTAL, 0).refs());
    }
}
