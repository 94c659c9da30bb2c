package dev.loraxj.service;

/** The request is malformed or out of bounds: 422, with a message naming the field. */
public class ValidationException extends RuntimeException {
    public ValidationException(String message) {
        super(message);
    }
}
