package dev.loraxj.adapter;

/**
 * An adapter that cannot be served: missing, corrupt, unsafe, for another base model, or refused.
 * It fails only the requests that asked for that adapter (LoRAX answers 424).
 */
public class AdapterException extends RuntimeException {
    public AdapterException(String message) {
        super(message);
    }

    public AdapterException(String message, Throwable cause) {
        super(message, cause);
    }
}
