package dev.loraxj.model;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.loraxj.SharedAssets;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class CheckpointTest {

    @Test
    void readsStories260KInPlace() {
        try (Checkpoint c = Checkpoint.open(SharedAssets.stories260K())) {
            Tensor embed = c.tensor("model.embed_tokens.weight", 512, 64);
            assertEquals(DType.F32, embed.dtype());
            assertEquals(512 * 64, embed.toFloats().length);
            assertTrue(c.find("lm_head.weight").isEmpty(), "stories260K ties its embeddings");
        }
    }

    /**
     * Tensors are plain native segments over the mapping, the class the weights quantized or widened at load have: a kernel
     * call site that meets two segment classes stops being intrinsified (F32 prefill ran at 0.71x). Closing still ends them.
     */
    @Test
    void tensorsAreNativeSegmentsThatCloseWithTheCheckpoint() {
        Tensor embed;
        float first;
        try (Checkpoint c = Checkpoint.open(SharedAssets.stories260K())) {
            embed = c.tensor("model.embed_tokens.weight", 512, 64);
            java.lang.foreign.MemorySegment native64 = java.lang.foreign.Arena.ofAuto().allocate(64, 64);
            assertEquals(native64.getClass(), embed.data().getClass(), "the kernels' one segment class");
            assertTrue(embed.data().isNative());
            first = embed.toFloats()[0];
            assertEquals(first, embed.data().get(java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(java.nio.ByteOrder.LITTLE_ENDIAN), 0));
        }
        Tensor closed = embed;
        assertThrows(IllegalStateException.class, closed::toFloats, "a closed checkpoint's tensors are unmapped, not readable");
    }

    @Test
    void shardedBf16AndF16CheckpointsRoundTrip(@TempDir Path dir) throws Exception {
        Map<String, float[]> original = new java.util.LinkedHashMap<>();
        Map<String, long[]> shapes = new java.util.LinkedHashMap<>();
        try (Checkpoint c = Checkpoint.open(SharedAssets.stories260K())) {
            for (Tensor t : c.tensors().values()) {
                original.put(t.name(), t.toFloats());
                shapes.put(t.name(), t.shape());
            }
        }
        List<String> names = new ArrayList<>(original.keySet());
        SafeTensorsWriter a = new SafeTensorsWriter();
        SafeTensorsWriter b = new SafeTensorsWriter();
        ObjectNode index = new ObjectMapper().createObjectNode();
        ObjectNode map = index.putObject("weight_map");
        for (int i = 0; i < names.size(); i++) {
            String n = names.get(i);
            boolean first = i % 2 == 0;
            (first ? a : b).add(n, first ? DType.BF16 : DType.F16, original.get(n), shapes.get(n));
            map.put(n, first ? "model-00001-of-00002.safetensors" : "model-00002-of-00002.safetensors");
        }
        a.write(dir.resolve("model-00001-of-00002.safetensors"));
        b.write(dir.resolve("model-00002-of-00002.safetensors"));
        Files.writeString(dir.resolve("model.safetensors.index.json"), index.toString());
        try (Checkpoint c = Checkpoint.open(dir)) {
            assertEquals(names.size(), c.tensors().size());
            for (int i = 0; i < names.size(); i++) {
                Tensor t = c.tensor(names.get(i));
                float[] expected = original.get(names.get(i));
                float[] got = t.toFloats();
                for (int j = 0; j < expected.length; j++) {
                    float want = i % 2 == 0 ? DType.bf16ToFloat(DType.floatToBf16(expected[j])) : Float.float16ToFloat(Float.floatToFloat16(expected[j]));
                    assertEquals(want, got[j], 0f, names.get(i) + "[" + j + "]");
                }
            }
        }
    }

    @Test
    void bf16RoundsToNearestEven() {
        assertEquals((short) 0x3F80, DType.floatToBf16(1.0f));
        // 1 + 2^-8 lies exactly between two bf16 values; ties go to the even mantissa (1.0)
        assertEquals((short) 0x3F80, DType.floatToBf16(Float.intBitsToFloat(0x3F808000)));
        assertEquals((short) 0x3F82, DType.floatToBf16(Float.intBitsToFloat(0x3F818000)));
        assertEquals(3.140625f, DType.bf16ToFloat(DType.floatToBf16(3.14159f)), 0f);
    }

    @Test
    void corruptFilesGiveClearErrors(@TempDir Path dir) throws Exception {
        Path bad = dir.resolve("model.safetensors");
        Files.write(bad, new byte[] {1, 2, 3});
        ModelException e = assertThrows(ModelException.class, () -> SafeTensors.open(bad));
        assertTrue(e.getMessage().contains("not a safetensors file"), e.getMessage());
        Files.write(bad, new byte[] {(byte) 200, 0, 0, 0, 0, 0, 0, 0, '{'});
        e = assertThrows(ModelException.class, () -> SafeTensors.open(bad));
        assertTrue(e.getMessage().contains("header length"), e.getMessage());
        e = assertThrows(ModelException.class, () -> Checkpoint.open(dir.resolve("nope")));
        assertTrue(e.getMessage().contains("does not exist"), e.getMessage());
    }
}
