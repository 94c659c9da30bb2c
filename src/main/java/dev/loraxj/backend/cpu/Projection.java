package dev.loraxj.backend.cpu;

import dev.loraxj.model.DType;

/**
 * Applies one or more linears that share an input (q/k/v, gate/up) as one parallel-for over their
 * concatenated output rows, so each weight is streamed once per step for the whole batch.
 */
final class Projection implements Parallel.Body {

    private Linear[] ws;
    private float[][] ys;
    private float[] x;
    private float[] xBf16 = new float[0];
    private int tokens;

    /** {@code ys[i][T, ws[i].rows] = x[T, in] · ws[i]ᵀ (+ bias)} for every i. */
    void run(Parallel pool, float[] x, int tokens, Linear[] ws, float[][] ys) {
        int total = 0;
        boolean bf16 = false;
        for (Linear w : ws) {
            total += w.rows();
            bf16 |= w.dtype() == DType.BF16;
        }
        if (bf16) {
            int n = tokens * ws[0].cols();
            if (xBf16.length < n) {
                xBf16 = new float[Math.max(n, xBf16.length * 2)];
            }
            Matmul.layout(DType.BF16, x, tokens, ws[0].cols(), xBf16);
        }
        this.ws = ws;
        this.ys = ys;
        this.x = x;
        this.tokens = tokens;
        // Batched work is compute bound: small chunks balance the threads. One token streams memory: big chunks.
        pool.forRange(total, Matmul.ROWS, tokens >= 4 ? 16 : 4, this);
        this.ws = null;
        this.ys = null;
        this.x = null;
    }

    @Override
    public void run(int from, int to, int worker) {
        int start = 0;
        for (int i = 0; i < ws.length && start < to; i++) {
            Linear w = ws[i];
            int lo = Math.max(from - start, 0);
            int hi = Math.min(to - start, w.rows());
            if (lo < hi) {
                Matmul.rows(w, w.dtype() == DType.BF16 ? xBf16 : x, tokens, ys[i], lo, hi);
            }
            start += w.rows();
        }
    }
}
