package dev.loraxj.backend.cuda;

import dev.loraxj.backend.AdapterFootprint;
import dev.loraxj.backend.AdapterSlot;
import dev.loraxj.backend.LinearModule;
import dev.loraxj.backend.LoraShape;
import dev.loraxj.backend.LoraUpdate;
import dev.loraxj.backend.StepBatch;
import dev.loraxj.model.DType;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The CUDA backend's host-side arithmetic, checked without a device against computations written out
 * here independently: SGMV segments and their per-linear tables, the flattened block tables, slot
 * packing and footprints, and launch grids that cover every row and column the kernels must touch.
 */
class CudaHostLogicTest {

    /** A slot with made-up device addresses: rank {@code rank} on the modules given, none elsewhere. */
    private static final class FakeSlot extends AdapterSlot implements SgmvPlan.Adapter {
        final int rank;
        final List<LinearModule> modules;
        final long base;

        FakeSlot(int rank, long base, LinearModule... modules) {
            super(AdapterFootprint.NONE);
            this.rank = rank;
            this.base = base;
            this.modules = List.of(modules);
        }

        @Override
        public int rank(int layer, LinearModule m) {
            return modules.contains(m) ? rank : 0;
        }

        @Override
        public float scale(int layer, LinearModule m) {
            return rank * 0.5f + layer;
        }

        @Override
        public long a(int layer, LinearModule m) {
            return base + 1000L * layer + 10L * m.ordinal();
        }

        @Override
        public long bt(int layer, LinearModule m) {
            return a(layer, m) + 5;
        }
    }

    @Test
    void sgmvPlanGroupsConsecutiveSequencesOfOneAdapterAndListsOnlyTheLinearsEachUpdates() {
        FakeSlot x = new FakeSlot(4, 1 << 20, LinearModule.Q, LinearModule.DOWN);
        FakeSlot y = new FakeSlot(16, 2 << 20, LinearModule.Q);
        StepBatch b = new StepBatch(10);
        int[] run = new int[8];
        int[] table = {0, 1, 2};
        b.addSequence(run, 0, 3, 0, table, 3, x);   // rows 0..2
        b.addSequence(run, 0, 1, 5, table, 0, x);   // row 3: joins x's segment
        b.addSequence(run, 0, 2, 0, table, 2, null); // rows 4..5: base
        b.addSequence(run, 0, 5, 0, table, 4, y);   // rows 6..10
        b.addSequence(run, 0, 1, 0, table, 0, x);   // row 11: x again, a new segment after y
        SgmvPlan plan = new SgmvPlan();
        plan.build(b, 2);
        assertEquals(3, plan.segments());
        for (int layer = 0; layer < 2; layer++) {
            assertEquals(3, plan.count(layer, LinearModule.Q));
            assertEquals(2, plan.count(layer, LinearModule.DOWN));
            assertEquals(0, plan.count(layer, LinearModule.K));
            assertEquals(16, plan.stride(layer, LinearModule.Q));
            assertEquals(4, plan.stride(layer, LinearModule.DOWN));
            assertEquals(5, plan.maxRows(layer, LinearModule.Q));
            assertEquals(80, plan.maxPairs(layer, LinearModule.Q));
            int[][] want = {{0, 4, 4}, {6, 11, 16}, {11, 12, 4}}; // start, end, rank of Q's segments in batch order
            FakeSlot[] owner = {x, y, x};
            for (int i = 0; i < 3; i++) {
                assertEquals(want[i][0], plan.ints()[plan.intIndex(layer, LinearModule.Q, SgmvPlan.STARTS) + i]);
                assertEquals(want[i][1], plan.ints()[plan.intIndex(layer, LinearModule.Q, SgmvPlan.ENDS) + i]);
                assertEquals(want[i][2], plan.ints()[plan.intIndex(layer, LinearModule.Q, SgmvPlan.RANKS) + i]);
                assertEquals(owner[i].scale(layer, LinearModule.Q),
                        Float.intBitsToFloat(plan.ints()[plan.intIndex(layer, LinearModule.Q, SgmvPlan.SCALES) + i]));
                assertEquals(owner[i].a(layer, LinearModule.Q), plan.longs()[plan.longIndex(layer, LinearModule.Q, SgmvPlan.A_PTRS) + i]);
                assertEquals(owner[i].bt(layer, LinearModule.Q), plan.longs()[plan.longIndex(layer, LinearModule.Q, SgmvPlan.BT_PTRS) + i]);
            }
            assertEquals(11, plan.ints()[plan.intIndex(layer, LinearModule.DOWN, SgmvPlan.STARTS) + 1], "x's second segment");
        }
        assertTrue(plan.intCount(2) <= plan.ints().length && plan.longCount(2) <= plan.longs().length);
        b.clear();
        b.addSequence(run, 0, 2, 0, table, 2, null);
        plan.build(b, 2);
        assertFalse(plan.active(), "a base-only batch has no LoRA work");
        assertEquals(0, plan.count(0, LinearModule.Q), "counts from the previous step are cleared");
    }

