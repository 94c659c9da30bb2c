package dev.loraxj.engine;

/** Generation failed inside the engine (LoRAX answers such failures with 424). */
public class EngineException extends RuntimeException {
    public EngineException(String message) {
        super(message);
    }

    public EngineException(String message, Throwable cause) {
        super(message, cause);
    }
}
