package dev.loraxj.adapter;

import dev.loraxj.adapter.TorchZipWriter.Pickle;
import dev.loraxj.adapter.TorchZipWriter.Storage;
import dev.loraxj.model.DType;
import dev.loraxj.model.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

// Values are compared exactly: each is representable in its dtype, and the reader only moves bytes.
class TorchCheckpointTest {

    static final String LORA_A = "base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight";
    static final String LORA_B = "base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight";
    static final float[] S0 = {1.5f, -2f, 0.25f, 3f, -0.5f, 8f};

    @TempDir
    Path dir;

    /** An OrderedDict state dict with _metadata: F32/BF16/F16, a shared storage with offsets, a transpose, 0-d and 4-d. */
    static TorchZipWriter everyLayout() {
        TorchZipWriter w = TorchZipWriter.orderedDict().withMetadata();
        Storage s0 = w.storage(DType.F32, S0);
        Storage s1 = w.storage(DType.BF16, 1f, -0.375f, 96f, 0.0078125f);
        Storage s2 = w.storage(DType.F16, -6.5f);
        Storage s3 = w.storage(DType.F32, 7f, 9f);
        return w.view(LORA_A, s0, 0, new long[] {2, 3}, new long[] {3, 1})
                .view(LORA_B, s1, 0, new long[] {4, 1}, new long[] {1, 1})
                .view("shared.view", s0, 2, new long[] {3}, new long[] {1})
                .view("scalar", s2, 0, new long[] {}, new long[] {})
                .view("transposed", s0, 0, new long[] {3, 2}, new long[] {1, 3})
                .view("conv", s3, 0, new long[] {2, 1, 1, 1}, new long[] {1, 1, 1, 1});
    }

    @Test
    void writerPicklesByteForByteAsCPythonPicklesTheSameStateDict() {
        // from CPython 3.11 pickle (protocol 2) of the same graph, with stand-ins named as torch's classes
        String ordered = "800263636f6c6c656374696f6e730a4f726465726564446963740a71002952710128583e000000626173655f6d6f64656c2e6d6f64656c2e6d6f64656c2e6c61796572732e302e73656c665f6174746e2e715f70726f6a2e6c6f72615f412e776569676874710263746f7263682e5f7574696c730a5f72656275696c645f74656e736f725f76320a71032828580700000073746f72616765710463746f7263680a466c6f617453746f726167650a71055801000000307106580300000063707571074b06747108514b004b024b038671094b034b0186710a8968002952710b74710c52710d583e000000626173655f6d6f64656c2e6d6f64656c2e6d6f64656c2e6c61796572732e302e73656c665f6174746e2e715f70726f6a2e6c6f72615f422e776569676874710e68032828680463746f7263680a42466c6f6174313653746f726167650a710f580100000031711068074b04747111514b004b044b018671124b014b0186711389680029527114747115527116580b0000007368617265642e7669657771176803282868046805680668074b06747118514b024b038571194b0185711a8968002952711b74711c52711d58060000007363616c6172711e68032828680463746f7263680a48616c6653746f726167650a711f580100000032712068074b01747121514b00292989680029527122747123527124580a0000007472616e73706f73656471256803282868046805680668074b06747126514b004b034b028671274b014b038671288968002952712974712a52712b5804000000636f6e76712c6803282868046805580100000033712d68074b0274712e514b00284b024b014b014b0174712f284b014b014b014b0174713089680029527131747132527133757d713458090000005f6d657461646174617135680029527136580000000071377d7138580700000076657273696f6e71394b01737373622e";
        String single = "80027d710058040000006f6e6c79710163746f7263682e5f7574696c730a5f72656275696c645f74656e736f725f76320a71022828580700000073746f72616765710363746f7263680a466c6f617453746f726167650a71045801000000307105580300000063707571064a70110100747107514ad00101004b024b028671084b024b018671098963636f6c6c656374696f6e730a4f726465726564446963740a710a2952710b74710c52710d732e";
        assertEquals(ordered, HexFormat.of().formatHex(everyLayout().pickle()));
        assertEquals(single, HexFormat.of().formatHex(bigOffset().pickle()));
    }

    static TorchZipWriter bigOffset() {
        TorchZipWriter w = TorchZipWriter.dict();
        float[] values = new float[70000];
        for (int i = 0; i < values.length; i++) {
            values[i] = i;
        }
        return w.view("only", w.storage(DType.F32, values), 66000, new long[] {2, 2}, new long[] {2, 1});
    }

