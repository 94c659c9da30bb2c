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

        /** Vector registers live in the tile's loop: the accumulators, the weight rows or the inputs held (the fewer), one load. */
        int registers() {
            return rows * tokens + Math.min(rows, tokens) + 1;
        }
    }

    static final VectorSpecies<Float> F = species(System.getProperty(PROPERTY, "auto"));

    /** Vector registers the JIT allocates from: 32 with AVX-512 (EVEX encoding), 16 with AVX2. */
    public static final int REGISTERS = FloatVector.SPECIES_MAX.vectorBitSize() >= 512 ? 32 : 16;

    /**
     * The F32 tile. 512-bit kernels get AVX-512's 32 registers: 4 rows × 6 tokens (24 accumulators, the 4 weight vectors
     * held, one input at a time: 29 live; in cache on Zen 5 208 against 4 × 4's 196 GFLOP/s a thread). Narrower
     * ones are sized for AVX2's 16: 4 rows × 3 tokens (12 accumulators, the 3 inputs held, one weight vector at a time:
     * 16 live), since 4 × 4 spills there and 2 × 4's 8 accumulators just cover the FMA latency, with no slack.
     * An AVX-512 machine forced to 256 bits keeps the AVX2 shapes, so that family is tested on it.
     */
    public static final Tile TILE = F.vectorBitSize() >= 512 ? new Tile(4, 6) : new Tile(4, 3);

    /**
     * The BF16 tile, which widens the weights in registers (two more live vectors): 4 × 4 with AVX-512 (about 25 live),
     * 2 × 4 with AVX2 (13 live).
     */
    public static final Tile BF16_TILE = F.vectorBitSize() >= 512 ? new Tile(4, 4) : new Tile(2, 4);

    static {
        boolean fallback = F.vectorBitSize() > FloatVector.SPECIES_MAX.vectorBitSize();
        Logger.getLogger(CpuVectors.class).infof("CPU kernels: %d-bit vectors (%d float lanes), %d vector registers, matmul tiles %d rows x %d tokens (F32), %d x %d (BF16)%s",
                F.vectorBitSize(), F.length(), REGISTERS, TILE.rows(), TILE.tokens(), BF16_TILE.rows(), BF16_TILE.tokens(),
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
