package dev.loraxj.model;

import java.util.Locale;

/** Element types we read from checkpoints. */
public enum DType {
    F32(4, "float32"),
    BF16(2, "bfloat16"),
    F16(2, "float16"),
    /** Weights quantized at load to int8 with a float scale per group of {@code I8_GROUP} inputs; never a checkpoint's dtype. */
    I8(1, "int8"),
    /**
     * Weights quantized at load to 4 bits (llama.cpp's Q4_0) with a float scale per group of {@code I4_GROUP} inputs; never a
     * checkpoint's dtype. Two weights a byte, so {@link #bytes()} (1) is not its size: {@code Linear} sizes int4 rows itself.
     */
    I4(1, "int4"),
    /** A checkpoint's int32 tensor: GPTQ and AWQ pack eight 4-bit values in each ({@code qweight}, {@code qzeros}), and {@code g_idx}. */
    I32(4, "int32"),
    /**
     * Pre-quantized 4-bit weights (GPTQ, AWQ) as the kernels hold them: an unsigned nibble q, and per row and group a float scale s
     * and a zero point z, the weight being {@code (q - z) * s}. Never a checkpoint's dtype; two weights a byte, as {@link #I4}.
     */
    U4(1, "uint4");

    /** Inputs per int8 scale: llama.cpp's Q8_0 block, a whole number of vectors at every width the Vector API has. */
    public static final int I8_GROUP = 32;

    /** Inputs per int4 scale: llama.cpp's Q4_0 block, so results compare with it, and the scale costs 1/8 of the int4 bytes. */
    public static final int I4_GROUP = I8_GROUP;

    private final int bytes;
    private final String torchName;

    DType(int bytes, String torchName) {
        this.bytes = bytes;
        this.torchName = torchName;
    }

    public int bytes() {
        return bytes;
    }

    /** The name PyTorch and config.json use ("float32", "bfloat16", "float16"). */
    public String torchName() {
        return torchName;
    }

    /** The safetensors header's name of the dtype; int8 and int4 are kernel layouts and have none here. */
    public String safetensorsCode() {
        return switch (this) {
            case F32 -> "F32";
            case BF16 -> "BF16";
            case F16 -> "F16";
            case I32 -> "I32";
            case I8, I4, U4 -> throw new IllegalArgumentException("checkpoints hold F32, BF16, F16 or I32; " + torchName + " is a kernel layout");
        };
    }

    public static DType fromSafetensors(String code) {
        return switch (code) {
            case "F32" -> F32;
            case "BF16" -> BF16;
            case "F16" -> F16;
            case "I32" -> I32;
            default -> throw new ModelException("unsupported tensor dtype " + code + " (supported: F32, BF16, F16, I32)");
        };
    }

    /** Parses "f32", "float32", "bf16", "bfloat16", "f16", "float16" (any case). */
    public static DType parse(String name) {
        return switch (name.toLowerCase(Locale.ROOT)) {
            case "f32", "float32", "float" -> F32;
            case "bf16", "bfloat16" -> BF16;
            case "f16", "float16", "half" -> F16;
            case "i8", "int8", "q8" -> I8;
            case "i4", "int4", "q4" -> I4;
            default -> throw new ModelException("unknown dtype '" + name + "' (use f32, bf16, f16, int8 or int4)");
        };
    }

    public static float bf16ToFloat(short bits) {
        return Float.intBitsToFloat((bits & 0xFFFF) << 16);
    }

    /** Round-to-nearest-even conversion, as PyTorch does. */
    public static short floatToBf16(float value) {
        int bits = Float.floatToRawIntBits(value);
        if (Float.isNaN(value)) {
            return (short) 0x7FC0;
        }
        int rounding = 0x7FFF + ((bits >>> 16) & 1);
        return (short) ((bits + rounding) >>> 16);
    }
}
