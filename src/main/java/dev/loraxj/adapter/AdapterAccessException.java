package dev.loraxj.adapter;

/**
 * A private adapter refused to a caller: 401 when the request has no valid token
 * ({@code missingToken}), 403 when the token has no access. The message never contains the token.
 */
public class AdapterAccessException extends AdapterException {

    private final boolean missingToken;

    public AdapterAccessException(String message, boolean missingToken) {
        super(message);
        this.missingToken = missingToken;
    }

    /** True: no token or an invalid one (401); false: a valid token without access (403). */
    public boolean missingToken() {
        return missingToken;
    }
}
