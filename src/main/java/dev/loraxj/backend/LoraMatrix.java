package dev.loraxj.backend;

/**
 * One adapter's low-rank update of one linear, ready for the kernels: {@code y += (x Aᵀ) (s·B)ᵀ}.
 * {@code a} is A, {@code [rank, in]} row-major; {@code scaledBt} is (scale·B)ᵀ, {@code [rank, out]}
 * row-major, so the expand is a sum of scaled rows (contiguous, vectorizable) and the scale costs nothing.
 */
public record LoraMatrix(int rank, int in, int out, float[] a, float[] scaledBt) {

    public LoraMatrix {
        if (a.length != rank * in || scaledBt.length != rank * out) {
            throw new IllegalArgumentException("LoRA matrix sizes do not match rank " + rank + ", in " + in + ", out " + out);
        }
    }

    public long bytes() {
        return 4L * (a.length + scaledBt.length);
    }
}