    @Test
    void readsEveryTensorOfAnOrderedDictWithTheValuesWritten() throws IOException {
        Map<String, Tensor> t = TorchCheckpoint.read(everyLayout().write(dir.resolve("adapter_model.bin")));

        assertEquals(List.of(LORA_A, LORA_B, "shared.view", "scalar", "transposed", "conv"), List.copyOf(t.keySet()));
        assertTensor(t.get(LORA_A), DType.F32, new long[] {2, 3}, S0);
        assertTensor(t.get(LORA_B), DType.BF16, new long[] {4, 1}, 1f, -0.375f, 96f, 0.0078125f);
        assertTensor(t.get("shared.view"), DType.F32, new long[] {3}, 0.25f, 3f, -0.5f);
        assertTensor(t.get("scalar"), DType.F16, new long[] {}, -6.5f);
        assertTensor(t.get("conv"), DType.F32, new long[] {2, 1, 1, 1}, 7f, 9f);
    }

    @Test
    void transposedViewIsCopiedIntoContiguousRowMajorOrder() throws IOException {
        Tensor t = TorchCheckpoint.read(everyLayout().write(dir.resolve("a.bin"))).get("transposed");
        float[] expected = new float[6];
        for (int i = 0; i < 3; i++) {
            for (int j = 0; j < 2; j++) {
                expected[i * 2 + j] = S0[i + 3 * j]; // element (i, j) of a [3,2] view with stride (1, 3)
            }
        }
        assertTensor(t, DType.F32, new long[] {3, 2}, expected);
    }

    @Test
    void columnSliceOfAMatrixCopiesOnlyTheViewedColumns() throws IOException {
        TorchZipWriter w = TorchZipWriter.dict();
        Storage s = w.storage(DType.F16, 0f, 1f, 2f, 3f, 10f, 11f, 12f, 13f, 20f, 21f, 22f, 23f); // [3, 4]
        w.view("cols", s, 1, new long[] {3, 2}, new long[] {4, 1}).view("row", s, 4, new long[] {1, 4}, new long[] {4, 1});

        Map<String, Tensor> t = TorchCheckpoint.read(w.write(dir.resolve("slice.bin")));

        assertTensor(t.get("cols"), DType.F16, new long[] {3, 2}, 1f, 2f, 11f, 12f, 21f, 22f);
        assertTensor(t.get("row"), DType.F16, new long[] {1, 4}, 10f, 11f, 12f, 13f);
    }

    @Test
    void readsAPlainDictWithOneTensorAtALargeStorageOffset() throws IOException {
        Tensor t = TorchCheckpoint.read(bigOffset().write(dir.resolve("adapter_model.bin"))).get("only");
        assertTensor(t, DType.F32, new long[] {2, 2}, 66000f, 66001f, 66002f, 66003f);
    }

    @Test
    void acceptsNewerTorchVariantsParameterRebuildV3UntypedStorageAndProtocol4() throws IOException {
        Pickle p = new Pickle().proto(4).op(0x95).le(0, 8).op(Pickle.EMPTY_DICT, 0x94);
        shortString(p, "w");
        stackGlobal(p, "torch._utils", "_rebuild_parameter");
        stackGlobal(p, "torch._utils", "_rebuild_tensor_v3");
        p.op(Pickle.MARK, Pickle.MARK);
        shortString(p, "storage");
        stackGlobal(p, "torch.storage", "UntypedStorage");
        shortString(p, "0");
        shortString(p, "cpu");
        p.integer(8).op(Pickle.TUPLE, Pickle.BINPERSID).integer(1).integer(2).op(0x85).integer(1).op(0x85, Pickle.NEWFALSE);
        stackGlobal(p, "collections", "OrderedDict");
        p.op(Pickle.EMPTY_TUPLE, Pickle.REDUCE);
        stackGlobal(p, "torch", "bfloat16");
        p.op(Pickle.TUPLE, Pickle.REDUCE, 0x88);
        stackGlobal(p, "collections", "OrderedDict");
        p.op(Pickle.EMPTY_TUPLE, Pickle.REDUCE, 0x87, Pickle.REDUCE, Pickle.SETITEM);
        // ('storage', torch.float16, key, location, numel): a dtype where a storage class usually stands
        shortString(p, "h");
        p.global("torch._utils", "_rebuild_tensor_v2").op(Pickle.MARK, Pickle.MARK).string("storage")
                .global("torch", "float16").string("1").string("cpu").integer(2).op(Pickle.TUPLE, Pickle.BINPERSID)
                .integer(0).integer(2).op(0x85).integer(1).op(0x85, Pickle.NEWFALSE, Pickle.EMPTY_DICT, Pickle.TUPLE,
                        Pickle.REDUCE, Pickle.SETITEM, Pickle.STOP);
        TorchZipWriter bf16 = TorchZipWriter.dict();
        byte[] untyped = bf16.storage(DType.BF16, 1f, 2f, 3f, 4f).data();
        byte[] half = bf16.storage(DType.F16, 0.5f, -1f).data();
        Path file = dir.resolve("archive.bin");
        TorchZipWriter.writeZip(file, "archive", Map.of("data.pkl", p.bytes(), "data/0", untyped, "data/1", half));

        Map<String, Tensor> t = TorchCheckpoint.read(file);

        assertTensor(t.get("w"), DType.BF16, new long[] {2}, 2f, 3f);
        assertTensor(t.get("h"), DType.F16, new long[] {2}, 0.5f, -1f);
    }

