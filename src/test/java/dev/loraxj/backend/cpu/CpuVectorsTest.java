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
        for (CpuVectors.Tile tile : new CpuVectors.Tile[] {CpuVectors.TILE, CpuVectors.BF16_TILE}) {
            int live = tile.registers() + (tile == CpuVectors.BF16_TILE ? 2 : 0); // the BF16 ints and the mask
            assertTrue(live <= budget, tile + " needs " + live + " registers of " + budget);
            assertEquals(0, Matmul.ROWS % tile.rows(), "parallel chunks of " + Matmul.ROWS + " rows hold whole tiles");
        }
        assertEquals(F32Tiles.ROWS, CpuVectors.TILE.rows(), "the F32 tiles are written for 4 rows");
        assertTrue(CpuVectors.TILE.tokens() >= 3 && CpuVectors.TILE.tokens() <= 6, "F32 tiles exist for 1 to 6 tokens");
        assertEquals(Bf16Tiles.TOKENS, CpuVectors.BF16_TILE.tokens(), "the BF16 tiles are written for 4 tokens");
    }

    @Test
    void anUnknownWidthIsRefusedWithTheSettingsName() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> CpuVectors.species("384"));
        assertTrue(e.getMessage().contains(CpuVectors.PROPERTY) && e.getMessage().contains("384"), e.getMessage());
    }
}
