package dev.loraxj.backend.cpu;

/**
 * Applies one or more linears that share an input (q/k/v, gate/up) as one parallel-for over their
 * concatenated output rows, so each weight is streamed once per step for the whole batch. A linear whose
 * kernel reads its input in its own order (BF16's split chunks, a GPTQ act order) gets a laid-out copy,
 * made once per step and shared with the linears that read the same order.
 */
final class Projection implements Parallel.Body {

    private Linear[] ws;
    private float[][] ys;
    private float[][] inputs = new float[0][];
    private float[][] copies = new float[0][];
    private int tokens;

    /** {@code ys[i][T, ws[i].rows] = x[T, in] · ws[i]ᵀ (+ bias)} for every i. */
    void run(Parallel pool, float[] x, int tokens, Linear[] ws, float[][] ys) {
        if (inputs.length < ws.length) {
            inputs = new float[ws.length][];
            copies = java.util.Arrays.copyOf(copies, ws.length);
        }
        int total = 0;
        for (int i = 0; i < ws.length; i++) {
            Linear w = ws[i];
            total += w.rows();
            inputs[i] = x;
            if (!Matmul.ownInput(w)) {
                continue;
            }
            for (int j = 0; j < i; j++) {
                if (Matmul.sameInput(ws[j], w)) {
                    inputs[i] = inputs[j];
                    break;
                }
            }
            if (inputs[i] == x) {
                int n = tokens * w.cols();
                if (copies[i] == null || copies[i].length < n) {
                    copies[i] = new float[Math.max(n, copies[i] == null ? 0 : copies[i].length * 2)];
                }
                Matmul.layout(w, x, tokens, copies[i]);
                inputs[i] = copies[i];
            }
        }
        this.ws = ws;
        this.ys = ys;
        this.tokens = tokens;
        // Batched work is compute bound: small chunks balance the threads. One token streams memory: big chunks.
        pool.forRange(total, Matmul.ROWS, tokens >= 4 ? 16 : 4, this);
        this.ws = null;
        this.ys = null;
        java.util.Arrays.fill(inputs, null);
    }

    @Override
    public void run(int from, int to, int worker) {
        int start = 0;
        for (int i = 0; i < ws.length && start < to; i++) {
            Linear w = ws[i];
            int lo = Math.max(from - start, 0);
            int hi = Math.min(to - start, w.rows());
            if (lo < hi) {
                Matmul.rows(w, inputs[i], tokens, ys[i], lo, hi);
            }
            start += w.rows();
        }
    }
}
