package dev.loraxj.adapter;

import java.util.List;

/**
 * What a request runs with, and the key of everything adapter-related (the store, access checks,
 * the scheduler's queues): one adapter, or a per-request merge of several. Equal keys share one
 * loaded adapter.
 */
public sealed interface AdapterKey permits AdapterRef, MergeSpec {

    /** For people (listings, headers, logs): an adapter's id, or a merge's parts and strategy. */
    String name();

    /** The adapters it is made of, each of which the caller must be allowed to use. */
    List<AdapterRef> refs();
}
