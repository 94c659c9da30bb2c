package dev.loraxj.model;

/** A model, checkpoint or tokenizer that cannot be used as given; the message says what to fix. */
public class ModelException extends RuntimeException {
    public ModelException(String message) {
        super(message);
    }

    public ModelException(String message, Throwable cause) {
        super(message, cause);
    }
}
