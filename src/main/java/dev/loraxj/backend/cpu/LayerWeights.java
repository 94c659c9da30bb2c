package dev.loraxj.backend.cpu;

/** One decoder block's weights. Linears are grouped the way they are dispatched: q/k/v together, gate/up together. */
record LayerWeights(
        float[] inputNorm,
        Linear q, Linear k, Linear v, Linear o,
        float[] postAttentionNorm,
        Linear gate, Linear up, Linear down) {

    Linear[] qkv() {
        return new Linear[] {q, k, v};
    }

    Linear[] gateUp() {
        return new Linear[] {gate, up};
    }

    long weightBytes() {
        return q.weightBytes() + k.weightBytes() + v.weightBytes() + o.weightBytes()
                + gate.weightBytes() + up.weightBytes() + down.weightBytes();
    }
}
