package dev.loraxj.backend.cpu;

/**
 * Rotary position embedding in the HF rotate-half layout: pair i rotates dims i and i + headDim/2.
 * The angle is {@code position * invFreq[i]} rounded to float, as HF computes it in float32. StrictMath,
 * so the tables are the same bits whether or not the JIT compiled this code.
 */
public final class Rope {

    private final float[] invFreq;
    private final int half;
    private float[] cos = new float[0];
    private float[] sin = new float[0];

    public Rope(float[] invFreq) {
        this.invFreq = invFreq.clone();
        this.half = invFreq.length;
    }

    /** Fills the cos/sin tables for the step's {@code count} positions. */
    public void prepare(int[] positions, int count) {
        if (cos.length < count * half) {
            cos = new float[Math.max(count * half, cos.length * 2)];
            sin = new float[cos.length];
        }
        for (int t = 0; t < count; t++) {
            float p = positions[t];
            for (int i = 0; i < half; i++) {
                double angle = p * invFreq[i];
                cos[t * half + i] = (float) StrictMath.cos(angle);
                sin[t * half + i] = (float) StrictMath.sin(angle);
            }
        }
    }

    /** Rotates {@code heads} heads of token {@code t} (prepared), stored from {@code off} in {@code x}. */
    public void rotate(float[] x, int off, int heads, int t) {
        int headDim = 2 * half;
        int c0 = t * half;
        for (int h = 0; h < heads; h++) {
            int b = off + h * headDim;
            for (int i = 0; i < half; i++) {
                float x1 = x[b + i];
                float x2 = x[b + i + half];
                float c = cos[c0 + i];
                float s = sin[c0 + i];
                x[b + i] = x1 * c - x2 * s;
                x[b + i + half] = x2 * c + x1 * s;
            }
        }
    }
}