    @Test
    void sgmvPlanRefusesReleasedAndForeignSlots() {
        StepBatch b = new StepBatch(10);
        b.addSequence(new int[1], 0, 1, 0, new int[] {0}, 0, new AdapterSlot(AdapterFootprint.NONE) { });
        assertThrows(IllegalArgumentException.class, () -> new SgmvPlan().build(b, 1));
    }

    @Test
    void stepTablesFlattenEveryTableToTheBlocksItsPositionsReach() {
        StepBatch b = new StepBatch(10);
        b.addSequence(new int[] {7, 8, 9}, 0, 3, 3, new int[] {5, 2, 9, 9}, 2); // positions 3..5, blocks of 4 -> 2 blocks
        b.addSequence(new int[] {4}, 0, 1, 0, new int[] {1, 6, 6}, 0);          // position 0 -> 1 block
        StepTables t = new StepTables();
        t.build(b, 4);
        int[] ints = t.ints();
        assertEquals(2, t.maxBlocks());
        assertEquals(List.of(7, 8, 9, 4), list(ints, t.tokensAt(), 4));
        assertEquals(List.of(3, 4, 5, 0), list(ints, t.positionsAt(), 4));
        assertEquals(List.of(0, 0, 0, 1), list(ints, t.tokenSeqAt(), 4));
        assertEquals(List.of(2, 3), list(ints, t.logitRowsAt(), 2), "the last token of the first and the second's only");
        assertEquals(List.of(5, 2, 1, 0), list(ints, t.tablesAt(), 4), "rows of maxBlocks; unreached entries 0");
        assertEquals(3 * 4 + 2 + 2 * 2, t.size());
        for (int tok = 0; tok < 4; tok++) { // the kernels' own indexing finds each token's block
            int seq = ints[t.tokenSeqAt() + tok];
            int pos = ints[t.positionsAt() + tok];
            assertEquals(b.blockTable(seq)[pos / 4], ints[t.tablesAt() + seq * t.maxBlocks() + pos / 4]);
        }
    }