    @Test
    void refusesGlobalOsSystemWithoutRunningIt() throws IOException {
        Pickle p = new Pickle().proto(2).global("os", "system").string("touch /tmp/pwned").op(0x85, Pickle.REDUCE, Pickle.STOP);
        AdapterException e = refused(withPickle("evil.bin", p.bytes()));
        assertMessage(e, "evil.bin", "global os.system", "outside the torch tensor format", "not loaded");
    }

    @Test
    void refusesBuiltinsEvalReachedThroughStackGlobal() throws IOException {
        Pickle p = new Pickle().proto(4);
        shortString(p, "builtins");
        shortString(p, "eval");
        p.op(0x93);
        shortString(p, "__import__('os').system('id')");
        p.op(0x85, Pickle.REDUCE, Pickle.STOP);
        assertMessage(refused(withPickle("evil.bin", p.bytes())), "global builtins.eval", "not loaded");
    }

    @Test
    void refusesOpcodesOutsideTheTensorFormat() throws IOException {
        byte[] inst = new Pickle().proto(2).op(Pickle.MARK).raw(TorchZipWriter.ascii("iposix\nsystem\n")).op(Pickle.STOP).bytes();
        assertMessage(refused(withPickle("inst.bin", inst)), "pickle opcode 0x69 (INST)", "not loaded");
        byte[] newobj = new Pickle().proto(2).global("collections", "OrderedDict").op(Pickle.EMPTY_TUPLE, 0x81, Pickle.STOP).bytes();
        assertMessage(refused(withPickle("newobj.bin", newobj)), "pickle opcode 0x81 (NEWOBJ)", "not loaded");
    }

    @Test
    void refusesStorageClassesCalledAsFunctions() throws IOException {
        byte[] call = new Pickle().proto(2).global("torch", "FloatStorage").integer(3).op(0x85, Pickle.REDUCE, Pickle.STOP).bytes();
        assertMessage(refused(withPickle("call.bin", call)), "call of torch.FloatStorage", "not loaded");
    }

    @Test
    void refusesTensorsOfOtherDtypesNamingTheType() throws IOException {
        byte[] f64 = new Pickle().proto(2).global("torch", "DoubleStorage").op(Pickle.STOP).bytes();
        assertMessage(refused(withPickle("f64.bin", f64)), "torch.DoubleStorage", "float32, bfloat16 and float16");
    }

    @Test
    void refusesTruncatedPickle() throws IOException {
        byte[] full = everyLayout().pickle();
        byte[] cut = java.util.Arrays.copyOf(full, full.length / 2);
        assertMessage(refused(withPickle("cut.bin", cut)), "corrupt data.pkl", "truncated");
    }

    @Test
    void refusesTruncatedZip() throws IOException {
        Path file = everyLayout().write(dir.resolve("adapter_model.bin"));
        byte[] bytes = Files.readAllBytes(file);
        Files.write(file, java.util.Arrays.copyOf(bytes, bytes.length - 100));
        assertMessage(refused(file), "adapter_model.bin", "not a readable zip archive");
    }

    @Test
    void refusesTensorReachingPastItsStorage() throws IOException {
        TorchZipWriter w = TorchZipWriter.dict();
        w.view("big", w.storage(DType.F32, 1, 2, 3, 4, 5, 6, 7, 8), 0, new long[] {4, 4}, new long[] {4, 1});
        assertMessage(refused(w.write(dir.resolve("short.bin"))), "tensor big [4, 4] reads elements 0..15",
                "holds only 8 float32 elements");
    }

    @Test
    void refusesStorageEntryShorterThanDataPklDeclares() throws IOException {
        Map<String, byte[]> records = new java.util.LinkedHashMap<>(everyLayout().records());
        records.put("data/0", new byte[12]);
        Path file = dir.resolve("a.bin");
        TorchZipWriter.writeZip(file, "a", records);
        assertMessage(refused(file), "storage a/data/0 holds 12 bytes, but data.pkl declares 24");
    }

