package dev.loraxj.adapter;

/**
 * The request asked for something these adapters cannot do (merging adapters of different ranks;
 * per-request Medusa heads without default ones): a validation error (422), found only once the
 * adapters are read.
 */
public class AdapterRequestException extends AdapterException {
    public AdapterRequestException(String message) {
        super(message);
    }
}
