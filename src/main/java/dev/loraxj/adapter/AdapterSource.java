package dev.loraxj.adapter;

import java.nio.file.Path;

/**
 * Where adapters come from (local, hub, s3, pbase): turns a reference into a local directory
 * holding its files, and says whether a caller may use it. Implementations are built from
 * {@code loraxj.adapters.*} and {@code loraxj.auth.*}; their methods block and run on loader or
 * check threads, never on the event loop or the engine thread.
 */
public interface AdapterSource {

    /** The name requests use in {@code adapter_source}. */
    String name();

    /**
     * The one reference every name of the same adapter maps to, so that it is loaded and held once
     * (the local source: by its real path). Unchanged when it names nothing: fetch says why.
     */
    default AdapterRef canonical(AdapterRef ref) {
        return ref;
    }

    /**
     * A local directory with the adapter's files, fetching them first if needed.
     *
     * @param token the caller's token (may be null), for sources that download with it
     */
    Path fetch(AdapterRef ref, ApiToken token);

    /**
     * Checks that a caller with {@code token} (may be null) may use {@code ref}; throws
     * {@link AdapterAccessException} when not. Called for every request (results are cached briefly
     * by the caller), so an adapter already in memory is never served to a caller who may not use it.
     * By default everyone may: the source reads with the server's own credentials.
     */
    default void authorize(AdapterRef ref, ApiToken token) {
    }

    /** Whether {@link #authorize} depends on the caller (false: skip the check). */
    default boolean checksCallers() {
        return false;
    }
}
