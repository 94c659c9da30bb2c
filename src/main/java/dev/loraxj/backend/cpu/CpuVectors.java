package dev.loraxj.backend.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;
import org.jboss.logging.Logger;

import java.util.Locale;

/**
 * The float species every CPU kernel runs on and the matmul register tiles sized for it, chosen once
 * at class load. {@code -Dloraxj.cpu.vector-bits=auto|256|512} forces a width (auto: the JIT's
 * preferred one), so both kernel families run and are tested on any machine; a width the CPU lacks
 * runs the Vector API's Java fallback, bit for bit the same but slow. A system property and not a
 * config key because the species is a constant the JIT folds into every kernel.
 */
public final class CpuVectors {

    public static final String PROPERTY = "loraxj.cpu.vector-bits";

    /** Rows × tokens of one register tile: each weight vector loaded feeds {@code tokens} accumulators. */
    public record Tile(int rows, int tokens) {

        /** Vector registers live in the F32 tile's loop: accumulators, the weight rows held, one input. */
        int registers() {
            return rows * tokens + rows + 1;
        }
    }

    static final VectorSpecies<Float> F = species(System.getProperty(PROPERTY, "auto"));

    /** Vector registers the JIT allocates from: 32 with AVX-512 (EVEX encoding), 16 with AVX2. */
    public static final int REGISTERS = FloatVector.SPECIES_MAX.vectorBitSize() >= 512 ? 32 : 16;

    /**
     * 512-bit kernels get AVX-512's 32 registers: 4 rows × 4 tokens (16 accumulators, 21 live in F32, about 25 in BF16).
     * Narrower ones are sized for AVX2's 16: 2 rows × 4 tokens (8 accumulators, 11 live in F32, 13 in BF16), since
     * 4 × 4 spills there; an AVX-512 machine forced to 256 bits keeps them, so the AVX2 family is tested on it.
     */
    public static final Tile TILE = F.vectorBitSize() >= 512 ? new Tile(4, 4) : new Tile(2, 4);

    static {
        boolean fallback = F.vectorBitSize() > FloatVector.SPECIES_MAX.vectorBitSize();
        Logger.getLogger(CpuVectors.class).infof("CPU kernels: %d-bit vectors (%d float lanes), %d vector registers, matmul tile %d rows x %d tokens%s",
                F.vectorBitSize(), F.length(), REGISTERS, TILE.rows(), TILE.tokens(),
                fallback ? " (forced wider than this CPU: Java fallback, slow)" : "");
    }

    private CpuVectors() {
    }

    /** The float species the kernels run on. */
    public static VectorSpecies<Float> species() {
        return F;
    }

    static VectorSpecies<Float> species(String bits) {
        return switch (bits.trim().toLowerCase(Locale.ROOT)) {
            case "auto", "" -> FloatVector.SPECIES_PREFERRED;
            case "256" -> VectorSpecies.of(float.class, VectorShape.S_256_BIT);
            case "512" -> VectorSpecies.of(float.class, VectorShape.S_512_BIT);
            default -> throw new IllegalArgumentException(PROPERTY + " must be auto, 256 or 512, got '" + bits + "'");
        };
    }
}
