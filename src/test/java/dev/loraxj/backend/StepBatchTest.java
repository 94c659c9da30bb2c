package dev.loraxj.backend;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Every array of a reused StepBatch grows past its first capacity and keeps what was added. */
class StepBatchTest {

    @Test
    void growsEveryArrayPastItsFirstCapacityAndKeepsEverySequence() {
        StepBatch b = new StepBatch(7);
        AdapterSlot[] adapters = {null, new AdapterSlot(AdapterFootprint.NONE) { }, new AdapterSlot(AdapterFootprint.NONE) { }};
        for (int round = 0; round < 3; round++) { // reused across steps, as the engine does
            b.clear();
            int n = 300 + 50 * round;
            List<int[]> tables = new ArrayList<>();
            int tokens = 0;
            int logitRows = 0;
            for (int s = 0; s < n; s++) {
                int count = 1 + s % 9; // decodes and prefill chunks
                int[] run = new int[count + 2];
                for (int i = 0; i < run.length; i++) {
                    run[i] = s * 100 + i;
                }
                int[] table = {s, s + 1};
                tables.add(table);
                int logitsFrom = s % 4 == 0 ? 0 : count - 1; // prefill details want every row
                assertEquals(s, b.addSequence(run, 1, count, 10 * s, table, logitsFrom, adapters[s % 3]));
                tokens += count;
                logitRows += count - logitsFrom;
            }
            assertEquals(n, b.numSeqs());
            assertEquals(tokens, b.numTokens());
            assertEquals(logitRows, b.numLogitRows());
            int row = 0;
            for (int s = 0; s < n; s++) {
                int count = 1 + s % 9;
                assertEquals(count, b.seqEnd(s) - b.seqStart(s), "run length of sequence " + s);
                assertSame(tables.get(s), b.blockTable(s));
                assertSame(adapters[s % 3], b.adapter(s));
                for (int i = 0; i < count; i++) {
                    int t = b.seqStart(s) + i;
                    assertEquals(s * 100 + 1 + i, b.token(t));
                    assertEquals(10 * s + i, b.position(t));
                }
                int logitsFrom = s % 4 == 0 ? 0 : count - 1;
                for (int i = logitsFrom; i < count; i++) {
                    assertEquals(b.seqStart(s) + i, b.logitRow(row++));
                }
            }
            assertTrue(b.logitsBuffer().length >= logitRows * 7, "room for every logits row");
        }
    }
}
