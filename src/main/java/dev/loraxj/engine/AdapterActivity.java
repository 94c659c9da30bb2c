package dev.loraxj.engine;

import dev.loraxj.adapter.AdapterKey;

import java.util.Set;

/**
 * The adapters with sequences in the running batch and in the queues, as of one engine step (the
 * base model is not an adapter and is never listed). What vLLM reports as running and waiting LoRA
 * adapters, and what a router reads to send an adapter's requests where it already runs.
 *
 * @param publishedMillis wall-clock time of the step that published it
 */
public record AdapterActivity(Set<AdapterKey> running, Set<AdapterKey> waiting, long publishedMillis) {

    public static final AdapterActivity NONE = new AdapterActivity(Set.of(), Set.of(), 0);

    public AdapterActivity {
        running = Set.copyOf(running);
        waiting = Set.copyOf(waiting);
    }

    /** The same sets, published again at {@code millis}. */
    AdapterActivity at(long millis) {
        return new AdapterActivity(running, waiting, millis);
    }
}
