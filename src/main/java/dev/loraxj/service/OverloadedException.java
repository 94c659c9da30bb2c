package dev.loraxj.service;

/** Too many requests in flight: 429. */
public class OverloadedException extends RuntimeException {
    public OverloadedException(String message) {
        super(message);
    }
}
