package dev.loraxj.adapter;

import java.nio.file.Path;

/**
 * Where adapters come from (local, hub, s3, pbase): turns a reference into a local directory
 * holding its files. Implementations are CDI beans configured from {@code loraxj.adapters.*}.
 */
public interface AdapterSource {

    /** The name requests use in {@code adapter_source}. */
    String name();

    /**
     * A local directory with the adapter's files, fetching them first if needed. Blocking; runs on
     * a loader thread, never on the event loop or the engine thread.
     */
    Path fetch(AdapterRef ref);
}
