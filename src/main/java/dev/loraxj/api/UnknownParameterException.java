package dev.loraxj.api;

import dev.loraxj.service.ValidationException;

/** A request names a parameter the route does not know (a typo, most often): 422, or OpenAI's 400 naming it. */
final class UnknownParameterException extends ValidationException {

    private final String name;

    UnknownParameterException(String name, String message) {
        super(message);
        this.name = name;
    }

    /** The name as sent, for OpenAI's {@code param}. */
    String name() {
        return name;
    }
}
