package dev.loraxj.model;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Writes a .safetensors file from float arrays, converting to the requested dtype, and from int arrays as I32. */
public final class SafeTensorsWriter {

    /** {@code values} for float dtypes, {@code ints} for I32. */
    private record Entry(String name, DType dtype, long[] shape, float[] values, int[] ints) {
        long numel() {
            return values != null ? values.length : ints.length;
        }
    }

    private final List<Entry> entries = new ArrayList<>();

    public SafeTensorsWriter add(String name, DType dtype, float[] values, long... shape) {
        if (dtype != DType.F32 && dtype != DType.BF16 && dtype != DType.F16) {
            throw new IllegalArgumentException(name + ": floats are written as F32, BF16 or F16, not " + dtype);
        }
        if (Tensor.numel(shape) != values.length) {
            throw new IllegalArgumentException(name + ": " + values.length + " values for shape " + java.util.Arrays.toString(shape));
        }
        entries.add(new Entry(name, dtype, shape.clone(), values, null));
        return this;
    }

    /** An I32 tensor, as GPTQ and AWQ checkpoints hold their packed weights and zero points. */
    public SafeTensorsWriter addInts(String name, int[] values, long... shape) {
        if (Tensor.numel(shape) != values.length) {
            throw new IllegalArgumentException(name + ": " + values.length + " values for shape " + java.util.Arrays.toString(shape));
        }
        entries.add(new Entry(name, DType.I32, shape.clone(), null, values));
        return this;
    }

    public void write(Path file) throws IOException {
        ObjectMapper json = new ObjectMapper();
        ObjectNode header = json.createObjectNode();
        long offset = 0;
        for (Entry e : entries) {
            ObjectNode info = header.putObject(e.name);
            info.put("dtype", e.dtype.safetensorsCode());
            ArrayNode shape = info.putArray("shape");
            for (long d : e.shape) {
                shape.add(d);
            }
            long len = e.numel() * e.dtype.bytes();
            info.putArray("data_offsets").add(offset).add(offset + len);
            offset += len;
        }
        byte[] headerBytes = json.writeValueAsString(header).getBytes(StandardCharsets.UTF_8);
        int padded = (headerBytes.length + 7) & ~7;
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        try (OutputStream out = new java.io.BufferedOutputStream(Files.newOutputStream(tmp), 1 << 20)) {
            ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(padded);
            out.write(len.array());
            out.write(headerBytes);
            for (int i = headerBytes.length; i < padded; i++) {
                out.write(' ');
            }
            ByteBuffer buf = ByteBuffer.allocate(1 << 16).order(ByteOrder.LITTLE_ENDIAN);
            for (Entry e : entries) {
                for (int i = 0; e.ints != null && i < e.ints.length; i++) {
                    if (buf.remaining() < 4) {
                        out.write(buf.array(), 0, buf.position());
                        buf.clear();
                    }
                    buf.putInt(e.ints[i]);
                }
                for (float v : e.values == null ? new float[0] : e.values) {
                    if (buf.remaining() < 4) {
                        out.write(buf.array(), 0, buf.position());
                        buf.clear();
                    }
                    switch (e.dtype) {
                        case F32 -> buf.putFloat(v);
                        case BF16 -> buf.putShort(DType.floatToBf16(v));
                        case F16 -> buf.putShort(Float.floatToFloat16(v));
                    }
                }
            }
            out.write(buf.array(), 0, buf.position());
        }
        Files.move(tmp, file, java.nio.file.StandardCopyOption.REPLACE_EXISTING, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    }
}
