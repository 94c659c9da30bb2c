package dev.loraxj.backend;

import dev.loraxj.model.DType;

/**
 * The shape of one linear's low-rank update, known from an adapter file's header before its weights
 * are read: enough for a backend to say what it will hold ({@link Backend#footprint}).
 *
 * @param dtype the update's element type as handed to the backend: BF16, or F32 (F16 files are widened, exactly)
 */
public record LoraShape(int layer, LinearModule module, int rank, int in, int out, DType dtype) {

    public LoraShape {
        if (rank <= 0 || in <= 0 || out <= 0) {
            throw new IllegalArgumentException("LoRA update of " + module + " in layer " + layer + " needs a positive rank, in and out");
        }
        if (dtype != DType.BF16 && dtype != DType.F32) {
            throw new IllegalArgumentException("LoRA updates reach the backend as BF16 or F32, not " + dtype.torchName());
        }
    }
}
