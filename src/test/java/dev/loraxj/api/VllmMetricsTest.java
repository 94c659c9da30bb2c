package dev.loraxj.api;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** max_lora: max-active-adapters, capped by how many adapters of the mean size held now fit the budget. */
class VllmMetricsTest {

    @Test
    void maxLoraIsTheActiveCapOrWhatTheBudgetHoldsAtTheMeanSize() {
        assertEquals(1024, VllmMetrics.maxLora(1024, 0, 0, 1 << 30), "nothing held: nothing to size by");
        assertEquals(8, VllmMetrics.maxLora(1024, 2, 2 * 100, 800 + 99), "two of 100 bytes held, 899 bytes: 8 fit");
        assertEquals(4, VllmMetrics.maxLora(4, 2, 2 * 100, 800), "the active cap binds first");
        assertEquals(1, VllmMetrics.maxLora(4, 1, 5000, 800), "an adapter over the budget still counts as one place");
        assertEquals(0, VllmMetrics.maxLora(0, 1, 100, 800));
    }
}
