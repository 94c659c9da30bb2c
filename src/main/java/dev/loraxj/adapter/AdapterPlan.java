package dev.loraxj.adapter;

/**
 * An adapter whose files are fetched and checked but whose weights are not yet in memory: the store
 * reserves {@link #bytes()} of its budget before {@link #materialize()}, so the budget is never exceeded.
 */
public interface AdapterPlan {

    long bytes();

    LoadedAdapter materialize();
}
