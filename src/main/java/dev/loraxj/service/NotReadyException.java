package dev.loraxj.service;

/** The server cannot serve yet (model loading) or any more (shutting down): 503. */
public class NotReadyException extends RuntimeException {
    public NotReadyException(String message) {
        super(message);
    }
}
