package dev.loraxj.grammar;

/** A constraint that cannot be compiled (an unsupported keyword, a bad pattern, too large): the request fails with 422. */
public final class GrammarException extends RuntimeException {

    public GrammarException(String message) {
        super(message);
    }
}
