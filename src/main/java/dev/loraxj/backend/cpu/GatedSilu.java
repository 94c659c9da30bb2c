package dev.loraxj.backend.cpu;

/**
 * The SwiGLU gate: {@code gate = silu(gate) * up}, elementwise, parallel over tokens. Scalar
 * {@code Math.exp} on purpose: the Vector API's EXP differs between C2 (SVML) and its Java fallback.
 */
final class GatedSilu implements Parallel.Body {

    private float[] gate;
    private float[] up;
    private int width;

    void run(Parallel pool, float[] gate, float[] up, int tokens, int width) {
        this.gate = gate;
        this.up = up;
        this.width = width;
        pool.forRange(tokens, this);
        this.gate = null;
        this.up = null;
    }

    @Override
    public void run(int from, int to, int worker) {
        apply(gate, up, from * width, to * width);
    }

    static void apply(float[] gate, float[] up, int from, int to) {
        for (int i = from; i < to; i++) {
            float g = gate[i];
            gate[i] = g / (1f + (float) Math.exp(-g)) * up[i];
        }
    }
}
