package dev.loraxj.backend.cpu;

/**
 * What a {@link dev.loraxj.model.DType#U4} matrix (GPTQ, AWQ) holds besides its nibbles and scales: a zero point per row
 * and group of {@code groupSize} consecutive stored inputs, and the order its inputs are stored in.
 *
 * @param groupSize  stored inputs per scale and zero point: a multiple of every vector width, or all the inputs
 * @param values     zero points, row-major {@code [rows, cols / groupSize]}, 0 to 16 (AutoGPTQ v1 checkpoints reach 16)
 * @param inputOrder stored input p is the checkpoint's input {@code inputOrder[p]} (GPTQ's act order, sorted so that each
 *                   group's inputs lie together); null when they are stored in order
 */
public record ZeroPoints(int groupSize, byte[] values, int[] inputOrder) {

    public ZeroPoints {
        if (groupSize <= 0) {
            throw new IllegalArgumentException("group size " + groupSize);
        }
    }
}