    @Test
    void refusesMissingStorageEntry() throws IOException {
        Map<String, byte[]> records = new java.util.LinkedHashMap<>(everyLayout().records());
        records.remove("data/2");
        Path file = dir.resolve("a.bin");
        TorchZipWriter.writeZip(file, "a", records);
        assertMessage(refused(file), "storage a/data/2 is missing");
    }

    @Test
    void refusesSizesThatOverflowAndBroadcastViews() throws IOException {
        TorchZipWriter w = TorchZipWriter.dict();
        w.view("huge", w.storage(DType.F32, 1, 2), 0, new long[] {1L << 40, 1L << 40}, new long[] {1L << 40, 1});
        assertMessage(refused(w.write(dir.resolve("huge.bin"))), "tensor huge", "overflow");
        TorchZipWriter b = TorchZipWriter.dict();
        b.view("expanded", b.storage(DType.F32, 1), 0, new long[] {1L << 20, 1L << 20}, new long[] {0, 0});
        assertMessage(refused(b.write(dir.resolve("bcast.bin"))), "tensor expanded", "more than the 1 its storage holds");
    }

    @Test
    void refusesBigEndianByteorder() throws IOException {
        Map<String, byte[]> records = new java.util.LinkedHashMap<>(everyLayout().records());
        records.put("byteorder", TorchZipWriter.ascii("big"));
        Path file = dir.resolve("be.bin");
        TorchZipWriter.writeZip(file, "be", records);
        assertMessage(refused(file), "byteorder 'big'", "little-endian");
    }

    @Test
    void refusesLegacyPickleStreamFormat() throws IOException {
        Path file = dir.resolve("legacy.bin");
        // torch<1.6 began with the pickled magic number 0x1950a86a20f9469cfc6c as a LONG1
        Files.write(file, HexFormat.of().parseHex("80028a0a6cfc9c46f9206aa850192e"));
        assertMessage(refused(file), "legacy (pre-1.6) torch.save file");
    }

    @Test
    void refusesTorchScriptArchive() throws IOException {
        Path file = dir.resolve("model.pt");
        TorchZipWriter.writeZip(file, "model", Map.of("data.pkl", everyLayout().pickle(), "constants.pkl",
                new Pickle().proto(2).op(Pickle.EMPTY_TUPLE, Pickle.STOP).bytes(), "code/__torch__.py",
                "class M: pass".getBytes(StandardCharsets.UTF_8)));
        assertMessage(refused(file), "TorchScript archive");
    }

    @Test
    void refusesFileThatIsNotAZip() throws IOException {
        Path file = Files.writeString(dir.resolve("adapter_model.bin"), "{\"not\": \"a checkpoint\"}");
        assertMessage(refused(file), "not a torch.save zip checkpoint");
    }

    @Test
    void corruptedPicklesFailWithAClearMessageNeverAnInternalException() throws IOException {
        byte[] good = everyLayout().pickle();
        java.util.Random random = new java.util.Random(42);
        for (int i = 0; i < 2000; i++) {
            byte[] bad = good.clone();
            for (int flips = 1 + random.nextInt(3); flips > 0; flips--) {
                bad[random.nextInt(bad.length)] = (byte) random.nextInt(256);
            }
            Path file = withPickle("fuzz.bin", bad);
            try {
                TorchCheckpoint.read(file);
            } catch (AdapterException e) {
                assertTrue(!e.getMessage().contains("Exception"), () -> "internal failure leaked: " + e.getMessage());
            }
        }
    }

    private Path withPickle(String name, byte[] pickle) throws IOException {
        Map<String, byte[]> records = new java.util.LinkedHashMap<>(everyLayout().records());
        records.put("data.pkl", pickle);
        Path file = dir.resolve(name);
        TorchZipWriter.writeZip(file, name.replace(".bin", ""), records);
        return file;
    }

    private static AdapterException refused(Path file) {
        return assertThrows(AdapterException.class, () -> TorchCheckpoint.read(file));
    }

    private static void assertMessage(AdapterException e, String... parts) {
        for (String part : parts) {
            assertTrue(e.getMessage().contains(part), () -> "'" + part + "' not in: " + e.getMessage());
        }
    }

    private static void assertTensor(Tensor t, DType dtype, long[] shape, float... values) {
        assertEquals(dtype, t.dtype(), t.name());
        assertArrayEquals(shape, t.shape(), t.name());
        assertArrayEquals(values, t.toFloats(), 0f, t.name());
    }

    private static void shortString(Pickle p, String s) {
        byte[] utf8 = s.getBytes(StandardCharsets.UTF_8);
        p.op(0x8c, utf8.length).raw(utf8).op(0x94);
    }

    private static void stackGlobal(Pickle p, String module, String name) {
        shortString(p, module);
        shortString(p, name);
        p.op(0x93, 0x94);
    }
}
