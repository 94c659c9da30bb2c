package dev.loraxj.backend.cpu;

import dev.loraxj.backend.LinearModule;
import dev.loraxj.model.Checkpoint;
import dev.loraxj.model.ModelException;
import dev.loraxj.model.PackedCheckpoints;
import dev.loraxj.model.PackedCheckpoints.Format;
import dev.loraxj.model.PackedCheckpoints.Quantized;
import dev.loraxj.model.PreQuantized;
import dev.loraxj.model.SafeTensorsWriter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * GPTQ and AWQ linears read into the uint4 layout: the unpacking equals {@code (q - z) * s} of hand-packed tensors (packed
 * by {@link PackedCheckpoints} from the formats' documented bit layouts, pinned here by literal words), every kernel equals
 * a float64 reference within 1e-5, a row gives the same bits in any batch, and what is not supported is refused.
 */
class U4MatmulTest {

    @TempDir
    Path tmp;

    private static final Format[] FORMATS = {
            Format.gptq(32, false, false), Format.gptq(32, true, false), Format.gptq(32, false, true), Format.gptq(-1, false, true),
            Format.gptq(64, true, true).gptqV2(), Format.gptq(128, false, false).gptqV2(), Format.gptq(-1, true, false),
            Format.awq(32), Format.awq(128), Format.awq(-1)};

    @Test
    void packedWordsFollowTheDocumentedBitLayouts() {
        // GPTQ: input 8i + j of an output in bits 4j of qweight [i, out]; q = j + 1 for j = 0..7 reads 0x87654321
        int[][] q = new int[8][8];
        int[][] zero = new int[8][1];
        float[][] scale = new float[8][1];
        for (int o = 0; o < 8; o++) {
            for (int k = 0; k < 8; k++) {
                q[o][k] = o == 0 ? k + 1 : 0;
            }
            zero[o][0] = o + 1;
            scale[o][0] = 1;
        }
        Quantized m = new Quantized(8, 8, 1, q, zero, scale, new int[8]);
        SafeTensorsWriter gptq = capture();
        PackedCheckpoints.pack(gptq, "x", m, Format.gptq(-1, false, false));
        assertEquals(0x87654321, packedInts(gptq, "x.qweight")[0], "GPTQ qweight word [0, 0]");
        // qzeros [0, 0] holds outputs 0..7 in bits 4j, each zero minus one (v1): zeros 1..8 are stored 0..7
        assertEquals(0x76543210, packedInts(gptq, "x.qzeros")[0], "GPTQ v1 qzeros word");
        SafeTensorsWriter v2 = capture();
        PackedCheckpoints.pack(v2, "x", m, Format.gptq(-1, false, false).gptqV2());
        assertEquals(0x87654321, packedInts(v2, "x.qzeros")[0], "GPTQ v2 stores zero points as they are");
        // AWQ: qweight [k, c] nibble i holds output 8c + ORDER[i], ORDER 0,2,4,6,1,3,5,7; output o of input 0 is q = o + 1
        for (int o = 0; o < 8; o++) {
            q[o][0] = o + 1;
        }
        SafeTensorsWriter awq = capture();
        PackedCheckpoints.pack(awq, "x", m, Format.awq(-1));
        assertEquals(0x86427531, packedInts(awq, "x.qweight")[0], "AWQ qweight word [0, 0]");
        assertEquals(0x86427531, packedInts(awq, "x.qzeros")[0], "AWQ qzeros word (zeros 1..8, no minus one)");
    }

    @Test
    void unpackedWeightsAreQMinusZeroTimesScale() throws IOException {
        for (Format f : FORMATS) {
            for (int[] shape : new int[][] {{24, 256}, {16, 384}}) {
                int out = shape[0], in = shape[1];
                Quantized m = known(out, in, f, 3);
                Linear w = load(m, f);
                // y = W e_k: column k of the matrix, through the input order and every kernel (the products are exact)
                float[] eye = new float[in * in];
                for (int k = 0; k < in; k++) {
                    eye[k * in + k] = 1;
                }
                float[] cols = new float[in * out];
                Matmul.apply(w, eye, in, cols);
                for (int o = 0; o < out; o++) {
                    for (int k = 0; k < in; k++) {
                        assertEquals((m.q()[o][k] - m.zero()[o][m.gIdx()[k]]) * m.scale()[o][m.gIdx()[k]], cols[k * out + o],
                                f + " weight (" + o + ", " + k + ")");
                    }
                }
                if (f.descAct() && m.groups() > 1) {
                    assertNotNull(w.zeros().inputOrder(), f + ": a shuffled g_idx is stored sorted by group");
                } else {
                    assertNull(w.zeros().inputOrder(), f + ": groups already in order (or one group) need no gather");
                }
            }
        }
    }

    @Test
    void kernelsEqualAFloat64ReferenceWithin1e5() throws IOException {
        // Tolerance 1e-5 of sum |w x|: float32 sums of in/L products per lane and a tree of L lanes round at most about
        // (in/L + log2 L) * 2^-24 of it (~1e-6 here); a wrong nibble, zero or scale is off by far more (a weight is >= s).
        for (Format f : FORMATS) {
            int out = 40, in = 256;
            Quantized m = known(out, in, f, 11);
            Linear w = load(m, f);
            for (int T : new int[] {1, 3, 4, 9}) {
                float[] x = QuantizedQuality.input(T, in, T * 31L);
                float[] y = new float[T * out];
                Matmul.apply(w, x, T, y);
                for (int t = 0; t < T; t++) {
                    for (int o = 0; o < out; o++) {
                        double ref = 0;
                        double mag = 0;
                        for (int k = 0; k < in; k++) {
                            int g = m.gIdx()[k];
                            double wk = (m.q()[o][k] - m.zero()[o][g]) * (double) m.scale()[o][g];
                            ref += wk * x[t * in + k];
                            mag += Math.abs(wk * x[t * in + k]);
                        }
                        assertEquals(ref, y[t * out + o], 1e-5 * mag, f + " T=" + T + " token " + t + " output " + o);
                    }
                }
            }
        }
    }

    @Test
    void groupsInOrderGiveBitwiseTheF32KernelOverTheDequantizedMatrix() throws IOException {
        // (q - z) * s is exact in float and the FMA chain is the F32 kernel's, so nothing may differ, at any T and width
        for (Format f : new Format[] {Format.gptq(32, false, false), Format.gptq(-1, true, false), Format.awq(64), Format.awq(-1)}) {
            for (int in : new int[] {64, 192, 200}) {
                if (f.groupSize() != -1 && in % f.groupSize() != 0) {
                    continue;
                }
                Quantized m = known(24, in, f, in);
                Linear w = load(m, f);
                float[] dense = new float[24 * in];
                for (int o = 0; o < 24; o++) {
                    for (int k = 0; k < in; k++) {
                        dense[o * in + k] = m.weight(o, k);
                    }
                }
                Linear f32 = I4MatmulTest.f32(24, in, dense);
                for (int T : new int[] {1, 2, 4, 9}) {
                    float[] x = QuantizedQuality.input(T, in, T);
                    float[] want = new float[T * 24];
                    float[] got = new float[T * 24];
                    Matmul.apply(f32, x, T, want);
                    Matmul.apply(w, x, T, got);
                    assertArrayEquals(want, got, f + " in=" + in + " T=" + T);
                }
            }
        }
    }

    @Test
    void aRowGivesTheSameBitsInAnyBatch() throws IOException {
        for (Format f : new Format[] {Format.gptq(32, false, true), Format.awq(64), Format.gptq(-1, true, false)}) {
            Linear w = load(known(56, 192, f, 5), f);
            QuantizedQuality.assertBatchInvariant(w, QuantizedQuality.input(9, 192, 7), 9);
        }
    }

    @Test
    void linearsOfOneInputShareTheirActOrder() throws IOException {
        Format f = Format.gptq(32, false, true);
        Quantized a = known(16, 64, f, 1);
        Quantized b = new Quantized(8, 64, a.groups(), java.util.Arrays.copyOf(a.q(), 8), java.util.Arrays.copyOf(a.zero(), 8),
                java.util.Arrays.copyOf(a.scale(), 8), a.gIdx());
        SafeTensorsWriter st = new SafeTensorsWriter();
        PackedCheckpoints.pack(st, "a", a, f);
        PackedCheckpoints.pack(st, "b", b, f);
        Path dir = Files.createDirectories(tmp.resolve("shared"));
        st.write(dir.resolve("model.safetensors"));
        try (Checkpoint ckpt = Checkpoint.open(dir); Arena arena = Arena.ofShared()) {
            PackedInt4 reader = new PackedInt4(ckpt, format(f), arena);
            Linear la = reader.read(LinearModule.Q, 0, "a", 16, 64, null);
            Linear lb = reader.read(LinearModule.K, 0, "b", 8, 64, null);
            assertSame(la.zeros().inputOrder(), lb.zeros().inputOrder(), "one order, so q/k/v gather their input once");
            assertTrue(Matmul.sameInput(la, lb));
        }
    }

    @Test
    void unsupportedLayoutsAreRefusedNamingTheField() {
        var json = new com.fasterxml.jackson.databind.ObjectMapper();
        String[][] cases = {
                {"{\"quant_method\":\"gptq\",\"bits\":8,\"group_size\":128}", "quantization_config.bits 8"},
                {"{\"quant_method\":\"gptq\",\"bits\":4,\"group_size\":128,\"checkpoint_format\":\"marlin\"}", "checkpoint_format marlin"},
                {"{\"quant_method\":\"gptq\",\"bits\":4,\"group_size\":128,\"is_marlin_format\":true}", "is_marlin_format"},
                {"{\"quant_method\":\"gptq\",\"bits\":4,\"group_size\":8}", "group_size 8"},
                {"{\"quant_method\":\"gptq\",\"bits\":4}", "no group_size"},
                {"{\"quant_method\":\"awq\",\"bits\":4,\"group_size\":128,\"version\":\"gemv\"}", "version gemv"},
                {"{\"quant_method\":\"awq\",\"bits\":4,\"group_size\":128,\"version\":\"exllama\"}", "version exllama"},
                {"{\"quant_method\":\"awq\",\"bits\":4,\"group_size\":128,\"zero_point\":false}", "zero_point false"},
                {"{\"quant_method\":\"awq\",\"w_bit\":3,\"q_group_size\":128}", "w_bit 3"},
                {"{\"quant_method\":\"bitsandbytes\",\"load_in_4bit\":true}", "quant_method bitsandbytes"},
                {"{\"bits\":4}", "no quant_method"}};
        for (String[] c : cases) {
            ModelException e = assertThrows(ModelException.class,
                    () -> PreQuantized.parse(json.readTree("{\"quantization_config\":" + c[0] + "}")), c[0]);
            assertTrue(e.getMessage().contains(c[1]) && e.getMessage().contains("config.json quantization_config"), e.getMessage());
        }
    }

    @Test
    void missingTensorsAndUnevenGroupsAreRefused() throws IOException {
        Format f = Format.gptq(32, false, true);
        Quantized m = known(16, 64, f, 2);
        SafeTensorsWriter st = new SafeTensorsWriter();
        PackedCheckpoints.pack(st, "full", m, f);
        int[] uneven = m.gIdx().clone();
        uneven[0] = 1 - uneven[0];
        PackedCheckpoints.pack(st, "uneven", new Quantized(16, 64, 2, m.q(), m.zero(), m.scale(), uneven), f);
        // qweight and scales without qzeros; and everything but the g_idx that desc_act needs
        st.addInts("noZeros.qweight", new int[8 * 16], 8, 16).add("noZeros.scales", dev.loraxj.model.DType.F16, new float[32], 2, 16);
        st.addInts("noGidx.qweight", new int[8 * 16], 8, 16).add("noGidx.scales", dev.loraxj.model.DType.F16, new float[32], 2, 16)
                .addInts("noGidx.qzeros", new int[4], 2, 2);
        Path dir = Files.createDirectories(tmp.resolve("bad"));
        st.write(dir.resolve("model.safetensors"));
        try (Checkpoint ckpt = Checkpoint.open(dir); Arena arena = Arena.ofShared()) {
            PackedInt4 reader = new PackedInt4(ckpt, format(f), arena);
            ModelException e = assertThrows(ModelException.class, () -> reader.read(LinearModule.Q, 0, "uneven", 16, 64, null));
            assertTrue(e.getMessage().contains("g_idx puts 33 inputs in group") || e.getMessage().contains("g_idx puts 31 inputs in group"),
                    e.getMessage());
            e = assertThrows(ModelException.class, () -> reader.read(LinearModule.Q, 0, "full", 16, 96, null));
            assertTrue(e.getMessage().contains("full.scales has shape [2, 16], expected [3, 16]"), e.getMessage());
            e = assertThrows(ModelException.class, () -> reader.read(LinearModule.Q, 0, "noZeros", 16, 64, null));
            assertTrue(e.getMessage().contains("GPTQ linear noZeros has a qweight but no qzeros"), e.getMessage());
            e = assertThrows(ModelException.class, () -> reader.read(LinearModule.Q, 0, "noGidx", 16, 64, null));
            assertTrue(e.getMessage().contains("noGidx has no g_idx, which desc_act (act order) needs"), e.getMessage());
        }
    }

    /** Quantizes a random matrix by the format's rules (so values span every nibble and zero point the format produces). */
    static Quantized known(int out, int in, Format f, long seed) {
        float[] w = new float[out * in];
        SplittableRandom rnd = new SplittableRandom(seed);
        for (int i = 0; i < w.length; i++) {
            w[i] = (float) rnd.nextDouble(-0.05, 0.05) + (i % 7 == 0 ? 0.03f : 0); // skewed, so asymmetric zero points vary
        }
        return PackedCheckpoints.quantize(w, out, in, f, new SplittableRandom(seed + 1));
    }

    static PreQuantized format(Format f) {
        return new PreQuantized(f.awq() ? PreQuantized.Method.AWQ : PreQuantized.Method.GPTQ, f.groupSize(), f.descAct(), f.sym(),
                !f.awq() && !f.v2());
    }

    /** Writes {@code m} as the format's tensors and reads them back with the loader. */
    private Linear load(Quantized m, Format f) throws IOException {
        SafeTensorsWriter st = new SafeTensorsWriter();
        PackedCheckpoints.pack(st, "m", m, f);
        Path dir = Files.createTempDirectory(tmp, "packed");
        st.write(dir.resolve("model.safetensors"));
        try (Checkpoint ckpt = Checkpoint.open(dir)) {
            // the reader copies everything into its arena, so the file may close
            return new PackedInt4(ckpt, format(f), Arena.ofAuto()).read(LinearModule.Q, 0, "m", m.out(), m.in(), null);
        }
    }

    private SafeTensorsWriter capture() {
        return new SafeTensorsWriter();
    }

    private int[] packedInts(SafeTensorsWriter st, String name) {
        try {
            Path dir = Files.createTempDirectory(tmp, "words");
            st.write(dir.resolve("model.safetensors"));
            try (Checkpoint ckpt = Checkpoint.open(dir)) {
                var t = ckpt.tensor(name);
                int[] out = new int[(int) t.numel()];
                for (int i = 0; i < out.length; i++) {
                    out[i] = t.getInt(i);
                }
                return out;
            }
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
