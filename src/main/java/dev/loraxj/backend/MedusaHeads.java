package dev.loraxj.backend;

/**
 * Medusa heads, as the backend applies them to the final-normed hidden state {@code x} of a row.
 * <ul>
 *   <li>v1 (the original layout): head i is {@code W1_i · h}, with {@code h = x} passed through
 *       {@code layers} ResBlocks {@code h ← h + SiLU(W0 h + b0)}; every head has its own {@code W1_i}.</li>
 *   <li>v2 (LoRAX's layout): one ResBlock per head, {@code x + SiLU(W0_i x + b0_i)}, then the base model's
 *       own lm_head.</li>
 * </ul>
 *
 * @param resWeights [head][layer] -> [hidden × hidden] row-major
 * @param resBiases  [head][layer] -> [hidden]
 * @param heads      [head] -> [vocab × hidden] row-major (v1), null for v2
 */
public record MedusaHeads(int version, int numHeads, int numLayers, int hidden, float[][][] resWeights,
                          float[][][] resBiases, float[][] heads) {

    public MedusaHeads {
        if (version != 1 && version != 2) {
            throw new IllegalArgumentException("Medusa version must be 1 or 2, got " + version);
        }
        if ((version == 1) != (heads != null)) {
            throw new IllegalArgumentException("v1 heads carry their own lm_head; v2 heads use the base model's");
        }
    }

    public long bytes() {
        long floats = 0;
        for (int i = 0; i < numHeads; i++) {
            for (int l = 0; l < numLayers; l++) {
                floats += resWeights[i][l].length + resBiases[i][l].length;
            }
            if (heads != null) {
                floats += heads[i].length;
            }
        }
        return 4 * floats;
    }
}
