package dev.loraxj.adapter;

/** An adapter whose weights or update are not finite floats: it cannot be served (424, or 422 for a merge the request asked for). */
public class NonFiniteAdapterException extends AdapterException {
    public NonFiniteAdapterException(String message) {
        super(message);
    }
}
