package dev.loraxj.backend;

import dev.loraxj.model.ModelConfig;

/**
 * The math of one base model on one device. The engine decides what runs; the backend decides how.
 * Implementations are driven by the single engine thread and are not thread-safe, except
 * {@link #register} and {@link #footprint}, which adapter loads call from their own threads.
 */
public interface Backend extends AdapterSlots, AutoCloseable {

    ModelConfig config();

    /** "cpu" or "cuda". */
    String deviceType();

    /** The dtype the weights are held in ("float32", "bfloat16"). */
    String dtype();

    /** The dtype the block linears are held in: the weights' own, "int8" or "int4" when quantized at load, "gptq" or "awq" when read so. */
    String linearDtype();

    /** Bytes of weights held for the linears and the head (what a decode step streams). */
    long weightBytes();

    /** Bytes of KV cache one token occupies across all layers, in the KV dtype. */
    long kvBytesPerToken();

    /** The dtype the KV cache holds ("float32", "bfloat16"). */
    String kvDtype();

    /** Sets the KV cache's dtype; before {@link #allocateKvCache}. */
    void kvDtype(dev.loraxj.model.DType dtype);

    /**
     * Bytes of memory this device has free for the KV cache now, with the weights loaded: what
     * {@code loraxj.kv-cache-memory}'s default is a fraction of.
     */
    long freeMemory();

    /** Allocates the paged KV cache: {@code numBlocks} blocks of {@code blockSize} token slots, per layer. */
    void allocateKvCache(int numBlocks, int blockSize);

    /**
     * Runs the model over every token of the batch: writes each token's K/V into its cache slot,
     * attends causally over its sequence, and writes the logits of the requested rows into
     * {@link StepBatch#logitsBuffer()}. Each row's result is independent of what else is in the batch.
     */
    void forward(StepBatch batch);

    /**
     * The hidden states after the final norm of the last forward's logit rows, {@code [rows, hidden]}
     * row-major (what the head saw). Valid until the next forward.
     */
    float[] finalHidden();

    /**
     * Each Medusa head's logits for {@code rows} hidden states {@code x[r * hidden]}: writes
     * {@code out[(head * rows + r) * vocab + v]}. Engine thread only, between forwards.
     */
    void medusa(MedusaHeads heads, float[] x, int rows, float[] out);

    /**
     * {@inheritDoc} Called on the engine thread between forwards, once no sequence of a coming batch
     * names the slot: the engine defers every release to that point.
     */
    @Override
    void release(AdapterSlot slot);

    @Override
    void close();
}
