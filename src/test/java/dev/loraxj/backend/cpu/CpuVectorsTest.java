package dev.loraxj.backend.cpu;

import jdk.incubator.vector.FloatVector;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The species the kernels run on follows loraxj.cpu.vector-bits, and the tile fits the registers it is sized for. */
class CpuVectorsTest {

    @Test
    void kernelsRunOnTheForcedWidthOrThePreferredOne() {
        String bits = System.getProperty(CpuVectors.PROPERTY, "auto");
        int want = bits.equals("auto") ? FloatVector.SPECIES_PREFERRED.vectorBitSize() : Integer.parseInt(bits);
        assertEquals(want, Vec.F.vectorBitSize(), "species of the kernels under " + CpuVectors.PROPERTY + "=" + bits);
        assertEquals(want / Float.SIZE, Matmul.L);
        assertEquals(Vec.L, LoraMatrix.Bf16.LANES, "BF16 LoRA packs for the kernels' lanes");
    }

    @Test
    void theTileFitsTheRegistersOfItsFamily() {
        int budget = Vec.F.vectorBitSize() >= 512 ? 32 : 16;
        CpuVectors.Tile tile = CpuVectors.TILE;
        assertTrue(tile.registers() <= budget, tile + " needs " + tile.registers() + " registers of " + budget);
        assertEquals(0, Matmul.ROWS % tile.rows(), "parallel chunks of " + Matmul.ROWS + " rows hold whole tiles");
        assertEquals(4, tile.tokens(), "the tiles' reductions are written for 4 tokens");
    }

    @Test
    void anUnknownWidthIsRefusedWithTheSettingsName() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> CpuVectors.species("384"));
        assertTrue(e.getMessage().contains(CpuVectors.PROPERTY) && e.getMessage().contains("384"), e.getMessage());
    }
}