    private static List<Integer> list(int[] a, int from, int n) {
        List<Integer> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            out.add(a[from + i]);
        }
        return out;
    }

    @Test
    void slotLayoutAlignsEverySectionAndItsFootprintIsTheSameInBothTiersInAnyOrder() {
        List<LoraShape> shapes = List.of(new LoraShape(0, LinearModule.Q, 4, 64, 64, DType.F32),
                new LoraShape(1, LinearModule.DOWN, 3, 172, 64, DType.BF16), new LoraShape(0, LinearModule.V, 8, 64, 32, DType.F32));
        SlotLayout l = SlotLayout.of(shapes, 2);
        long expect = 0;
        for (LoraShape s : shapes) {
            expect += (2L * s.rank() * s.in() + 255) / 256 * 256 + (2L * s.rank() * s.out() + 255) / 256 * 256;
        }
        assertEquals(expect, l.bytes());
        assertEquals(new AdapterFootprint(expect, expect), SlotLayout.footprint(shapes));
        assertEquals(SlotLayout.footprint(shapes), SlotLayout.footprint(List.of(shapes.get(2), shapes.get(0), shapes.get(1))));
        assertEquals(3, l.rank(1, LinearModule.DOWN));
        assertEquals(0, l.rank(1, LinearModule.Q));
        assertEquals(0, l.aOffset(1, LinearModule.DOWN) % 256);
        assertEquals(0, l.btOffset(1, LinearModule.DOWN) % 256);
        assertTrue(l.btOffset(1, LinearModule.DOWN) >= l.aOffset(1, LinearModule.DOWN) + 2 * 3 * 172);
        assertThrows(IllegalArgumentException.class, () -> SlotLayout.of(List.of(new LoraShape(0, LinearModule.Q, 129, 64, 64, DType.F32)), 1));
        assertThrows(IllegalArgumentException.class, () -> SlotLayout.of(List.of(shapes.get(0), shapes.get(0)), 2));
        assertThrows(IllegalArgumentException.class, () -> SlotLayout.of(shapes, 1), "layer 1 of a one-layer model");
    }

    @Test
    void packingKeepsAAndTransposesBToBf16() {
        int rank = 3, in = 5, out = 4;
        float[] a = new float[rank * in];
        float[] b = new float[out * rank];
        for (int i = 0; i < a.length; i++) {
            a[i] = 0.1f * i - 0.7f;
        }
        for (int i = 0; i < b.length; i++) {
            b[i] = 1.3f - 0.2f * i;
        }
        LoraUpdate u = new LoraUpdate(new LoraShape(0, LinearModule.Q, rank, in, out, DType.F32), 2f, MemorySegment.ofArray(a),
                MemorySegment.ofArray(b));
        MemorySegment dst = MemorySegment.ofArray(new byte[1024]);
        CudaLora.pack(u, dst, 0, 512);
        ValueLayout.OfShort bf16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < a.length; i++) {
            assertEquals(DType.floatToBf16(a[i]), dst.get(bf16, 2L * i));
        }
        for (int o = 0; o < out; o++) {
            for (int r = 0; r < rank; r++) {
                assertEquals(DType.floatToBf16(b[o * rank + r]), dst.get(bf16, 512 + 2L * (r * out + o)), "Bt[" + r + "][" + o + "]");
            }
        }
    }

    @Test
    void launchGridsCoverEveryRowColumnAndPair() {
        for (int out : new int[] {1, 7, 8, 9, 2048, 128256}) {
            LaunchGrid g = LaunchGrid.gemv(out);
            assertTrue((long) g.x() * (g.threads() / 32) >= out && (long) (g.x() - 1) * (g.threads() / 32) < out, "gemv " + out);
        }
        LaunchGrid g = LaunchGrid.gemm(37, 130);
        assertEquals(3, g.x(), "columns in 64-wide tiles");
        assertEquals(1, g.y(), "rows in 64-tall tiles");
        assertFalse(LaunchGrid.useGemm(8, 2048), "8 rows stream the weights once through gemv");
        assertTrue(LaunchGrid.useGemm(9, 2048));
        assertFalse(LaunchGrid.useGemm(64, 172), "gemm's 16-byte row copies need K a multiple of 8");
        LaunchGrid e = LaunchGrid.expand(5, 8192, 33);
        assertEquals(64, e.y());
        assertEquals(3, e.z(), "rows in chunks of 16");
        LaunchGrid s = LaunchGrid.shrink(5, 128L * 40);
        assertEquals(5, s.x());
        assertTrue((long) s.y() * (s.threads() / 32) >= 128L * 40, "a warp per (row, r) pair of the largest segment");
        assertEquals(65535, LaunchGrid.shrink(1, 1L << 40).y(), "the kernel strides past the grid's height");
        LaunchGrid a = LaunchGrid.attention(13, 32, 8, 64);
        assertEquals(13, a.x());
        assertEquals(8, a.y());
        assertEquals(128, a.threads(), "one warp per query head of a KV head's group");
        assertThrows(IllegalArgumentException.class, () -> LaunchGrid.attention(1, 12, 8, 64));
        assertThrows(IllegalArgumentException.class, () -> LaunchGrid.attention(1, 8, 8, 512));
    }

    /** Where no device answers, asking JCuda is a catchable answer with a reason, never a crash. */
    @Test
    void withoutADeviceTheJcudaBackendSaysWhyItCannotRun() {
        org.junit.jupiter.api.Assumptions.assumeFalse(CudaProbe.probe().present(), "a CUDA device answers here");
        String why = CudaBackend.unavailable();
        assertTrue(why != null && (why.startsWith("JCuda's driver binding does not load") || why.startsWith("the CUDA driver")), why);
        assertEquals(why, CudaBackend.unavailable(), "asked again, the same answer");
    }

    @Test
    void theBenchmarkModelHasLlama32OneBsShape() {
        dev.loraxj.model.ModelConfig c = DeviceBench.llama1B();
        assertEquals(List.of(2048, 16, 8192, 32, 8, 64, 128256), List.of(c.hiddenSize(), c.numLayers(), c.intermediateSize(),
                c.numHeads(), c.numKvHeads(), c.headDim(), c.vocabSize()));
        assertTrue(c.tieWordEmbeddings(), "Llama-3.2-1B ties its head to the embeddings");
        LaunchGrid.attention(1, c.numHeads(), c.numKvHeads(), c.headDim()); // within the attention kernel's limits
    }

    @Test
    void smVersionPicksThePtxAndOlderDevicesAreRefused() {
        assertThrows(IllegalStateException.class, () -> CudaKernels.ptxArch(7));
        assertEquals("sm_80", CudaKernels.ptxArch(8));
        boolean built = CudaKernels.class.getResource(CudaKernels.PTX_DIR + "gemm.sm_90.ptx") != null;
        assertEquals(built ? "sm_90" : "sm_80", CudaKernels.ptxArch(9));
        if (built) {
            for (String m : CudaKernels.MODULES) {
                byte[] ptx = CudaKernels.ptx(m, "sm_90");
                assertEquals(0, ptx[ptx.length - 1], "cuModuleLoadData reads NUL-terminated PTX");
                assertTrue(new String(ptx, java.nio.charset.StandardCharsets.US_ASCII).contains(".target sm_90"), m);
            }
        }
    }
}
