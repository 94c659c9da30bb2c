package dev.loraxj.adapter;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * A caller's token for private adapters. It prints as {@code <redacted>} so it cannot reach a log,
 * a metric or an exception message by accident; caches key on its SHA-256, never on the token.
 */
public final class ApiToken {

    private final String value;
    private final String digest;

    private ApiToken(String value) {
        this.value = value;
        try {
            this.digest = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(value.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * The token from {@code parameters.api_token}, else the one the headers carry (the api layer picks
     * {@code x-adapter-token}, or a Bearer token when server auth is off); null if neither.
     */
    public static ApiToken from(String apiToken, String headerToken) {
        if (apiToken != null && !apiToken.isEmpty()) {
            return new ApiToken(apiToken);
        }
        return of(headerToken);
    }

    public static ApiToken of(String value) {
        return value == null || value.isEmpty() ? null : new ApiToken(value);
    }

    /** The secret itself, for the one place that sends it (an Authorization header to the source). */
    public String reveal() {
        return value;
    }

    /** SHA-256 of the token, hex: safe to use as a cache key. */
    public String digest() {
        return digest;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ApiToken t && t.digest.equals(digest);
    }

    @Override
    public int hashCode() {
        return digest.hashCode();
    }

    @Override
    public String toString() {
        return "<redacted>";
    }
}
